// GET /api/funnel judged from contract §5/§6 and the README ("HTTP API", "Funnel report"), as a marketer reads it,
// on what earlier report tests leave out: linear credit split over three campaigns adding up to the total exactly, a
// campaign written `Spring` and `spring`, a period edge exactly on an event with `from`/`to` written in other zones
// (breakdowns included, which SQLite reads from day counts), and calendar dates that do not exist. Every population is
// made through POST /e and POST /api/events, and every expected figure is worked out by hand in the comments.
import { describe, expect, test } from 'vitest';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, iso, useJourneys, type Journey } from '../helpers/journey-api.js';
import { apportionUnits } from '../../collector/reports/stage-metrics.js';

const { open } = useJourneys();
const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];

type Stage = { stage: string; count: number; entered: number; reached: number; conversionNext: number | null; conversionCumulative: number | null; timeInStage: { p50: number | null; p90: number | null; n: number } };
type Report = { from: string; to: string; stages: Stage[]; breakdown: Array<{ key: string; stages: Stage[] }> | null };

const touch = (campaign: string) => {
  const url = `http://127.0.0.1/?utm_source=news&utm_medium=email&utm_campaign=${campaign}`;
  return { utm_source: 'news', utm_medium: 'email', utm_campaign: campaign, url };
};
/** A landing pageview as the snippet sends it: its visitor's first touch and this session's touch. */
const landing = (first: string | null, session: string | null, path = '/') => ({
  path: session ? `${path}?utm_source=news&utm_medium=email&utm_campaign=${session}` : path,
  ...(first ? { ft: touch(first) } : {}),
  ...(session ? { st: touch(session) } : {}),
});

/**
 * Four visitors, in time order (T0 = Mon 2025-01-06 09:00Z):
 *   L1 v_lin3: T0 campaign alpha '/', T0+1d beta '/', T0+2d gamma '/': three sessions, three campaigns.
 *       awareness at T0; the second session enters interest at T0+1d; the third moves nothing.       → interest
 *   L3 v_direct: T0+2h '/' without any campaign (direct).                                           → awareness
 *   L4 v_case: T0+3h `Spring` '/pricing' (awareness and consideration at once); T0+3h10m `spring` '/': a campaign
 *       compared as stored is a new campaign, so a second session (interest, below where L4 is: no change). → consideration
 *   L5 v_spring: T0+4h `spring` '/'.                                                                → awareness
 */
async function population(): Promise<Journey> {
  const j = await open();
  await j.visit('v_lin3_visitor', [landing('alpha', 'alpha')], T0);
  await j.visit('v_direct_visit', [landing(null, null)], T0 + 2 * HOUR);
  await j.visit('v_case_visitor', [landing('Spring', 'Spring', '/pricing')], T0 + 3 * HOUR);
  await j.visit('v_case_visitor', [landing('Spring', 'spring')], T0 + 3 * HOUR + 10 * MIN);
  await j.visit('v_spring_visit', [landing('spring', 'spring')], T0 + 4 * HOUR);
  await j.visit('v_lin3_visitor', [landing('alpha', 'beta')], T0 + DAY);
  await j.visit('v_lin3_visitor', [landing('alpha', 'gamma')], T0 + 2 * DAY);
  j.clock.now = T0 + 3 * DAY;
  return j;
}

const funnel = (j: Journey, qs: string) => get(j, `/api/funnel?${qs}`) as Promise<Report>;
const col = (stages: Stage[], f: 'count' | 'entered' | 'reached') => stages.map((s) => s[f]);
const groups = (r: Report, f: 'count' | 'entered' | 'reached') => Object.fromEntries(r.breakdown!.map((g) => [g.key, col(g.stages, f)]));
/**
 * Per stage, the sum of a field over the breakdown's groups as shown (4 decimals), added exactly: in ten-thousandths,
 * so the test's own floating point adds no error (0.3334 + 0.3333 + 0.3333 is 1, as a spreadsheet shows it).
 */
const sums = (r: Report, f: 'count' | 'entered' | 'reached') =>
  STAGES.map((_, i) => r.breakdown!.reduce((s, g) => s + Math.round(g.stages[i][f] * 10_000), 0) / 10_000);
const WHOLE = `from=${iso(T0 - HOUR)}&to=${iso(T0 + 3 * DAY)}`;

