// Segments judged from outside, fourth round, over real HTTP on a real SQLite file: what the snippet's `segments` call
// reads (GET /api/visitors/{id}/segments?site=) for a site on a real domain, from the site's own pages and from
// origins that only look like it, as the visitor's beacons arrive and as the preset's 30-day pricing window runs out
// under the sweep.
import { afterEach, describe, expect, test } from 'vitest';
import { makeHardeningApp, type HardeningApp } from '../hardening/hardening-app.js';
import { makeBatch, randomId } from '../helpers/factories.js';
import { sweepSegments } from '../../collector/segments/sweep.js';

const DAY = 86_400_000;
const SITE = 'http://example.com';
let h: HardeningApp | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function setup() {
  h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, RATE_LIMIT_API_PER_SEC: 0 }, { domain: 'example.com' });
  const app = h;
  const send = async (v: string, events: Array<Record<string, unknown>>) => {
    const res = await app.postBeacon(makeBatch(app.site.siteKey, { v }, events.map((e) => ({ t: app.clock.t, u: SITE + '/', ...e }))));
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const read = (v: string, origin: string) =>
    app.app.request(`/api/visitors/${encodeURIComponent(v)}/segments?site=${encodeURIComponent(app.site.siteKey)}`, { headers: { origin } });
  /** the segments as the site's page at `origin` reads them, after checking the CORS and caching headers a browser needs */
  const segmentsFrom = async (v: string, origin: string) => {
    const res = await read(v, origin);
    expect(res.status, origin).toBe(200);
    expect(res.headers.get('access-control-allow-origin'), origin).toBe(origin);
    expect(res.headers.get('vary') ?? '', origin).toMatch(/\borigin\b/i);
    // membership changes as events arrive: an answer a cache kept would be stale
    expect(res.headers.get('cache-control') ?? '', origin).toMatch(/no-store/);
    return ((await res.json()).segments as string[]).sort();
  };
  return Object.assign(app, { send, read, segmentsFrom });
}

describe('the visitor segments route for a site on a real domain', () => {
  test('pages of the site and its subdomains read the live answer; "null" and look-alike origins are refused without CORS', async () => {
    const s = await setup();
    const v = 'v_' + randomId();
    await s.send(v, [{ n: 'pageview', u: SITE + '/pricing/enterprise' }]);
    for (const origin of ['http://example.com', 'https://example.com', 'https://www.example.com', 'https://eu.app.example.com']) {
      expect(await s.segmentsFrom(v, origin), origin).toEqual(['pricing_no_demo']);
    }
    // a sandboxed iframe or file:// page sends "null"; the others only end like the site's domain
    for (const origin of ['null', 'https://notexample.com', 'https://example.com.evil.test', 'https://wwwexample.com']) {
      const res = await s.read(v, origin);
      expect(res.status, origin).toBe(403);
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(JSON.stringify(await res.json()), origin).not.toContain('pricing_no_demo');
    }

    // a demo request takes the visitor out of the pricing stall and into the demo one, at once
    s.clock.t += 60_000;
    await s.send(v, [{ n: 'demo_request' }]);
    expect(await s.segmentsFrom(v, 'https://www.example.com')).toEqual(['demo_no_close']);
  });

  test('the 30-day pricing window ends under the sweep alone, and the route reads it at once', async () => {
    const s = await setup();
    const v = 'v_' + randomId();
    const seen = s.clock.t;
    await s.send(v, [{ n: 'pageview', u: SITE + '/pricing' }]);
    expect(await s.segmentsFrom(v, 'https://www.example.com')).toEqual(['pricing_no_demo']);

    // a pricing page is consideration (contract §6): 21 days on, the sweep adds the stalled preset too.
    // An event counts while now - at < within: still in one millisecond before the 30 days, out at exactly 30 days
    s.clock.t = seen + 30 * DAY - 1;
    await sweepSegments(s.deps, s.clock.t);
    expect(await s.segmentsFrom(v, 'https://www.example.com')).toEqual(['pricing_no_demo', 'stalled_consideration']);

    s.clock.t = seen + 30 * DAY;
    const { changes } = await sweepSegments(s.deps, s.clock.t);
    expect(changes.map((c) => `${c.segment}:${c.kind}`)).toContain('pricing_no_demo:exited');
    expect(await s.segmentsFrom(v, 'https://www.example.com')).toEqual(['stalled_consideration']);
  });
});
