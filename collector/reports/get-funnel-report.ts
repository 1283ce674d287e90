// GET /api/funnel: per-stage figures for a period, optionally broken down by a touch field under first-touch,
// last-touch or linear attribution (linear splits each lead equally over its web sessions, each session's share to its touch).
import type { Deps } from '../context.js';
import { loadFunnel } from '../leads/load-funnel.js';
import { parseTime } from '../leads/parse-time.js';
import {
  countLeadsByStage, countSessionTouches, countStageEntries, listBotLeadIds, listLeadFacts, listLeadsByTouch, listLeadTouchKeys,
  listLegacyStageDurations, listStageDurationLeads, listStageDurations, listStageEntryLeads, type StageCount, type TouchField,
  type TouchKeyColumn,
} from '../storage/funnel-report.js';
import { dayCountLeadsByStage, dayCountStageEntries, dayCountTouchRows } from '../storage/stage-day-counts.js';
import { buildBreakdownMetrics, buildStageMetrics, emptyFacts, type StageFacts, type StageMetrics } from './stage-metrics.js';

export const BREAKDOWNS = ['channel', 'source', 'medium', 'campaign'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];
export const ATTRIBUTIONS = ['first', 'last', 'linear'] as const;
export type Attribution = (typeof ATTRIBUTIONS)[number];

const FIELD: Record<Breakdown, TouchField> = { channel: 'channel', source: 'utm_source', medium: 'utm_medium', campaign: 'utm_campaign' };
/** The leads column holding the breakdown's field of the first (ft_) or last (lt_) touch. */
const keyColumn = (breakdown: Breakdown, attribution: 'first' | 'last'): TouchKeyColumn =>
  `${attribution === 'last' ? 'lt' : 'ft'}_${breakdown}`;
const DEFAULT_DAYS = 30;
const DAY = 86_400_000;
/** Beyond this many bot leads, bot exclusion probes each row instead of listing them. */
const MAX_LISTED_BOTS = 1000;
/** Leads read per page by a breakdown. */
const LEAD_PAGE = 20_000;
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

const toMap = (rows: StageCount[]) => new Map(rows.map((r) => [r.stage, r.n]));

async function readTotals(deps: Deps, siteId: string, stages: readonly string[], from: number, to: number): Promise<StageFacts> {
  const db = deps.db;
  const botList = await listBotLeadIds(db, siteId, MAX_LISTED_BOTS + 1);
  const bots = botList.length > MAX_LISTED_BOTS ? null : botList;
  // SQLite keeps day counts (triggers) and sums them; PostgreSQL, where a hot counter row would serialize several
  // collectors' flushes, counts index ranges. Too many bots to list: ranges with a per-row probe.
  const days = db.dialect === 'sqlite';
  return {
    count: toMap(await (days ? dayCountLeadsByStage : countLeadsByStage)(db, siteId, stages)),
    cohort: toMap(await (days ? dayCountLeadsByStage : countLeadsByStage)(db, siteId, stages, { from, to })),
    entered: toMap(days && bots ? await dayCountStageEntries(db, siteId, stages, from, to, bots) : await countStageEntries(db, siteId, stages, from, to, bots)),
    durations: await listStageDurations(db, siteId, stages, from, to, bots),
  };
}

/** A lead's groups with its share of each: a breakdown credits the lead's stage changes to them. */
type Shares = ReadonlyArray<readonly [facts: StageFacts, share: number]>;
const NO_SHARES: Shares = [];

const groupOf = (groups: Map<string, StageFacts>, key: string) => groups.get(key) ?? groups.set(key, emptyFacts()).get(key)!;
const add = (m: Map<string, number>, stage: string, n: number) => m.set(stage, (m.get(stage) ?? 0) + n);
/** A group's times in a stage, to add to. */
const durationsOf = (f: StageFacts, stage: string) => f.durations.get(stage) ?? f.durations.set(stage, []).get(stage)!;

/**
 * Credits the period's stage entries (by share) and times in stage (each whole) to the groups of their lead. The id
 * lists come from indexes alone and hold bot leads too: `sharesOf` knows only the leads read, so bots are skipped.
 */
async function creditPeriod(
  deps: Deps, siteId: string, stages: readonly string[], from: number, to: number, sharesOf: (leadId: string) => Shares | undefined,
): Promise<void> {
  for (const e of await listStageEntryLeads(deps.db, siteId, stages, from, to)) {
    for (const id of e.leadIds) for (const [g, share] of sharesOf(id) ?? NO_SHARES) add(g.entered, e.stage, share);
  }
  for (const r of await listStageDurationLeads(deps.db, siteId, stages, from, to)) {
    for (let i = 0; i < r.leadIds.length; i++) {
      for (const [g] of sharesOf(r.leadIds[i]) ?? NO_SHARES) durationsOf(g, r.stage).push(r.d[i]);
    }
  }
}

/**
 * First- or last-touch groups: leads now and the cohort grouped by the lead's key column in SQL, which also lists each
 * group's lead ids; the period's stage changes are credited to the lead's key in memory (no per-row join to the wide
 * leads rows). That is PostgreSQL's way; SQLite reads the touch day counts instead (readTouchDayGroups).
 */
async function readTouchGroups(
  deps: Deps, siteId: string, stages: readonly string[], from: number, to: number, breakdown: Breakdown, attribution: 'first' | 'last',
): Promise<Map<string, StageFacts>> {
  if (deps.db.dialect === 'sqlite') return readTouchDayGroups(deps, siteId, stages, from, to, breakdown, attribution);
  const groups = new Map<string, StageFacts>();
  const sharesOf = new Map<string, Shares>();
  for (const r of await listLeadsByTouch(deps.db, siteId, keyColumn(breakdown, attribution), from, to)) {
    const g = groupOf(groups, r.k || NO_KEY);
    add(g.count, r.stage, r.n);
    add(g.cohort, r.stage, r.cohort);
    const whole: Shares = [[g, 1]];
    for (const id of r.leadIds) sharesOf.set(id, whole);
  }
  await creditPeriod(deps, siteId, stages, from, to, (id) => sharesOf.get(id));
  return groups;
}

