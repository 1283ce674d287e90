// The rejected-events store (rejected.ts, prune-rejected.ts) and the database size gauge (db-health.ts) on every engine.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import { countRejected, insertRejected, listRejected, type RejectedRow } from '../../collector/storage/rejected.js';
import { countAllRejected, pruneRejected } from '../../collector/storage/prune-rejected.js';
import { getDatabaseBytes } from '../../collector/storage/db-health.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

const T0 = 1_760_000_000_000;
const row = (siteId: string | null, over: Partial<RejectedRow> = {}): RejectedRow => ({
  siteId, reason: 'invalid_event', message: 'n: required', route: '/e', raw: '{"e":[{}]}', receivedAt: T0, ...over,
});

describe.each(ENGINES)('rejected store on %s', (engine) => {
  let db: Db;
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('rows list newest first, filtered by reason and paged by time', async () => {
    const s = `site_${randomUUID()}`;
    await insertRejected(db, [
      row(s, { receivedAt: T0 + 1 }),
      row(s, { receivedAt: T0 + 3, reason: 'origin_not_allowed', raw: 'NUL \u0000 kept as U+FFFD' }),
      row(s, { receivedAt: T0 + 2 }),
      row(null, { reason: 'invalid_json' }),
    ]);
    const all = await listRejected(db, s, { limit: 10 });
    expect(all.map((r) => r.at)).toEqual([T0 + 3, T0 + 2, T0 + 1]);
    expect(all[0]).toMatchObject({ reason: 'origin_not_allowed', route: '/e', raw: 'NUL \uFFFD kept as U+FFFD' });
    expect((await listRejected(db, s, { limit: 10, reason: 'invalid_event' })).map((r) => r.at)).toEqual([T0 + 2, T0 + 1]);
    expect((await listRejected(db, s, { limit: 1, before: T0 + 3 })).map((r) => r.at)).toEqual([T0 + 2]);
    expect(await countRejected(db, s)).toBe(3);
    expect(await countRejected(db, null)).toBeGreaterThanOrEqual(1);
  });

  test('pruning keeps the newest rows under the cap, oldest deleted first', async () => {
    const s = `site_${randomUUID()}`;
    const before = await countAllRejected(db);
    // older than every other row here, so they are the ones over the cap
    await insertRejected(db, Array.from({ length: 7 }, (_, i) => row(s, { receivedAt: T0 - 1000 + i })));
    expect(await pruneRejected(db, before + 3, 2)).toBe(4);
    expect(await countAllRejected(db)).toBe(before + 3);
    expect((await listRejected(db, s, { limit: 10 })).map((r) => r.at)).toEqual([T0 - 994, T0 - 995, T0 - 996]);
  });

  test('the database size is a positive number of bytes', async () => {
    const bytes = await getDatabaseBytes(db);
    expect(typeof bytes).toBe('number');
    expect(bytes).toBeGreaterThan(4096);
  });
});
