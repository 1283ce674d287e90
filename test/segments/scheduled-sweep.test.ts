// The recheck sweep on its own timer: a lead leaves a windowed segment soon after the window ends, with no new
// event of its own to trigger an evaluation.
import { describe, expect, test } from 'vitest';
import { createApp, type ApiApp } from '../../collector/app.js';
import { createKey, createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { DAY, T0, memberKeys } from './fixtures.js';
import { claimSweep } from '../../collector/storage/segments.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import type { Db } from '../../collector/storage/db.js';
import type { Site } from '../../collector/storage/sites.js';

/** A new visitor's pageview of /pricing at T0 through POST /e; resolves to the lead it made. */
async function viewPricing(app: ApiApp, db: Db, site: Site): Promise<string> {
  const visitor = randomId();
  const beacon = await app.request('/e', {
    method: 'POST',
    body: JSON.stringify({ s: site.siteKey, v: visitor, e: [{ i: randomId(), n: 'pageview', t: T0, u: 'http://127.0.0.1/pricing' }] }),
    headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
  });
  expect(beacon.status).toBe(202);
  return (await db.get<{ lead_id: string }>('SELECT lead_id FROM identity_links WHERE site_id = ? AND visitor_id = ?', [site.siteId, visitor]))!.lead_id;
}

describe.each(ENGINES)('the scheduled segment sweep (%s)', (engine) => {
  test('takes a lead out of a `within` segment once its window has passed, on the timer alone', async () => {
    const db = await openTestDb(engine);
    const clock = { now: T0 };
    const site = await createSite(db, { domain: '127.0.0.1' }, T0);
    const { app, close } = createApp({ db, now: () => clock.now, config: defaultConfig({ FLUSH_MS: 0, SEGMENT_SWEEP_MS: 50 }), log: createLog('error') });
    try {
      const admin = (await createKey(db, site.siteId, ['admin'])).secret;
      const put = await app.request('/api/segments/pricing_recent', {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ definition: { did: { event: 'pageview', path: '/pricing*', within: '1m' } } }),
      });
      expect(put.status).toBe(201);
      const leadId = await viewPricing(app, db, site);
      expect(await memberKeys(db, site.siteId, leadId)).toContain('pricing_recent');

      // still inside the window: the timer runs, the lead stays
      clock.now = T0 + 59_000;
      await new Promise((r) => setTimeout(r, 200));
      expect(await memberKeys(db, site.siteId, leadId)).toContain('pricing_recent');

      clock.now = T0 + 61_000;
      await expect.poll(() => memberKeys(db, site.siteId, leadId), { timeout: 10_000, interval: 50 }).not.toContain('pricing_recent');
    } finally {
      await close();
      await db.close();
    }
  });

  // Several collectors on one database: one sweeps at a time, the others leave the due leads to it.
  test.runIf(engine === 'pg')('a sweep finding the turn taken by another collector evaluates nothing and leaves the due leads', async () => {
    const db = await openTestDb(engine);
    const clock = { now: T0 };
    const site = await createSite(db, { domain: '127.0.0.1' }, T0);
    const { app, close, deps } = createApp({ db, now: () => clock.now, config: defaultConfig({ FLUSH_MS: 0, SEGMENT_SWEEP_MS: 0 }), log: createLog('error') });
    try {
      const leadId = await viewPricing(app, db, site);
      expect(await memberKeys(db, site.siteId, leadId)).toContain('pricing_no_demo');
      const due = T0 + 31 * DAY; // pricing_no_demo's 30-day window has passed

      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let claimed!: (ok: boolean) => void;
      const other = new Promise<boolean>((r) => (claimed = r));
      // another collector's sweep, holding the turn
      const otherSweep = db.transaction(async (tx) => {
        claimed(await claimSweep(tx));
        await held;
      });
      expect(await other).toBe(true);
      expect(await sweepSegments(deps, due)).toEqual({ leads: 0, changes: [] });
      expect(await memberKeys(db, site.siteId, leadId)).toContain('pricing_no_demo');
      release();
      await otherSweep;
      const swept = await sweepSegments(deps, due);
      expect(swept.changes).toContainEqual({ leadId, segment: 'pricing_no_demo', kind: 'exited' });
      expect(await memberKeys(db, site.siteId, leadId)).not.toContain('pricing_no_demo');
    } finally {
      await close();
      await db.close();
    }
  });
});
