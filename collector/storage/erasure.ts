// Erasure of one lead: every row that holds its id, email, visitors or their hashes, in one transaction.
// Known tables are cleared by their indexed columns; any other table with a lead_id/visitor_id column is found
// from the catalog, so a table added later cannot keep what erasure should remove.
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { listSql } from './multi-row.js';
import { insertTombstones, subjectHash, type Tombstone } from './erasure-tombstones.js';
import { emailSpellings } from '../identity/canonical-email.js';

export interface ErasureCounts {
  events: number;
  visitors: number;
  identityLinks: number;
  stageChanges: number;
  scoreChanges: number;
  segmentMembers: number;
  segmentChanges: number;
  segmentRechecks: number;
  webhookDeliveries: number;
  rejectedEvents: number;
  leads: number;
  /** erasure tombstones written: one per device and period of the lead, one for its email, one per lead id */
  tombstones: number;
  /** rows of other tables found by their lead_id / visitor_id columns */
  other: Record<string, number>;
}

const KNOWN = new Set([
  'events', 'visitors', 'identity_links', 'stage_changes', 'score_changes', 'segment_members', 'segment_changes',
  'segment_rechecks', 'webhook_deliveries', 'rejected_events', 'leads',
  // written by erasure itself, keyed by hashes only: a later erasure must keep them
  'erasure_tombstones',
]);

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const likeOf = (s: string) => '%' + s.replace(/[\\%_]/g, (c) => '\\' + c) + '%';

/** Runs fn over `items` in chunks so IN lists stay under every engine's parameter limit. */
async function sumChunks(items: string[], fn: (chunk: string[]) => Promise<number>, size = 500): Promise<number> {
  let n = 0;
  for (let i = 0; i < items.length; i += size) n += await fn(items.slice(i, i + size));
  return n;
}

/** Every visitor ever tied to the lead, split into those only it ever had and those shared with another live lead. */
async function splitVisitors(tx: Db, siteId: string, leadId: string) {
  // UNION ALL, deduplicated here: a plain UNION makes SQLite walk the primary keys to merge in order
  const rows = await tx.all<{ visitor_id: string }>(
    `SELECT visitor_id FROM visitors WHERE site_id = ? AND lead_id = ?
     UNION ALL SELECT visitor_id FROM identity_links WHERE site_id = ? AND lead_id = ?`,
    [siteId, leadId, siteId, leadId],
  );
  const all = [...new Set(rows.map((r) => r.visitor_id))];
  const shared = new Set<string>();
  await sumChunks(all, async (chunk) => {
    const others = await tx.all<{ visitor_id: string }>(
      `SELECT v.visitor_id FROM visitors v JOIN leads l ON l.site_id = v.site_id AND l.lead_id = v.lead_id
         WHERE v.site_id = ? AND v.visitor_id IN (${listSql(chunk.length)}) AND v.lead_id <> ?
       UNION SELECT i.visitor_id FROM identity_links i JOIN leads l ON l.site_id = i.site_id AND l.lead_id = i.lead_id
         WHERE i.site_id = ? AND i.visitor_id IN (${listSql(chunk.length)}) AND i.lead_id <> ?`,
      [siteId, ...chunk, leadId, siteId, ...chunk, leadId],
    );
    for (const o of others) shared.add(o.visitor_id);
    return 0;
  });
  return { own: all.filter((v) => !shared.has(v)), shared: [...shared] };
}

/**
 * Refused input is kept as it was sent, so the email may be there in a spelling of the sender's: upper case (a CRM's
 * `Ada@Example.COM`; PostgreSQL's LIKE is case-sensitive, SQLite's only for ASCII), an international domain in either
 * form, or a JSON body written with \u escapes (Python's json.dumps writes `B\u00dcCHER`). Text read as a person reads
 * it: escapes decoded, NFC, lower case.
 */