/**
 * First- or last-touch groups on SQLite from the touch day counts (migration 0011, kept by triggers): the same figures
 * as readTouchGroups' pass over every lead, from day rows, the period's times in stage with their key, and the leads
 * and entries of the period's partial first and last day. Times in stage of rows written before from_at existed
 * (legacy) are credited by their lead's key, read for those leads alone.
 */
async function readTouchDayGroups(
  deps: Deps, siteId: string, stages: readonly string[], from: number, to: number, breakdown: Breakdown, attribution: 'first' | 'last',
): Promise<Map<string, StageFacts>> {
  const { counts, durations } = await dayCountTouchRows(deps.db, siteId, stages, from, to, attribution, breakdown);
  const groups = new Map<string, StageFacts>();
  // '' and a stored '(none)' meet under one key, as the pass over leads does
  for (const r of counts) add(groupOf(groups, r.k || NO_KEY)[r.kind], r.stage, r.n);
  for (const r of durations) {
    const list = durationsOf(groupOf(groups, r.k || NO_KEY), r.stage);
    for (const d of r.d) list.push(d);
  }
  const legacy = await listLegacyStageDurations(deps.db, siteId, stages.slice(0, -1), from, to);
  if (legacy.length > 0) {
    const keys = await listLeadTouchKeys(deps.db, siteId, keyColumn(breakdown, attribution), legacy.map((r) => r.leadId));
    for (const r of legacy) {
      const k = keys.get(r.leadId);
      if (k === undefined) continue; // a bot
      durationsOf(groupOf(groups, k || NO_KEY), r.stage).push(r.d);
    }
  }
  return groups;
}

/**
 * Linear groups: each lead's shares of its session touches (every distinct web session's touch an equal share), then
 * every non-bot lead read once (stage now, creation time) and credited with its period's stage changes by those
 * shares. A lead of one key (most of them) gets that key's one shared [[group, 1]]: no array per lead.
 */
async function readLinearGroups(
  deps: Deps, siteId: string, stages: readonly string[], from: number, to: number, breakdown: Breakdown,
): Promise<Map<string, StageFacts>> {
  const groups = new Map<string, StageFacts>();
  const whole = new Map<string, Shares>();
  const wholeOf = (key: string) => whole.get(key) ?? whole.set(key, [[groupOf(groups, key), 1]]).get(key)!;
  const sessions = new Map<string, Array<[key: string, sessions: number]>>();
  for (const r of await countSessionTouches(deps.db, siteId, FIELD[breakdown])) {
    const key = r.k || NO_KEY;
    const seen = sessions.get(r.leadId);
    // sessions without the field ('') and those tagged '(none)' (as GA names a missing medium) are one key: two
    // entries of one group would count the lead's times in stage twice there, not once
    const same = seen?.find(([k]) => k === key);
    if (same) same[1] += r.sessions;
    else if (seen) seen.push([key, r.sessions]);
    else sessions.set(r.leadId, [[key, r.sessions]]);
  }
  const sharesOf = new Map<string, Shares>();
  for (let after: string | null = ''; after !== null; ) {
    const page = await listLeadFacts(deps.db, siteId, after, LEAD_PAGE, keyColumn(breakdown, 'first'));
    for (const l of page.leads) {
      const touches = sessions.get(l.leadId);
      let shares: Shares;
      // a lead without web sessions of its own (server events only, or sessions its visitor opened under another
      // lead) goes whole to its first touch's key, '(none)' without one
      if (!touches) shares = wholeOf(l.firstKey || NO_KEY);
      else if (touches.length === 1) shares = wholeOf(touches[0][0]);
      else {
        const total = touches.reduce((n, [, k]) => n + k, 0);
        shares = touches.map(([key, n]) => [groupOf(groups, key), n / total] as const);
      }
      sharesOf.set(l.leadId, shares);
      const inCohort = l.createdAt >= from && l.createdAt < to;
      for (const [g, share] of shares) {
        add(g.count, l.stage, share);
        if (inCohort) add(g.cohort, l.stage, share);
      }
    }
    after = page.next;
  }
  sessions.clear();
  // bot leads were not read, so sharesOf skips their stage changes
  await creditPeriod(deps, siteId, stages, from, to, (id) => sharesOf.get(id));
  return groups;
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
  const report: FunnelReport = {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    stages: buildStageMetrics(stages, await readTotals(deps, siteId, stages, from, to)),
    breakdownBy: q.breakdown ?? null,
    attribution: q.breakdown ? (q.attribution ?? 'first') : null,
    breakdown: null,
  };
  if (!q.breakdown) return { ok: true, report };
  const groups =
    report.attribution === 'linear'
      ? await readLinearGroups(deps, siteId, stages, from, to, q.breakdown)
      : await readTouchGroups(deps, siteId, stages, from, to, q.breakdown, report.attribution!);
  // linear shares are fractions shown to 4 decimals: the groups must still add up to the totals a marketer compares them with
  report.breakdown = buildBreakdownMetrics(stages, groups)
    .sort((a, b) => b.stages[0].reached - a.stages[0].reached || sum(b.stages) - sum(a.stages) || (a.key < b.key ? -1 : 1));
  return { ok: true, report };
}

const sum = (stages: StageMetrics[]) => stages.reduce((s, x) => s + x.count, 0);
