// Lead reads: one lead by id, email or visitor; pages of leads by filter; visitor ids and segment keys of leads.
import { dialectSql, type Db } from './db.js';
import type { LeadFoldRow } from './leads.js';
import { listSql } from './multi-row.js';

/** A lead as the read API shows it: the funnel engine's row (leads.ts) and the columns only reads need. */
export interface LeadRow extends Omit<LeadFoldRow, 'version'> {
  updated_at: number;
  identified_at: number | null;
  opted_out: number;
  is_bot: number;
}

const LEAD_COLS = [
  'lead_id', 'email', 'traits', 'stage', 'stage_rank', 'stage_at', 'score', 'score_at', 'mql', 'mql_at', 'sql', 'sql_at',
  'first_touch', 'last_touch', 'created_at', 'updated_at', 'identified_at', 'opted_out', 'is_bot', 'state',
];
const COLS = LEAD_COLS.join(', ');

export async function getLeadRow(db: Db, siteId: string, leadId: string): Promise<LeadRow | undefined> {
  return db.get<LeadRow>(`SELECT ${COLS} FROM leads WHERE site_id = ? AND lead_id = ?`, [siteId, leadId]);
}

export async function getLeadRowByEmail(db: Db, siteId: string, email: string): Promise<LeadRow | undefined> {
  return db.get<LeadRow>(`SELECT ${COLS} FROM leads WHERE site_id = ? AND email = ?`, [siteId, email]);
}

/** The lead a visitor belongs to now: its visitors row, else its open identity link. */
export async function getLeadIdOfVisitor(db: Db, siteId: string, visitorId: string): Promise<string | undefined> {
  const v = await db.get<{ lead_id: string | null }>('SELECT lead_id FROM visitors WHERE site_id = ? AND visitor_id = ?', [siteId, visitorId]);
  if (v?.lead_id) return v.lead_id;
  const link = await db.get<{ lead_id: string }>(
    'SELECT lead_id FROM identity_links WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL ORDER BY from_at DESC LIMIT 1',
    [siteId, visitorId],
  );
  return link?.lead_id;
}


/**
 * Visitor ids of each lead's devices, sorted: those tied to it now (visitors rows) and every device ever linked to it
 * (identity links, closed ones too: a device that went on as another lead keeps its earlier events here).
 */
export async function listVisitorIdsOfLeads(db: Db, siteId: string, leadIds: string[]): Promise<Map<string, string[]>> {
  if (leadIds.length === 0) return new Map();
  const out = new Map<string, Set<string>>(leadIds.map((id) => [id, new Set()]));
  const ph = listSql(leadIds.length);
  const rows = await db.all<{ lead_id: string; visitor_id: string }>(
    // UNION ALL, deduplicated here: a plain UNION makes SQLite walk the primary keys to merge in order
    `SELECT lead_id, visitor_id FROM visitors WHERE site_id = ? AND lead_id IN (${ph})
     UNION ALL SELECT lead_id, visitor_id FROM identity_links WHERE site_id = ? AND lead_id IN (${ph})`,
    [siteId, ...leadIds, siteId, ...leadIds],
  );
  for (const r of rows) out.get(r.lead_id)?.add(r.visitor_id);
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/** Segment keys each lead is a member of now, sorted. */
export async function listSegmentKeysOfLeads(db: Db, siteId: string, leadIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(leadIds.map((id) => [id, []]));
  if (leadIds.length === 0) return out;
  const rows = await db.all<{ lead_id: string; segment_key: string }>(
    // sorted here: ORDER BY segment_key would steer SQLite onto the (site, segment, lead) key and a scan of every member
    `SELECT lead_id, segment_key FROM segment_members WHERE site_id = ? AND lead_id IN (${listSql(leadIds.length)})`,
    [siteId, ...leadIds],
  );
  for (const r of rows) out.get(r.lead_id)?.push(r.segment_key);
  for (const keys of out.values()) keys.sort();
  return out;
}

export interface LeadListFilter {
  stage?: string;
  segment?: string;
  /** part of the email, matched case-insensitively */
  q?: string;
  identified?: boolean;
  /** MQL (true) or not yet (false) */
  mql?: boolean;
  /** SQL (true) or not yet (false) */
  sql?: boolean;
  /**
   * 'activity': newest activity (updated_at) first, ties by lead id descending; a lead that becomes active while a
   * client pages moves ahead of its cursor. 'id': lead id descending, a key that never changes (primary key order).
   */
  order: LeadOrder;
  /** keyset: rows strictly after this one in the order (`updatedAt` is read by the 'activity' order only) */
  after?: { updatedAt?: number; leadId: string };
  limit: number;
}

export type LeadOrder = 'activity' | 'id';

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c);

/** A page of leads in the filter's order. */
export async function listLeadRows(db: Db, siteId: string, f: LeadListFilter): Promise<LeadRow[]> {
  const where = ['l.site_id = ?'];
  const params: unknown[] = [siteId];
  if (f.stage !== undefined) {
    where.push('l.stage = ?');
    params.push(f.stage);
  }
  if (f.segment !== undefined) {
    // IN, not EXISTS: the planner may then start from a small segment instead of walking all leads
    where.push('l.lead_id IN (SELECT m.lead_id FROM segment_members m WHERE m.site_id = ? AND m.segment_key = ?)');
    params.push(siteId, f.segment);
  }
  if (f.q !== undefined) {
    where.push(`l.email IS NOT NULL AND l.email ${dialectSql(db.dialect).ilike} ? ESCAPE '\\'`);
    params.push('%' + escapeLike(f.q.trim().toLowerCase()) + '%');
  }
  if (f.identified !== undefined) where.push(f.identified ? 'l.email IS NOT NULL' : 'l.email IS NULL');
  if (f.mql !== undefined) where.push(f.mql ? 'l.mql = 1' : 'l.mql = 0');
  if (f.sql !== undefined) where.push(f.sql ? 'l.sql = 1' : 'l.sql = 0');
  if (f.after && f.order === 'activity') {
    where.push('(l.updated_at < ? OR (l.updated_at = ? AND l.lead_id < ?))');
    params.push(f.after.updatedAt ?? 0, f.after.updatedAt ?? 0, f.after.leadId);
  } else if (f.after) {
    where.push('l.lead_id < ?');
    params.push(f.after.leadId);
  }
  params.push(f.limit);
  // 'id' walks the primary key (site_id, lead_id) backwards, as 'activity' walks leads_activity
  const order = f.order === 'id' ? 'l.lead_id DESC' : 'l.updated_at DESC, l.lead_id DESC';
  return db.all<LeadRow>(
    `SELECT ${LEAD_COLS.map((c) => 'l.' + c).join(', ')} FROM leads l WHERE ${where.join(' AND ')}
     ORDER BY ${order} LIMIT ?`,
    params,
  );
}
