// The funnel report's counts on SQLite from day counts (migration 0007: lead_stage_days, stage_entry_days, kept by
// triggers in every writing transaction): a period's whole UTC days are summed from a few hundred rows, and only its
// partial first and last day are counted in the indexes. The same figures as countLeadsByStage/countStageEntries,
// without a pass over every lead and every stage change.
import type { Db } from './db.js';
import { countLeadsByStage, countStageEntries, type StageCount } from './funnel-report.js';
import { listSql } from './multi-row.js';

export const DAY_MS = 86_400_000;
/** Tables of SQLite only, made by migration 0007's SQL (not the drizzle schema, which describes both engines). */
export const DAY_COUNT_TABLES = ['lead_stage_days', 'stage_entry_days'] as const;

/** A period cut into its whole UTC days [firstDay, endDay) and the ms ranges [from, to) outside them. */
export interface PeriodDays {
  firstDay: number;
  endDay: number;
  edges: Array<{ from: number; to: number }>;
}

/** Cuts [from, to) at UTC midnights; a period without a whole day is all edge. */
export function periodDays(from: number, to: number): PeriodDays {
  const firstDay = Math.ceil(from / DAY_MS);
  const endDay = Math.floor(to / DAY_MS);
  if (to <= from) return { firstDay: 0, endDay: 0, edges: [] };
  if (endDay <= firstDay) return { firstDay: 0, endDay: 0, edges: [{ from, to }] };
  const edges = [];
  if (from < firstDay * DAY_MS) edges.push({ from, to: firstDay * DAY_MS });
  if (endDay * DAY_MS < to) edges.push({ from: endDay * DAY_MS, to });
  return { firstDay, endDay, edges };
}


async function sumDays(db: Db, table: (typeof DAY_COUNT_TABLES)[number], siteId: string, stages: readonly string[], days?: { firstDay: number; endDay: number }) {
  const rows = await db.all<{ stage: string; n: number }>(
    `SELECT stage, SUM(n) AS n FROM ${table} WHERE site_id = ? AND stage IN (${listSql(stages.length)})${days ? ' AND day >= ? AND day < ?' : ''} GROUP BY stage`,
    days ? [siteId, ...stages, days.firstDay, days.endDay] : [siteId, ...stages],
  );
  return new Map(rows.map((r) => [r.stage, Number(r.n)]));
}

function addCounts(into: Map<string, number>, rows: readonly StageCount[]): void {
  for (const r of rows) into.set(r.stage, (into.get(r.stage) ?? 0) + r.n);
}

const inOrder = (stages: readonly string[], counts: Map<string, number>): StageCount[] => stages.map((stage) => ({ stage, n: counts.get(stage) ?? 0 }));

/** countLeadsByStage (non-bot leads per current stage, optionally created in [from, to)) from the day counts. */
export async function dayCountLeadsByStage(db: Db, siteId: string, stages: readonly string[], created?: { from: number; to: number }): Promise<StageCount[]> {
  if (stages.length === 0) return [];
  if (!created) return inOrder(stages, await sumDays(db, 'lead_stage_days', siteId, stages));
  const p = periodDays(created.from, created.to);
  const counts = p.endDay > p.firstDay ? await sumDays(db, 'lead_stage_days', siteId, stages, p) : new Map<string, number>();
  for (const e of p.edges) addCounts(counts, await countLeadsByStage(db, siteId, stages, e));
  return inOrder(stages, counts);
}

/**
 * countStageEntries (entries with `at` in [from, to) per stage, bots' left out) from the day counts. The day counts
 * hold bots' entries too: those of the listed bot leads are counted and taken off.
 */
export async function dayCountStageEntries(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number, bots: readonly string[],
): Promise<StageCount[]> {
  if (stages.length === 0) return [];
  const p = periodDays(from, to);
  const counts = p.endDay > p.firstDay ? await sumDays(db, 'stage_entry_days', siteId, stages, p) : new Map<string, number>();
  for (const e of p.edges) addCounts(counts, await countStageEntries(db, siteId, stages, e.from, e.to, []));
  if (bots.length > 0) {
    const rows = await db.all<{ stage: string; n: number }>(
      `SELECT to_stage AS stage, COUNT(*) AS n FROM stage_changes WHERE site_id = ? AND lead_id IN (${listSql(bots.length)}) AND at >= ? AND at < ? GROUP BY to_stage`,
      [siteId, ...bots, from, to],
    );
    for (const r of rows) counts.set(r.stage, (counts.get(r.stage) ?? 0) - Number(r.n));
  }
  return inOrder(stages, counts);
}

