// The funnel breakdowns computed the straightforward way, row by row from the JSON touches, the events and
// stage_changes: the reference the report is compared with (test/reports/funnel-touch-keys.test.ts,
// test/reports/touch-day-counts.test.ts), on either engine.
import type { Db } from '../../collector/storage/db.js';
import { buildBreakdownMetrics, emptyFacts, type StageFacts } from '../../collector/reports/stage-metrics.js';

/** The JSON definition the breakdowns used before the columns: the touch field's text, '' when absent. */
export const jsonKeySql = (db: Db, column: 'first_touch' | 'last_touch', field: string) =>
  db.dialect === 'pg' ? `COALESCE((${column}::json ->> '${field}'), '')` : `COALESCE(json_extract(${column}, '$.${field}'), '')`;

export const FIELD_OF = { channel: 'channel', source: 'utm_source', medium: 'utm_medium', campaign: 'utm_campaign' } as const;

/** The breakdown as GET /api/funnel answers it (key → stage metrics), by the reference. */
export async function referenceBreakdown(
  db: Db, siteId: string, stages: string[], from: number, to: number, breakdown: keyof typeof FIELD_OF, attribution: 'first' | 'last' | 'linear',
) {
  const field = FIELD_OF[breakdown];
  const groups =
    attribution === 'linear'
      ? await jsonLinearGroups(db, siteId, stages, from, to, field)
      : await jsonTouchGroups(db, siteId, stages, from, to, attribution === 'first' ? 'first_touch' : 'last_touch', field);
  return Object.fromEntries(buildBreakdownMetrics(stages, groups).map((g) => [g.key, g.stages]));
}

const keyOf = (k: unknown) => (k === null || k === undefined || k === '' ? '(none)' : String(k));
const groupOf = (groups: Map<string, StageFacts>, k: string) => groups.get(k) ?? groups.set(k, emptyFacts()).get(k)!;
const add = (m: Map<string, number>, stage: string, n: number) => m.set(stage, (m.get(stage) ?? 0) + n);
const push = (m: Map<string, number[]>, stage: string, d: number) => (m.get(stage) ?? m.set(stage, []).get(stage)!).push(d);

/** First/last-touch groups straight from the JSON touches and stage_changes, row by row (the reference). */
export async function jsonTouchGroups(db: Db, siteId: string, stages: string[], from: number, to: number, column: 'first_touch' | 'last_touch', field: string) {
  const groups = new Map<string, StageFacts>();
  const leads = await db.all<{ lead_id: string; k: string; stage: string; created_at: number }>(
    `SELECT lead_id, ${jsonKeySql(db, column, field)} AS k, stage, created_at FROM leads WHERE site_id = ? AND is_bot = 0`,
    [siteId],
  );
  const keyOfLead = new Map(leads.map((l) => [l.lead_id, keyOf(l.k)]));
  for (const l of leads) {
    add(groupOf(groups, keyOf(l.k)).count, l.stage, 1);
    if (Number(l.created_at) >= from && Number(l.created_at) < to) add(groupOf(groups, keyOf(l.k)).cohort, l.stage, 1);
  }
  await creditStageChanges(db, siteId, stages, from, to, (leadId) => {
    const k = keyOfLead.get(leadId);
    return k === undefined ? [] : [[k, 1]];
  }, groups);
  return groups;
}

/** Linear groups: each non-bot lead split equally over its distinct web sessions' touch values (the reference). */
export async function jsonLinearGroups(db: Db, siteId: string, stages: string[], from: number, to: number, field: string) {
  const groups = new Map<string, StageFacts>();
  // a session is read from the event that opened it (live ingest puts first_touch there alone), once, under the least
  // key of its openers; a lead with no session opened under it goes whole to its first touch's key
  const sessions = await db.all<{ lead_id: string; session_id: string; k: string | null }>(
    `SELECT lead_id, session_id, MIN(COALESCE(${field}, '')) AS k FROM events
     WHERE site_id = ? AND lead_id IS NOT NULL AND source = 'web' AND is_bot = 0 AND first_touch IS NOT NULL GROUP BY lead_id, session_id`,
    [siteId],
  );
  const weights = new Map<string, Map<string, number>>();
  for (const s of sessions) {
    const w = weights.get(s.lead_id) ?? weights.set(s.lead_id, new Map()).get(s.lead_id)!;
    w.set(keyOf(s.k), (w.get(keyOf(s.k)) ?? 0) + 1);
  }
  const firstKeys = new Map(
    (await db.all<{ lead_id: string; k: string | null }>(`SELECT lead_id, ${jsonKeySql(db, 'first_touch', field)} AS k FROM leads WHERE site_id = ?`, [siteId])).map(
      (l) => [l.lead_id, keyOf(l.k)],
    ),
  );
  const shares = (leadId: string): Array<[string, number]> => {
    const w = weights.get(leadId);
    if (!w) return [[firstKeys.get(leadId) ?? '(none)', 1]];
    const total = [...w.values()].reduce((a, b) => a + b, 0);
    return [...w].map(([k, n]) => [k, n / total]);
  };
  const leads = await db.all<{ lead_id: string; stage: string; created_at: number }>(
    'SELECT lead_id, stage, created_at FROM leads WHERE site_id = ? AND is_bot = 0 ORDER BY lead_id',
    [siteId],
  );
  const humans = new Set(leads.map((l) => l.lead_id));
  for (const l of leads) {
    for (const [k, share] of shares(l.lead_id)) {
      add(groupOf(groups, k).count, l.stage, share);
      if (Number(l.created_at) >= from && Number(l.created_at) < to) add(groupOf(groups, k).cohort, l.stage, share);
    }
  }
  await creditStageChanges(db, siteId, stages, from, to, (leadId) => (humans.has(leadId) ? shares(leadId) : []), groups);
  return groups;
}

/** Stage entries in [from, to) and times in stage of the stages entered then, credited to each lead's keys. */
async function creditStageChanges(
  db: Db, siteId: string, stages: string[], from: number, to: number, sharesOf: (leadId: string) => Array<[string, number]>,
  groups: Map<string, StageFacts>,
) {
  const left = stages.slice(0, -1);
  const changes = await db.all<{ lead_id: string; to_stage: string; from_stage: string | null; at: number; from_at: number | null }>(
    'SELECT lead_id, to_stage, from_stage, at, from_at FROM stage_changes WHERE site_id = ?',
    [siteId],
  );
  // a row written before from_at existed (legacy) is matched to the change that entered its stage
  const enteredAt = new Map(changes.map((c) => [`${c.lead_id}|${c.to_stage}`, Number(c.at)]));
  for (const c of changes) {
    const at = Number(c.at);
    const legacyFrom = c.from_at === null && c.from_stage ? enteredAt.get(`${c.lead_id}|${c.from_stage}`) : undefined;
    if (c.from_stage && left.includes(c.from_stage) && legacyFrom !== undefined && legacyFrom >= from && legacyFrom < to) {
      for (const [k] of sharesOf(c.lead_id)) push(groupOf(groups, k).durations, c.from_stage, at - legacyFrom);
    }
    if (stages.includes(c.to_stage) && at >= from && at < to) for (const [k, share] of sharesOf(c.lead_id)) add(groupOf(groups, k).entered, c.to_stage, share);
    const fromAt = c.from_at === null ? null : Number(c.from_at);
    if (c.from_stage && left.includes(c.from_stage) && fromAt !== null && fromAt >= from && fromAt < to) {
      for (const [k] of sharesOf(c.lead_id)) push(groupOf(groups, k).durations, c.from_stage, at - fromAt);
    }
  }
}