describe('a week of four leads, by hand', () => {
  test('totals: now, entered, the cohort, conversions (a skipped stage counts as reached) and nearest-rank times in stage', async () => {
    const j = await population();
    const r = await funnel(j, WHOLE);
    expect(r.stages.map((s) => s.stage)).toEqual(STAGES);
    // now: L1 interest; L3, L5 awareness; L4 consideration
    expect(col(r.stages, 'count')).toEqual([2, 1, 1, 0, 0, 0]);
    // entries: awareness L1 L3 L4 L5; interest L1; consideration L4
    expect(col(r.stages, 'entered')).toEqual([4, 1, 1, 0, 0, 0]);
    // cohort = all four. reached(interest) = L1 and L4 (L4 skipped interest but is past it); consideration = L4
    expect(col(r.stages, 'reached')).toEqual([4, 2, 1, 0, 0, 0]);
    // next: 2/4, 1/2, 0/1, then 0/0 (null) ; cumulative: 4/4, 2/4, 1/4, 0/4 …
    expect(r.stages.map((s) => s.conversionNext)).toEqual([0.5, 0.5, 0, null, null, null]);
    expect(r.stages.map((s) => s.conversionCumulative)).toEqual([1, 0.5, 0.25, 0, 0, 0]);
    // awareness left by L1 after one day and by L4 at once: sorted [0, DAY]; p50 = 1st (ceil .5·2), p90 = 2nd (ceil 1.8)
    expect(r.stages[0].timeInStage).toEqual({ p50: 0, p90: DAY, n: 2 });
    expect(r.stages[1].timeInStage).toEqual({ p50: null, p90: null, n: 0 });
    // a period that runs on past now (the month a marketer picks, still under way) reads the same figures
    const month = await funnel(j, 'from=2025-01-01&to=2025-02-01');
    expect(month.stages).toEqual(r.stages);
  });

  test('by campaign, first and last touch: no campaign is (none), `Spring` and `spring` are the keys as written, and each adds up', async () => {
    const j = await population();
    const first = await funnel(j, `${WHOLE}&breakdown=campaign&attribution=first`);
    // first touches: L1 alpha, L3 none, L4 Spring, L5 spring
    expect(groups(first, 'count')).toEqual({
      alpha: [0, 1, 0, 0, 0, 0], '(none)': [1, 0, 0, 0, 0, 0], Spring: [0, 0, 1, 0, 0, 0], spring: [1, 0, 0, 0, 0, 0],
    });
    expect(groups(first, 'entered')).toEqual({
      alpha: [1, 1, 0, 0, 0, 0], '(none)': [1, 0, 0, 0, 0, 0], Spring: [1, 0, 1, 0, 0, 0], spring: [1, 0, 0, 0, 0, 0],
    });
    expect(groups(first, 'reached')).toEqual({
      alpha: [1, 1, 0, 0, 0, 0], '(none)': [1, 0, 0, 0, 0, 0], Spring: [1, 1, 1, 0, 0, 0], spring: [1, 0, 0, 0, 0, 0],
    });
    // last touches (the session that began last): L1 gamma, L3 none, L4 spring (its 10-past visit), L5 spring
    const last = await funnel(j, `${WHOLE}&breakdown=campaign&attribution=last`);
    expect(groups(last, 'count')).toEqual({ gamma: [0, 1, 0, 0, 0, 0], '(none)': [1, 0, 0, 0, 0, 0], spring: [1, 0, 1, 0, 0, 0] });
    expect(groups(last, 'entered')).toEqual({ gamma: [1, 1, 0, 0, 0, 0], '(none)': [1, 0, 0, 0, 0, 0], spring: [2, 0, 1, 0, 0, 0] });
    expect(groups(last, 'reached')).toEqual({ gamma: [1, 1, 0, 0, 0, 0], '(none)': [1, 0, 0, 0, 0, 0], spring: [2, 1, 1, 0, 0, 0] });
    // times in stage go whole to the lead's key: awareness L1 DAY (gamma), L4 0 (spring)
    const tis = Object.fromEntries(last.breakdown!.map((g) => [g.key, g.stages[0].timeInStage]));
    expect(tis).toEqual({ gamma: { p50: DAY, p90: DAY, n: 1 }, spring: { p50: 0, p90: 0, n: 1 }, '(none)': { p50: null, p90: null, n: 0 } });
    for (const r of [first, last]) for (const f of ['count', 'entered', 'reached'] as const) expect(sums(r, f), f).toEqual(col((await funnel(j, WHOLE)).stages, f));
    // no campaign is the direct channel
    const channel = await funnel(j, `${WHOLE}&breakdown=channel&attribution=first`);
    expect(groups(channel, 'count')).toEqual({ email: [1, 1, 1, 0, 0, 0], direct: [1, 0, 0, 0, 0, 0] });
  });

  test('linear: a lead of three campaigns is a third each, and the groups add up to the totals exactly', async () => {
    const j = await population();
    const total = await funnel(j, WHOLE);
    const r = await funnel(j, `${WHOLE}&breakdown=campaign&attribution=linear`);
    // L1: ⅓ alpha, ⅓ beta, ⅓ gamma (its three sessions); L3 whole (none); L4 ½ Spring ½ spring; L5 whole spring
    // count:   interest ⅓ each of alpha/beta/gamma; awareness none 1, spring 1 (L5); consideration Spring ½, spring ½
    // entered: awareness ⅓ each (L1), none 1, Spring ½, spring ½ + 1; interest ⅓ each; consideration ½ and ½
    // reached: the cohort is everyone, so reached = the lead's share down to the stage it is in now
    expect(new Set(r.breakdown!.map((g) => g.key))).toEqual(new Set(['alpha', 'beta', 'gamma', '(none)', 'Spring', 'spring']));
    const by = Object.fromEntries(r.breakdown!.map((g) => [g.key, g.stages]));
    expect(col(by.Spring, 'count')).toEqual([0, 0, 0.5, 0, 0, 0]);
    expect(col(by.spring, 'count')).toEqual([1, 0, 0.5, 0, 0, 0]);
    expect(col(by.spring, 'entered')).toEqual([1.5, 0, 0.5, 0, 0, 0]);
    expect(col(by.spring, 'reached')).toEqual([1.5, 0.5, 0.5, 0, 0, 0]);
    expect(col(by['(none)'], 'entered')).toEqual([1, 0, 0, 0, 0, 0]);
    // each third is shown to 4 decimals: 0.3333 or 0.3334
    for (const k of ['alpha', 'beta', 'gamma']) {
      expect(by[k][1].count, k).toBeGreaterThanOrEqual(0.3333);
      expect(by[k][1].count, k).toBeLessThanOrEqual(0.3334);
      expect([0, 2, 3, 4, 5].map((i) => by[k][i].count), k).toEqual([0, 0, 0, 0, 0]);
    }
    // the marketer adds the column up: 1 lead in interest is 1, not 0.9999
    for (const f of ['count', 'entered', 'reached'] as const) expect(sums(r, f), f).toEqual(col(total.stages, f));
    // every group's reached never grows down the funnel
    for (const g of r.breakdown!) for (let i = 1; i < STAGES.length; i++) expect(g.stages[i].reached, g.key).toBeLessThanOrEqual(g.stages[i - 1].reached);
    // times in stage are credited whole to each key of the lead: awareness DAY for alpha, beta and gamma (L1), 0 for Spring and spring (L4)
    expect(by.beta[0].timeInStage).toEqual({ p50: DAY, p90: DAY, n: 1 });
    expect(by.Spring[0].timeInStage).toEqual({ p50: 0, p90: 0, n: 1 });
  });

  test('seven leads split over three campaigns: every stage and every field adds up to the total', async () => {
    // 7 visitors, each with sessions under a, b and c in a rotation, so shares are ⅓, ½ and whole in mixed sums
    const j = await open();
    const plan = [['a', 'b', 'c'], ['a', 'a', 'b'], ['c'], ['b', 'c'], ['a', 'b', 'c'], ['c', 'a', 'b'], ['b', 'b', 'c']];
    for (let d = 0; d < 3; d++) {
      for (let v = 0; v < plan.length; v++) {
        const c = plan[v][d];
        if (c) await j.visit(`v_mix_${v}_abcdef`, [landing(plan[v][0], c, v % 2 ? '/pricing' : '/')], T0 + d * DAY + v * MIN);
      }
    }
    j.clock.now = T0 + 3 * DAY;
    const total = await funnel(j, WHOLE);
    expect(total.stages[0].reached).toBe(7);
    const r = await funnel(j, `${WHOLE}&breakdown=campaign&attribution=linear`);
    for (const f of ['count', 'entered', 'reached'] as const) expect(sums(r, f), f).toEqual(col(total.stages, f));
  });
});

