// Identity links (which lead a visitor belonged to, and since when), the visitors' current lead, and lead merges.
import type { Db } from './db.js';
import { chunkRows, flatRows, listSql, sqlForRows, valuesSql } from './multi-row.js';
import { carryMqlAnnounced } from './leads.js';

export interface LinkRow {
  lead_id: string;
  from_at: number;
}

export type LinkReason = 'first_seen' | 'identified' | 'merged' | 'switched';

export interface NewLink {
  siteId: string;
  visitorId: string;
  fromAt: number;
  leadId: string;
  email: string | null;
  eventId: string | null;
  reason: LinkReason;
  now: number;
}

/** The visitor's link in effect now. */
export async function getCurrentLink(db: Db, siteId: string, visitorId: string): Promise<LinkRow | undefined> {
  return db.get<LinkRow>('SELECT lead_id, from_at FROM identity_links WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL', [siteId, visitorId]);
}

export interface CurrentLink extends LinkRow {
  /** what `visitors.lead_id` holds (null also when the visitor has no row yet) */
  visitor_lead: string | null;
}

const selectLinksOfVisitorsSql = sqlForRows(
  (n) => `SELECT l.visitor_id, l.lead_id, l.from_at, l.to_at, v.lead_id AS visitor_lead FROM identity_links l
       LEFT JOIN visitors v ON v.site_id = l.site_id AND v.visitor_id = l.visitor_id
       WHERE l.site_id = ? AND l.visitor_id IN (${listSql(n)})`,
);

export interface VisitorLinks {
  /** the link in effect now, by visitor */
  current: Map<string, CurrentLink>;
  /**
   * Visitors that have links but none in effect (the lead they last belonged to was erased), with the latest `from_at`
   * of their links: such a visitor starts again as a new anonymous lead, never under a lead id it had before.
   */
  ended: Map<string, number>;
}

/**
 * The current links of many visitors (a few statements on SQLite, one on PostgreSQL; multi-row.ts), with the visitors'
 * `lead_id` to see if it is in step, and which visitors only have ended links. A visitor has a handful of links, all
 * in one primary-key range.
 */
export async function getCurrentLinks(db: Db, siteId: string, visitorIds: readonly string[]): Promise<VisitorLinks> {
  const current = new Map<string, CurrentLink>();
  const ended = new Map<string, number>();
  for (const chunk of chunkRows(visitorIds, db.dialect)) {
    const rows = await db.all<CurrentLink & { visitor_id: string; to_at: number | null }>(selectLinksOfVisitorsSql(chunk.length), [siteId, ...chunk]);
    for (const r of rows) {
      if (r.to_at == null) current.set(r.visitor_id, { lead_id: r.lead_id, from_at: Number(r.from_at), visitor_lead: r.visitor_lead });
      else ended.set(r.visitor_id, Math.max(ended.get(r.visitor_id) ?? -Infinity, Number(r.from_at)));
    }
  }
  for (const v of current.keys()) ended.delete(v);
  return { current, ended };
}

/** The latest `from_at` of the visitor's links, or null when it has none (see VisitorLinks.ended). */
export async function getLatestLinkTime(db: Db, siteId: string, visitorId: string): Promise<number | null> {
  const r = await db.get<{ from_at: number }>('SELECT from_at FROM identity_links WHERE site_id = ? AND visitor_id = ? ORDER BY from_at DESC LIMIT 1', [siteId, visitorId]);
  return r ? Number(r.from_at) : null;
}

const insertFirstLinksSql = sqlForRows(
  (n) => `INSERT INTO identity_links (site_id, visitor_id, from_at, to_at, lead_id, email, event_id, reason, created_at)
       VALUES ${valuesSql(9, n)} ON CONFLICT (site_id, visitor_id, from_at) DO NOTHING`,
);

/** First links of visitors that have none (first sight), many at once. */
export async function insertFirstLinks(db: Db, links: readonly NewLink[]): Promise<void> {
  for (const chunk of chunkRows(links, db.dialect)) {
    await db.run(
      insertFirstLinksSql(chunk.length),
      flatRows(chunk, (l) => [l.siteId, l.visitorId, l.fromAt, null, l.leadId, l.email, l.eventId, l.reason, l.now]),
    );
  }
}

const setVisitorLeadsSql = sqlForRows(
  (n) => `UPDATE visitors SET lead_id = v.column2 FROM (VALUES ${valuesSql(2, n)}) AS v
       WHERE visitors.site_id = ? AND visitors.visitor_id = v.column1 AND (visitors.lead_id IS NULL OR visitors.lead_id <> v.column2)`,
);

