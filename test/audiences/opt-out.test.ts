// A CRM's opt-out reaches the ad audiences: the latest opt event of a lead (opted_out / unsubscribed against
// opted_in / resubscribed, by time, in any arrival order) decides whether platform exports leave it out.
import { expect, test } from 'vitest';
import { profile, useJourneys, type Journey } from '../helpers/journey-api.js';

const { open } = useJourneys();
const HOUR = 3_600_000;

async function exported(j: Journey, format: string): Promise<string> {
  const res = await j.app.request(`/api/segments/known/members?format=${format}`, { headers: j.auth });
  expect(res.status).toBe(200);
  return res.text();
}

test('an unsubscribed lead leaves the platform exports and comes back when it opts in again, by event time', async () => {
  const j = await open();
  const put = await j.app.request('/api/segments/known', { method: 'PUT', headers: j.auth, body: JSON.stringify({ definition: { identified: true } }) });
  expect(put.status).toBeLessThan(300);
  const t0 = j.clock.now;
  expect((await j.serverEvents([{ email: 'ann@corp.test', name: 'demo_completed', at: t0 - 5 * HOUR }, { email: 'bob@corp.test', name: 'demo_completed', at: t0 - 5 * HOUR }])).status).toBe(202);
  const lines = async () => (await exported(j, 'google')).trim().split('\n').length - 1;
  expect(await lines()).toBe(2);

  expect((await j.serverEvents({ email: 'ann@corp.test', name: 'unsubscribed', at: t0 - 2 * HOUR })).status).toBe(202);
  expect(await lines()).toBe(1);
  expect((await profile(j, 'ann@corp.test')).optedOut).toBe(true);
  expect((await profile(j, 'bob@corp.test')).optedOut).toBe(false);
  // the JSON list is the segment itself: every member, opted out or not
  expect(JSON.parse(await exported(j, 'json')).count).toBe(2);

  // an opt-in dated before the opt-out (a backfill arriving late) changes nothing; a later one puts her back
  expect((await j.serverEvents({ email: 'ann@corp.test', name: 'opted_in', at: t0 - 3 * HOUR })).status).toBe(202);
  expect((await profile(j, 'ann@corp.test')).optedOut).toBe(true);
  expect((await j.serverEvents({ email: 'ann@corp.test', name: 'resubscribed', at: t0 - HOUR })).status).toBe(202);
  expect((await profile(j, 'ann@corp.test')).optedOut).toBe(false);
  expect(await lines()).toBe(2);
  expect((await j.serverEvents({ email: 'bob@corp.test', name: 'opted_out' })).status).toBe(202);
  expect(await lines()).toBe(1);
  expect((await exported(j, 'meta')).trim().split('\n')).toHaveLength(2);
});
