// CONTRACT §1: `DATABASE_URL=postgres://…` runs several collectors on one database (README "Scaling out"), and
// `npm start` creates a demo site on first start (DEMO=1 by default). Two collectors started at once on a new database
// (a compose file's replicas) each found no demo site and each made one: two sites named alike, the second printing a
// site id and key whose data the demo pages (which load the oldest) never send to. One demo site, whoever starts.
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../collector/server.js';
import { freshPgUrl, tempDir } from '../helpers/test-db.js';
import { DEMO_SITE_NAME } from '../../collector/demo/pages.js';

const running: RunningServer[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('collectors starting at once on a new PostgreSQL database', () => {
  test('make one demo site, and every one of them prints it', async () => {
    const url = await freshPgUrl();
    const env = (k: number) => ({ DATABASE_URL: url, DATABASE_PATH: join(tempDir('fb-cj4-race-'), `${k}.db`), PORT: '0', DEMO: '1', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: '0' });
    running.push(...(await Promise.all([0, 1, 2, 3].map((k) => startServer({ env: env(k) })))));
    const sites = await running[0].db.all<{ site_id: string }>('SELECT site_id FROM sites WHERE name = ?', [DEMO_SITE_NAME]);
    expect(sites).toHaveLength(1);
    expect(new Set(running.map((r) => r.demoSite?.siteId))).toEqual(new Set([sites[0].site_id]));
  }, 60_000);
});
