// Retention loses nothing that is not expired: an anonymous lead the CRM acted on lately (named by its lead id or by its
// device) is no visitor "unseen that long", whatever its web history's age. SQLite file, or PostgreSQL (TEST_ENGINE=pg).
import { afterEach, describe, expect, test } from 'vitest';
import { makeHardeningApp, type HardeningApp } from './hardening-app.js';
import { purgeExpired } from '../../collector/hardening/retention-purge.js';
import { createKey } from '../../collector/admin.js';
import { makeBatch } from '../helpers/factories.js';
import { scanDb } from './scan-db.js';

const DAY = 86_400_000;
let h: HardeningApp;

afterEach(async () => {
  await h.close();
  await h.db.close();
});

async function visit(v: string, path = '/pricing') {
  const res = await h.postBeacon(makeBatch(h.site.siteKey, { v }, [{ t: h.clock.t, u: 'http://127.0.0.1' + path }]));
  expect(res.status, await res.clone().text()).toBe(202);
  await h.deps.writer.flush();
}

async function crm(body: unknown) {
  const key = 'Bearer ' + (await createKey(h.db, h.site.siteId, ['events:write'], h.clock.t)).secret;
  const res = await h.app.request('/api/events', { method: 'POST', body: JSON.stringify(body), headers: { authorization: key, 'content-type': 'application/json' } });
  expect(res.status, await res.clone().text()).toBe(202);
}

const leadOf = async (v: string) => (await h.db.get<{ lead_id: string }>('SELECT lead_id FROM visitors WHERE site_id = ? AND visitor_id = ?', [h.site.siteId, v]))?.lead_id;
const has = async (sql: string, params: unknown[]) => Number((await h.db.get<{ n: number }>(sql, params))?.n ?? 0);

describe(`retention keeps what the CRM acted on lately (${process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite'})`, () => {
  test('an anonymous lead named by its lead id 6 days ago is kept with that event, though its device was last seen 396 days ago', async () => {
    h = await makeHardeningApp({ RETENTION_DAYS: 395, RETENTION_SWEEP_MS: 0 });
    await visit('v_anon_deal_1');
    const lead = (await leadOf('v_anon_deal_1'))!;
    expect(lead).toBeTruthy();
    h.clock.t += 390 * DAY;
    await crm({ id: 'deal-1', leadId: lead, name: 'sales_accepted' });
    expect(await has("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND event_id = 'srv:deal-1'", [h.site.siteId])).toBe(1);
    h.clock.t += 6 * DAY;

    await purgeExpired(h.deps);
    expect(await has("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND event_id = 'srv:deal-1'", [h.site.siteId])).toBe(1);
    expect(await has('SELECT COUNT(*) AS n FROM leads WHERE site_id = ? AND lead_id = ?', [h.site.siteId, lead])).toBe(1);
    const res = await h.app.request(`/api/leads/${lead}`, { headers: { authorization: 'Bearer ' + h.admin.secret } });
    expect(res.status).toBe(200);
    expect((await res.json()).sql).toBe(true);
  });

  test('an anonymous device the CRM named by visitorId 6 days ago is kept with its lead and that event', async () => {
    h = await makeHardeningApp({ RETENTION_DAYS: 395, RETENTION_SWEEP_MS: 0 });
    await visit('v_anon_deal_2');
    const lead = (await leadOf('v_anon_deal_2'))!;
    h.clock.t += 390 * DAY;
    await crm({ id: 'deal-2', visitorId: 'v_anon_deal_2', name: 'sales_accepted' });
    expect(await has("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND event_id = 'srv:deal-2'", [h.site.siteId])).toBe(1);
    h.clock.t += 6 * DAY;

    await purgeExpired(h.deps);
    expect(await has("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND event_id = 'srv:deal-2'", [h.site.siteId])).toBe(1);
    expect(await has('SELECT COUNT(*) AS n FROM leads WHERE site_id = ? AND lead_id = ?', [h.site.siteId, lead])).toBe(1);
  });

  test('an anonymous device unseen 396 days with nothing newer is purged (the rule still bites)', async () => {
    h = await makeHardeningApp({ RETENTION_DAYS: 395, RETENTION_SWEEP_MS: 0 });
    await visit('v_anon_gone_3');
    const lead = (await leadOf('v_anon_gone_3'))!;
    h.clock.t += 396 * DAY;
    expect(await purgeExpired(h.deps)).toMatchObject({ visitors: 1, events: 1, leads: 1 });
    expect(await has('SELECT COUNT(*) AS n FROM leads WHERE site_id = ? AND lead_id = ?', [h.site.siteId, lead])).toBe(0);
  });
});

describe(`retention and the funnel report's counts (${process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite'})`, () => {
  test('a purged anonymous lead leaves the report and no day-count row keeps its campaign', async () => {
    h = await makeHardeningApp({ RETENTION_DAYS: 30, RETENTION_SWEEP_MS: 0 });
    const landing = 'http://127.0.0.1/?utm_source=news&utm_medium=email&utm_campaign=retire-me-campaign';
    const res = await h.postBeacon(makeBatch(h.site.siteKey, { v: 'v_campaign_old' }, [
      { t: h.clock.t, u: landing, ft: { utm_campaign: 'retire-me-campaign', utm_source: 'news', utm_medium: 'email', url: landing }, st: { utm_campaign: 'retire-me-campaign', utm_source: 'news', utm_medium: 'email', url: landing } },
      { t: h.clock.t + 1000, u: 'http://127.0.0.1/pricing' },
    ]));
    expect(res.status).toBe(202);
    await h.deps.writer.flush();
    h.clock.t += 10 * DAY;
    await visit('v_recent_reader', '/blog');
    const from = new Date(h.clock.t - 20 * DAY).toISOString();
    const to = new Date(h.clock.t + DAY).toISOString();
    const report = async (extra = '') => {
      const r = await h.app.request(`/api/funnel?from=${from}&to=${to}${extra}`, { headers: { authorization: 'Bearer ' + h.admin.secret } });
      expect(r.status).toBe(200);
      return r.json();
    };
    const before = await report();
    expect(before.stages.map((s: { count: number }) => s.count).reduce((a: number, b: number) => a + b, 0)).toBe(2);

    h.clock.t += 25 * DAY; // the campaign visitor unseen 35 days, the reader 25
    expect(await purgeExpired(h.deps)).toMatchObject({ visitors: 1, leads: 1 });
    const after = await report();
    // by hand: only the reader is left, in awareness, entered it in the period, and created in it
    const byStage = Object.fromEntries(after.stages.map((s: { stage: string; count: number; entered: number; reached: number }) => [s.stage, [s.count, s.entered, s.reached]]));
    expect(byStage.awareness).toEqual([1, 1, 1]);
    expect(byStage.consideration).toEqual([0, 0, 0]);
    const campaign = await report('&breakdown=campaign&touch=first');
    expect(JSON.stringify(campaign)).not.toContain('retire-me-campaign');
    const left = await scanDb(h.db, (v) => v.includes('retire-me-campaign') || v.includes('v_campaign_old'));
    expect(left).toEqual([]);
  });
});
