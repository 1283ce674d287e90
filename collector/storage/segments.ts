// Segments, their members, enter/exit history and recheck times: the only SQL of the segments module.
import { dialectSql, type Db } from './db.js';
import { chunkRows, flatRows, listSql, sqlForRows, valuesSql } from './multi-row.js';

export interface SegmentRow {
  siteId: string;
  key: string;
  name: string;
  /** the definition as stored JSON text */
  definition: string;
  memberCount: number;
  createdAt: number;
  updatedAt: number;
}

interface RawSegment { site_id: string; segment_key: string; name: string; definition: string; member_count: number; created_at: number; updated_at: number }
const toSegment = (r: RawSegment): SegmentRow => ({
  siteId: r.site_id,
  key: r.segment_key,
  name: r.name,
  definition: r.definition,
  memberCount: Number(r.member_count),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});
/** The live count: the base in segments plus the shard rows of segment_counts (at most COUNT_SHARDS of them). */
const SEGMENT_COLS = `site_id, segment_key, name, definition,
  member_count + COALESCE((SELECT SUM(c.n) FROM segment_counts c WHERE c.site_id = segments.site_id AND c.segment_key = segments.segment_key), 0)
  AS member_count, created_at, updated_at`;

/** Shard rows per segment for count changes: concurrent flushes pick one at random and rarely share a row lock. */
export const COUNT_SHARDS = 8;

// IN lists are padded to a few sizes (repeating the last id) so that prepared statements are reused, not one per length.
const IN_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
export const MAX_IN = IN_SIZES[IN_SIZES.length - 1];
function padded(ids: readonly string[]): { marks: string; values: string[] } {
  if (ids.length === 0 || ids.length > MAX_IN) throw new Error(`IN list of ${ids.length} ids (1..${MAX_IN})`);
  const size = IN_SIZES.find((n) => n >= ids.length)!;
  const values = [...ids];
  while (values.length < size) values.push(ids[ids.length - 1]);
  return { marks: values.map(() => '?').join(', '), values };
}

export async function listSegments(db: Db, siteId: string): Promise<SegmentRow[]> {
  return (await db.all<RawSegment>(`SELECT ${SEGMENT_COLS} FROM segments WHERE site_id = ? ORDER BY segment_key`, [siteId])).map(toSegment);
}

export async function getSegment(db: Db, siteId: string, key: string): Promise<SegmentRow | undefined> {
  const r = await db.get<RawSegment>(`SELECT ${SEGMENT_COLS} FROM segments WHERE site_id = ? AND segment_key = ?`, [siteId, key]);
  return r && toSegment(r);
}

/** Just keys and definitions: read on every ingest flush, so as little as possible. */
export async function listSegmentDefinitions(db: Db, siteId: string): Promise<Array<{ key: string; name: string; definition: string }>> {
  const rows = await db.all<{ segment_key: string; name: string; definition: string }>(
    'SELECT segment_key, name, definition FROM segments WHERE site_id = ? ORDER BY segment_key',
    [siteId],
  );
  return rows.map((r) => ({ key: r.segment_key, name: r.name, definition: r.definition }));
}

export async function insertSegment(db: Db, s: { siteId: string; key: string; name: string; definition: string; at: number }): Promise<boolean> {
  const n = await db.run(
    `INSERT INTO segments (site_id, segment_key, name, definition, member_count, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)
     ON CONFLICT (site_id, segment_key) DO NOTHING`,
    [s.siteId, s.key, s.name, s.definition, s.at, s.at],
  );
  return n > 0;
}

export async function updateSegment(db: Db, s: { siteId: string; key: string; name: string; definition: string; at: number }): Promise<boolean> {
  const n = await db.run('UPDATE segments SET name = ?, definition = ?, updated_at = ? WHERE site_id = ? AND segment_key = ?', [
    s.name, s.definition, s.at, s.siteId, s.key,
  ]);
  return n > 0;
}

