// Events and visitors on the ingest path: idempotent event inserts, one visitor upsert per visitor per flush, and the
// session reads of enrichment.
import type { Db } from './db.js';
import { dialectSql } from './db.js';
import { chunkRows, flatRows, listSql, sqlForRows, valuesSql } from './multi-row.js';
import type { EnrichedEvent, StoredEvent, Touch } from '../ingest/types.js';
import type { SessionState } from '../ingest/sessions.js';
import type { StoredSessionEvent } from '../ingest/late-events.js';
import type { EventSource } from '../../shared/events.js';

export const EVENT_COLUMNS = [
  'site_id', 'event_id', 'visitor_id', 'lead_id', 'session_id', 'name', 'at', 'received_at', 'source', 'url', 'path', 'referrer',
  'props', 'form', 'email', 'traits', 'channel', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content',
  'click_id', 'first_touch', 'browser', 'os', 'device', 'is_bot', 'attributed',
] as const;

const json = (v: unknown) => (v == null ? null : JSON.stringify(v));

/** The row values of an event, in EVENT_COLUMNS order. */
export function eventRow(e: EnrichedEvent): unknown[] {
  return [
    e.siteId, e.eventId, e.visitorId, e.leadId, e.sessionId, e.name, e.at, e.receivedAt, e.source, e.url, e.path, e.referrer,
    json(e.props), e.form, e.email, json(e.traits), e.channel, e.utmSource, e.utmMedium, e.utmCampaign, e.utmTerm, e.utmContent,
    // stored with a lead = stored attributed (the funnel engine corrects or, on failure, unmarks it in the same flush)
    e.clickId, json(e.firstTouch), e.browser, e.os, e.device, e.isBot ? 1 : 0, e.leadId === null ? 0 : 1,
  ];
}

// SQLite: rows in chunks of 64/32/…/1 per statement (one prepared text per size); ~40% less time per row than one each.
const insertEventsSql = sqlForRows((rows) => `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES ${valuesSql(EVENT_COLUMNS.length, rows)}
  ON CONFLICT (site_id, event_id) DO NOTHING RETURNING site_id, event_id`);

/** PostgreSQL types of the non-text event columns, for the UNNEST array casts. */
const EVENT_PG_TYPES: Partial<Record<(typeof EVENT_COLUMNS)[number], string>> = {
  at: 'bigint', received_at: 'bigint', is_bot: 'integer', attributed: 'integer',
};

// PostgreSQL: the whole flush in one statement, one array parameter per column (29 parameters whatever the row count).
const INSERT_EVENTS_PG = `INSERT INTO events (${EVENT_COLUMNS.join(', ')})
  SELECT * FROM UNNEST(${EVENT_COLUMNS.map((c) => `?::${EVENT_PG_TYPES[c] ?? 'text'}[]`).join(', ')})
  ON CONFLICT (site_id, event_id) DO NOTHING RETURNING site_id, event_id`;

const keyOf = (siteId: string, id: string) => siteId + '\u0000' + id;

/** Rows as one array per column. Sorted by key so that concurrent flushes of several collectors lock rows in one order. */
function toColumnArrays<T>(items: T[], key: (item: T) => string, row: (item: T) => unknown[], width: number): unknown[][] {
  const keyed = items.map((item) => ({ k: key(item), item })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const { item } of keyed) {
    const values = row(item);
    for (let c = 0; c < width; c++) columns[c].push(values[c]);
  }
  return columns;
}

/**
 * Inserts events; an id already stored for the site is skipped (retries are stored once).
 * Resolves to the events this call stored for the first time, in input order.
 * SQLite: multi-row VALUES statements. PostgreSQL: one multi-row UNNEST statement per call.
 */
export async function insertEvents(tx: Db, events: EnrichedEvent[]): Promise<StoredEvent[]> {
  if (tx.dialect === 'pg') return insertEventsPg(tx, events);
  const inserted = new Set<string>();
  for (const chunk of chunkRows(events)) {
    const rows = await tx.all<{ site_id: string; event_id: string }>(insertEventsSql(chunk.length), flatRows(chunk, eventRow));
    for (const r of rows) inserted.add(keyOf(r.site_id, r.event_id));
  }
  // an id twice in the input: a later row of the same statement conflicts with the first, so the first is stored
  return events.filter((e) => inserted.delete(keyOf(e.siteId, e.eventId)));
}

