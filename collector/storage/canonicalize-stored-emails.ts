// One-time data step after the migrations: emails stored before they had one spelling (identity/canonical-email.ts)
// are rewritten to it, so that an address at an international domain stored in punycode (`anna@xn--bcher-kva.example`)
// or in an unmapped Unicode form matches the same address sent now. Only rows whose email holds a non-ASCII character
// or "xn--" are read; the step runs once per database (a `data_steps` row under site_id ''), under a lock when collectors
// start together.
// Erasure tombstones hold hashes, which cannot be rewritten: their lookup tries both spellings (erasure-tombstones.ts).
import type { Db } from './db.js';
import { canonicalEmail } from '../identity/canonical-email.js';

// named anew when the spelling changes, so that every database runs it once more: `_2` since invisible format characters
// of the local part are dropped (`bo\u200b@beta.test` is `bo@beta.test`)
export const CANONICAL_EMAILS_STEP = 'canonical_emails_2';

/** PostgreSQL advisory lock held by the step's transaction: a second collector starting waits, then finds it done. */
const STEP_LOCK = 7262004;

/** Rows whose email may have another spelling: a non-ASCII character (byte length ≠ character length) or punycode. */
const SUSPECT = `email IS NOT NULL AND (email LIKE '%xn--%' OR octet_length(email) <> length(email))`;

/** Pairs per UPDATE of a table without known keys (3 parameters each). */
const PAIRS_PER_STATEMENT = 200;

export interface CanonicalEmailsReport {
  /** rows rewritten, per table */
  rewritten: Record<string, number>;
  /**
   * leads left with their old spelling because another lead of the site already has the new one (two identified
   * leads are never merged silently): [siteId, the lead kept in the old spelling, the lead that has the new one]
   */
  clashes: Array<[siteId: string, oldSpelling: string, owner: string]>;
}

/** Tables with an `email` column (leads apart): the step covers any, as erasure's catalog sweep does. */
async function tablesWithEmail(tx: Db): Promise<string[]> {
  if (tx.dialect === 'pg') {
    const rows = await tx.all<{ table_name: string }>(
      `SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.column_name = 'email'`,
    );
    return rows.map((r) => r.table_name).filter((t) => t !== 'leads').sort();
  }
  const rows = await tx.all<{ name: string }>(
    `SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.name = 'email'`,
  );
  return rows.map((r) => r.name).filter((t) => t !== 'leads').sort();
}

const quoteIdent = (name: string) => '"' + name.replace(/"/g, '""') + '"';

/** Leads one by one: the email is unique per site, and a clash leaves both leads as they are. */
async function rewriteLeads(tx: Db, report: CanonicalEmailsReport): Promise<void> {
  const rows = await tx.all<{ site_id: string; lead_id: string; email: string }>(`SELECT site_id, lead_id, email FROM leads WHERE ${SUSPECT}`);
  let n = 0;
  for (const r of rows) {
    const email = canonicalEmail(r.email);
    if (email === r.email) continue;
    const owner = await tx.get<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND email = ?', [r.site_id, email]);
    if (owner) {
      report.clashes.push([r.site_id, r.lead_id, owner.lead_id]);
      continue;
    }
    n += await tx.run('UPDATE leads SET email = ? WHERE site_id = ? AND lead_id = ?', [email, r.site_id, r.lead_id]);
  }
  report.rewritten.leads = n;
}

/** Any other table: its distinct suspect emails mapped, then one UPDATE per chunk of pairs (one pass over the table). */
async function rewriteTable(tx: Db, table: string, report: CanonicalEmailsReport): Promise<void> {
  const t = quoteIdent(table);
  const found = await tx.all<{ email: string }>(`SELECT DISTINCT email FROM ${t} WHERE ${SUSPECT}`);
  const pairs = found.map((r) => [r.email, canonicalEmail(r.email)] as const).filter(([from, to]) => from !== to);
  let n = 0;
  for (let i = 0; i < pairs.length; i += PAIRS_PER_STATEMENT) {
    const chunk = pairs.slice(i, i + PAIRS_PER_STATEMENT);
    n += await tx.run(
      `UPDATE ${t} SET email = CASE email ${chunk.map(() => 'WHEN ? THEN ?').join(' ')} END WHERE email IN (${chunk.map(() => '?').join(', ')})`,
      [...chunk.flat(), ...chunk.map(([from]) => from)],
    );
  }
  report.rewritten[table] = n;
}

/**
 * Rewrites stored emails to their one spelling, once per database; null when it was done already. A lead whose new
 * spelling another lead of the site has keeps its old one (both stay; one structured line is logged, ids only).
 */
export async function canonicalizeStoredEmails(db: Db, now = Date.now()): Promise<CanonicalEmailsReport | null> {
  const report = await db.transaction(async (tx) => {
    if (tx.dialect === 'pg') await tx.get('SELECT pg_advisory_xact_lock(?::bigint) AS locked', [STEP_LOCK]);
    if (await tx.get("SELECT name FROM data_steps WHERE site_id = '' AND name = ?", [CANONICAL_EMAILS_STEP])) return null;
    const out: CanonicalEmailsReport = { rewritten: {}, clashes: [] };
    await rewriteLeads(tx, out);
    for (const table of await tablesWithEmail(tx)) await rewriteTable(tx, table, out);
    await tx.run("INSERT INTO data_steps (site_id, name, done_at) VALUES ('', ?, ?)", [CANONICAL_EMAILS_STEP, now]);
    return out;
  });
  if (report?.clashes.length) {
    console.warn(JSON.stringify({
      level: 'warn',
      msg: 'leads kept apart: their emails differ only in the spelling of an international domain',
      step: CANONICAL_EMAILS_STEP,
      count: report.clashes.length,
      // ids only, never the email; the first 20
      leads: report.clashes.slice(0, 20).map(([siteId, kept, owner]) => ({ siteId, oldSpelling: kept, owner })),
    }));
  }
  return report;
}