/**
 * Before a definition is written or deleted: on PostgreSQL, waits until every transaction that has read the site's
 * definitions (an ingest flush, a sweep, another PUT's page of re-evaluation) has ended, and holds new readers until
 * this one commits. Without it a flush that read the old definition could commit its memberships after the
 * re-evaluation had passed its leads, leaving members of a definition that is no longer stored. SQLite has one writer.
 */
export async function lockSegmentDefinitions(tx: Db): Promise<void> {
  if (tx.dialect === 'pg') await tx.run('LOCK TABLE segments IN ACCESS EXCLUSIVE MODE');
}

/** Removes the segment and its members (its enter/exit history stays with the leads' timelines). */
export async function deleteSegment(db: Db, siteId: string, key: string): Promise<boolean> {
  await db.run('DELETE FROM segment_members WHERE site_id = ? AND segment_key = ?', [siteId, key]);
  await db.run('DELETE FROM segment_counts WHERE site_id = ? AND segment_key = ?', [siteId, key]);
  return (await db.run('DELETE FROM segments WHERE site_id = ? AND segment_key = ?', [siteId, key])) > 0;
}

const addMemberCountsSql = sqlForRows(
  (n) => `INSERT INTO segment_counts (site_id, segment_key, shard, n) VALUES ${valuesSql(4, n)}
     ON CONFLICT (site_id, segment_key, shard) DO UPDATE SET n = segment_counts.n + excluded.n`,
);

/**
 * Adds each segment's change in member count to its shard row `shard` (0 ≤ shard < COUNT_SHARDS), in key order so
 * that concurrent transactions lock rows in one order. The segments row itself is not written: a flush on one
 * collector does not wait for another's commit to move the same count.
 */
export async function addMemberCounts(db: Db, siteId: string, deltas: ReadonlyMap<string, number>, shard: number): Promise<void> {
  const keys = [...deltas.keys()].filter((k) => deltas.get(k) !== 0).sort();
  if (keys.length === 0) return;
  await db.run(addMemberCountsSql(keys.length), flatRows(keys, (k) => [siteId, k, shard, deltas.get(k)!]));
}

/** Sets the count from the member rows (after a recompute): the base takes it, the shard rows go. */
export async function recountMembers(db: Db, siteId: string, key: string): Promise<number> {
  const row = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM segment_members WHERE site_id = ? AND segment_key = ?', [siteId, key]);
  const n = Number(row?.n ?? 0);
  await db.run('DELETE FROM segment_counts WHERE site_id = ? AND segment_key = ?', [siteId, key]);
  await db.run('UPDATE segments SET member_count = ? WHERE site_id = ? AND segment_key = ?', [n, siteId, key]);
  return n;
}

export interface LeadFactsRow {
  lead_id: string;
  email: string | null;
  stage: string;
  stage_at: number;
  score: number;
  score_at: number;
  first_touch: string | null;
  last_touch: string | null;
  is_bot: number;
}

export async function loadLeadFactRows(db: Db, siteId: string, leadIds: readonly string[]): Promise<LeadFactsRow[]> {
  const { marks, values } = padded(leadIds);
  return db.all<LeadFactsRow>(
    `SELECT lead_id, email, stage, stage_at, score, score_at, first_touch, last_touch, is_bot FROM leads WHERE site_id = ? AND lead_id IN (${marks})`,
    [siteId, ...values],
  );
}

/** Which events the active `did` conditions can look at; everything else stays on disk. */
export interface EventFilter {
  /** some condition counts every event, all time */
  everyEvent: boolean;
  /** names counted over all time */
  names: string[];
  /** names counted only in a window: loaded when newer than `since` */
  recentNames: string[];
  /** some windowed condition counts any event name */
  recentAny: boolean;
  /** oldest moment a windowed condition looks at, epoch ms */
  since: number;
  /** parse props (some condition filters on them) */
  withProps: boolean;
}

export interface LeadEventRow { lead_id: string; name: string; path: string; props: string | null; at: number; source: string }

