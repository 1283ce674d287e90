// A device whose lead was erased starts afresh on its return: a new session, never the erased one, even when it comes
// back within 30 minutes to the collector that remembers the erased session (SQLite, or PostgreSQL with TEST_ENGINE=pg).
import { afterEach, beforeEach, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';

const ENGINE = process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite';
const MIN = 60_000;
let journey: Awaited<ReturnType<typeof makeJourneyApp>>;

beforeEach(async () => {
  journey = await makeJourneyApp({ engine: ENGINE, start: Date.now() - 60 * MIN });
});

afterEach(async () => {
  await journey.close();
  await journey.db.close();
});

const visitorRow = (visitorId: string) =>
  journey.db.get<{ session_id: string; session_started: number; session_count: number; first_touch: string | null }>(
    'SELECT session_id, session_started, session_count, first_touch FROM visitors WHERE site_id = ? AND visitor_id = ?',
    [journey.site.siteId, visitorId],
  );

test(`a device erased minutes after its visit opens a new session on its return, not the erased one (${ENGINE})`, async () => {
  const { clock } = journey;
  const t0 = clock.now;
  await journey.visit('v_erased_device', [{ path: '/pricing' }, { n: 'identify', em: 'erased@example.com' }], t0);
  clock.now = t0 + 5 * MIN;
  const res = await journey.app.request('/api/leads/erased%40example.com', { method: 'DELETE', headers: journey.auth });
  expect(res.status).toBe(200);
  const back = t0 + 6 * MIN;
  await journey.visit('v_erased_device', [{ path: '/' }], back);
  const sessions = await journey.db.all<{ session_id: string }>('SELECT session_id FROM events WHERE site_id = ? AND visitor_id = ?', [journey.site.siteId, 'v_erased_device']);
  expect(sessions.map((s) => s.session_id)).toEqual([`v_erased_device.${back.toString(36)}`]);
  // the new session is counted and its opener carries the device's first touch again
  expect(await visitorRow('v_erased_device')).toMatchObject({ session_id: `v_erased_device.${back.toString(36)}`, session_count: 1 });
  expect((await visitorRow('v_erased_device'))?.first_touch).not.toBeNull();
});
