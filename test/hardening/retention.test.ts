import { describe, expect, test, vi } from 'vitest';
import { makeHardeningApp, type HardeningApp } from './hardening-app.js';
import { purgeExpired } from '../../collector/hardening/retention-purge.js';
import { listExpiredVisitors, purgeVisitors } from '../../collector/storage/retention.js';
import { listSegments } from '../../collector/storage/segments.js';
import { makeBatch } from '../helpers/factories.js';
import { scanDb } from './scan-db.js';

const DAY = 86_400_000;

async function visit(h: HardeningApp, visitorId: string, events: Array<{ n?: string; em?: string; u?: string }> = [{}]) {
  const batch = makeBatch(h.site.siteKey, { v: visitorId }, events.map((e) => ({ t: h.clock.t, u: 'http://127.0.0.1/pricing', ...e })));
  const res = await h.postBeacon(batch);
  expect(res.status, await res.clone().text()).toBe(202);
}

const eventsOf = (h: HardeningApp, v: string) => h.count('SELECT COUNT(*) AS n FROM events WHERE visitor_id = ?', [v]);
const leadOf = async (h: HardeningApp, v: string) => (await h.db.get<{ lead_id: string | null }>('SELECT lead_id FROM visitors WHERE visitor_id = ?', [v]))?.lead_id ?? null;

describe('retention', () => {
  test('anonymous visitors unseen for RETENTION_DAYS go with their events and anonymous leads; others stay', async () => {
    const h = await makeHardeningApp({ RETENTION_DAYS: 30, RETENTION_SWEEP_MS: 0 });
    await visit(h, 'v_gone_anon_1', [{}, { n: 'download', u: 'http://127.0.0.1/whitepaper.pdf' }]);
    await visit(h, 'v_back_anon_2');
    await visit(h, 'v_known_3', [{}, { n: 'identify', em: 'kim@example.com' }]);
    await h.deps.writer.flush();
    const goneLead = await leadOf(h, 'v_gone_anon_1');

    h.clock.t += 20 * DAY;
    await visit(h, 'v_back_anon_2');
    h.clock.t += 11 * DAY; // 31 days after the first visits, 11 after the return
    const kept = { back: await eventsOf(h, 'v_back_anon_2'), known: await eventsOf(h, 'v_known_3') };

    const run = await purgeExpired(h.deps);
    expect(run.visitors).toBe(1);
    expect(run.events).toBe(2);
    expect(run.leads).toBe(goneLead ? 1 : 0); // the anonymous lead, once attribution made one
    expect(await eventsOf(h, 'v_back_anon_2')).toBe(kept.back);
    expect(await eventsOf(h, 'v_known_3')).toBe(kept.known);
    expect(await h.count("SELECT COUNT(*) AS n FROM visitors WHERE visitor_id IN ('v_back_anon_2', 'v_known_3')")).toBe(2);
    // nothing anywhere still names the purged visitor or its lead
    const needles = ['v_gone_anon_1', ...(goneLead ? [goneLead] : [])];
    expect(await scanDb(h.db, (v) => needles.some((n) => v.includes(n)))).toEqual([]);
    // live member counts agree with the memberships left
    for (const seg of await listSegments(h.db, h.site.siteId)) {
      const members = await h.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM segment_members WHERE site_id = ? AND segment_key = ?', [h.site.siteId, seg.key]);
      expect(seg.memberCount, seg.key).toBe(Number(members!.n));
    }
    expect(await purgeExpired(h.deps)).toMatchObject({ visitors: 0, events: 0 });
  });

  test('RETENTION_DAYS = 0 keeps everything forever', async () => {
    const h = await makeHardeningApp({ RETENTION_DAYS: 0, RETENTION_SWEEP_MS: 0 });
    await visit(h, 'v_old_visitor');
    h.clock.t += 5000 * DAY;
    expect(await purgeExpired(h.deps)).toMatchObject({ visitors: 0, events: 0 });
    expect(await eventsOf(h, 'v_old_visitor')).toBe(1);
  });

  test('a visitor that comes back between listing and purging is kept', async () => {
    const h = await makeHardeningApp({ RETENTION_DAYS: 10, RETENTION_SWEEP_MS: 0 });
    await visit(h, 'v_returns');
    h.clock.t += 11 * DAY;
    const cutoff = h.clock.t - 10 * DAY;
    const listed = await listExpiredVisitors(h.db, h.site.siteId, cutoff, 100);
    expect(listed.map((l) => l.visitorId)).toEqual(['v_returns']);
    await visit(h, 'v_returns');
    const c = await h.db.transaction((tx) => purgeVisitors(tx, h.site.siteId, cutoff, ['v_returns']));
    expect(c).toMatchObject({ visitors: 0, events: 0 });
    expect(await eventsOf(h, 'v_returns')).toBe(2);
  });

  test('purges in batches until every expired visitor is gone, and old rejected input with them', async () => {
    const h = await makeHardeningApp({ RETENTION_DAYS: 1, RETENTION_SWEEP_MS: 0 });
    for (let i = 0; i < 7; i++) await visit(h, `v_batch_${i}`);
    await h.postBeacon('{"broken');
    h.clock.t += 2 * DAY;
    const run = await purgeExpired(h.deps, 3);
    expect(run).toMatchObject({ visitors: 7, events: 7 });
    expect(run.copies).toBeGreaterThanOrEqual(1);
    expect(await h.count('SELECT COUNT(*) AS n FROM visitors')).toBe(0);
    expect(await h.count('SELECT COUNT(*) AS n FROM rejected_events')).toBe(0);
  });

  test('the retention service runs on its timer with the app clock', async () => {
    const h = await makeHardeningApp({ RETENTION_DAYS: 1, RETENTION_SWEEP_MS: 20 });
    await visit(h, 'v_timer_visitor');
    await h.deps.writer.flush();
    h.clock.t += 2 * DAY;
    // (the sweep counts what it purged once its last step is done: wait for both, not for the events alone)
    await vi.waitFor(async () => {
      expect(await eventsOf(h, 'v_timer_visitor')).toBe(0);
      expect(h.deps.metrics.value('funnelbeam_retention_purged_visitors_total')).toBe(1);
    }, { timeout: 5000 });
    await h.close();
  });
});
