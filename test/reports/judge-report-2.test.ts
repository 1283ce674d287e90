// GET /api/funnel, linear attribution: a group's `reached` as the README rounds it ("Funnel report": figures to 4
// decimals; "each share is floored to 0.0001 and the units lost go to the largest remainders, ties to the key that sorts
// first"), also when the cohort is spread over many stages. Five leads, each of three visits from campaigns a, b and c
// (a third each), standing in five different stages: every campaign reached each stage exactly as much as the others.
// Made through POST /e and POST /api/events; runs on PostgreSQL with TEST_ENGINE=pg.
import { describe, expect, test } from 'vitest';
import { HOUR, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents, useJourneys, type Journey } from '../helpers/journey-api.js';
import type { JourneyEvent } from '../helpers/journey-app.js';
import { apportionUnits } from '../../collector/reports/stage-metrics.js';

const { open } = useJourneys();
type Stage = { stage: string; count: number; entered: number; reached: number; conversionNext: number | null; conversionCumulative: number | null };
type Report = { stages: Stage[]; breakdown: Array<{ key: string; stages: Stage[] }> | null };

const touch = (c: string, at: number) => ({ utm_source: 'news', utm_medium: 'email', utm_campaign: c, url: `http://127.0.0.1/?utm_source=news&utm_medium=email&utm_campaign=${c}`, at });
/** A page of a visit from campaign `c`, as the snippet sends it (first touch: campaign a, where every visitor landed first). */
const page = (c: string, at: number, path = '/', extra: JourneyEvent = {}): JourneyEvent => ({
  path: `${path}?utm_source=news&utm_medium=email&utm_campaign=${c}`, ft: touch('a', T0), st: touch(c, at), ...extra,
});

/**
 * Visits an hour apart, one per campaign (a new campaign opens a session anyway):
 *  L1 a '/', b '/', c '/'                         → interest (second session)
 *  L2 a '/', b '/', c '/pricing'                  → consideration
 *  L3 a '/pricing', b '/pricing', c '/'           → intent (pricing seen in two sessions)
 *  L4 a '/', b '/', c '/demo' demo request        → evaluation
 *  L5 a '/', b '/', c '/' identify, then the CRM's closed_won → purchase
 */
async function fiveLeads(): Promise<Journey> {
  const j = await open();
  const plans: Array<[string, string, string, JourneyEvent?]> = [
    ['/', '/', '/'],
    ['/', '/', '/pricing'],
    ['/pricing', '/pricing', '/'],
    ['/', '/', '/demo', { n: 'demo_request', f: 'demo', em: 'dee@four.test' }],
    ['/', '/', '/', { n: 'identify', em: 'won@five.test' }],
  ];
  for (let k = 0; k < plans.length; k++) {
    const [pa, pb, pc, extra] = plans[k];
    const v = `v_judge_round_${k}`;
    const t = T0 + k * 10 * HOUR;
    await j.visit(v, [page('a', t, pa)], t);
    await j.visit(v, [page('b', t + HOUR, pb)], t + HOUR);
    await j.visit(v, [page('c', t + 2 * HOUR, pc, extra)], t + 2 * HOUR);
  }
  await postEvents(j, { id: 'crm-won-five', email: 'won@five.test', name: 'closed_won' });
  j.clock.now = T0 + 3 * 24 * HOUR;
  return j;
}

const PERIOD = `from=${iso(T0 - HOUR)}&to=${iso(T0 + 3 * 24 * HOUR)}`;
const col = (stages: Stage[], f: 'count' | 'entered' | 'reached') => stages.map((s) => s[f]);

