// PostgreSQL, two collectors on one database (two pools, as two processes). A visitor's page at 0 minutes is stored;
// then, at the same moment, the page at 14 minutes (sent late: an outbox, a device back online) reaches collector 1
// and the page at 32 minutes reaches collector 2. Collector 2 saw the visit last active at 0 and opens a session for
// the 32 minutes' gap; collector 1 continues the first session to 14 minutes, which brings the page at 32 within 30
// minutes of it (every other visitor's next page follows on collector 2). One collector, in either order, leaves one
// session (test/ingest/session-bridge.test.ts): so must two, whichever flush commits first (README "Scaling out",
// "Sessions follow a visitor across collectors"). test/ingest/pg-bridge-commit-order.test.ts plays each order in turn.
// Before the fix, 1 to 27 of the 30 visitors kept two sessions per run (the fewer, the busier the machine). Then the
// visit's next page (35 minutes, on collector 2), enriched on the session the page at 32 opened and stored after the
// late page's flush merged that session away, kept it for 1 of 30 visitors in about one run of five, until its flush
// followed that merge too (test/ingest/pg-late-page-next-request.test.ts plays each interleaving).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp, type CreatedApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { openDb } from '../../collector/storage/open-db.js';
import type { Db } from '../../collector/storage/db.js';
import type { PgDb } from '../../collector/storage/pg-db.js';
import { sessionIdFor } from '../../collector/ingest/sessions.js';
import type { WireEvent } from '../../shared/wire.js';
import { openTestDb } from '../helpers/test-db.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { MIN, T0 } from '../helpers/funnel-factories.js';

const VISITORS = Number(process.env.LATE_PAGE_RACE_VISITORS ?? 30);

describe.runIf(!!process.env.TEST_DATABASE_URL)('a late page and the next session\'s first page on two collectors at the same moment', () => {
  const dbs: Db[] = [];
  const apps: CreatedApp[] = [];
  let siteKey = '';
  let siteId = '';
  const clock = { now: T0 + 36 * MIN };

  beforeAll(async () => {
    const first = await openTestDb('pg');
    const url = (first as PgDb).pool.options.connectionString!;
    dbs.push(first, await openDb({ databaseUrl: url, poolSize: 4 }));
    const site = await createSite(first, { domain: '127.0.0.1' }, T0);
    [siteKey, siteId] = [site.siteKey, site.siteId];
    // each request flushes at once (FLUSH_MS 0), up to PG_FLUSHES (4) per collector side by side
    for (const db of dbs) apps.push(createApp({ db, now: () => clock.now, config: defaultConfig({ FLUSH_MS: 0, SEGMENT_SWEEP_MS: 0 }), log: createLog('error') }));
  });

  afterAll(async () => {
    for (const a of apps) await a.close();
    for (const db of dbs) await db.close();
  });

  async function send(k: number, visitorId: string, minutes: number) {
    const e: WireEvent[] = [{ i: randomId(), n: 'pageview', t: T0 + minutes * MIN, u: 'http://127.0.0.1/pricing' }];
    const res = await apps[k].app.request('/e', {
      method: 'POST',
      body: JSON.stringify({ s: siteKey, v: visitorId, e }),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
    });
    expect(res.status, await res.clone().text()).toBe(202);
  }

  test(`${VISITORS} visitors: each keeps one session, counted once, as one collector would`, { timeout: 25_000 }, async () => {
    const visitors = Array.from({ length: VISITORS }, (_, k) => `v_latepagerace${k}`);
    await Promise.all(visitors.map((v) => send(0, v, 0)));
    // every other visitor's next page (35 minutes) follows on collector 2 a millisecond after its first page there
    const followed = (k: number) => k % 2 === 1;
    const next = (v: string) => new Promise((r) => setTimeout(r, 1)).then(() => send(1, v, 35));
    await Promise.all(visitors.flatMap((v, k) => [send(0, v, 14), send(1, v, 32), ...(followed(k) ? [next(v)] : [])]));
    const db = dbs[0];
    const twoSessions: string[] = [];
    for (const [k, v] of visitors.entries()) {
      const first = sessionIdFor(v, T0);
      const rows = await db.all<{ session_id: string; opener: number; at: number }>(
        'SELECT session_id, CASE WHEN first_touch IS NOT NULL THEN 1 ELSE 0 END AS opener, at FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at',
        [siteId, v],
      );
      const row = await db.get<{ session_id: string; session_started: number; session_count: number }>(
        'SELECT session_id, session_started, session_count FROM visitors WHERE site_id = ? AND visitor_id = ?', [siteId, v]);
      // the lead's score rules as one visit: one `visit` award (once per session), no `return_visit`
      const awards = await db.all<{ rule: string; n: number | string }>(
        `SELECT rule, COUNT(*) AS n FROM score_changes WHERE site_id = ? AND lead_id = (SELECT lead_id FROM identity_links
          WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL) AND rule IN ('visit', 'return_visit') GROUP BY rule ORDER BY rule`,
        [siteId, siteId, v],
      );
      const got = {
        events: rows.map((r) => [Number(r.at) - T0, r.session_id, Number(r.opener)]),
        visitor: { sessionId: row!.session_id, started: Number(row!.session_started), count: Number(row!.session_count) },
        awards: awards.map((a) => [a.rule, Number(a.n)]),
      };
      const want = {
        events: [[0, first, 1], [14 * MIN, first, 0], [32 * MIN, first, 0], ...(followed(k) ? [[35 * MIN, first, 0]] : [])],
        visitor: { sessionId: first, started: T0, count: 1 },
        awards: [['visit', 1]],
      };
      if (JSON.stringify(got) !== JSON.stringify(want)) twoSessions.push(`${v}: ${JSON.stringify(got)}`);
    }
    expect(twoSessions, `${twoSessions.length} of ${VISITORS} visitors kept two sessions`).toEqual([]);
  });
});