/** `(name IN (…) OR (name IN (…) AND at > ?))`: the rows a filter lets through, or null for every row, '' for none. */
function filterSql(filter: Omit<EventFilter, 'withProps'>, params: unknown[]): string | null {
  if (filter.everyEvent) return null;
  const ors: string[] = [];
  if (filter.names.length) {
    ors.push(`name IN (${filter.names.map(() => '?').join(', ')})`);
    params.push(...filter.names);
  }
  if (filter.recentAny) {
    ors.push('at > ?');
    params.push(filter.since);
  } else if (filter.recentNames.length) {
    ors.push(`(name IN (${filter.recentNames.map(() => '?').join(', ')}) AND at > ?)`);
    params.push(...filter.recentNames, filter.since);
  }
  return ors.length ? `(${ors.join(' OR ')})` : '';
}

// Uses events_lead_at (site_id, lead_id, at): one index range per lead, filtered by name and time.
export async function loadLeadEvents(db: Db, siteId: string, leadIds: readonly string[], filter: EventFilter): Promise<LeadEventRow[]> {
  const { marks, values } = padded(leadIds);
  const params: unknown[] = [siteId, ...values];
  const where = filterSql(filter, params);
  if (where === '') return [];
  const props = filter.withProps ? 'props' : 'NULL AS props';
  return db.all<LeadEventRow>(
    `SELECT lead_id, name, path, ${props}, at, source FROM events WHERE site_id = ? AND lead_id IN (${marks})` + (where ? ` AND ${where}` : ''),
    params,
  );
}

/** One counted `did` test: an event name (null: any), a LIKE pattern over the path, a window start. */
export interface CountTest {
  event: string | null;
  /**
   * LIKE patterns with `\` as escape (segments/glob.ts, globToLikes): `plain` ones the path matches as stored, `slashed`
   * ones a path without a trailing slash matches with one added (a page with or without its trailing slash);
   * case-insensitive for ASCII on both engines
   */
  pathLikes: { plain: readonly string[]; slashed: readonly string[] } | null;
  /** count only events after this moment (null: all time); windowed tests also get their newest matching time */
  since: number | null;
  /** also the oldest matching time (windowed tests only) */
  oldest: boolean;
  /** count only events of this source ('web' or 'server'; null: any) */
  source: string | null;
}

export interface CountResult { count: number; newest: number | null; oldest: number | null }

/**
 * Per lead, per test: how many of its events match, and (for windowed tests) the newest and oldest matching times.
 * One query over events_lead_at per chunk, grouped by lead and event name: the tests' name conditions become the
 * grouping, so each row evaluates only the few distinct (path pattern, window) conditions, and a handful of rows per
 * lead cross into JS.
 */
