// Aggregates behind GET /api/funnel: leads per stage now, per stage for a cohort, stage entries in a window and
// time in stage, each optionally grouped by a touch field or by lead (for linear attribution). Bots excluded.
// Without grouping every query is an index range per stage (leads_funnel, stage_changes_at, stage_changes_dwell)
// read in index order, so SQLite needs neither table rows nor a sorter.
import type { Db } from './db.js';

export type TouchField = 'channel' | 'utm_source' | 'utm_medium' | 'utm_campaign';

/** What rows are grouped by besides the stage: nothing, a field of the lead's first/last touch, or the lead itself. */
export type GroupBy = { kind: 'none' } | { kind: 'touch'; column: 'first_touch' | 'last_touch'; field: TouchField } | { kind: 'lead' };

export interface StageCountRow {
  k: string;
  stage: string;
  n: number;
}

export interface DurationRow {
  k: string;
  stage: string;
  /** ms in the stage, one per lead that moved on */
  d: number[];
}

/** The group key column and GROUP BY list for `stageCol`; the two engines spell JSON access differently. */
function grouping(db: Db, g: GroupBy, stageCol: string): { key: string; groupBy: string } {
  if (g.kind === 'none') return { key: "''", groupBy: stageCol };
  if (g.kind === 'lead') return { key: 'l.lead_id', groupBy: `l.lead_id, ${stageCol}` };
  const expr = db.dialect === 'pg' ? `(l.${g.column}::json ->> '${g.field}')` : `json_extract(l.${g.column}, '$.${g.field}')`;
  return { key: `COALESCE(${expr}, '')`, groupBy: `1, ${stageCol}` };
}

/** All values of an integer expression of a group as one comma-separated string: far cheaper than a row per value. */
const joinValues = (db: Db, expr: string) => (db.dialect === 'pg' ? `string_agg((${expr})::text, ',')` : `group_concat(${expr})`);

const ph = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const toCounts = (rows: Array<{ k: string; stage: string; n: number }>): StageCountRow[] =>
  rows.map((r) => ({ k: String(r.k), stage: r.stage, n: Number(r.n) }));

/** Bot leads of the site, so stage-change aggregates can leave them out without joining every row to leads. */
export async function listBotLeadIds(db: Db, siteId: string, max: number): Promise<string[]> {
  const rows = await db.all<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND is_bot = 1 LIMIT ?', [siteId, max]);
  return rows.map((r) => r.lead_id);
}

/** Leads per current stage (and group), optionally only those created in [from, to): the cohort. */
export async function countLeadsByStage(
  db: Db, siteId: string, stages: readonly string[], g: GroupBy, created?: { from: number; to: number },
): Promise<StageCountRow[]> {
  const { key, groupBy } = grouping(db, g, 'l.stage');
  const window = created ? ' AND l.created_at BETWEEN ? AND ?' : '';
  return toCounts(
    await db.all(
      `SELECT ${key} AS k, l.stage AS stage, COUNT(*) AS n FROM leads l
       WHERE l.site_id = ? AND l.is_bot = 0 AND l.stage IN (${ph(stages.length)})${window} GROUP BY ${groupBy}`,
      created ? [siteId, ...stages, created.from, created.to - 1] : [siteId, ...stages],
    ),
  );
}

/**
 * Bot exclusion for stage_changes aliased `alias`: a join to leads when grouping needs it anyway, else a short
 * NOT IN list of the (few) bot leads, else a NOT EXISTS probe.
 */
function botFilter(g: GroupBy, alias: string, bots: string[] | null): { join: string; where: string; params: unknown[] } {
  if (g.kind !== 'none') return { join: ` JOIN leads l ON l.site_id = ${alias}.site_id AND l.lead_id = ${alias}.lead_id`, where: ' AND l.is_bot = 0', params: [] };
  if (bots === null) {
    return { join: '', where: ` AND NOT EXISTS (SELECT 1 FROM leads x WHERE x.site_id = ${alias}.site_id AND x.lead_id = ${alias}.lead_id AND x.is_bot = 1)`, params: [] };
  }
  if (bots.length === 0) return { join: '', where: '', params: [] };
  return { join: '', where: ` AND ${alias}.lead_id NOT IN (${ph(bots.length)})`, params: bots };
}

