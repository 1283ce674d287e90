// The rejected-events store: every refused request or event, with its reason and a truncated copy of the input.
import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';

export interface RejectedRow {
  siteId: string | null;
  reason: string;
  message: string;
  route: string;
  raw: string;
  receivedAt: number;
}

type AdmitRejected = (rows: RejectedRow[]) => RejectedRow[];
const admissions = new WeakMap<Db, AdmitRejected>();

/** Installs the rejected-store budget for a database (collector/hardening/rejected-budget.ts): rows over it are only counted. */
export function setRejectedAdmission(db: Db, admit: AdmitRejected): void {
  admissions.set(db, admit);
}

/**
 * An API key's secret (`fbk_<keyId>.<random>`, auth/secrets.ts) anywhere in a refused request: a key sent in a query
 * (`?api_key=`), pasted as a lead's reference or carried in a JSON body. The key id stays, so an admin sees which key
 * was misused; the random part, a part cut short by the 2 KB truncation included, never reaches the database.
 */
const SECRET = /(fbk_[A-Za-z0-9_-]{4,64})\.[A-Za-z0-9_-]+/g;
export const redactSecrets = (text: string) => (text.includes('fbk_') ? text.replace(SECRET, '$1.[redacted]') : text);

export async function insertRejected(db: Db, rows: RejectedRow[]): Promise<void> {
  const admit = admissions.get(db);
  if (admit) rows = admit(rows);
  for (const r of rows) {
    // stored only as a hash (CONTRACT §1): a secret is never kept in clear, not even as refused input
    await db.run(
      'INSERT INTO rejected_events (site_id, rejected_id, reason, message, route, raw, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [r.siteId ?? '', randomUUID(), r.reason, redactSecrets(r.message), r.route, redactSecrets(r.raw), r.receivedAt],
    );
  }
}

export interface RejectedItem {
  id: string;
  reason: string;
  message: string;
  route: string;
  raw: string;
  at: number;
}

/** Newest first; `after` is the last item of the previous page (rows of one request share their time). */
export async function listRejected(
  db: Db,
  siteId: string,
  opts: { limit: number; before?: number; after?: { at: number; id: string }; reason?: string },
): Promise<RejectedItem[]> {
  const at = opts.after?.at ?? opts.before ?? Number.MAX_SAFE_INTEGER;
  const rows = await db.all<{ rejected_id: string; reason: string; message: string; route: string; raw: string; received_at: number }>(
    `SELECT rejected_id, reason, message, route, raw, received_at FROM rejected_events
     WHERE site_id = ? AND (received_at < ? OR (received_at = ? AND rejected_id < ?)) AND (? = '' OR reason = ?)
     ORDER BY received_at DESC, rejected_id DESC LIMIT ?`,
    [siteId, at, at, opts.after?.id ?? '', opts.reason ?? '', opts.reason ?? '', opts.limit],
  );
  return rows.map((r) => ({ id: r.rejected_id, reason: r.reason, message: r.message, route: r.route, raw: r.raw, at: Number(r.received_at) }));
}

export async function countRejected(db: Db, siteId: string | null): Promise<number> {
  const r = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM rejected_events WHERE site_id = ?', [siteId ?? '']);
  return Number(r?.n ?? 0);
}