export async function countLeadEvents(
  db: Db, siteId: string, leadIds: readonly string[], tests: readonly CountTest[], filter: Omit<EventFilter, 'withProps'>,
): Promise<Map<string, CountResult[]>> {
  const out = new Map<string, CountResult[]>();
  if (tests.length === 0) return out;
  const like = dialectSql(db.dialect).ilike;
  // distinct (path pattern, window start, source) conditions; tests of different names share them
  const combos: Array<{ pathLikes: CountTest['pathLikes']; since: number | null; source: string | null; oldest: boolean }> = [];
  const text = (p: CountTest['pathLikes']) => (p ? JSON.stringify([p.plain, p.slashed]) : null);
  const samePaths = (a: CountTest['pathLikes'], b: CountTest['pathLikes']) => a === b || text(a) === text(b);
  const comboOf = tests.map((t) => {
    let j = combos.findIndex((c) => samePaths(c.pathLikes, t.pathLikes) && c.since === t.since && c.source === t.source);
    if (j < 0) j = combos.push({ pathLikes: t.pathLikes, since: t.since, source: t.source, oldest: false }) - 1;
    combos[j].oldest ||= t.oldest;
    return j;
  });
  const params: unknown[] = [];
  const cols: string[] = [];
  combos.forEach((c, j) => {
    const parts: string[] = [];
    const ps: unknown[] = [];
    if (c.pathLikes !== null) {
      // as segments/glob.ts pathMatches: the path as stored, or (without a trailing slash) with one added
      const ors = c.pathLikes.plain.map(() => `path ${like} ? ESCAPE '\\'`);
      if (c.pathLikes.slashed.length) {
        const added = c.pathLikes.slashed.map(() => `(path || '/') ${like} ? ESCAPE '\\'`).join(' OR ');
        ors.push(`(path <> '' AND path NOT LIKE '%/' AND (${added}))`);
      }
      parts.push(ors.length === 1 ? ors[0] : `(${ors.join(' OR ')})`);
      ps.push(...c.pathLikes.plain, ...c.pathLikes.slashed);
    }
    if (c.since !== null) (parts.push('at > ?'), ps.push(c.since));
    if (c.source !== null) (parts.push('source = ?'), ps.push(c.source));
    const cond = parts.join(' AND ');
    const agg = (fn: string, value: string) => (cond ? `${fn}(CASE WHEN ${cond} THEN ${value} END)` : `${fn}(${value})`);
    const use = () => params.push(...ps);
    cols.push(`${cond ? agg('COUNT', '1') : 'COUNT(*)'} AS n${j}`);
    use();
    if (c.since !== null) {
      cols.push(`${agg('MAX', 'at')} AS hi${j}`);
      use();
      if (c.oldest) {
        cols.push(`${agg('MIN', 'at')} AS lo${j}`);
        use();
      }
    }
  });
  const { marks, values } = padded(leadIds);
  params.push(siteId, ...values);
  const where = filterSql(filter, params);
  if (where === '') return out;
  const rows = await db.all<Record<string, unknown>>(
    `SELECT lead_id, name, ${cols.join(', ')} FROM events WHERE site_id = ? AND lead_id IN (${marks})` +
      (where ? ` AND ${where}` : '') + ' GROUP BY lead_id, name',
    params,
  );
  const byLead = new Map<string, Array<Record<string, unknown>>>();
  for (const r of rows) {
    const list = byLead.get(String(r.lead_id));
    if (list) list.push(r);
    else byLead.set(String(r.lead_id), [r]);
  }
  for (const [leadId, named] of byLead) {
    out.set(leadId, tests.map((t, i) => {
      const j = comboOf[i];
      const result: CountResult = { count: 0, newest: null, oldest: null };
      // a test of one name reads its row; a test of any name (`*`) adds up the lead's rows
      for (const r of named) {
        if (t.event !== null && r.name !== t.event) continue;
        result.count += Number(r[`n${j}`]);
        if (t.since !== null) {
          const hi = r[`hi${j}`];
          if (hi !== null && hi !== undefined) result.newest = Math.max(result.newest ?? -Infinity, Number(hi));
          const lo = t.oldest ? r[`lo${j}`] : null;
          if (lo !== null && lo !== undefined) result.oldest = Math.min(result.oldest ?? Infinity, Number(lo));
        }
      }
      return result;
    }));
  }
  return out;
}

// SQLite's planner has no statistics and, given only (site, lead), scans the site's slice of the members' primary key
// rather than use segment_members_lead; naming the segment keys (or a CROSS JOIN from segments) makes it seek
// (site, segment, lead) per pair instead, on both engines.
export async function loadMemberships(db: Db, siteId: string, keys: readonly string[], leadIds: readonly string[]): Promise<Array<{ lead_id: string; segment_key: string }>> {
  if (keys.length === 0) return [];
  const { marks, values } = padded(leadIds);
  return db.all(
    `SELECT lead_id, segment_key FROM segment_members WHERE site_id = ? AND segment_key IN (${keys.map(() => '?').join(', ')}) AND lead_id IN (${marks})`,
    [siteId, ...keys, ...values],
  );
}

/** Every segment a lead is in (for a lead that vanished: merged or erased). */
export async function listLeadMemberships(db: Db, siteId: string, leadId: string): Promise<string[]> {
  const rows = await db.all<{ segment_key: string }>(
    `SELECT m.segment_key FROM segments s CROSS JOIN segment_members m
     WHERE s.site_id = ? AND m.site_id = s.site_id AND m.segment_key = s.segment_key AND m.lead_id = ? ORDER BY m.segment_key`,
    [siteId, leadId],
  );
  return rows.map((r) => r.segment_key);
}