/** Stage entries with `at` in [from, to), per stage (and group). `bots`: the bot lead ids, or null when too many to list. */
export async function countStageEntries(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number, g: GroupBy, bots: string[] | null,
): Promise<StageCountRow[]> {
  const b = botFilter(g, 'sc', bots);
  const { key, groupBy } = grouping(db, g, 'sc.to_stage');
  return toCounts(
    await db.all(
      `SELECT ${key} AS k, sc.to_stage AS stage, COUNT(*) AS n FROM stage_changes sc${b.join}
       WHERE sc.site_id = ? AND sc.to_stage IN (${ph(stages.length)}) AND sc.at BETWEEN ? AND ?${b.where} GROUP BY ${groupBy}`,
      [siteId, ...stages, from, to - 1, ...b.params],
    ),
  );
}

const parseValues = (text: string | null) => (text ? text.split(',').map(Number) : []);

/**
 * Time in stage of leads that entered a stage in [from, to) and moved on: from entering it (from_at of the change
 * that left it) to entering the next stage. Rows written before stage_changes.from_at existed are matched to their
 * entry by a join (a rebuild of the lead fills the column).
 */
export async function listStageDurations(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number, g: GroupBy, bots: string[] | null,
): Promise<DurationRow[]> {
  const left = stages.slice(0, -1);
  if (left.length === 0) return [];
  const b = botFilter(g, 'nx', bots);
  const { key, groupBy } = grouping(db, g, 'nx.from_stage');
  const rows = await db.all<{ k: string; stage: string; ds: string | null }>(
    `SELECT ${key} AS k, nx.from_stage AS stage, ${joinValues(db, 'nx.at - nx.from_at')} AS ds FROM stage_changes nx${b.join}
     WHERE nx.site_id = ? AND nx.from_stage IN (${ph(left.length)}) AND nx.from_at BETWEEN ? AND ?${b.where} GROUP BY ${groupBy}`,
    [siteId, ...left, from, to - 1, ...b.params],
  );
  const legacy = await db.all<{ k: string; stage: string; ds: string | null }>(
    `SELECT ${key} AS k, nx.from_stage AS stage, ${joinValues(db, 'nx.at - en.at')} AS ds
     FROM stage_changes nx JOIN stage_changes en ON en.site_id = nx.site_id AND en.lead_id = nx.lead_id AND en.to_stage = nx.from_stage${b.join}
     WHERE nx.site_id = ? AND nx.from_stage IN (${ph(left.length)}) AND nx.from_at IS NULL AND en.at >= ? AND en.at < ?${b.where} GROUP BY ${groupBy}`,
    [siteId, ...left, from, to, ...b.params],
  );
  return [...rows, ...legacy].map((r) => ({ k: String(r.k), stage: r.stage, d: parseValues(r.ds) }));
}

export interface SessionTouchRow {
  leadId: string;
  k: string;
  /** distinct sessions of the lead whose touch has this key */
  sessions: number;
}

/** Per lead, its distinct web sessions grouped by the session touch's field: the touches linear attribution splits over. */
export async function countSessionTouches(db: Db, siteId: string, field: TouchField): Promise<SessionTouchRow[]> {
  const rows = await db.all<{ lead_id: string; k: string; n: number }>(
    `SELECT lead_id, COALESCE(${field}, '') AS k, COUNT(DISTINCT session_id) AS n FROM events
     WHERE site_id = ? AND lead_id IS NOT NULL AND source = 'web' AND is_bot = 0 GROUP BY 1, 2`,
    [siteId],
  );
  return rows.map((r) => ({ leadId: r.lead_id, k: String(r.k), sessions: Number(r.n) }));
}
