// README "PostgreSQL": a collector keeps one connection per flush in flight (PG_FLUSHES) and 6 beside them for reads,
// API writes and sweeps, at least 10. The pool was 10 whatever PG_FLUSHES said: at PG_FLUSHES=16 the flushes waited
// for connections and held every one, so the API's reads waited behind them.
import { describe, expect, test } from 'vitest';
import { openConfiguredDb, pgPoolSize } from '../../collector/storage/open-db.js';
import type { PgDb } from '../../collector/storage/pg-db.js';
import { freshPgUrl } from '../helpers/test-db.js';

test('the pool holds PG_FLUSHES connections and 6 more, at least 10', () => {
  expect([pgPoolSize(), pgPoolSize(1), pgPoolSize(4), pgPoolSize(5), pgPoolSize(10), pgPoolSize(16)]).toEqual([10, 10, 10, 11, 16, 22]);
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('on PostgreSQL', () => {
  test('a collector configured with PG_FLUSHES=16 opens a pool of 22', async () => {
    const db = (await openConfiguredDb({ DATABASE_URL: await freshPgUrl(), DATABASE_PATH: '', PG_FLUSHES: 16 })) as PgDb;
    try {
      expect(db.pool.options.max).toBe(22);
    } finally {
      await db.close();
    }
  });
});
