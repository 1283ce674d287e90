// A page's first event resent while its first send is still being handled (flaky9, session 16: the cause of
// black-box-journeys-9's day-31 `lastTouch` failing on PostgreSQL). A returning visitor lands from a new campaign and
// leaves the page at once: the snippet's fetch (its outbox: stored events of the last visit, and the landing view)
// and the pagehide beacon (the landing view, and the click that left) reach the collector together (README
// "Transport": a beacon's events stay in the outbox, and every send carries the whole outbox). Contract §7: a retried
// event is stored once, and the copy stored must not depend on which request is written first. README "Funnel
// engine": the lead's last touch is the touch of the visit that began last: the newsletter's, here. The collector
// enriched the second request on top of the first's session (pipeline.ts: the next request of a visitor enriches
// on top of the previous one), where the landing view continues the visit instead of opening it; when the second
// request reached the writer first (the first one waited for its lookup of the old outbox events, one query each:
// 21 here, so the wait is long enough on PostgreSQL too), that copy was stored: the visit had no opening event, so the
// lead's last touch stayed on the first visit's campaign, and the visitor counted one visit.
import { expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { makeBatch, makeWireEvent } from '../helpers/factories.js';
import type { WireTouch } from '../../shared/wire.js';

const DAY = 86_400_000;
const engine = process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite';

test('a landing view in two requests at once (the fetch and the pagehide beacon) opens its visit: the last touch is the new campaign', async () => {
  let now = Date.now();
  const app = await makeIngestApp({ engine, now: () => now });
  const t0 = now;
  const q1Url = 'http://127.0.0.1/demo/?utm_source=bing&utm_medium=cpc&utm_campaign=q1';
  const q1: WireTouch = { url: q1Url, at: t0 - 2000, utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'q1' };
  // day 0: the landing view from the ad, pages of the visit, and the engagement sent when the last page was left
  const pages = Array.from({ length: 20 }, (_, k) => ({ n: 'pageview', t: t0 - 1900 + k * 10, u: q1Url, ft: q1, st: q1 }));
  const first = makeBatch(app.site.siteKey, { t: t0 }, [
    { n: 'pageview', t: t0 - 2000, u: q1Url, ft: q1, st: q1 },
    ...pages,
    { n: 'engagement', t: t0, u: q1Url, ft: q1, st: q1, p: { seconds: 2, scroll: 100 } },
  ]);
  expect((await app.post(first)).status).toBe(202);
  // what the outbox still holds: the events its last beacons sent (stored; a beacon has no answer)
  const old = first.e.slice(1);

  // day 31: back from the newsletter
  now += 31 * DAY;
  const digestUrl = 'http://127.0.0.1/demo/?utm_source=newsletter&utm_medium=email&utm_campaign=digest';
  const digest: WireTouch = { url: digestUrl, at: now - 500, utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'digest' };
  const landing = makeWireEvent({ n: 'pageview', t: now - 500, u: digestUrl, ft: q1, st: digest });
  const click = makeWireEvent({ n: 'download', t: now - 100, u: digestUrl, ft: q1, st: digest, p: { url: 'http://127.0.0.1/demo/files/a.pdf' } });
  // the page's fetch: the old outbox and the landing view; the pagehide beacon: the landing view (the fetch not
  // answered yet) and the click that left the page
  const fetchSend = { ...first, t: now - 450, e: [...old, landing] };
  const beacon = { ...first, t: now - 90, e: [landing, click] };
  const [a, b] = await Promise.all([app.post(fetchSend), app.post(beacon)]);
  expect([a.status, b.status]).toEqual([202, 202]);

  // the landing view is stored once, and it opens the day-31 visit (it carries the visitor's first touch)
  const rows = await app.db.all<{ event_id: string; session_id: string; first_touch: string | null; utm_campaign: string | null }>(
    'SELECT event_id, session_id, first_touch, utm_campaign FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at', [app.site.siteId, first.v],
  );
  const stored = rows.find((r) => r.event_id === landing.i)!;
  expect(stored).toMatchObject({ utm_campaign: 'digest' });
  expect(stored.first_touch, 'the landing view opens its visit').not.toBeNull();
  expect(stored.session_id).not.toBe(rows[0].session_id);
  // two visits
  const visitor = await app.db.get<{ session_count: number; lead_id: string }>('SELECT session_count, lead_id FROM visitors WHERE site_id = ? AND visitor_id = ?', [app.site.siteId, first.v]);
  expect(Number(visitor!.session_count)).toBe(2);
  // the lead's last touch: the visit that began last, from the newsletter
  const lead = await app.db.get<{ last_touch: string }>('SELECT last_touch FROM leads WHERE site_id = ? AND lead_id = ?', [app.site.siteId, visitor!.lead_id]);
  expect(JSON.parse(lead!.last_touch)).toMatchObject({ channel: 'email', utm_campaign: 'digest' });
  await app.close();
});
