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
