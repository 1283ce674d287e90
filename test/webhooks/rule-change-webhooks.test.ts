// stage.changed after the site's owner changes the rules: the lead's next event rebuilds its whole history under the
// new rules, but the CRM hears only where the lead now stands (once), not every stage of that history again.
import { expect, test } from 'vitest';
import { useUnthrottledApps } from '../hardening/hardening-app.js';
import { makeBatch } from '../helpers/factories.js';

const MIN = 60_000;
const ORIGIN = 'http://127.0.0.1';
const { open, closeLater } = useUnthrottledApps();

async function setup() {
  const h = await open();
  const res = await h.api('/api/webhooks/crm', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['stage.changed'] }) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  const view = async (v: string, path: string, id: string) => {
    h.clock.t += MIN;
    const r = await h.postBeacon(makeBatch(h.site.siteKey, { v }, [{ i: id, n: 'pageview', t: h.clock.t, u: ORIGIN + path }]));
    expect(r.status, await r.clone().text()).toBe(202);
  };
  const hooks = async () =>
    (await h.db.all<{ payload: string }>(`SELECT payload FROM webhook_deliveries WHERE site_id = ? AND event_type = 'stage.changed' ORDER BY created_at, delivery_id`, [h.site.siteId]))
      .map((r) => JSON.parse(r.payload).data as { from: string | null; to: string });
  /** PUTs the current config with its stages renamed by `names` (rules follow). */
  const rename = async (names: Record<string, string>) => {
    const config = await (await h.api('/api/config/funnel')).json();
    const to = (s: string) => names[s] ?? s;
    config.stages = config.stages.map(to);
    config.stageRules = config.stageRules.map((r: { stage: string }) => ({ ...r, stage: to(r.stage) }));
    const put = await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify(config) });
    expect(put.status, await put.clone().text()).toBe(200);
  };
  return { h, view, hooks, rename };
}

test('renamed stages: the next event sends one stage.changed, from the stage the CRM knew to its new name', async () => {
  const { view, hooks, rename } = await setup();
  await view('v-rules-changed-01', '/', 'ev-rules-changed-0001');
  await view('v-rules-changed-01', '/pricing', 'ev-rules-changed-0002');
  expect((await hooks()).map((d) => [d.from, d.to])).toEqual([[null, 'awareness'], ['awareness', 'consideration']]);

  await rename({ awareness: 'aware', interest: 'engaged', consideration: 'considering' });
  await view('v-rules-changed-01', '/blog', 'ev-rules-changed-0003');
  expect((await hooks()).slice(2).map((d) => [d.from, d.to])).toEqual([['consideration', 'considering']]);

  // and nothing more while the lead stays where it is
  await view('v-rules-changed-01', '/blog/2', 'ev-rules-changed-0004');
  expect(await hooks()).toHaveLength(3);
});

test('new rules that leave the stage name as it was: the next event sends no stage.changed', async () => {
  const { view, hooks, rename } = await setup();
  await view('v-rules-same-0001', '/pricing', 'ev-rules-same-00001');
  expect(await hooks()).toHaveLength(2);
  await rename({ interest: 'engaged' });
  await view('v-rules-same-0001', '/blog', 'ev-rules-same-00002');
  expect(await hooks()).toHaveLength(2);
});
