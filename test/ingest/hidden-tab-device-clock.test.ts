// A tab left in the background past the session timeout while the collector's clock did not move as far (a test's
// fake page clock, a laptop's clock set right while it slept): the device clock says 31 idle minutes passed, so the
// next view opens a session (README: 30 minutes without activity), though the batch's clock correction
// (device-clock.ts) puts that view among, or just before, the first session's events on the collector's clock, where
// the late-event rules (late-events.ts) would place it in the first session. And the engagement beacon sent on hide,
// describing time already spent on the first session's page, never glues the two sessions together, whichever of
// the two requests arrives first. Bodies are shaped as the snippet sends them (snippet/send.ts, engagement.ts): the
// device clock in `t`, a beacon's events resent with the next fetch (a beacon has no answer).
import { afterEach, describe, expect, test } from 'vitest';
import type { WireEvent } from '../../shared/wire.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { MIN } from '../helpers/funnel-factories.js';

const CAMPAIGN = 'utm_source=newsletter&utm_medium=email&utm_campaign=webinar';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function setup(engine: (typeof ENGINES)[number]) {
  const j = await makeJourneyApp({ engine });
  close = () => j.db.close();
  const C = j.clock.now;
  /** POST /e of one batch received at `received` (collector clock), stamped `sent` on the device's clock. */
  const send = async (v: string, received: number, sent: number, e: WireEvent[]) => {
    j.clock.now = received;
    const res = await j.app.request('/e', {
      method: 'POST',
      body: JSON.stringify({ s: j.site.siteKey, v, e, t: sent }),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
    });
    expect(res.status).toBe(202);
  };
  const view = (path: string, t: number): WireEvent => ({ i: randomId(), n: 'pageview', t, u: `http://127.0.0.1${path}` });
  const engagement = (path: string, t: number, seconds: number): WireEvent => ({
    i: randomId(), n: 'engagement', t, u: `http://127.0.0.1${path}`, p: { seconds, scroll: 100 },
  });
  /** The visitor's stored events: name, path, session (as a letter, in order of first appearance by time), campaign. */
  const stored = async (v: string) => {
    const rows = await j.db.all<{ name: string; path: string; session_id: string; utm_campaign: string | null; first_touch: string | null }>(
      'SELECT name, path, session_id, utm_campaign, first_touch FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at, name',
      [j.site.siteId, v],
    );
    const letters = new Map<string, string>();
    for (const r of rows) if (!letters.has(r.session_id)) letters.set(r.session_id, 'ABCDEF'[letters.size]);
    return rows.map((r) => ({ name: r.name, path: r.path, session: letters.get(r.session_id)!, campaign: r.utm_campaign, opens: r.first_touch !== null }));
  };
  const sessionCount = async (v: string) =>
    Number((await j.db.get<{ n: number }>('SELECT session_count AS n FROM visitors WHERE site_id = ? AND visitor_id = ?', [j.site.siteId, v]))!.n);
  return { ...j, C, send, view, engagement, stored, sessionCount };
}

/**
 * The visit of unseen-pages-10's single-page app, on a device whose clock reads the collector's at first: the landing
 * view from a campaign and a route 80 ms later in one fetch; the tab hidden 1.2 s in (its engagement beacon, 1 s seen);
 * 31 minutes on the device's clock in the background; shown again and routed to /app/pricing, whose fetch (300 ms
 * later on the device) resends the beacon's engagement with the view. `route` is when the collector receives that
 * fetch, `beacon` when it receives the hide beacon (on the collector's clock, which moved less than a second).
 */
async function hiddenTabVisit(j: Awaited<ReturnType<typeof setup>>, v: string, opts: { route: number; beacon: number; campaign?: boolean }) {
  const { C } = j;
  const landing = j.view(opts.campaign === false ? '/app' : `/app?${CAMPAIGN}`, C);
  await j.send(v, C + 100, C + 100, [landing, j.view('/app/reports', C + 80)]);
  const hide = j.engagement('/app/reports', C + 1200, 1);
  const back = C + 1200 + 31 * MIN + 10;
  const pricing = j.view('/app/pricing', back);
  const sends = [
    { at: C + opts.beacon, go: () => j.send(v, C + opts.beacon, C + 1200, [hide]) },
    { at: C + opts.route, go: () => j.send(v, C + opts.route, back + 300, [hide, pricing]) },
  ].sort((a, b) => a.at - b.at);
  for (const s of sends) await s.go();
}