async function insertEventsPg(tx: Db, events: EnrichedEvent[]): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  // a stable sort keeps the first of two same-id events first, so it is the one stored, as on SQLite
  const columns = toColumnArrays(events, (e) => keyOf(e.siteId, e.eventId), eventRow, EVENT_COLUMNS.length);
  const rows = await tx.all<{ site_id: string; event_id: string }>(INSERT_EVENTS_PG, columns);
  const inserted = new Set(rows.map((r) => keyOf(r.site_id, r.event_id)));
  return events.filter((e) => inserted.delete(keyOf(e.siteId, e.eventId)));
}

/** What one flush learned about one visitor. */
export interface VisitorUpdate {
  siteId: string;
  visitorId: string;
  firstSeen: number;
  lastSeen: number;
  session: SessionState;
  newSessions: number;
  newEvents: number;
  firstTouch: string | null;
  lastTouch: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  isBot: boolean;
  /**
   * the session enrichment continued from (null: none stored or remembered), when known: a flush on PostgreSQL checks
   * a session this update opened against what another collector stored meanwhile (claimVisitorSessions)
   */
  basedOn?: { sessionId: string; started: number; lastSeen?: number } | null;
}

const VISITOR_COLUMNS = [
  'site_id', 'visitor_id', 'first_seen', 'last_seen', 'session_id', 'session_started', 'session_campaign',
  'session_count', 'event_count', 'first_touch', 'last_touch', 'browser', 'os', 'device', 'is_bot',
] as const;
const VISITOR_PG_TYPES: Partial<Record<(typeof VISITOR_COLUMNS)[number], string>> = {
  first_seen: 'bigint', last_seen: 'bigint', session_started: 'bigint', session_count: 'integer', event_count: 'integer', is_bot: 'integer',
};

const visitorRow = (u: VisitorUpdate): unknown[] => [
  u.siteId, u.visitorId, u.firstSeen, u.lastSeen, u.session.sessionId, u.session.started, u.session.campaign,
  u.newSessions, u.newEvents, u.firstTouch, u.lastTouch, u.browser, u.os, u.device, u.isBot ? 1 : 0,
];

/** The visitor upsert; rows come from one VALUES tuple, or on PostgreSQL (`multiRow`) from UNNEST of one array per column. */
export function upsertVisitorSql(db: Db, multiRow = false): string {
  const d = dialectSql(db.dialect);
  const rows = multiRow
    ? `SELECT * FROM UNNEST(${VISITOR_COLUMNS.map((c) => `?::${VISITOR_PG_TYPES[c] ?? 'text'}[]`).join(', ')})`
    : `VALUES (${VISITOR_COLUMNS.map(() => '?').join(', ')})`;
  // PostgreSQL: an update that opened no session goes on in one begun later than the row's, which the row does not
  // hold though it saw activity since that session began (its opener was stored): another collector's flush merged
  // that session into the row's meanwhile (a late page showed the two to be one visit). The row keeps its session, and
  // the flush moves the update's events into it (session-bridge.ts rejoinMerged, which puts the row on the update's
  // session, as before, when it was not merged). SQLite has one writer: no merge comes between.
  const adopt = db.dialect === 'pg'
    ? `excluded.session_started >= visitors.session_started AND (excluded.session_started = visitors.session_started
        OR excluded.session_count > 0 OR excluded.session_id = visitors.session_id OR visitors.last_seen < excluded.session_started)`
    : 'excluded.session_started >= visitors.session_started';
  return `INSERT INTO visitors (${VISITOR_COLUMNS.join(', ')})
    ${rows}
    ON CONFLICT (site_id, visitor_id) DO UPDATE SET
      first_seen = ${d.least('visitors.first_seen', 'excluded.first_seen')},
      last_seen = ${d.greatest('visitors.last_seen', 'excluded.last_seen')},
      session_id = CASE WHEN ${adopt} THEN excluded.session_id ELSE visitors.session_id END,
      session_campaign = CASE WHEN ${adopt} THEN excluded.session_campaign ELSE visitors.session_campaign END,
      session_started = CASE WHEN ${adopt} THEN excluded.session_started ELSE visitors.session_started END,
      session_count = visitors.session_count + excluded.session_count,
      event_count = visitors.event_count + excluded.event_count,
      first_touch = COALESCE(visitors.first_touch, excluded.first_touch),
      last_touch = CASE WHEN excluded.last_seen >= visitors.last_seen THEN COALESCE(excluded.last_touch, visitors.last_touch) ELSE visitors.last_touch END,
      browser = COALESCE(excluded.browser, visitors.browser),
      os = COALESCE(excluded.os, visitors.os),
      device = COALESCE(excluded.device, visitors.device),
      is_bot = ${d.greatest('visitors.is_bot', 'excluded.is_bot')}`;
}