export async function loadRechecks(db: Db, siteId: string, leadIds: readonly string[]): Promise<Array<{ lead_id: string; due_at: number }>> {
  const { marks, values } = padded(leadIds);
  return db.all(`SELECT lead_id, due_at FROM segment_rechecks WHERE site_id = ? AND lead_id IN (${marks})`, [siteId, ...values]);
}

/** A lead's place in a segment: the unit of the batched membership writes below. */
export interface MemberKey { key: string; leadId: string }
/** The identity of a MemberKey in the sets the batched writes resolve to. */
export const memberKeyId = (m: MemberKey) => m.key + '\u0000' + m.leadId;

const insertMembersSql = sqlForRows(
  (n) => `INSERT INTO segment_members (site_id, segment_key, lead_id, entered_at) VALUES ${valuesSql(4, n)}
       ON CONFLICT (site_id, segment_key, lead_id) DO NOTHING RETURNING segment_key, lead_id`,
);
const deleteMembersSql = sqlForRows(
  (n) => `DELETE FROM segment_members WHERE site_id = ? AND (segment_key, lead_id) IN (VALUES ${valuesSql(2, n)})
       RETURNING segment_key, lead_id`,
);
const insertSegmentChangesSql = sqlForRows(
  (n) => `INSERT INTO segment_changes (site_id, change_id, segment_key, lead_id, kind, at) VALUES ${valuesSql(6, n)}`,
);
const upsertRechecksSql = sqlForRows(
  (n) => `INSERT INTO segment_rechecks (site_id, lead_id, due_at) VALUES ${valuesSql(3, n)}
       ON CONFLICT (site_id, lead_id) DO UPDATE SET due_at = excluded.due_at`,
);
const deleteRechecksSql = sqlForRows((n) => `DELETE FROM segment_rechecks WHERE site_id = ? AND lead_id IN (${listSql(n)})`);

/** Adds members (multi-row); resolves to the ids (memberKeyId) of those that were not members yet. */
export async function insertMembers(db: Db, siteId: string, members: readonly MemberKey[], at: number): Promise<Set<string>> {
  const added = new Set<string>();
  for (const chunk of chunkRows(members, db.dialect)) {
    const rows = await db.all<{ segment_key: string; lead_id: string }>(
      insertMembersSql(chunk.length),
      flatRows(chunk, (m) => [siteId, m.key, m.leadId, at]),
    );
    for (const r of rows) added.add(memberKeyId({ key: r.segment_key, leadId: r.lead_id }));
  }
  return added;
}

/** Removes members (multi-row); resolves to the ids (memberKeyId) of those that were members. */
export async function deleteMembers(db: Db, siteId: string, members: readonly MemberKey[]): Promise<Set<string>> {
  const removed = new Set<string>();
  for (const chunk of chunkRows(members, db.dialect)) {
    const rows = await db.all<{ segment_key: string; lead_id: string }>(
      deleteMembersSql(chunk.length),
      flatRows(chunk, (m) => [m.key, m.leadId], [siteId]),
    );
    for (const r of rows) removed.add(memberKeyId({ key: r.segment_key, leadId: r.lead_id }));
  }
  return removed;
}

export interface SegmentChangeRow { changeId: string; key: string; leadId: string; kind: 'entered' | 'exited'; at: number }

/** Enter/exit history rows (multi-row). */
export async function insertSegmentChanges(db: Db, siteId: string, changes: readonly SegmentChangeRow[]): Promise<void> {
  for (const chunk of chunkRows(changes, db.dialect)) {
    await db.run(insertSegmentChangesSql(chunk.length), flatRows(chunk, (c) => [siteId, c.changeId, c.key, c.leadId, c.kind, c.at]));
  }
}

/** Sets leads' next recheck times (multi-row; one row per lead). */
export async function upsertRechecks(db: Db, siteId: string, rechecks: ReadonlyArray<readonly [leadId: string, dueAt: number]>): Promise<void> {
  for (const chunk of chunkRows(rechecks, db.dialect)) {
    await db.run(upsertRechecksSql(chunk.length), flatRows(chunk, ([leadId, dueAt]) => [siteId, leadId, dueAt]));
  }
}