describe('the period edge exactly on an event, written in other zones', () => {
  // from = T0+3h = 12:00Z, the instant of L4's first page; to = T0+4h = 13:00Z, the instant of L5's first page
  const FROMS = [String(T0 + 3 * HOUR), '2025-01-06T12:00:00Z', '2025-01-06T07:00:00-05:00', encodeURIComponent('2025-01-06T17:30:00+05:30'), '2025-01-06T17:30:00+05:30', '2025-01-06T12:00:00.000+00:00'];
  const TOS = [String(T0 + 4 * HOUR), '2025-01-06T13:00:00Z', '2025-01-06T08:00:00-0500', encodeURIComponent('2025-01-06T18:30+05:30')];

  test('from is inclusive and to exclusive at that millisecond, for the totals and every breakdown', async () => {
    const j = await population();
    for (let k = 0; k < FROMS.length; k++) {
      const qs = `from=${FROMS[k]}&to=${TOS[k % TOS.length]}`;
      const r = await funnel(j, qs);
      expect(r.from, qs).toBe('2025-01-06T12:00:00.000Z');
      expect(r.to, qs).toBe('2025-01-06T13:00:00.000Z');
      // in [12:00, 13:00): L4 entered awareness and consideration at 12:00 and is the cohort; L5 (13:00) is out
      expect(col(r.stages, 'entered'), qs).toEqual([1, 0, 1, 0, 0, 0]);
      expect(col(r.stages, 'reached'), qs).toEqual([1, 1, 1, 0, 0, 0]);
      expect(r.stages.map((s) => s.conversionNext), qs).toEqual([1, 1, 0, null, null, null]);
      expect(r.stages[0].timeInStage, qs).toEqual({ p50: 0, p90: 0, n: 1 });
      for (const attribution of ['first', 'last', 'linear']) {
        const b = await funnel(j, `${qs}&breakdown=campaign&attribution=${attribution}`);
        const key = attribution === 'first' ? 'Spring' : 'spring';
        const entered = Object.fromEntries(b.breakdown!.filter((g) => g.stages.some((s) => s.entered)).map((g) => [g.key, col(g.stages, 'entered')]));
        const reached = Object.fromEntries(b.breakdown!.filter((g) => g.stages[0].reached).map((g) => [g.key, col(g.stages, 'reached')]));
        if (attribution === 'linear') {
          expect(entered, `${qs} linear`).toEqual({ Spring: [0.5, 0, 0.5, 0, 0, 0], spring: [0.5, 0, 0.5, 0, 0, 0] });
          expect(reached, `${qs} linear`).toEqual({ Spring: [0.5, 0.5, 0.5, 0, 0, 0], spring: [0.5, 0.5, 0.5, 0, 0, 0] });
        } else {
          expect(entered, `${qs} ${attribution}`).toEqual({ [key]: [1, 0, 1, 0, 0, 0] });
          expect(reached, `${qs} ${attribution}`).toEqual({ [key]: [1, 1, 1, 0, 0, 0] });
        }
      }
    }
    // the hour before, ending at 12:00 exactly: L3 (11:00) only, L4 not
    const before = await funnel(j, `from=2025-01-06T06:00:00-05:00&to=2025-01-06T12:00:00Z&breakdown=channel`);
    expect(col(before.stages, 'entered')).toEqual([1, 0, 0, 0, 0, 0]);
    expect(groups(before, 'entered')).toEqual({ direct: [1, 0, 0, 0, 0, 0], email: [0, 0, 0, 0, 0, 0] });
  });
});

