// Timeline sources of one lead: its events (by lead and by linked visitor), identity links, stage, score and
// segment changes. Each paged source reads at most `limit` rows after a keyset bound through a (site, lead|visitor, at) index.
// Time ranges are written `at BETWEEN ? AND ?` (inclusive upper bound): with `at >= ? AND at < ?` SQLite's planner,
// lacking ANALYZE statistics, prefers the (site, at) index and scans the whole site.
import type { Db } from './db.js';

/** Keyset bound in the timeline's total order (at desc, rank desc, id desc). */
export interface KeyBound {
  at: number;
  rank: number;
  id: string;
}

export interface SourceWindow {
  /** inclusive, epoch ms */
  from: number;
  /** exclusive, epoch ms */
  to: number;
  /** rows strictly after this key, newest first */
  after?: KeyBound;
  limit: number;
}

/**
 * "Strictly after the bound" for a source whose items all have `rank`, as a tighter exclusive upper time (so the
 * index range itself skips what earlier pages returned) plus a tie filter on the id for the bound's own millisecond.
 * pg compares ids byte-wise (COLLATE "C") so both engines order ties the way the merge does.
 */
function afterBound(db: Db, rank: number, w: SourceWindow, idCol: string): { to: number; sql: string; params: unknown[] } {
  const bound = w.after;
  if (!bound) return { to: w.to, sql: '', params: [] };
  if (rank < bound.rank) return { to: Math.min(w.to, bound.at + 1), sql: '', params: [] };
  if (rank > bound.rank) return { to: Math.min(w.to, bound.at), sql: '', params: [] };
  return { to: Math.min(w.to, bound.at + 1), sql: ` AND (at < ? OR ${byteOrder(db, idCol)} < ?)`, params: [bound.at, bound.id] };
}

const byteOrder = (db: Db, col: string) => (db.dialect === 'pg' ? `${col} COLLATE "C"` : col);

export interface EventRow {
  event_id: string;
  visitor_id: string;
  lead_id: string | null;
  session_id: string;
  name: string;
  at: number;
  source: string;
  url: string;
  path: string;
  referrer: string;
  props: string | null;
  form: string | null;
  email: string | null;
  traits: string | null;
  channel: string;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  click_id: string | null;
  /** parsed from the user agent (null for server events) */
  browser: string | null;
  os: string | null;
  device: string | null;
}

const EVENT_COLS = `event_id, visitor_id, lead_id, session_id, name, at, source, url, path, referrer, props, form, email, traits,
  channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id,
  browser, os, device`;

const nameFilter = (names: string[] | null) =>
  names && names.length ? { sql: ` AND name IN (${names.map(() => '?').join(', ')})`, params: names as unknown[] } : { sql: '', params: [] };

/** Events attributed to the lead (web events after attribution, server events from the start). */
export async function listLeadEvents(db: Db, siteId: string, leadId: string, w: SourceWindow, rank: number, names: string[] | null): Promise<EventRow[]> {
  const b = afterBound(db, rank, w, 'event_id');
  const n = nameFilter(names);
  return db.all<EventRow>(
    `SELECT ${EVENT_COLS} FROM events WHERE site_id = ? AND lead_id = ? AND at BETWEEN ? AND ?${n.sql}${b.sql}
     ORDER BY at DESC, ${byteOrder(db, 'event_id')} DESC LIMIT ?`,
    [siteId, leadId, w.from, b.to - 1, ...n.params, ...b.params, w.limit],
  );
}

/**
 * Events of one visitor during a period its identity link ties it to the lead that carry no other lead, as keys only
 * (reading 50 wide rows per device is most of a timeline's cost, and nearly all of them are the lead's own events,
 * which listLeadEvents already returns). The caller fetches the unattributed ones with getEventRows.
 */