/** A visitor's current session as its row holds it after an upsert (PostgreSQL). */
export interface StoredCurrentSession {
  sessionId: string;
  started: number;
  campaign: string;
}

/**
 * Applies visitor updates in order. SQLite: one prepared statement per update. PostgreSQL: one UNNEST statement per
 * call, resolving (per `site_id \0 visitor_id`) to each visitor's current session as its row holds it afterwards: one
 * another collector committed meanwhile, when it began later than this update's (session-bridge.ts bridgeCommitted).
 */
export async function upsertVisitors(tx: Db, updates: VisitorUpdate[]): Promise<Map<string, StoredCurrentSession> | undefined> {
  if (tx.dialect === 'pg') return upsertVisitorsPg(tx, updates);
  const sql = upsertVisitorSql(tx);
  for (const u of updates) await tx.run(sql, visitorRow(u));
  return undefined;
}

async function upsertVisitorsPg(tx: Db, updates: VisitorUpdate[]): Promise<Map<string, StoredCurrentSession>> {
  // One statement may not update a row twice (ON CONFLICT DO UPDATE): a visitor repeated in the input waits for the
  // next statement, so updates still apply in input order. The ingest flush merges them, so this is one round.
  const sql = upsertVisitorSql(tx, true) + '\n    RETURNING site_id, visitor_id, session_id, session_started, session_campaign';
  const out = new Map<string, StoredCurrentSession>();
  let rest = updates;
  while (rest.length) {
    const seen = new Set<string>();
    const round: VisitorUpdate[] = [];
    const later: VisitorUpdate[] = [];
    for (const u of rest) {
      const k = keyOf(u.siteId, u.visitorId);
      if (seen.has(k)) later.push(u);
      else (seen.add(k), round.push(u));
    }
    const rows = await tx.all<{ site_id: string; visitor_id: string; session_id: string; session_started: number | string; session_campaign: string }>(
      sql,
      toColumnArrays(round, (u) => keyOf(u.siteId, u.visitorId), visitorRow, VISITOR_COLUMNS.length),
    );
    for (const r of rows) {
      out.set(keyOf(r.site_id, r.visitor_id), { sessionId: r.session_id, started: Number(r.session_started), campaign: r.session_campaign });
    }
    rest = later;
  }
  return out;
}

/**
 * PostgreSQL, inside a flush: locks the visitors' rows until the commit (inserting a row without counts for a visitor
 * not stored yet) and reads each one's session as committed by then, waiting for any other collector's flush of the
 * same visitor to commit first. Per `site_id \0 visitor_id`: that session, or null when the row is new (this flush is
 * the visitor's first). One statement for all of them; the flush's own upsert then adds the counts.
 */
