// Judge 4 of the read API (reads-judge, session 18), from contract §5 and the README ("Funnel report"), on corners
// earlier judge files leave out. Linear attribution with a touch field tagged `(none)`: Google Analytics writes a missing
// medium or campaign as `(none)`, and links copied from its reports carry `utm_medium=(none)`; the README makes such a
// value and a missing one the same key, and counts "a time in stage whole under every key of its lead". Made through
// POST /e (snippet-shaped bodies) on a real database (TEST_ENGINE=pg: PostgreSQL); figures worked out by hand.
import { describe, expect, test } from 'vitest';
import { DAY, HOUR, T0 } from '../helpers/funnel-factories.js';
import { get, iso, useJourneys } from '../helpers/journey-api.js';

const { open } = useJourneys();
type Stage = { stage: string; count: number; entered: number; reached: number; timeInStage: { p50: number | null; p90: number | null; n: number } };
type Report = { stages: Stage[]; breakdown: Array<{ key: string; stages: Stage[] }> | null };

/** A landing touch as the snippet keeps it, from a link tagged with these UTM parameters. */
function tagged(utm: Record<string, string>, at: number) {
  const query = new URLSearchParams(utm).toString();
  return { ...utm, url: `http://127.0.0.1/?${query}`, at, path: `/?${query}` };
}

describe('linear attribution when a session is tagged `(none)` and another has no tag', () => {
  /**
   * A (v_rj4_gaa): T0 a link tagged utm_source=ga, utm_medium=(none); T0+1d a direct visit (no medium): the second
   *   session enters interest. Medium of both sessions: the one key `(none)`. Time in awareness: 1 day.
   * B (v_rj4_cpc): T0+1h a link tagged google/cpc; T0+1d+3h a direct visit: interest. Half cpc, half `(none)`.
   *   Time in awareness: 1 day + 2 h.
   * Period [T0-1d, T0+2d): both leads created and entered awareness and interest in it.
   */
  async function twoLeads() {
    const j = await open();
    const ga = tagged({ utm_source: 'ga', utm_medium: '(none)' }, T0);
    const { path: gaPath, ...gaTouch } = ga;
    await j.visit('v_rj4_gaa', [{ path: gaPath, ft: gaTouch, st: gaTouch }], T0);
    await j.visit('v_rj4_gaa', [{ path: '/', ft: gaTouch }], T0 + DAY);
    const cpc = tagged({ utm_source: 'google', utm_medium: 'cpc' }, T0 + HOUR);
    const { path: cpcPath, ...cpcTouch } = cpc;
    await j.visit('v_rj4_cpc', [{ path: cpcPath, ft: cpcTouch, st: cpcTouch }], T0 + HOUR);
    await j.visit('v_rj4_cpc', [{ path: '/', ft: cpcTouch }], T0 + DAY + 3 * HOUR);
    j.clock.now = T0 + 3 * DAY;
    return j;
  }
  const PERIOD = `from=${iso(T0 - DAY)}&to=${iso(T0 + 2 * DAY)}`;

  test('a lead is one share of `(none)`, and its time in stage counts once there, as in the totals', async () => {
    const j = await twoLeads();
    const total = (await get(j, `/api/funnel?${PERIOD}`)) as Report;
    // totals: two leads in interest now, each entered awareness and interest; two times in awareness: 1 d and 1 d 2 h
    expect(total.stages[0].timeInStage).toEqual({ p50: DAY, p90: DAY + 2 * HOUR, n: 2 });
    expect(total.stages[1].count).toBe(2);

    const linear = (await get(j, `/api/funnel?${PERIOD}&breakdown=medium&attribution=linear`)) as Report;
    const by = Object.fromEntries(linear.breakdown!.map((g) => [g.key, g.stages]));
    expect(Object.keys(by).sort()).toEqual(['(none)', 'cpc']);
    // (none): all of A and half of B; cpc: half of B
    expect(by['(none)'][1].count).toBe(1.5);
    expect(by.cpc[1].count).toBe(0.5);
    expect(by['(none)'][0].entered).toBe(1.5);
    // a time in stage counts whole under every key of its lead: (none) holds A's and B's (once each), cpc B's
    expect(by['(none)'][0].timeInStage).toEqual({ p50: DAY, p90: DAY + 2 * HOUR, n: 2 });
    expect(by.cpc[0].timeInStage).toEqual({ p50: DAY + 2 * HOUR, p90: DAY + 2 * HOUR, n: 1 });

    // first touch agrees on the keys: A under (none), B under cpc, each time once
    const first = (await get(j, `/api/funnel?${PERIOD}&breakdown=medium&attribution=first`)) as Report;
    const f = Object.fromEntries(first.breakdown!.map((g) => [g.key, g.stages]));
    expect(f['(none)'][0].timeInStage).toEqual({ p50: DAY, p90: DAY, n: 1 });
    expect(f.cpc[0].timeInStage).toEqual({ p50: DAY + 2 * HOUR, p90: DAY + 2 * HOUR, n: 1 });
  });
});
