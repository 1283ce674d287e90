// The session loader of enrichment on every engine: what it answers equals one read per visitor, however calls batch.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import { getVisitorSession, upsertVisitors, type VisitorUpdate } from '../../collector/storage/events.js';
import { createSessionLoader } from '../../collector/ingest/session-loader.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { createSite } from '../../collector/admin.js';
import { CHROME_UA } from '../helpers/factories.js';
import type { WireEvent } from '../../shared/wire.js';

const T0 = 1_760_000_000_000;
const visitor = (siteId: string, visitorId: string, i: number): VisitorUpdate => ({
  siteId, visitorId, firstSeen: T0, lastSeen: T0 + i,
  session: { sessionId: `${visitorId}.s`, started: T0, lastSeen: T0 + i, campaign: i % 2 ? 'spring' : '' },
  newSessions: 1, newEvents: 1, firstTouch: null, lastTouch: i % 3 ? null : '{"url":"https://example.com/?utm_source=x"}', browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false,
});

describe.each(ENGINES)('session loader on %s', (engine) => {
  let db: Db;
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('concurrent lookups over two sites, repeats and unknown visitors each get their own visitor session', async () => {
    const [a, b] = [`site_${randomUUID()}`, `site_${randomUUID()}`];
    const ids = Array.from({ length: 40 }, (_, i) => `v_${i}`);
    await db.transaction((tx) => upsertVisitors(tx, [...ids.map((v, i) => visitor(a, v, i)), visitor(b, 'v_b', 99)]));
    const load = createSessionLoader(db);
    const asks: Array<[string, string]> = [...ids.map((v) => [a, v] as [string, string]), [a, 'v_3'], [a, 'v_nope'], [b, 'v_b'], [b, 'v_1']];
    const got = await Promise.all(asks.map(([s, v]) => load(s, v)));
    const want = await Promise.all(asks.map(([s, v]) => getVisitorSession(db, s, v)));
    expect(got).toEqual(want);
    expect(got.filter((x) => x === null)).toHaveLength(2);
    expect(got[ids.length + 2]?.sessionId).toBe('v_b.s');
    // a later turn of the event loop is a new batch
    expect(await load(a, 'v_7')).toEqual(want[7]);
  });

  test('a failing read rejects every lookup of its batch, and the next batch works again', async () => {
    const s = `site_${randomUUID()}`;
    await db.transaction((tx) => upsertVisitors(tx, [visitor(s, 'v_1', 1)]));
    const broken = { ...db, get: async () => { throw new Error('db down'); }, all: async () => { throw new Error('db down'); } } as Db;
    const load = createSessionLoader(broken);
    const results = await Promise.allSettled([load(s, 'v_1'), load(s, 'v_2')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await createSessionLoader(db)(s, 'v_1')).toEqual(await getVisitorSession(db, s, 'v_1'));
  });

  test("a long read's engagement does not carry its session over a collector restart", async () => {
    // the engagement beacon reports 40 minutes on one page: it joins that view's session without extending it, so the
    // next page opens a session; a collector that reads the session back (restarted, or another collector) must agree
    const site = await createSite(db, { domain: 'example.com' });
    const t0 = Date.now() - 3 * 3600_000;
    const send = (app: ReturnType<typeof createApp>, e: WireEvent) =>
      app.app.request('/e', {
        method: 'POST',
        body: JSON.stringify({ s: site.siteKey, v: 'v_long_read', e: [e] }),
        headers: { 'content-type': 'text/plain', origin: 'https://example.com', 'user-agent': CHROME_UA },
      });
    const start = () => createApp({ db, config: defaultConfig({ SEGMENT_SWEEP_MS: 0, DEMO: '0' }), log: createLog('error') });
    const first = start();
    expect((await send(first, { i: 'e_read_0001', n: 'pageview', t: t0, u: 'https://example.com/pricing' })).status).toBe(202);
    const measured = { i: 'e_read_0002', n: 'engagement', t: t0 + 40 * 60_000, u: 'https://example.com/pricing', p: { seconds: 2400, scroll: 90 } };
    expect((await send(first, measured)).status).toBe(202);
    await first.close();
    const second = start();
    expect((await send(second, { i: 'e_read_0003', n: 'pageview', t: t0 + 41 * 60_000, u: 'https://example.com/demo' })).status).toBe(202);
    await second.close();
    const rows = await db.all<{ event_id: string; session_id: string }>('SELECT event_id, session_id FROM events WHERE site_id = ? ORDER BY at', [site.siteId]);
    expect(rows.map((r) => r.session_id)).toEqual([`v_long_read.${t0.toString(36)}`, `v_long_read.${t0.toString(36)}`, `v_long_read.${(t0 + 41 * 60_000).toString(36)}`]);
  });
});