describe('dates a calendar does not have, and times a Date cannot hold', () => {
  test('30 February, 29 February of a common year, 31 April and epoch ms past year 275760 are a 400 in the error shape, not another period or a 500; 29 February 2024 is a day', async () => {
    const j = await population();
    // each beside a good other bound, so only the impossible date can be the problem (V8's Date.parse rolls 30 February
    // over to 2 March, which a report would then silently read as its period)
    for (const bad of ['from=2025-02-30&to=2025-12-01', 'from=2025-02-01&to=2025-02-29', 'from=2025-04-31T10:00:00Z&to=2025-12-01', 'from=2025-06-01&to=2025-06-31T00:00:00%2B02:00']) {
      const res = await j.app.request(`/api/funnel?${bad}`, { headers: j.auth });
      const body = await res.json();
      expect(res.status, bad).toBe(400);
      expect(body.error.code, bad).toBe('invalid_request');
      expect(body.error.message, bad).toMatch(/^(from|to):/);
      const t = await j.app.request(`/api/leads/v_lin3_visitor/timeline?${bad}`, { headers: j.auth });
      expect(t.status, `timeline ${bad}`).toBe(400);
      expect((await t.json()).error.code).toBe('invalid_request');
    }
    // epoch milliseconds past the last instant a Date holds (8.64e15, +275760-09-13): no time, so a 400, not a 500
    for (const bad of ['to=9000000000000000', 'from=8640000000000001&to=9000000000000000']) {
      const res = await j.app.request(`/api/funnel?${bad}`, { headers: j.auth });
      expect(res.status, bad).toBe(400);
      expect((await res.json()).error.code, bad).toBe('invalid_request');
    }
    expect((await funnel(j, 'from=8639999999999999&to=8640000000000000')).to).toBe('+275760-09-13T00:00:00.000Z');
    const leap = await funnel(j, 'from=2024-02-29&to=2024-03-01');
    expect(leap.from).toBe('2024-02-29T00:00:00.000Z');
    expect(leap.to).toBe('2024-03-01T00:00:00.000Z');
  });
});

