// One test file's ingest app whose rejected store is read as the site's admin reads it (GET /api/rejected with an
// admin key of the site), with the count of stored events. Call at the top level: each app opened is closed after its
// test.
import { afterEach, expect } from 'vitest';
import { createKey } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { makeIngestApp } from '../helpers/ingest-app.js';

export type RejectedItem = { reason: string; message: string; raw: string; route: string; at: string };

export function useRejectedHarness() {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  return async function open() {
    const h = await makeIngestApp({ engine: process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite', domain: 'example.com', config: defaultConfig({ LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0 }) });
    closers.push(() => h.db.close(), () => h.close());
    const admin = (await createKey(h.db, h.site.siteId, ['admin'])).secret;
    /** the rejected store as the holder of `secret` (the site's admin key unless given) reads it */
    const rejected = async (secret = admin): Promise<RejectedItem[]> => {
      const res = await h.app.request('/api/rejected?limit=500', { headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(200);
      return (await res.json()).items;
    };
    const stored = async () => Number((await h.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n);
    return { ...h, admin, rejected, stored };
  };
}
