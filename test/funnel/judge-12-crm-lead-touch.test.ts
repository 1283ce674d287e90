// Judge 12: a lead the CRM made first (POST /api/events by email: no web touch, `{}`), joined later by the device the
// person had browsed with anonymously before (its beacons, held in the browser's outbox while the collector was down,
// carry the identification). The profile then shows the device's touches (README, GET /api/leads/{ref}: firstTouch and
// lastTouch), and the funnel report's breakdowns by first, last and linear touch count the lead, its entries and its
// times in stage under that touch, with no `(none)` left behind (README "Funnel report": "A lead counts under its touch
// as it is now"); the CRM's own entries, replaced by the rebuild, are gone from the plain report. The in-process twin of
// black-box-journeys-10's offline demo request. No bug was found. Every figure worked out by hand from the default rules.
// Real HTTP (app.request) on a real database (PostgreSQL with TEST_ENGINE=pg).
import { describe, expect, test } from 'vitest';
import { get, iso, postEvents, profile, useJourneys } from '../helpers/journey-api.js';
import { DAY, MIN, T0 } from '../helpers/funnel-factories.js';

const { open } = useJourneys();
/** the landing of a Google ad, as the snippet sends it with every event of the visit (first and session touch) */
const TOUCH = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', url: 'http://127.0.0.1/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand', at: T0 };