describe('periods cut at UTC midnight, where SQLite sums whole days and counts the edges', () => {
  const D1 = Date.UTC(2025, 0, 7); // Tue 00:00:00.000Z
  const D2 = Date.UTC(2025, 0, 8);
  /**
   * v_mid_b: '/' campaign eve at D1 − 1 ms (awareness); v_mid_a: '/pricing' campaign mid at D1 exactly (awareness and
   * consideration); v_mid_c: '/' campaign next at D2 exactly (awareness). One session each, so first, last and linear
   * give each lead wholly to its one campaign.
   */
  async function midnight(): Promise<Journey> {
    const j = await open();
    await j.visit('v_mid_b_visitor', [landing('eve', 'eve')], D1 - 1);
    await j.visit('v_mid_a_visitor', [landing('mid', 'mid', '/pricing')], D1);
    await j.visit('v_mid_c_visitor', [landing('next', 'next')], D2);
    j.clock.now = D2 + 2 * DAY;
    return j;
  }

  test('an event at 00:00:00.000 is in the day it begins and not in the day before, for the totals and each attribution', async () => {
    const j = await midnight();
    const cases: Array<[from: number, to: number, entered: number[], reached: number[], byKey: Record<string, number[]>]> = [
      // [D1, D2): a only (b is 1 ms before, c is the exclusive end)
      [D1, D2, [1, 0, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], { mid: [1, 0, 1, 0, 0, 0] }],
      // the whole day before D1: b only
      [D1 - DAY, D1, [1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], { eve: [1, 0, 0, 0, 0, 0] }],
      // two milliseconds across midnight: b and a
      [D1 - 1, D1 + 1, [2, 0, 1, 0, 0, 0], [2, 1, 1, 0, 0, 0], { eve: [1, 0, 0, 0, 0, 0], mid: [1, 0, 1, 0, 0, 0] }],
      // two whole days and two partial ones: all three
      [D1 - DAY - HOUR, D2 + DAY + HOUR, [3, 0, 1, 0, 0, 0], [3, 1, 1, 0, 0, 0], { eve: [1, 0, 0, 0, 0, 0], mid: [1, 0, 1, 0, 0, 0], next: [1, 0, 0, 0, 0, 0] }],
      // from a midnight to the next but one, D2's event at the start of the second day: a and c
      [D1, D2 + DAY, [2, 0, 1, 0, 0, 0], [2, 1, 1, 0, 0, 0], { mid: [1, 0, 1, 0, 0, 0], next: [1, 0, 0, 0, 0, 0] }],
    ];
    for (const [from, to, entered, reached, byKey] of cases) {
      const qs = `from=${iso(from)}&to=${iso(to)}`;
      const r = await funnel(j, qs);
      expect(col(r.stages, 'entered'), qs).toEqual(entered);
      expect(col(r.stages, 'reached'), qs).toEqual(reached);
      for (const attribution of ['first', 'last', 'linear']) {
        const b = await funnel(j, `${qs}&breakdown=campaign&attribution=${attribution}`);
        const got = Object.fromEntries(b.breakdown!.filter((g) => g.stages.some((s) => s.entered)).map((g) => [g.key, col(g.stages, 'entered')]));
        expect(got, `${qs} ${attribution}`).toEqual(byKey);
        // every lead counts now, whatever the period: eve, mid and next one each
        expect(sums(b, 'count'), `${qs} ${attribution}`).toEqual([2, 0, 1, 0, 0, 0]);
      }
    }
  });
});