/** Clears leads' recheck times (multi-row). */
export async function deleteRechecks(db: Db, siteId: string, leadIds: readonly string[]): Promise<void> {
  for (const chunk of chunkRows(leadIds, db.dialect)) {
    await db.run(deleteRechecksSql(chunk.length), [siteId, ...chunk]);
  }
}

/** Leads whose segments may have changed by now, oldest first (segment_rechecks_due index). */
export async function listDueRechecks(db: Db, now: number, limit: number): Promise<Array<{ siteId: string; leadId: string }>> {
  const rows = await db.all<{ site_id: string; lead_id: string }>(
    'SELECT site_id, lead_id FROM segment_rechecks WHERE due_at <= ? ORDER BY due_at LIMIT ?',
    [now, limit],
  );
  return rows.map((r) => ({ siteId: r.site_id, leadId: r.lead_id }));
}

/** Advisory lock key of the segment sweep (transaction-scoped). */
const SWEEP_LOCK = 7262002;

/**
 * Takes the sweep's turn for this transaction, or says another collector has it (PostgreSQL). On SQLite the one
 * writer already serializes transactions: always true. A lock to avoid duplicate work only: a sweep run twice is
 * still correct, as every write of an evaluation is idempotent.
 */
export async function claimSweep(tx: Db): Promise<boolean> {
  if (tx.dialect !== 'pg') return true;
  const row = await tx.get<{ claimed: boolean }>('SELECT pg_try_advisory_xact_lock(?) AS claimed', [SWEEP_LOCK]);
  return row?.claimed === true;
}

/** A page of the site's lead ids after `after`, for recomputing a segment in short transactions. */
export async function listLeadIdsAfter(db: Db, siteId: string, after: string, limit: number): Promise<string[]> {
  const rows = await db.all<{ lead_id: string }>(
    'SELECT lead_id FROM leads WHERE site_id = ? AND lead_id > ? ORDER BY lead_id LIMIT ?',
    [siteId, after, limit],
  );
  return rows.map((r) => r.lead_id);
}

/** Segment keys of the lead a visitor belongs to now (one primary-key seek per segment of the site). */
export async function listVisitorSegmentKeys(db: Db, siteId: string, visitorId: string): Promise<string[]> {
  const rows = await db.all<{ segment_key: string }>(
    `SELECT m.segment_key FROM visitors v CROSS JOIN segments s CROSS JOIN segment_members m
     WHERE v.site_id = ? AND v.visitor_id = ? AND s.site_id = v.site_id
       AND m.site_id = s.site_id AND m.segment_key = s.segment_key AND m.lead_id = v.lead_id
     ORDER BY m.segment_key`,
    [siteId, visitorId],
  );
  return rows.map((r) => r.segment_key);
}

/** One row of a lead's segment history. */
export interface LeadSegmentChange {
  change_id: string;
  segment_key: string;
  kind: string;
  at: number;
}

/** A lead's whole segment history (a merged lead's included), unordered. */
export async function listLeadSegmentChanges(db: Db, siteId: string, leadId: string): Promise<LeadSegmentChange[]> {
  const rows = await db.all<LeadSegmentChange>(
    'SELECT change_id, segment_key, kind, at FROM segment_changes WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
  return rows.map((r) => ({ ...r, at: Number(r.at) }));
}

/** Deletes these rows of a lead's segment history. */
export async function deleteSegmentChanges(db: Db, siteId: string, leadId: string, changeIds: readonly string[]): Promise<void> {
  for (let i = 0; i < changeIds.length; i += MAX_IN) {
    const ids = changeIds.slice(i, i + MAX_IN);
    await db.run(`DELETE FROM segment_changes WHERE site_id = ? AND lead_id = ? AND change_id IN (${ids.map(() => '?').join(', ')})`, [siteId, leadId, ...ids]);
  }
}
