// The session loader of enrichment on every engine: what it answers equals one read per visitor, however calls batch.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import { getVisitorSession, upsertVisitors, type VisitorUpdate } from '../../collector/storage/events.js';
import { createSessionLoader } from '../../collector/ingest/session-loader.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

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
});