describe('a CRM-made lead joined by an anonymous device: the report counts it under the device\'s touch', () => {
  test('first, last and linear breakdowns by channel and by source list the device\'s touch only', async () => {
    const j = await open();
    const V = 'v_j12_uma000001';
    const U = 'uma@judge12.test';
    // day 0: the device lands on /pricing from a Google ad (paid search): awareness and consideration, its own lead
    await j.visit(V, [{ path: '/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand', ft: TOUCH, st: TOUCH }], T0);
    // day 1: the CRM logs a held demo by email: a lead never seen on the web (awareness, evaluation), no touch
    j.clock.now = T0 + DAY;
    await postEvents(j, { email: U, name: 'demo_completed', at: iso(T0 + DAY) });
    expect((await profile(j, U)).firstTouch).toEqual({});
    // day 2: the device's held demo request (dated day 0 + 10 minutes, same visit) arrives with its email: the device
    // identifies as U, whose lead takes the device's history
    j.clock.now = T0 + 2 * DAY;
    await j.visit(V, [{ path: '/demo', n: 'demo_request', em: U, ft: TOUCH, st: TOUCH }], T0 + 10 * MIN);
    const p = await profile(j, U);
    expect(p.visitorIds).toEqual([V]);
    expect(p.stage).toBe('evaluation');
    expect(p.firstTouch).toMatchObject({ utm_source: 'google', channel: 'paid_search' });
    expect(p.lastTouch).toMatchObject({ channel: 'paid_search' });

    // the report over the three days: one lead, created on day 0 (its first event on any device); entered: awareness
    // and consideration on day 0, evaluation at the demo request
    const period = `from=${iso(T0 - MIN)}&to=${iso(T0 + 3 * DAY)}`;
    const plain = await get(j, `/api/funnel?${period}`);
    expect(plain.stages.map((s: any) => s.entered)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(plain.stages.map((s: any) => s.reached)).toEqual([1, 1, 1, 1, 1, 0]);
    for (const breakdown of ['channel', 'source']) {
      for (const attribution of ['first', 'last', 'linear']) {
        const r = await get(j, `/api/funnel?${period}&breakdown=${breakdown}&attribution=${attribution}`);
        const want = breakdown === 'channel' ? 'paid_search' : 'google';
        expect(r.breakdown.map((g: any) => g.key), `${breakdown} ${attribution}`).toEqual([want]);
        expect(r.breakdown[0].stages.map((s: any) => s.entered), `${breakdown} ${attribution}`).toEqual([1, 0, 1, 0, 1, 0]);
        expect(r.breakdown[0].stages.map((s: any) => s.reached), `${breakdown} ${attribution}`).toEqual([1, 1, 1, 1, 1, 0]);
      }
    }
  });

  test('the device\'s held visit arrives days later with its next one: a period holding only the device\'s first day', async () => {
    const j = await open();
    const V = 'v_j12_uma000002';
    const U = 'uma2@judge12.test';
    const land = (at: number, path: string) => ({ url: `http://127.0.0.1${path}`, at });
    // day 0: /pricing, direct (its own lead: awareness, consideration)
    await j.visit(V, [{ path: '/pricing', ft: land(T0, '/pricing'), st: land(T0, '/pricing') }], T0);
    // day 4: the CRM's demo_completed by email: a lead without a touch
    j.clock.now = T0 + 4 * DAY;
    await postEvents(j, { email: U, name: 'demo_completed', at: iso(T0 + 4 * DAY) });
    // day 5: one batch holds the day-3 visit made while the collector was down (/demo and its form with U's email)
    // and today's /about, each a visit of its own
    j.clock.now = T0 + 5 * DAY;
    const d3 = T0 + 3 * DAY;
    const d5 = T0 + 5 * DAY;
    await j.visit(V, [
      { path: '/demo', t: d3, ft: land(T0, '/pricing'), st: land(d3, '/demo') },
      { path: '/demo', n: 'demo_request', em: U, t: d3 + 5000, ft: land(T0, '/pricing'), st: land(d3, '/demo') },
      { path: '/about', t: d5 - 1000, ft: land(T0, '/pricing'), st: land(d5 - 1000, '/about') },
    ], d5 - 1000);
    const p = await profile(j, U);
    expect(p.visitorIds).toEqual([V]);
    expect(p).toMatchObject({ stage: 'evaluation', firstTouch: { channel: 'direct' }, lastTouch: { channel: 'direct' } });
    expect(Date.parse(p.createdAt)).toBe(T0);

    // the report over day 0 alone: U's lead, created then, entered awareness and consideration; it is now in evaluation
    const period = `from=${iso(T0 - MIN)}&to=${iso(T0 + DAY / 2)}`;
    const plain = await get(j, `/api/funnel?${period}`);
    expect(plain.stages.map((s: any) => s.entered)).toEqual([1, 0, 1, 0, 0, 0]);
    expect(plain.stages.map((s: any) => s.reached)).toEqual([1, 1, 1, 1, 1, 0]);
    for (const attribution of ['first', 'last', 'linear']) {
      const r = await get(j, `/api/funnel?${period}&breakdown=channel&attribution=${attribution}`);
      expect(r.breakdown.map((g: any) => g.key), attribution).toEqual(['direct']);
      expect(r.breakdown[0].stages.map((s: any) => s.entered), attribution).toEqual([1, 0, 1, 0, 0, 0]);
      expect(r.breakdown[0].stages.map((s: any) => s.reached), attribution).toEqual([1, 1, 1, 1, 1, 0]);
      // times in stage under the device's key: awareness 0 (entered with consideration), consideration from day 0 to
      // the day-3 demo request; the CRM's own day-4 entries (awareness, evaluation, 0 apart) are gone
      const dwell = r.breakdown[0].stages.map((s: any) => [s.timeInStage.p50, s.timeInStage.n]);
      expect(dwell, attribution).toEqual([[0, 1], [null, 0], [3 * DAY + 5000, 1], [null, 0], [null, 0], [null, 0]]);
    }
    const all = await get(j, `/api/funnel?from=${iso(T0 - MIN)}&to=${iso(T0 + 6 * DAY)}`);
    expect(all.stages.map((s: any) => [s.timeInStage.p50, s.timeInStage.n])).toEqual([[0, 1], [null, 0], [3 * DAY + 5000, 1], [null, 0], [null, 0], [null, 0]]);
    expect(all.stages.map((s: any) => s.entered)).toEqual([1, 0, 1, 0, 1, 0]);
  });
});
