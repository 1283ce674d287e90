import { describe, expect, test, vi } from 'vitest';
import { makeHardeningApp } from './hardening-app.js';
import { insertRejected } from '../../collector/storage/rejected.js';
import { pruneRejected } from '../../collector/storage/prune-rejected.js';
import { createRejectedBudget } from '../../collector/hardening/rejected-budget.js';
import { createMetrics } from '../../collector/ops/metrics.js';

const row = (siteId: string | null, at: number, reason = 'invalid_json') => ({ siteId, reason, message: 'm', route: '/e', raw: 'r', receivedAt: at });

describe('rejected-store cap', () => {
  test('the per-site budget keeps N rows a minute per site, counts the rest, and starts over the next minute', () => {
    let t = 0;
    const metrics = createMetrics();
    const admit = createRejectedBudget({ perSitePerMinute: 2, now: () => t, metrics });
    expect(admit([row('a', 0), row('a', 0), row('a', 0), row('b', 0), row(null, 0)]).map((r) => r.siteId)).toEqual(['a', 'a', 'b', null]);
    expect(admit([row('a', 0)])).toEqual([]);
    expect(metrics.value('funnelbeam_rejected_not_stored_total', { reason: 'invalid_json' })).toBe(2);
    t = 60_000;
    expect(admit([row('a', 0)])).toHaveLength(1);
  });

  test('a flood of bad beacons still gets 400 each, but only the budget reaches the database', async () => {
    const h = await makeHardeningApp({ REJECTED_PER_SITE_PER_MIN: 3 });
    const bad = JSON.stringify({ s: h.site.siteKey, v: 'v1', e: [{ i: 'x', n: '' }] });
    for (let i = 0; i < 8; i++) expect((await h.postBeacon(bad)).status).toBe(400);
    expect(await h.count('SELECT COUNT(*) AS n FROM rejected_events WHERE site_id = ?', [h.site.siteId])).toBe(3);
    expect(h.deps.metrics.value('funnelbeam_rejected_not_stored_total', { reason: 'invalid_batch' })).toBe(5);
    // unknown sites share one budget
    for (let i = 0; i < 5; i++) expect((await h.postBeacon('{"s":"pk_nope","v":"v","e":[]}')).status).toBeGreaterThanOrEqual(400);
    expect(await h.count("SELECT COUNT(*) AS n FROM rejected_events WHERE site_id = ''")).toBe(3);
    h.clock.t += 60_000;
    expect((await h.postBeacon(bad)).status).toBe(400);
    expect(await h.count('SELECT COUNT(*) AS n FROM rejected_events WHERE site_id = ?', [h.site.siteId])).toBe(4);
  });

  test('pruning deletes the oldest rows over the total cap and keeps the newest', async () => {
    const h = await makeHardeningApp({ REJECTED_PRUNE_MS: 0 });
    await insertRejected(h.db, Array.from({ length: 25 }, (_, i) => row(h.site.siteId, 1000 + i)));
    expect(await pruneRejected(h.db, 10, 4)).toBe(15);
    const ats = (await h.db.all<{ received_at: number }>('SELECT received_at FROM rejected_events ORDER BY received_at')).map((r) => Number(r.received_at));
    expect(ats).toEqual(Array.from({ length: 10 }, (_, i) => 1015 + i));
    expect(await pruneRejected(h.db, 10)).toBe(0);
  });

  test('the prune service runs on its timer, off the request path, and counts what it pruned', async () => {
    const h = await makeHardeningApp({ REJECTED_MAX_ROWS: 5, REJECTED_PRUNE_MS: 20 });
    await insertRejected(h.db, Array.from({ length: 12 }, (_, i) => row(h.site.siteId, 1000 + i)));
    // the rows are gone as soon as the delete commits; the count follows once the commit is on disk
    await vi.waitFor(async () => {
      expect(await h.count('SELECT COUNT(*) AS n FROM rejected_events')).toBe(5);
      expect(h.deps.metrics.value('funnelbeam_rejected_pruned_total')).toBe(7);
    }, { timeout: 5000 });
    await h.close();
  });
});