export function readAsWritten(text: string): string {
  let out = text;
  // twice: a %-escape inside a JSON escape's output (or the reverse) is read too
  for (let i = 0; i < 2; i++) {
    out = out.replace(/\\+u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    out = out.replace(/(?:%[0-9a-fA-F]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
  // the other JSON escapes (a note's "\n" before an address) end a word as the characters they stand for do
  return out.replace(/\\[nrtbf"\\/]/g, ' ').normalize('NFC').toLowerCase();
}

/** The longest run of ASCII letters and digits of the local part (else of the whole address): what every spelling keeps. */
export function emailProbe(email: string): string {
  const longest = (s: string) => (s.match(/[a-z0-9]+/g) ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
  return longest(email.slice(0, Math.max(0, email.lastIndexOf('@')))) || longest(email);
}

/** What erasure looks for in free text: ids (case as written), SHA-256 hashes (hex, any case), emails (any spelling). */
interface Mentions {
  ids: readonly string[];
  hashes: readonly string[];
  emails: readonly string[];
}

const ID_CHAR = /[A-Za-z0-9_-]/;
/** characters an email's local part continues with (before the match), and a domain (after it) */
const LOCAL_CHAR = /[\p{L}\p{N}._+-]/u;
const DOMAIN_GOES_ON = /^(?:[\p{L}\p{N}-]|\.[\p{L}\p{N}])/u;

/** Whether `needle` occurs in `text` as a whole token: `before` must not hold the char before it, `after` the text after. */
function occursAsToken(text: string, needle: string, before: (c: string) => boolean, after: (rest: string) => boolean): boolean {
  if (!needle) return false;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
    if ((i === 0 || !before(text[i - 1])) && !after(text.slice(i + needle.length, i + needle.length + 2))) return true;
  }
  return false;
}

/** Whether a free-text value names the person: an id or hash as a whole token, or the email in any spelling. */
export function mentionsPerson(text: string, m: Mentions): boolean {
  const idChar = (c: string) => ID_CHAR.test(c);
  const idGoesOn = (rest: string) => rest.length > 0 && ID_CHAR.test(rest[0]);
  if (m.ids.some((id) => occursAsToken(text, id, idChar, idGoesOn))) return true;
  const lower = text.toLowerCase();
  if (m.hashes.some((h) => occursAsToken(lower, h, idChar, idGoesOn))) return true;
  if (!m.emails.length) return false;
  const read = readAsWritten(text);
  return m.emails.some((e) => occursAsToken(read, e.normalize('NFC').toLowerCase(), (c) => LOCAL_CHAR.test(c), (rest) => DOMAIN_GOES_ON.test(rest)));
}

/** The free-text tables erasure searches: their text column, and what names a row. */
const FREE_TEXT = {
  webhooks: { table: 'webhook_deliveries', column: 'payload', key: 'delivery_id', sites: 'site_id = ?' },
  // refused input of an unknown site has no site id ('')
  rejected: { table: 'rejected_events', column: 'raw', key: 'rejected_id', sites: "site_id IN (?, '')" },
} as const;

/**
 * Deletes the rows of a free-text table that mention the person. The patterns (LIKE, matched case-insensitively) find
 * the candidates through SQL; each is read here, and only a whole-token mention deletes it.
 */
async function eraseMentions(tx: Db, t: (typeof FREE_TEXT)[keyof typeof FREE_TEXT], siteId: string, patterns: string[], m: Mentions): Promise<number> {
  const hits = new Map<string, string>();
  for (let i = 0; i < patterns.length; i += 100) {
    const p = patterns.slice(i, i + 100);
    const rows = await tx.all<{ site_id: string; k: string; text: string }>(
      `SELECT site_id, ${t.key} AS k, ${t.column} AS text FROM ${t.table}
       WHERE ${t.sites} AND (${p.map(() => `LOWER(${t.column}) LIKE LOWER(?) ESCAPE '\\'`).join(' OR ')})`,
      [siteId, ...p],
    );
    for (const r of rows) if (mentionsPerson(r.text, m)) hits.set(r.site_id + '\u0000' + r.k, r.site_id);
  }
  let n = 0;
  for (const [id, site] of hits) n += await tx.run(`DELETE FROM ${t.table} WHERE site_id = ? AND ${t.key} = ?`, [site, id.slice(site.length + 1)]);
  return n;
}

async function listTablesWithColumns(tx: Db): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (tx.dialect === 'pg') {
    const rows = await tx.all<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`,
    );
    for (const r of rows) (out.get(r.table_name) ?? out.set(r.table_name, new Set()).get(r.table_name)!).add(r.column_name);
    return out;
  }
  const tables = await tx.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  for (const t of tables) {
    const cols = await tx.all<{ name: string }>(`SELECT name FROM pragma_table_info(?)`, [t.name]);
    out.set(t.name, new Set(cols.map((c) => c.name)));
  }
  return out;
}

const quoteIdent = (name: string) => '"' + name.replace(/"/g, '""') + '"';

/**
 * Identifying events attribution has not reached (it failed; replay is pending) carry the email without a lead.
 * Found by a read outside the erasure transaction: the scan passes every bot event (never attributed), and a
 * write transaction must not wait on it.
 */
export async function findUnattributedEventsWithEmail(db: Db, siteId: string, email: string): Promise<string[]> {
  const rows = await db.all<{ event_id: string }>(
    'SELECT event_id FROM events WHERE site_id = ? AND attributed = 0 AND is_bot = 0 AND email = ?',
    [siteId, email],
  );
  return rows.map((r) => r.event_id);
}

/**
 * What the lead's devices and email may still send (an outbox resent, a CRM backfill) and must not bring back: a
 * device of the lead alone, every event up to now; a device shared with another live lead, the lead's periods on it
 * (from its first link's start when that is the device's first, as attribution counts it); the email, the lead id and
 * the ids merged into it (a CRM names a lead by them), up to now.
 */
function tombstonesOf(
  siteId: string, own: readonly string[], sharedLinks: ReadonlyArray<{ visitor_id: string; from_at: number; to_at: number | null; first_from_at: number }>,
  email: string | null, leadIds: readonly string[], erasedAt: number,
): Tombstone[] {
  const out: Tombstone[] = own.map((v) => ({ siteId, subjectHash: subjectHash('visitor', siteId, v), fromAt: 0, toAt: erasedAt, erasedAt }));
  for (const l of sharedLinks) {
    const fromAt = Number(l.from_at) === Number(l.first_from_at) ? 0 : Number(l.from_at);
    // a link ends where the next one starts: that moment's event is the next lead's
    const toAt = l.to_at == null ? erasedAt : Math.min(Number(l.to_at) - 1, erasedAt);
    if (toAt >= fromAt) out.push({ siteId, subjectHash: subjectHash('visitor', siteId, l.visitor_id), fromAt, toAt, erasedAt });
  }
  if (email) out.push({ siteId, subjectHash: subjectHash('email', siteId, email), fromAt: 0, toAt: erasedAt, erasedAt });
  for (const l of leadIds) out.push({ siteId, subjectHash: subjectHash('lead', siteId, l), fromAt: 0, toAt: erasedAt, erasedAt });
  return out;
}

/**
 * A device shared with another live lead keeps its visitors row, which must hold nothing of the erased lead: it points
 * at the lead of the device's current link (none when that was the erased lead: the device starts afresh), its times
 * and counts are derived again from the events left on it (other leads' only), its first touch goes when the erased
 * lead's period was the device's first, and its last touch and session when that period was its last.
 */
async function rebuildSharedVisitor(tx: Db, siteId: string, visitorId: string, erasedFirst: boolean, erasedLast: boolean): Promise<void> {
  const current = await tx.get<{ lead_id: string }>(
    'SELECT lead_id FROM identity_links WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL', [siteId, visitorId],
  );
  const left = await tx.get<{ first_seen: number | null; last_seen: number | null; n: number; sessions: number }>(
    `SELECT MIN(at) AS first_seen, MAX(at) AS last_seen, COUNT(*) AS n,
       COUNT(DISTINCT CASE WHEN source = 'web' THEN session_id END) AS sessions
     FROM events WHERE site_id = ? AND visitor_id = ?`,
    [siteId, visitorId],
  );
  const links = await tx.get<{ first: number | null; last: number | null }>(
    'SELECT MIN(from_at) AS first, MAX(from_at) AS last FROM identity_links WHERE site_id = ? AND visitor_id = ?', [siteId, visitorId],
  );
  await tx.run(
    `UPDATE visitors SET lead_id = ?, first_seen = COALESCE(?, first_seen), last_seen = COALESCE(?, last_seen), session_count = ?,
       event_count = ?${erasedFirst ? ', first_touch = NULL' : ''}
     WHERE site_id = ? AND visitor_id = ?`,
    [current?.lead_id ?? null, left?.first_seen ?? links?.first ?? null, left?.last_seen ?? links?.last ?? null, Number(left?.sessions ?? 0), Number(left?.n ?? 0), siteId, visitorId],
  );
  if (!erasedLast) return;
  // the session enrichment would continue: the latest one left, or none (the next event opens one)
  const last = await tx.get<{ session_id: string }>(
    `SELECT session_id FROM events WHERE site_id = ? AND visitor_id = ? AND source = 'web' ORDER BY at DESC LIMIT 1`, [siteId, visitorId],
  );
  const started = last
    ? await tx.get<{ at: number }>('SELECT MIN(at) AS at FROM events WHERE site_id = ? AND visitor_id = ? AND session_id = ?', [siteId, visitorId, last.session_id])
    : undefined;
  await tx.run(
    `UPDATE visitors SET session_id = ?, session_started = ?, session_campaign = '', last_touch = NULL WHERE site_id = ? AND visitor_id = ?`,
    [last?.session_id ?? `${visitorId}.erased`, Number(started?.at ?? 0), siteId, visitorId],
  );
}

export async function eraseLeadRows(
  tx: Db, siteId: string, leadId: string, email: string | null, unattributedEventIds: string[] = [], erasedAt = Date.now(),
): Promise<ErasureCounts> {
  const { own, shared } = await splitVisitors(tx, siteId, leadId);
  const links = await tx.all<{ visitor_id: string; from_at: number; to_at: number | null; first_from_at: number }>(
    `SELECT l.visitor_id, l.from_at, l.to_at,
       (SELECT MIN(f.from_at) FROM identity_links f WHERE f.site_id = l.site_id AND f.visitor_id = l.visitor_id) AS first_from_at
     FROM identity_links l WHERE l.site_id = ? AND l.lead_id = ?`,
    [siteId, leadId],
  );
  const c: ErasureCounts = {
    events: 0, visitors: 0, identityLinks: 0, stageChanges: 0, scoreChanges: 0, segmentMembers: 0, segmentChanges: 0,
    segmentRechecks: 0, webhookDeliveries: 0, rejectedEvents: 0, leads: 0, tombstones: 0, other: {},
  };
  const sharedSet = new Set(shared);
  const aliases = await tx.all<{ merged_lead_id: string }>('SELECT merged_lead_id FROM lead_aliases WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  const tombstones = tombstonesOf(
    siteId, own, links.filter((l) => sharedSet.has(l.visitor_id)), email, [leadId, ...aliases.map((a) => a.merged_lead_id)], erasedAt,
  );
  await insertTombstones(tx, tombstones);
  c.tombstones = tombstones.length;

  c.events += await tx.run('DELETE FROM events WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  c.events += await sumChunks(own, (v) => tx.run(`DELETE FROM events WHERE site_id = ? AND visitor_id IN (${listSql(v.length)})`, [siteId, ...v]));
  // A shared device keeps the other lead's events; the lead's own period on it goes (unattributed ones included;
  // events before a visitor's first link belong to that link, as attribution decides).
  for (const l of links) {
    if (!sharedSet.has(l.visitor_id)) continue;
    c.events += await tx.run(
      'DELETE FROM events WHERE site_id = ? AND visitor_id = ? AND at >= ? AND at < ? AND lead_id IS NULL',
      [siteId, l.visitor_id, Number(l.from_at) === Number(l.first_from_at) ? 0 : l.from_at, l.to_at ?? Number.MAX_SAFE_INTEGER],
    );
  }
  c.events += await sumChunks(unattributedEventIds, (ids) =>
    tx.run(`DELETE FROM events WHERE site_id = ? AND attributed = 0 AND event_id IN (${listSql(ids.length)})`, [siteId, ...ids]),
  );
  c.visitors += await sumChunks(own, (v) => tx.run(`DELETE FROM visitors WHERE site_id = ? AND visitor_id IN (${listSql(v.length)})`, [siteId, ...v]));
  c.identityLinks += await tx.run('DELETE FROM identity_links WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  c.identityLinks += await sumChunks(own, (v) =>
    tx.run(`DELETE FROM identity_links WHERE site_id = ? AND visitor_id IN (${listSql(v.length)})`, [siteId, ...v]),
  );

  c.stageChanges = await tx.run('DELETE FROM stage_changes WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  c.scoreChanges = await tx.run('DELETE FROM score_changes WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  // Live member counts drop with the memberships.
  await tx.run(
    // the base alone may be 0 while shard rows (segment_counts) hold the count: no floor here
    `UPDATE segments SET member_count = member_count - 1
     WHERE site_id = ? AND segment_key IN (SELECT segment_key FROM segment_members WHERE site_id = ? AND lead_id = ?)`,
    [siteId, siteId, leadId],
  );
  c.segmentMembers = await tx.run('DELETE FROM segment_members WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  c.segmentChanges = await tx.run('DELETE FROM segment_changes WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  c.segmentRechecks = await tx.run('DELETE FROM segment_rechecks WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);

  // Free-text rows: anything mentioning the lead id, an id merged into it (its deliveries name the anonymous lead they
  // were about), the email (any spelling: see readAsWritten), an erased visitor, or their SHA-256 hashes; as whole
  // tokens, so that no one else's row goes with them (mada@example.com, ada@example.com.au, a device "v10" for "v1").
  const ids = [leadId, ...aliases.map((a) => a.merged_lead_id), ...own];
  const mention: Mentions = { ids, hashes: [...ids, ...(email ? emailSpellings(email) : [])].map(sha256), emails: email ? emailSpellings(email) : [] };
  const patterns = [...ids, ...mention.hashes, ...mention.emails].map(likeOf);
  c.webhookDeliveries = await eraseMentions(tx, FREE_TEXT.webhooks, siteId, patterns, mention);
  // Rejected input of an unknown site has no site id; it may still hold the person's email, in the sender's spelling.
  const probe = email ? [likeOf(emailProbe(email))] : [];
  c.rejectedEvents = await eraseMentions(tx, FREE_TEXT.rejected, siteId, [...patterns, ...probe], mention);

  c.leads = await tx.run('DELETE FROM leads WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  for (const v of shared) {
    const mine = links.filter((l) => l.visitor_id === v);
    const first = mine.some((l) => Number(l.from_at) === Number(l.first_from_at));
    await rebuildSharedVisitor(tx, siteId, v, first, mine.some((l) => l.to_at == null));
  }

  for (const [table, cols] of await listTablesWithColumns(tx)) {
    if (KNOWN.has(table) || !cols.has('site_id')) continue;
    let n = 0;
    if (cols.has('lead_id')) n += await tx.run(`DELETE FROM ${quoteIdent(table)} WHERE site_id = ? AND lead_id = ?`, [siteId, leadId]);
    if (cols.has('visitor_id')) {
      n += await sumChunks(own, (v) => tx.run(`DELETE FROM ${quoteIdent(table)} WHERE site_id = ? AND visitor_id IN (${listSql(v.length)})`, [siteId, ...v]));
    }
    if (email && cols.has('email')) n += await tx.run(`DELETE FROM ${quoteIdent(table)} WHERE site_id = ? AND email = ?`, [siteId, email]);
    if (n > 0) c.other[table] = n;
  }
  return c;
}