/** Sets `visitors.lead_id` of many visitors at once (rows already right are not rewritten). */
export async function setVisitorLeads(db: Db, siteId: string, pairs: ReadonlyArray<readonly [visitorId: string, leadId: string]>): Promise<void> {
  for (const chunk of chunkRows(pairs, db.dialect)) {
    await db.run(setVisitorLeadsSql(chunk.length), flatRows(chunk, (pair) => pair).concat(siteId));
  }
}

/**
 * PostgreSQL: takes a transaction lock per email, in sorted order, before any email is claimed or looked up, so that
 * collectors identifying the same people at once queue up instead of deadlocking on the unique email index.
 * SQLite has one writer at a time and needs none.
 */
export async function lockEmails(db: Db, siteId: string, emails: readonly string[]): Promise<void> {
  if (db.dialect !== 'pg') return;
  for (const email of [...new Set(emails)].sort()) {
    await db.get('SELECT pg_advisory_xact_lock(hashtext(?)) AS locked', [siteId + ' ' + email]);
  }
}

/**
 * PostgreSQL: locks the visitors rows of these devices, in id order, until the transaction ends. A server event that
 * names a device takes them first, as ingest's write of a device's row comes before its attribution: a form's beacon
 * and a CRM call naming the same device at once (the hidden-field flow) then run one after the other, and the second
 * decides its identification on what the first committed, instead of both deciding on the same anonymous lead (one
 * claiming it, the other storing its event under that person's lead) or deadlocking (the beacon holding the device's
 * row while waiting for the lead's, the CRM's merge the other way round). After the event id locks, before any email
 * lock, as ingest's order is. A device with no row yet (never seen) is not locked. SQLite has one writer and needs none.
 */
export async function lockVisitors(db: Db, siteId: string, visitorIds: readonly string[]): Promise<void> {
  if (db.dialect !== 'pg' || visitorIds.length === 0) return;
  await db.all('SELECT visitor_id FROM visitors WHERE site_id = ? AND visitor_id = ANY(?::text[]) ORDER BY visitor_id FOR UPDATE', [siteId, [...new Set(visitorIds)]]);
}

/** Advisory lock space (the first key of the two-key form) of server event ids: apart from every one-key lock. */
const SERVER_EVENT_ID_LOCKS = 7262015;

/**
 * PostgreSQL: takes a transaction lock per event id, in sorted order and in one statement, before the caller reads
 * which of them are stored. Two requests carrying the same id at once (a CRM retrying before its first request was
 * answered, on one collector or two) then run one after the other: the second sees the first's event stored and
 * resolves nothing for it (no lead made, no device identified by an event that is not stored). Taken before any email
 * lock, always, so the two kinds never wait on each other in opposite orders. SQLite has one writer and needs none.
 */
export async function lockServerEventIds(db: Db, siteId: string, eventIds: readonly string[]): Promise<void> {
  if (db.dialect !== 'pg' || eventIds.length === 0) return;
  const keys = [...new Set(eventIds)].sort().map((id) => siteId + ' ' + id);
  // unnest yields the array in order, and the aggregate takes the locks row by row in that order
  await db.get(`SELECT count(pg_advisory_xact_lock(${SERVER_EVENT_ID_LOCKS}, hashtext(k))) AS locked FROM unnest(?::text[]) AS k`, [keys]);
}

/**
 * The link in effect at `at`; for a time before the first link, the first link. Links follow each other without a
 * gap, except where the lead a visitor belonged to was erased: a time in such a gap takes the link that follows it
 * (the visitor's new lead), never the one that ended before it.
 */
export async function getLinkAt(db: Db, siteId: string, visitorId: string, at: number): Promise<LinkRow | undefined> {
  const before = await db.get<LinkRow & { to_at: number | null }>(
    'SELECT lead_id, from_at, to_at FROM identity_links WHERE site_id = ? AND visitor_id = ? AND from_at <= ? ORDER BY from_at DESC LIMIT 1',
    [siteId, visitorId, at],
  );
  if (before && (before.to_at == null || Number(before.to_at) > at)) return { lead_id: before.lead_id, from_at: before.from_at };
  const after = await db.get<LinkRow>(
    'SELECT lead_id, from_at FROM identity_links WHERE site_id = ? AND visitor_id = ? AND from_at > ? ORDER BY from_at LIMIT 1',
    [siteId, visitorId, at],
  );
  return after ?? (before && { lead_id: before.lead_id, from_at: before.from_at });
}

