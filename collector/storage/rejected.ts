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

export async function insertRejected(db: Db, rows: RejectedRow[]): Promise<void> {
  const admit = admissions.get(db);
  if (admit) rows = admit(rows);
  for (const r of rows) {
    await db.run(
      'INSERT INTO rejected_events (site_id, rejected_id, reason, message, route, raw, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [r.siteId ?? '', randomUUID(), r.reason, r.message, r.route, r.raw, r.receivedAt],
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