export async function listVisitorEventKeys(
  db: Db, siteId: string, visitorId: string, leadId: string, w: SourceWindow, rank: number, names: string[] | null,
): Promise<Array<{ event_id: string; at: number; lead_id: string | null }>> {
  const b = afterBound(db, rank, w, 'event_id');
  const n = nameFilter(names);
  return db.all(
    `SELECT event_id, at, lead_id FROM events WHERE site_id = ? AND visitor_id = ? AND at BETWEEN ? AND ? AND (lead_id IS NULL OR lead_id = ?)${n.sql}${b.sql}
     ORDER BY at DESC, ${byteOrder(db, 'event_id')} DESC LIMIT ?`,
    [siteId, visitorId, w.from, b.to - 1, leadId, ...n.params, ...b.params, w.limit],
  );
}

/** Full rows of the given events. */
export async function getEventRows(db: Db, siteId: string, eventIds: string[]): Promise<EventRow[]> {
  if (eventIds.length === 0) return [];
  return db.all<EventRow>(`SELECT ${EVENT_COLS} FROM events WHERE site_id = ? AND event_id IN (${eventIds.map(() => '?').join(', ')})`, [siteId, ...eventIds]);
}

export interface LinkRow {
  visitor_id: string;
  from_at: number;
  /** from_at of the visitor's first link: events before it belong to that first link (as attribution decides) */
  first_from_at: number;
  to_at: number | null;
  email: string | null;
  event_id: string | null;
  reason: string;
}

/** Every identity link of the lead (a lead has a handful: one per device and identification). */
export async function listLeadLinks(db: Db, siteId: string, leadId: string): Promise<LinkRow[]> {
  return db.all<LinkRow>(
    `SELECT l.visitor_id, l.from_at, l.to_at, l.email, l.event_id, l.reason,
       (SELECT MIN(f.from_at) FROM identity_links f WHERE f.site_id = l.site_id AND f.visitor_id = l.visitor_id) AS first_from_at
     FROM identity_links l WHERE l.site_id = ? AND l.lead_id = ? ORDER BY l.from_at`,
    [siteId, leadId],
  );
}

export interface StageRow {
  to_stage: string;
  from_stage: string | null;
  at: number;
  event_id: string | null;
  rule: string | null;
}

/** Every stage change of the lead (at most one per stage). */
export async function listStageChanges(db: Db, siteId: string, leadId: string): Promise<StageRow[]> {
  return db.all<StageRow>('SELECT to_stage, from_stage, at, event_id, rule FROM stage_changes WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
}

export interface ScoreRow {
  change_id: string;
  at: number;
  event_id: string | null;
  rule: string;
  points: number;
  score_after: number;
}

export async function listScoreChanges(db: Db, siteId: string, leadId: string, w: SourceWindow, rank: number): Promise<ScoreRow[]> {
  const b = afterBound(db, rank, w, 'change_id');
  return db.all<ScoreRow>(
    `SELECT change_id, at, event_id, rule, points, score_after FROM score_changes WHERE site_id = ? AND lead_id = ? AND at BETWEEN ? AND ?${b.sql}
     ORDER BY at DESC, ${byteOrder(db, 'change_id')} DESC LIMIT ?`,
    [siteId, leadId, w.from, b.to - 1, ...b.params, w.limit],
  );
}

export interface SegmentChangeRow {
  change_id: string;
  segment_key: string;
  kind: string;
  at: number;
}

export async function listSegmentChanges(db: Db, siteId: string, leadId: string, w: SourceWindow, rank: number): Promise<SegmentChangeRow[]> {
  const b = afterBound(db, rank, w, 'change_id');
  return db.all<SegmentChangeRow>(
    `SELECT change_id, segment_key, kind, at FROM segment_changes WHERE site_id = ? AND lead_id = ? AND at BETWEEN ? AND ?${b.sql}
     ORDER BY at DESC, ${byteOrder(db, 'change_id')} DESC LIMIT ?`,
    [siteId, leadId, w.from, b.to - 1, ...b.params, w.limit],
  );
}
