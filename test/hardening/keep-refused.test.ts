// Every refused /api request leaves a rejected-store row that says why, where and what was sent.
import { beforeAll, expect, test } from 'vitest';
import { makeHardeningApp, type HardeningApp } from './hardening-app.js';

let h: HardeningApp;
beforeAll(async () => {
  h = await makeHardeningApp({ RATE_LIMIT_API_PER_SEC: 0 });
});

interface Row { rejected_id: string; site_id: string; reason: string; message: string; route: string; raw: string }
const allRows = () => h.db.all<Row>('SELECT rejected_id, site_id, reason, message, route, raw FROM rejected_events');
const rowCount = () => h.count('SELECT COUNT(*) AS n FROM rejected_events');

test.each([
  { what: 'an invalid segment definition', path: '/api/segments/hot', init: { method: 'PUT', body: JSON.stringify({ name: 'x', definition: { bogus: 1 } }) }, status: 400, route: 'PUT /api/segments/:key', raw: '"bogus":1' },
  { what: 'an invalid funnel config', path: '/api/config/funnel', init: { method: 'PUT', body: '{"stages":' }, status: 400, route: 'PUT /api/config/funnel', raw: '{"stages":' },
  { what: 'a bad query parameter', path: '/api/leads?limit=lots', init: {}, status: 400, route: 'GET /api/leads', raw: 'GET /api/leads?limit=lots' },
  { what: 'path traversal in a lead ref', path: '/api/leads/..%2F..%2Fetc%2Fpasswd', init: {}, status: 400, route: 'GET /api/leads/:ref', raw: '../../etc/passwd' },
  { what: 'an unknown lead', path: '/api/leads/nobody%40example.com', init: {}, status: 404, route: 'GET /api/leads/:ref', raw: 'nobody@example.com' },
  { what: 'an unknown route', path: '/api/nope', init: {}, status: 404, route: 'GET /api/*', raw: 'GET /api/nope', anonymous: true },
  { what: 'a wrong key', path: '/api/leads', init: { secret: 'fbk_nope.wrong' }, status: 401, route: 'GET /api/leads', raw: 'GET /api/leads', anonymous: true },
])('$what: $status and a row with its reason, route and what was sent', async ({ path, init, status, route, raw, anonymous }) => {
  const before = new Set((await allRows()).map((r) => r.rejected_id));
  const res = await h.api(path, init);
  expect(res.status).toBe(status);
  const { error } = (await res.json()) as { error: { code: string; message: string } };
  const rows = (await allRows()).filter((r) => !before.has(r.rejected_id));
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ reason: error.code, message: error.message, route });
  expect(rows[0].raw).toContain(raw);
  // the site is known once a route has checked the key
  expect(rows[0].site_id).toBe(anonymous ? '' : h.site.siteId);
});

test('a refused POST /api/events keeps one row per refused event, not a second one for the request', async () => {
  const before = await rowCount();
  const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ name: 'closed_won' }) });
  expect(res.status).toBe(400);
  expect(await rowCount()).toBe(before + 1);
});

test('an accepted request leaves no row', async () => {
  const before = await rowCount();
  expect((await h.api('/api/leads')).status).toBe(200);
  expect(await rowCount()).toBe(before);
});

test('erasing a lead also erases refused requests that named it in the path', async () => {
  const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'gone@example.com', name: 'closed_won' }) });
  expect(res.status).toBe(202);
  const { leadId } = ((await res.json()) as { events: Array<{ leadId: string }> }).events[0];
  expect((await h.api('/api/leads/gone%40example.com/timeline?limit=nope')).status).toBe(400);
  expect(await h.count("SELECT COUNT(*) AS n FROM rejected_events WHERE raw LIKE '%gone@example.com%'")).toBe(1);
  expect((await h.api(`/api/leads/${leadId}`, { method: 'DELETE' })).status).toBe(200);
  expect(await h.count("SELECT COUNT(*) AS n FROM rejected_events WHERE raw LIKE '%gone@example.com%' OR route LIKE '%gone%'")).toBe(0);
});