export async function claimVisitorSessions(tx: Db, updates: VisitorUpdate[]): Promise<Map<string, SessionState | null>> {
  const out = new Map<string, SessionState | null>();
  if (updates.length === 0) return out;
  const seen = new Set<string>();
  const unique = updates.filter((u) => {
    const k = keyOf(u.siteId, u.visitorId);
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const rows = await tx.all<SessionRow & { site_id: string; fresh: boolean; seen: boolean }>(
    `INSERT INTO visitors (${VISITOR_COLUMNS.join(', ')})
      SELECT * FROM UNNEST(${VISITOR_COLUMNS.map((c) => `?::${VISITOR_PG_TYPES[c] ?? 'text'}[]`).join(', ')})
      ON CONFLICT (site_id, visitor_id) DO UPDATE SET session_id = visitors.session_id
      RETURNING site_id, (xmax = 0) AS fresh, ${SESSION_COLS},
        EXISTS (SELECT 1 FROM events e WHERE e.site_id = visitors.site_id AND e.visitor_id = visitors.visitor_id AND e.at = visitors.last_seen
          AND e.session_id = visitors.session_id) AS seen`,
    toColumnArrays(unique, (u) => keyOf(u.siteId, u.visitorId), (u) => visitorRow({ ...u, newSessions: 0, newEvents: 0 }), VISITOR_COLUMNS.length),
  );
  // A row another flush held when this statement began is read as that flush committed it, but the statement's reads
  // of events (session_seen) see only what was committed when it began: that flush's events are missing, and the
  // session's last activity with them (a late page on another collector that brought it within 30 minutes of the
  // session opened here), or that flush moved them into the session (it merged the session they were in: the opener's,
  // committed before this statement began, which a late page showed to be the same visit). Such a row's latest event
  // is not among its session's: it is read again, in a statement of its own (one more statement, only when this flush
  // waited for another of the same visitor).
  const stale: Array<{ site_id: string; visitor_id: string }> = [];
  for (const r of rows) {
    if (!r.fresh && !r.seen) stale.push(r);
    out.set(keyOf(r.site_id, r.visitor_id), r.fresh ? null : toSession(r));
  }
  if (stale.length) {
    const again = await tx.all<SessionRow & { site_id: string }>(
      `SELECT site_id, ${SESSION_COLS} FROM visitors WHERE (site_id, visitor_id) IN (SELECT * FROM UNNEST(?::text[], ?::text[]))`,
      [stale.map((r) => r.site_id), stale.map((r) => r.visitor_id)],
    );
    for (const r of again) out.set(keyOf(r.site_id, r.visitor_id), toSession(r));
  }
  return out;
}

/** A visitor's current session as stored, for enrichment (session-loader.ts says when it is read). */
interface SessionRow { visitor_id: string; session_id: string; session_started: number; session_seen: number; session_campaign: string; last_touch: string | null }
// The session's last activity is its latest event other than an engagement event: one measures time on its view and
// does not extend the session (sessions.ts), though it moves the visitor's last_seen. Found from the newest end of
// events_visitor_at, so it reads the few events after that one. A session of engagement events alone: last_seen.
const SESSION_COLS = `visitor_id, session_id, session_started, session_campaign, last_touch,
  COALESCE((SELECT e.at FROM events e WHERE e.site_id = visitors.site_id AND e.visitor_id = visitors.visitor_id AND e.at <= visitors.last_seen
    AND e.session_id = visitors.session_id AND e.name <> 'engagement' ORDER BY e.at DESC LIMIT 1), last_seen) AS session_seen`;
const toSession = (r: SessionRow): SessionState => ({
  sessionId: r.session_id,
  started: Number(r.session_started),
  lastSeen: Number(r.session_seen),
  campaign: r.session_campaign,
  touch: r.last_touch ? JSON.parse(r.last_touch) : null,
});

export async function getVisitorSession(db: Db, siteId: string, visitorId: string): Promise<SessionState | null> {
  const r = await db.get<SessionRow>(`SELECT ${SESSION_COLS} FROM visitors WHERE site_id = ? AND visitor_id = ?`, [siteId, visitorId]);
  return r ? toSession(r) : null;
}

/** The stored sessions of several visitors of a site (absent: never seen); one statement per chunk. */
export async function getVisitorSessions(db: Db, siteId: string, visitorIds: readonly string[]): Promise<Map<string, SessionState>> {
  const out = new Map<string, SessionState>();
  for (const chunk of chunkRows(visitorIds, db.dialect)) {
    const rows = await db.all<SessionRow>(`SELECT ${SESSION_COLS} FROM visitors WHERE site_id = ? AND visitor_id IN (${listSql(chunk.length)})`, [siteId, ...chunk]);
    for (const r of rows) out.set(r.visitor_id, toSession(r));
  }
  return out;
}

interface SessionEventRow {
  session_id: string; at: number; channel: Touch['channel']; click_id: string | null;
  utm_source: string | null; utm_medium: string | null; utm_campaign: string | null; utm_term: string | null; utm_content: string | null;
}
const SESSION_EVENTS_SQL = `SELECT session_id, at, channel, click_id, utm_source, utm_medium, utm_campaign, utm_term, utm_content
  FROM events WHERE site_id = ? AND visitor_id = ? AND at >= ? AND at <= ? AND source = 'web' AND name <> 'engagement' ORDER BY at`;

/** A stored event's session touch: channel and UTM fields; the click id's value is not stored, its kind stands for it. */
function storedTouch(r: SessionEventRow): Touch {
  const t: Touch = { channel: r.channel };
  if (r.utm_source !== null) t.utm_source = r.utm_source;
  if (r.utm_medium !== null) t.utm_medium = r.utm_medium;
  if (r.utm_campaign !== null) t.utm_campaign = r.utm_campaign;
  if (r.utm_term !== null) t.utm_term = r.utm_term;
  if (r.utm_content !== null) t.utm_content = r.utm_content;
  if (r.click_id) (t as Record<string, unknown>)[r.click_id] = r.click_id;
  return t;
}

/**
 * A visitor's web events between two times, oldest first, as far as sessions go: the sessions late events may join.
 * One range of the events_visitor_at index.
 */
export async function listVisitorSessionEvents(db: Db, siteId: string, visitorId: string, from: number, to: number): Promise<StoredSessionEvent[]> {
  const rows = await db.all<SessionEventRow>(SESSION_EVENTS_SQL, [siteId, visitorId, from, to]);
  return rows.map((r) => ({ sessionId: r.session_id, at: Number(r.at), touch: storedTouch(r) }));
}

/** Events stored but not attributed (attribution failed, or the process died between commit and attribution). */
export async function listUnattributedEvents(db: Db, siteId: string, limit: number): Promise<Array<Record<string, unknown>>> {
  return db.all(
    `SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE site_id = ? AND attributed = 0 AND is_bot = 0 ORDER BY received_at, at LIMIT ?`,
    [siteId, limit],
  );
}

/** Rows of `events` back as StoredEvents (replay, recovery). */
export function rowToEvent(r: Record<string, unknown>): StoredEvent {
  const parse = (v: unknown) => (v == null ? null : JSON.parse(String(v)));
  return {
    siteId: String(r.site_id), eventId: String(r.event_id), visitorId: String(r.visitor_id), leadId: (r.lead_id as string) ?? null,
    sessionId: String(r.session_id), name: String(r.name), at: Number(r.at), receivedAt: Number(r.received_at),
    source: r.source as EventSource, url: String(r.url), path: String(r.path), referrer: String(r.referrer),
    props: parse(r.props), form: (r.form as StoredEvent['form']) ?? null, email: (r.email as string) ?? null, traits: parse(r.traits),
    channel: r.channel as StoredEvent['channel'], utmSource: (r.utm_source as string) ?? null, utmMedium: (r.utm_medium as string) ?? null,
    utmCampaign: (r.utm_campaign as string) ?? null, utmTerm: (r.utm_term as string) ?? null, utmContent: (r.utm_content as string) ?? null,
    clickId: (r.click_id as string) ?? null, firstTouch: parse(r.first_touch), sessionTouch: null,
    browser: (r.browser as string) ?? null, os: (r.os as string) ?? null, device: (r.device as string) ?? null, isBot: Number(r.is_bot) === 1,
  };
}