// The first- and last-touch breakdowns on SQLite (migration 0011: lead_touch_days, stage_entry_touch_days,
// stage_dwell_touches, kept by triggers): every lead counts under its touch's channel, source, medium and campaign as
// they are now, and a lead's stage changes move with it when its touch changes. A breakdown sums a few thousand day
// rows per figure, reads the times in stage of the period with their key (no lead rows), and counts only the period's
// partial first and last day in the indexes.
export const TOUCH_DAY_COUNT_TABLES = ['lead_touch_days', 'stage_entry_touch_days', 'stage_dwell_touches'] as const;
/** A column of the touch tables, named as the breakdown. */
export type TouchKeyField = 'channel' | 'source' | 'medium' | 'campaign';
const LEAD_KEY_PREFIX = { first: 'ft', last: 'lt' } as const;

/** A figure of one touch key ('' for none) and stage: leads now (count), created in the period (cohort), entries (entered). */
export interface TouchKeyCount {
  k: string;
  stage: string;
  kind: 'count' | 'cohort' | 'entered';
  n: number;
}

/**
 * The first- or last-touch breakdown's rows: non-bot leads per key and stage now and created in [from, to), entries per
 * stage in [from, to), and the times in stage of the stages entered in [from, to) with their key. Summed per key, the
 * same figures as grouping every lead by its ft_/lt_ column and crediting the period's stage changes to it, bots left
 * out. Every key that holds a lead, in any stage, has a `count` row (the plain pass makes a group of it).
 */
export async function dayCountTouchRows(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number, touch: 'first' | 'last', field: TouchKeyField,
): Promise<{ counts: TouchKeyCount[]; durations: Array<{ k: string; stage: string; d: number[] }> }> {
  const counts: TouchKeyCount[] = [];
  const durations: Array<{ k: string; stage: string; d: number[] }> = [];
  const column = `${LEAD_KEY_PREFIX[touch]}_${field}`;
  const p = periodDays(from, to);
  const push = (kind: TouchKeyCount['kind'], rows: Array<{ k: string; stage: string; n: number }>) => {
    for (const r of rows) counts.push({ k: r.k, stage: r.stage, kind, n: Number(r.n) });
  };
  // leads now and the cohort's whole days
  const leads = await db.all<{ k: string; stage: string; n: number; c: number }>(
    `SELECT ${field} AS k, stage, SUM(n) AS n, SUM(CASE WHEN day >= ? AND day < ? THEN n ELSE 0 END) AS c
     FROM lead_touch_days WHERE site_id = ? AND touch = ? GROUP BY 1, 2 HAVING SUM(n) <> 0`,
    [p.firstDay, p.endDay, siteId, touch],
  );
  push('count', leads);
  push('cohort', leads.filter((r) => Number(r.c) !== 0).map((r) => ({ k: r.k, stage: r.stage, n: r.c })));
  if (stages.length === 0) return { counts, durations };
  const list = listSql(stages.length);
  // the cohort's partial days: leads_funnel ranges per stage, the key from the lead row
  for (const e of p.edges) {
    push('cohort', await db.all<{ k: string; stage: string; n: number }>(
      `SELECT ${column} AS k, stage, COUNT(*) AS n FROM leads INDEXED BY leads_funnel
       WHERE site_id = ? AND is_bot = 0 AND stage IN (${list}) AND created_at >= ? AND created_at < ? GROUP BY 1, 2`,
      [siteId, ...stages, e.from, e.to],
    ));
  }
  // entries: whole days from the counts, partial days from stage_changes_entered with the lead's key
  if (p.endDay > p.firstDay) {
    push('entered', await db.all<{ k: string; stage: string; n: number }>(
      `SELECT ${field} AS k, stage, SUM(n) AS n FROM stage_entry_touch_days
       WHERE site_id = ? AND touch = ? AND day >= ? AND day < ? AND stage IN (${list}) GROUP BY 1, 2 HAVING SUM(n) <> 0`,
      [siteId, touch, p.firstDay, p.endDay, ...stages],
    ));
  }
  for (const e of p.edges) {
    push('entered', await db.all<{ k: string; stage: string; n: number }>(
      `SELECT l.${column} AS k, sc.to_stage AS stage, COUNT(*) AS n FROM stage_changes sc INDEXED BY stage_changes_entered
       JOIN leads l ON l.site_id = sc.site_id AND l.lead_id = sc.lead_id
       WHERE sc.site_id = ? AND sc.to_stage IN (${list}) AND sc.at >= ? AND sc.at < ? AND l.is_bot = 0 GROUP BY 1, 2`,
      [siteId, ...stages, e.from, e.to],
    ));
  }
  // times in stage, with their key, one range per stage
  for (const stage of stages.slice(0, -1)) {
    const rows = await db.all<{ k: string; ds: string | null }>(
      `SELECT ${field} AS k, group_concat(d) AS ds FROM stage_dwell_touches
       WHERE site_id = ? AND touch = ? AND stage = ? AND from_at >= ? AND from_at < ? GROUP BY 1`,
      [siteId, touch, stage, from, to],
    );
    for (const r of rows) if (r.ds) durations.push({ k: r.k, stage, d: r.ds.split(',').map(Number) });
  }
  return { counts, durations };
}
