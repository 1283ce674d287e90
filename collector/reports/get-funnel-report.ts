// GET /api/funnel: per-stage figures for a period, optionally broken down by a touch field under first-touch,
// last-touch or linear attribution (linear splits each lead equally over its distinct web sessions' touches).
import type { Deps } from '../context.js';
import { loadFunnel } from '../leads/load-funnel.js';
import { parseTime } from '../leads/parse-time.js';
import {
  countLeadsByStage, countSessionTouches, countStageEntries, listBotLeadIds, listStageDurations,
  type GroupBy, type StageCountRow, type DurationRow, type TouchField,
} from '../storage/funnel-report.js';
import { buildStageMetrics, emptyFacts, type StageFacts, type StageMetrics } from './stage-metrics.js';

export const BREAKDOWNS = ['channel', 'source', 'medium', 'campaign'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];
export const ATTRIBUTIONS = ['first', 'last', 'linear'] as const;
export type Attribution = (typeof ATTRIBUTIONS)[number];

const FIELD: Record<Breakdown, TouchField> = { channel: 'channel', source: 'utm_source', medium: 'utm_medium', campaign: 'utm_campaign' };
const DEFAULT_DAYS = 30;
const DAY = 86_400_000;
/** Beyond this many bot leads, bot exclusion probes each row instead of listing them. */
const MAX_LISTED_BOTS = 1000;
export const NO_KEY = '(none)';

export interface FunnelQuery {
  from?: string;
  to?: string;
  breakdown?: Breakdown;
  attribution?: Attribution;
}

export interface FunnelReport {
  from: string;
  to: string;
  stages: StageMetrics[];
  breakdownBy: Breakdown | null;
  attribution: Attribution | null;
  breakdown: Array<{ key: string; stages: StageMetrics[] }> | null;
}

export type FunnelResult = { ok: true; report: FunnelReport } | { ok: false; code: 'invalid_request'; message: string };

interface Facts {
  count: StageCountRow[];
  cohort: StageCountRow[];
  entered: StageCountRow[];
  durations: DurationRow[];
}

async function readFacts(deps: Deps, siteId: string, stages: readonly string[], from: number, to: number, g: GroupBy): Promise<Facts> {
  const db = deps.db;
  const botList = await listBotLeadIds(db, siteId, MAX_LISTED_BOTS + 1);
  const bots = botList.length > MAX_LISTED_BOTS ? null : botList;
  const [count, cohort, entered, durations] = await Promise.all([
    countLeadsByStage(db, siteId, stages, g),
    countLeadsByStage(db, siteId, stages, g, { from, to }),
    countStageEntries(db, siteId, stages, from, to, g, bots),
    listStageDurations(db, siteId, stages, from, to, g, bots),
  ]);
  return { count, cohort, entered, durations };
}

/** Spreads rows keyed by something (a touch value, or a lead id with weights) into per-group stage facts. */
function groupFacts(facts: Facts, weightsOf: (k: string) => Array<[string, number]>): Map<string, StageFacts> {
  const groups = new Map<string, StageFacts>();
  const of = (key: string) => groups.get(key) ?? groups.set(key, emptyFacts()).get(key)!;
  const add = (field: 'count' | 'cohort' | 'entered', rows: StageCountRow[]) => {
    for (const r of rows) {
      for (const [key, w] of weightsOf(r.k)) {
        const m = of(key)[field];
        m.set(r.stage, (m.get(r.stage) ?? 0) + r.n * w);
      }
    }
  };
  add('count', facts.count);
  add('cohort', facts.cohort);
  add('entered', facts.entered);
  for (const r of facts.durations) {
    for (const [key] of weightsOf(r.k)) {
      const m = of(key).durations;
      const list = m.get(r.stage) ?? m.set(r.stage, []).get(r.stage)!;
      for (const d of r.d) list.push(d);
    }
  }
  return groups;
}

/** Linear weights per lead: each distinct web session's touch gets an equal share; a lead without one counts as (none). */
async function linearWeights(deps: Deps, siteId: string, field: TouchField): Promise<(leadId: string) => Array<[string, number]>> {
  const perLead = new Map<string, Array<[string, number]>>();
  for (const r of await countSessionTouches(deps.db, siteId, field)) {
    (perLead.get(r.leadId) ?? perLead.set(r.leadId, []).get(r.leadId)!).push([r.k || NO_KEY, r.sessions]);
  }
  const none: Array<[string, number]> = [[NO_KEY, 1]];
  const normalized = new Map<string, Array<[string, number]>>();
  return (leadId) => {
    let w = normalized.get(leadId);
    if (!w) {
      const raw = perLead.get(leadId);
      if (!raw) return none;
      const total = raw.reduce((s, [, n]) => s + n, 0);
      w = raw.map(([k, n]) => [k, n / total]);
      normalized.set(leadId, w);
    }
    return w;
  };
}

export async function getFunnelReport(deps: Deps, siteId: string, q: FunnelQuery): Promise<FunnelResult> {
  const fromT = parseTime(q.from);
  const toT = parseTime(q.to);
  if (fromT === null) return { ok: false, code: 'invalid_request', message: 'from: use an ISO 8601 time or epoch milliseconds' };
  if (toT === null) return { ok: false, code: 'invalid_request', message: 'to: use an ISO 8601 time or epoch milliseconds' };
  const to = toT ?? deps.now();
  const from = fromT ?? to - DEFAULT_DAYS * DAY;
  if (from >= to) return { ok: false, code: 'invalid_request', message: 'from must be before to' };
  if (q.attribution && !q.breakdown) return { ok: false, code: 'invalid_request', message: 'attribution needs a breakdown' };

  const stages = (await loadFunnel(deps.db, siteId)).stages;
  const total = groupFacts(await readFacts(deps, siteId, stages, from, to, { kind: 'none' }), () => [['', 1]]);
  const report: FunnelReport = {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    stages: buildStageMetrics(stages, total.get('') ?? emptyFacts()),
    breakdownBy: q.breakdown ?? null,
    attribution: q.breakdown ? (q.attribution ?? 'first') : null,
    breakdown: null,
  };
  if (!q.breakdown) return { ok: true, report };

  const field = FIELD[q.breakdown];
  let groups: Map<string, StageFacts>;
  if (report.attribution === 'linear') {
    const weights = await linearWeights(deps, siteId, field);
    groups = groupFacts(await readFacts(deps, siteId, stages, from, to, { kind: 'lead' }), weights);
  } else {
    const column = report.attribution === 'last' ? 'last_touch' : 'first_touch';
    groups = groupFacts(await readFacts(deps, siteId, stages, from, to, { kind: 'touch', column, field }), (k) => [[k || NO_KEY, 1]]);
  }
  report.breakdown = [...groups]
    .map(([key, facts]) => ({ key, stages: buildStageMetrics(stages, facts) }))
    .sort((a, b) => b.stages[0].reached - a.stages[0].reached || sum(b.stages) - sum(a.stages) || (a.key < b.key ? -1 : 1));
  return { ok: true, report };
}

const sum = (stages: StageMetrics[]) => stages.reduce((s, x) => s + x.count, 0);