describe('linear reached, rounded as the README says', () => {
  test('three campaigns of equal credit show the same reached, each within 0.0001 of its exact share, adding up', async () => {
    const j = await fiveLeads();
    const total = (await get(j, `/api/funnel?${PERIOD}`)) as Report;
    // now: one lead in each of interest … purchase; the cohort is all five
    expect(col(total.stages, 'count')).toEqual([0, 1, 1, 1, 1, 1]);
    expect(col(total.stages, 'reached')).toEqual([5, 5, 4, 3, 2, 1]);
    const r = (await get(j, `/api/funnel?${PERIOD}&breakdown=campaign&attribution=linear`)) as Report;
    const by = Object.fromEntries(r.breakdown!.map((g) => [g.key, g.stages]));
    // every lead is ⅓ a, ⅓ b, ⅓ c. count per stage: ⅓ each, the unit lost to the first key: a
    for (const [k, v] of [['a', 0.3334], ['b', 0.3333], ['c', 0.3333]] as const) expect(col(by[k], 'count'), k).toEqual([0, v, v, v, v, v]);
    // exact reached of each campaign: 5/3, 5/3, 4/3, 1, 2/3, 1/3. Per stage, each share floored to 0.0001 and the units
    // lost to the largest remainders (all equal: ties to a, then b):
    //   5/3: 1.6666 ×3 = 4.9998, two units lost → a 1.6667, b 1.6667, c 1.6666
    //   4/3: 1.3333 ×3 = 3.9999 → a 1.3334;   1: exact;   2/3: a .6667, b .6667, c .6666;   1/3: a .3334
    expect(col(by.a, 'reached')).toEqual([1.6667, 1.6667, 1.3334, 1, 0.6667, 0.3334]);
    expect(col(by.b, 'reached')).toEqual([1.6667, 1.6667, 1.3333, 1, 0.6667, 0.3333]);
    expect(col(by.c, 'reached')).toEqual([1.6666, 1.6666, 1.3333, 1, 0.6666, 0.3333]);
    // never more than a unit from the exact share, and the groups add up to the totals
    const exact = [5 / 3, 5 / 3, 4 / 3, 1, 2 / 3, 1 / 3];
    for (const k of ['a', 'b', 'c']) for (let i = 0; i < 6; i++) expect(Math.abs(by[k][i].reached - exact[i]), `${k} ${i}`).toBeLessThan(0.0001 + 1e-9);
    for (let i = 0; i < 6; i++) expect(Math.round((by.a[i].reached + by.b[i].reached + by.c[i].reached) * 10_000) / 10_000).toBe(total.stages[i].reached);
    // conversions are the exact ratios, the same for every campaign: 5/3 ÷ 5/3, 4/3 ÷ 5/3 = 0.8, 1 ÷ 4/3 = 0.75, …
    for (const k of ['a', 'b', 'c']) expect(by[k].map((s) => s.conversionNext), k).toEqual([1, 0.8, 0.75, 0.6667, 0.5, null]);
  });
});

describe('apportionUnits with the stage below as least (ten-thousandths)', () => {
  test('a share keeps the unit it had on the stage below; a raised share takes no other; unmeetable bounds are dropped', () => {
    // 5/3 ×3 with the stage below at [6667, 6667, 6666]: plain rounding, the bounds are under the floors
    expect(apportionUnits([5 / 3, 5 / 3, 5 / 3], [6667, 6667, 6666])).toEqual([16667, 16667, 16666]);
    // [⅓, ⅓, ⅓] with c's unit below (its remainder ranked first there): c keeps it, a and b stay floored
    expect(apportionUnits([1 / 3, 1 / 3, 1 / 3], [3333, 3333, 3334])).toEqual([3333, 3333, 3334]);
    // [½·10⁻⁴ ×2, 10⁻⁴ ×2] (3 units) over a stage below of [1, 1, 0, 0]: keeping both a and b's units and c and d's whole
    // ones needs 4: the bounds are dropped, and the units go plainly (ties to a)
    expect(apportionUnits([0.00005, 0.00005, 0.0001, 0.0001], [1, 1, 0, 0])).toEqual([1, 0, 1, 1]);
    // a bound is never taken past the share's floor plus one unit
    expect(apportionUnits([1, 1], [20000, 0])).toEqual([10000, 10000]);
  });
});