/**
 * Starts a link at `fromAt`, ending the visitor's current one there. Two changes in the same millisecond keep the
 * later one (the key is visitor and time).
 */
export async function startLink(db: Db, l: NewLink): Promise<void> {
  await db.run('UPDATE identity_links SET to_at = ? WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL AND from_at < ?', [
    l.fromAt, l.siteId, l.visitorId, l.fromAt,
  ]);
  await db.run(
    `INSERT INTO identity_links (site_id, visitor_id, from_at, to_at, lead_id, email, event_id, reason, created_at)
     VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?)
     ON CONFLICT (site_id, visitor_id, from_at) DO UPDATE SET to_at = NULL, lead_id = excluded.lead_id, email = excluded.email,
       event_id = excluded.event_id, reason = excluded.reason`,
    [l.siteId, l.visitorId, l.fromAt, l.leadId, l.email, l.eventId, l.reason, l.now],
  );
}

/**
 * A switch's own millisecond: the device's events of that millisecond stored under the lead it had go to the lead it
 * switched to (README: events of the same millisecond as an identification are the new lead's, whatever order or batch
 * they arrive in; the old lead's link ends there). Nothing else of the old lead moves. Resolves to the ids moved.
 */
export async function moveEventsOfSwitch(db: Db, siteId: string, visitorId: string, at: number, from: string, to: string): Promise<string[]> {
  const rows = await db.all<{ event_id: string }>(
    'UPDATE events SET lead_id = ? WHERE site_id = ? AND visitor_id = ? AND at = ? AND lead_id = ? RETURNING event_id',
    [to, siteId, visitorId, at, from],
  );
  return rows.map((r) => r.event_id);
}

/** Keeps `visitors.lead_id` (the visitor's current lead, for reads and segments) in step with its links. */
export async function setVisitorLead(db: Db, siteId: string, visitorId: string, leadId: string): Promise<void> {
  await db.run('UPDATE visitors SET lead_id = ? WHERE site_id = ? AND visitor_id = ? AND (lead_id IS NULL OR lead_id <> ?)', [
    leadId, siteId, visitorId, leadId,
  ]);
}

/**
 * Moves everything of lead `from` to lead `into`: its visitors, identity links, events and segment history. Its own
 * stage and score changes and segment rechecks go (the surviving lead is rebuilt from the union of events); then the
 * lead row goes, and its id stays an alias of `into`.
 */
export async function mergeLeadInto(db: Db, siteId: string, from: string, into: string): Promise<void> {
  // the old id (and ids merged into it before) now name `into`
  await db.run('UPDATE lead_aliases SET lead_id = ? WHERE site_id = ? AND lead_id = ?', [into, siteId, from]);
  await db.run(
    'INSERT INTO lead_aliases (site_id, merged_lead_id, lead_id) VALUES (?, ?, ?) ON CONFLICT (site_id, merged_lead_id) DO UPDATE SET lead_id = excluded.lead_id',
    [siteId, from, into],
  );
  await db.run('DELETE FROM segment_rechecks WHERE site_id = ? AND lead_id = ?', [siteId, from]);
  await db.run('UPDATE identity_links SET lead_id = ? WHERE site_id = ? AND lead_id = ?', [into, siteId, from]);
  await db.run('UPDATE visitors SET lead_id = ? WHERE site_id = ? AND lead_id = ?', [into, siteId, from]);
  await db.run('UPDATE events SET lead_id = ? WHERE site_id = ? AND lead_id = ?', [into, siteId, from]);
  await db.run('UPDATE segment_changes SET lead_id = ? WHERE site_id = ? AND lead_id = ?', [into, siteId, from]);
  await db.run('DELETE FROM stage_changes WHERE site_id = ? AND lead_id = ?', [siteId, from]);
  await db.run('DELETE FROM score_changes WHERE site_id = ? AND lead_id = ?', [siteId, from]);
  // the person told its lead.mql once, under either id: the survivor's rebuild tells none again
  await carryMqlAnnounced(db, siteId, from, into);
  await db.run('DELETE FROM leads WHERE site_id = ? AND lead_id = ?', [siteId, from]);
}

/** The lead a lead id names now: itself, or the lead it was merged into. */
export async function getAliasedLeadId(db: Db, siteId: string, leadId: string): Promise<string | null> {
  const r = await db.get<{ lead_id: string }>('SELECT lead_id FROM lead_aliases WHERE site_id = ? AND merged_lead_id = ?', [siteId, leadId]);
  return r?.lead_id ?? null;
}
