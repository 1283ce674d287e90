// A lead profile's visitorIds are the devices whose events are the lead's: a device that identified as A and then as
// B is listed on both, as A keeps that device's earlier events (nothing of A moves).
import { afterEach, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { HOUR } from '../helpers/funnel-factories.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

test('after a switch from A to B the device is listed on both; a second device only on the lead it identified as', async () => {
  const j = await makeJourneyApp();
  close = () => j.db.close();
  await j.visit('v_shared_laptop', [{ path: '/' }, { n: 'identify', em: 'ann@a.example' }]);
  await j.visit('v_phone_of_bob', [{ path: '/' }, { n: 'identify', em: 'bob@b.example' }], j.clock.now + HOUR);
  await j.visit('v_shared_laptop', [{ n: 'identify', em: 'bob@b.example' }, { path: '/pricing' }], j.clock.now + HOUR);
  const profile = async (ref: string) => (await (await j.app.request(`/api/leads/${ref}`, { headers: j.auth })).json()) as { visitorIds: string[] };
  expect((await profile('ann@a.example')).visitorIds).toEqual(['v_shared_laptop']);
  expect((await profile('bob@b.example')).visitorIds).toEqual(['v_phone_of_bob', 'v_shared_laptop']);
  // the list shows the same
  const list = (await (await j.app.request('/api/leads?q=ann', { headers: j.auth })).json()) as { items: Array<{ visitorIds: string[] }> };
  expect(list.items.map((l) => l.visitorIds)).toEqual([['v_shared_laptop']]);
});