describe.each(ENGINES)('a tab hidden for 31 minutes on the device clock, then a client-side route (POST /e on %s)', (engine) => {
  // where the route's view lands on the collector's clock: its fetch's receipt, less the 300 ms the device says it waited
  test('the route\'s view corrected to inside the first session\'s span (between the landing and the route 80 ms later): a second session, without the campaign', async () => {
    const j = await setup(engine);
    await hiddenTabVisit(j, 'v_hidden_inside', { beacon: 250, route: 340 });
    // pricing at C + 40 on the collector's clock, between /app (C) and /app/reports (C + 80)
    expect(await j.stored('v_hidden_inside')).toEqual([
      { name: 'pageview', path: '/app', session: 'A', campaign: 'webinar', opens: true },
      { name: 'pageview', path: '/app/pricing', session: 'B', campaign: null, opens: true },
      { name: 'pageview', path: '/app/reports', session: 'A', campaign: 'webinar', opens: false },
      { name: 'engagement', path: '/app/reports', session: 'A', campaign: 'webinar', opens: false },
    ]);
    expect(await j.sessionCount('v_hidden_inside')).toBe(2);
  });

  test('the route\'s view corrected to before the landing view, on a site visit without a campaign: a second session all the same', async () => {
    const j = await setup(engine);
    await hiddenTabVisit(j, 'v_hidden_before', { beacon: 150, route: 200, campaign: false });
    // pricing at C - 100: just before /app, which the late-event rules would let it open ('precedes')
    const rows = await j.stored('v_hidden_before');
    expect(rows.map((r) => [r.name, r.path, r.opens])).toEqual([
      ['pageview', '/app/pricing', true],
      ['pageview', '/app', true],
      ['pageview', '/app/reports', false],
      ['engagement', '/app/reports', false],
    ]);
    const session = Object.fromEntries(rows.map((r) => [r.name + ' ' + r.path, r.session]));
    expect(session['pageview /app/reports']).toBe(session['pageview /app']);
    expect(session['engagement /app/reports']).toBe(session['pageview /app']);
    expect(session['pageview /app/pricing']).not.toBe(session['pageview /app']);
    expect(await j.sessionCount('v_hidden_before')).toBe(2);
  });

  test('the route\'s view after the first session\'s last view on the collector\'s clock: two sessions (the device clock rule)', async () => {
    const j = await setup(engine);
    await hiddenTabVisit(j, 'v_hidden_after', { beacon: 250, route: 700 });
    const rows = await j.stored('v_hidden_after');
    expect(rows.map((r) => [r.name, r.path, r.session, r.opens])).toEqual([
      ['pageview', '/app', 'A', true],
      ['pageview', '/app/reports', 'A', false],
      ['pageview', '/app/pricing', 'B', true],
      ['engagement', '/app/reports', 'A', false],
    ]);
    expect(await j.sessionCount('v_hidden_after')).toBe(2);
  });

  for (const route of [340, 200, 700]) {
    test(`the hide beacon arriving after the route's fetch (the view at ${route - 300 < 0 ? '' : '+'}${route - 300} ms): its engagement (stored once, from the fetch that resent it) stays with the first session's page, and glues nothing`, async () => {
      const j = await setup(engine);
      const v = `v_late_beacon_${route}`;
      await hiddenTabVisit(j, v, { beacon: route + 150, route });
      const rows = await j.stored(v);
      const of = (name: string, path: string) => rows.filter((r) => r.name === name && r.path === path);
      expect(rows.length).toBe(4);
      const first = of('pageview', '/app')[0].session;
      expect(of('pageview', '/app/reports').map((r) => [r.session, r.opens])).toEqual([[first, false]]);
      expect(of('pageview', '/app/pricing').map((r) => [r.session === first, r.opens, r.campaign])).toEqual([[false, true, null]]);
      // the engagement measures /app/reports before the tab was hidden: the first session's, opening none
      expect(of('engagement', '/app/reports').map((r) => [r.session, r.opens])).toEqual([[first, false]]);
      expect(await j.sessionCount(v)).toBe(2);
    });
  }

  test('a device whose clock did not jump (the tab hidden for 1 minute, the collector\'s clock moving with it): the route continues the visit', async () => {
    const j = await setup(engine);
    const v = 'v_hidden_short';
    const { C } = j;
    await j.send(v, C + 100, C + 100, [j.view(`/app?${CAMPAIGN}`, C), j.view('/app/reports', C + 80)]);
    const hide = j.engagement('/app/reports', C + 1200, 1);
    await j.send(v, C + 1250, C + 1200, [hide]);
    const back = C + 1200 + MIN;
    await j.send(v, back + 340, back + 300, [hide, j.view('/app/pricing', back)]);
    const rows = await j.stored(v);
    expect(new Set(rows.map((r) => r.session)).size).toBe(1);
    expect(rows.filter((r) => r.name === 'pageview').map((r) => [r.path.replace(/\?.*/, ''), r.campaign])).toEqual([
      ['/app', 'webinar'],
      ['/app/reports', 'webinar'],
      ['/app/pricing', 'webinar'],
    ]);
    expect(await j.sessionCount(v)).toBe(1);
  });
});