describe('two devices of one person, the second merged in', () => {
  test('linear splits the lead over both devices\' sessions; the merged-away lead counts nowhere; first and last touch are its earliest and latest visits', async () => {
    const j = await open();
    // laptop: T0 campaign a, identifies as mo@mo.test → lead X (awareness T0)
    await j.visit('v_mo_laptop01', [landing('a', 'a'), { n: 'identify', em: 'mo@mo.test' }], T0);
    // phone: T0+1h campaign b, anonymous → lead Y; 10 minutes later (same visit) identifies as mo@mo.test: Y merges into
    // X, whose second session (the phone's) enters interest at T0+1h
    await j.visit('v_mo_phone001', [landing('b', 'b')], T0 + HOUR);
    await j.visit('v_mo_phone001', [{ n: 'identify', em: 'mo@mo.test', path: '/' }], T0 + HOUR + 10 * MIN);
    j.clock.now = T0 + DAY;
    const qs = `from=${iso(T0 - HOUR)}&to=${iso(T0 + DAY)}`;
    const total = await funnel(j, qs);
    // one lead: interest now; entries awareness (T0) and interest (T0+1h); cohort of one
    expect(col(total.stages, 'count')).toEqual([0, 1, 0, 0, 0, 0]);
    expect(col(total.stages, 'entered')).toEqual([1, 1, 0, 0, 0, 0]);
    expect(col(total.stages, 'reached')).toEqual([1, 1, 0, 0, 0, 0]);
    // awareness T0 → interest T0+1h
    expect(total.stages[0].timeInStage).toEqual({ p50: HOUR, p90: HOUR, n: 1 });
    const linear = await funnel(j, `${qs}&breakdown=campaign&attribution=linear`);
    expect(groups(linear, 'count')).toEqual({ a: [0, 0.5, 0, 0, 0, 0], b: [0, 0.5, 0, 0, 0, 0] });
    expect(groups(linear, 'entered')).toEqual({ a: [0.5, 0.5, 0, 0, 0, 0], b: [0.5, 0.5, 0, 0, 0, 0] });
    expect(groups(await funnel(j, `${qs}&breakdown=campaign&attribution=first`), 'count')).toEqual({ a: [0, 1, 0, 0, 0, 0] });
    expect(groups(await funnel(j, `${qs}&breakdown=campaign&attribution=last`), 'count')).toEqual({ b: [0, 1, 0, 0, 0, 0] });
  });
});

describe('shares shown to 4 decimals that add up (apportionUnits, in ten-thousandths)', () => {
  test('thirds, two thirds, sevenths and whole counts', () => {
    // ⅓ ⅓ ⅓: floors 3333 each, 1 unit left → the first (all remainders tie)
    expect(apportionUnits([1 / 3, 1 / 3, 1 / 3])).toEqual([3334, 3333, 3333]);
    // ⅔ ⅓: floors 6666 + 3333, 1 left → the larger remainder (.67) → 6667
    expect(apportionUnits([2 / 3, 1 / 3])).toEqual([6667, 3333]);
    // ⅓+⅓ summed one way or the other is the same share: still a tie, still the first
    expect(apportionUnits([1 / 3 + 1 / 3, 2 / 3, 2 / 3])).toEqual([6667, 6667, 6666]);
    // 7 × 1/7: floors 1428 each (remainder .57), 4 units left → the first four
    expect(apportionUnits(Array(7).fill(1 / 7))).toEqual([1429, 1429, 1429, 1429, 1428, 1428, 1428]);
    // whole counts stay whole
    expect(apportionUnits([3, 0, 12])).toEqual([30000, 0, 120000]);
  });
});
