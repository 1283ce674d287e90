// The Db executor contract: the same SQL text behaves the same on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { dialectSql, type Db } from '../../collector/storage/db.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

const NOW = 1_760_000_000_123; // epoch ms, far above 2^31
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const INSERT_CONFIG = 'INSERT INTO site_config (site_id, kind, body, updated_at) VALUES (?, ?, ?, ?)';
const COUNT_VISITOR = `INSERT INTO visitors (site_id, visitor_id, first_seen, last_seen, session_id, session_started, event_count, is_bot)
  VALUES (?, ?, ?, ?, 's1', ?, ?, ?)
  ON CONFLICT (site_id, visitor_id) DO UPDATE SET event_count = visitors.event_count + excluded.event_count`;

describe.each(ENGINES)('the %s executor', (engine) => {
  let db: Db;
  // One database per engine; each test works in its own site so tests never see each other's rows.
  const site = () => `site-${randomUUID()}`;
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('reports its dialect', () => {
    expect(db.dialect).toBe(engine);
  });

  test('binds ? placeholders in order', async () => {
    const s = site();
    await db.run(INSERT_CONFIG, [s, 'a', 'first', 1]);
    await db.run(INSERT_CONFIG, [s, 'b', 'second', 2]);
    const row = await db.get<{ kind: string; body: string }>(
      'SELECT kind, body FROM site_config WHERE site_id = ? AND updated_at > ? AND kind <> ?',
      [s, 1, 'c'],
    );
    expect(row).toEqual({ kind: 'b', body: 'second' });
  });

  test('leaves a ? inside a string literal alone', async () => {
    const s = site();
    await db.run(`INSERT INTO site_config (site_id, kind, body, updated_at) VALUES (?, 'what?', 'is it ''?'' or ?', ?)`, [s, 5]);
    const rows = await db.all<{ kind: string; body: string }>(
      `SELECT kind, body FROM site_config WHERE site_id = ? AND body LIKE '%?%' AND kind = 'what?'`,
      [s],
    );
    expect(rows).toEqual([{ kind: 'what?', body: "is it '?' or ?" }]);
  });

  test('binds undefined as NULL and keeps an empty string apart from NULL', async () => {
    const s = site();
    await db.run(
      'INSERT INTO leads (site_id, lead_id, email, traits, stage, stage_at, score_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [s, 'l1', undefined, '', 'awareness', NOW, NOW, NOW, NOW],
    );
    const row = await db.get<{ email: string | null; traits: string }>('SELECT email, traits FROM leads WHERE site_id = ?', [s]);
    expect(row).toEqual({ email: null, traits: '' });
  });

  test('get resolves to undefined and all to an empty list when nothing matches', async () => {
    expect(await db.get('SELECT body FROM site_config WHERE site_id = ?', [site()])).toBeUndefined();
    expect(await db.all('SELECT body FROM site_config WHERE site_id = ?', [site()])).toEqual([]);
  });

  test('RETURNING hands back the inserted row and run counts it', async () => {
    const s = site();
    const row = await db.get<{ site_id: string; kind: string; updated_at: number }>(
      `${INSERT_CONFIG} RETURNING site_id, kind, updated_at`,
      [s, 'funnel', '{}', NOW],
    );
    expect(row).toEqual({ site_id: s, kind: 'funnel', updated_at: NOW });
    expect(await db.run(`${INSERT_CONFIG} RETURNING kind`, [s, 'other', '{}', NOW])).toBe(1);
  });

  test('ON CONFLICT DO NOTHING RETURNING returns nothing for a key already stored', async () => {
    const s = site();
    const sql = `${INSERT_CONFIG} ON CONFLICT (site_id, kind) DO NOTHING RETURNING kind`;
    expect(await db.get(sql, [s, 'k', 'first', NOW])).toEqual({ kind: 'k' });
    expect(await db.get(sql, [s, 'k', 'second', NOW])).toBeUndefined();
    expect(await db.run(sql, [s, 'k', 'third', NOW])).toBe(0);
    expect(await db.get('SELECT body FROM site_config WHERE site_id = ?', [s])).toEqual({ body: 'first' });
  });

  test('ON CONFLICT DO UPDATE adds to a counter instead of overwriting it', async () => {
    const s = site();
    for (const n of [1, 2, 3]) await db.run(COUNT_VISITOR, [s, 'v1', NOW, NOW, NOW, n, 0]);
    const row = await db.get<{ event_count: number }>('SELECT event_count FROM visitors WHERE site_id = ?', [s]);
    expect(row?.event_count).toBe(6);
  });

  test('ON CONFLICT DO UPDATE … WHERE only moves a value forward', async () => {
    const s = site();
    const sql = `INSERT INTO leads (site_id, lead_id, stage, stage_rank, stage_at, score_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (site_id, lead_id) DO UPDATE SET stage = excluded.stage, stage_rank = excluded.stage_rank, stage_at = excluded.stage_at
      WHERE leads.stage_rank < excluded.stage_rank`;
    expect(await db.run(sql, [s, 'l1', 'interest', 1, NOW, NOW, NOW, NOW])).toBe(1);
    expect(await db.run(sql, [s, 'l1', 'intent', 3, NOW + 1, NOW, NOW, NOW])).toBe(1);
    expect(await db.run(sql, [s, 'l1', 'consideration', 2, NOW + 2, NOW, NOW, NOW])).toBe(0);
    const row = await db.get('SELECT stage, stage_rank, stage_at FROM leads WHERE site_id = ?', [s]);
    expect(row).toEqual({ stage: 'intent', stage_rank: 3, stage_at: NOW + 1 });
  });

  test('binds booleans as 0 and 1', async () => {
    const s = site();
    await db.run(COUNT_VISITOR, [s, 'bot', NOW, NOW, NOW, 1, true]);
    await db.run(COUNT_VISITOR, [s, 'human', NOW, NOW, NOW, 1, false]);
    const bots = await db.all<{ visitor_id: string; is_bot: number }>(
      'SELECT visitor_id, is_bot FROM visitors WHERE site_id = ? AND is_bot = ?',
      [s, true],
    );
    expect(bots).toEqual([{ visitor_id: 'bot', is_bot: 1 }]);
  });

  test('returns epoch-ms bigints, doubles and aggregates as JavaScript numbers', async () => {
    const s = site();
    await db.run(COUNT_VISITOR, [s, 'v1', NOW, NOW + 1000, NOW, 2, 0]);
    await db.run(COUNT_VISITOR, [s, 'v2', NOW, NOW + 2000, NOW, 3, 0]);
    await db.run(
      'INSERT INTO leads (site_id, lead_id, stage, stage_at, score, score_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [s, 'l1', 'awareness', NOW, 12.5, NOW, NOW, NOW],
    );
    const v = await db.get<Record<string, unknown>>(
      `SELECT COUNT(*) AS n, SUM(event_count) AS events, MAX(last_seen) AS latest, SUM(last_seen) AS total
       FROM visitors WHERE site_id = ?`,
      [s],
    );
    expect(v).toEqual({ n: 2, events: 5, latest: NOW + 2000, total: 2 * NOW + 3000 });
    const l = await db.get<Record<string, unknown>>('SELECT score, stage_at FROM leads WHERE site_id = ?', [s]);
    expect(l).toEqual({ score: 12.5, stage_at: NOW });
  });

  test('takes placeholders in LIMIT and IN lists', async () => {
    const s = site();
    for (const k of ['a', 'b', 'c', 'd']) await db.run(INSERT_CONFIG, [s, k, k, NOW]);
    const rows = await db.all<{ kind: string }>(
      'SELECT kind FROM site_config WHERE site_id = ? AND kind IN (?, ?, ?) ORDER BY kind LIMIT ?',
      [s, 'b', 'c', 'd', 2],
    );
    expect(rows.map((r) => r.kind)).toEqual(['b', 'c']);
  });

  test('dialectSql greatest, least and ilike mean the same on both engines', async () => {
    const d = dialectSql(db.dialect);
    const s = site();
    await db.run(INSERT_CONFIG, [s, 'Funnel', 'x', 10]);
    const row = await db.get(
      `SELECT ${d.greatest('updated_at', '?')} AS hi, ${d.least('updated_at', '?')} AS lo FROM site_config WHERE site_id = ? AND kind ${d.ilike} ?`,
      [20, 5, s, 'fun%'],
    );
    expect(row).toEqual({ hi: 20, lo: 5 });
  });

  test('text survives the round trip byte for byte', async () => {
    const s = site();
    const body = JSON.stringify({ q: "it's \"quoted\" ? $1 \\ \u00e9\u00e8 \u{1F680} \n\t" });
    await db.run(INSERT_CONFIG, [s, 'k', body, NOW]);
    expect((await db.get<{ body: string }>('SELECT body FROM site_config WHERE site_id = ?', [s]))?.body).toBe(body);
  });

  test('a NUL character in text reads back as U+FFFD instead of failing the statement', async () => {
    const s = site();
    await db.run(INSERT_CONFIG, [s, 'k', 'a\u0000b', NOW]);
    expect((await db.get<{ body: string }>('SELECT body FROM site_config WHERE site_id = ?', [s]))?.body).toBe('a\uFFFDb');
  });

  test('runs more distinct statements than its statement cache holds', async () => {
    const s = site();
    await db.run(INSERT_CONFIG, [s, 'k', 'v', NOW]);
    for (let i = 0; i < 600; i++) {
      const row = await db.get<{ n: number }>(`SELECT ${i} + updated_at - updated_at AS n FROM site_config WHERE site_id = ?`, [s]);
      expect(row?.n).toBe(i);
    }
  });

  // A generic plan made while a table is young can stick to the wrong index once it grows (segment upkeep's per-lead
  // event counts scanned every event of the site): PostgreSQL plans each run of a named statement for its values.
  test.runIf(engine === 'pg')('plans every run of a named statement for its own values, never a cached generic plan', async () => {
    const s = site();
    const marker = `generic_plan_probe_${randomUUID().replaceAll('-', '')}`;
    // its own executor: the shared one has used up its named texts in the statement-cache test above
    const own = await openTestDb(engine);
    try {
      const plans = await own.transaction(async (tx) => {
        for (let i = 0; i < 8; i++) await tx.all(`SELECT lead_id AS ${marker} FROM events WHERE site_id = ? AND lead_id IN (?, ?)`, [s, 'a', 'b']);
        return tx.get<{ generic_plans: number; custom_plans: number }>(
          'SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE ?', [`%${marker}%`]);
      });
      expect(plans).toEqual({ generic_plans: 0, custom_plans: 8 });
    } finally {
      await own.close();
    }
  });

  test('a lone write gets its turn between back-to-back transactions instead of waiting for them to stop', async () => {
    const s = site();
    let committed = 0;
    let chainDone!: () => void;
    const chainEnded = new Promise<void>((r) => (chainDone = r));
    // like the group-commit pipeline: each transaction starts the next the moment it commits
    const step = (i: number): void => {
      void db.transaction(
        async (tx) => {
          await tx.run(INSERT_CONFIG, [s, `t${i}`, 'x', i]);
          await sleep(5);
        },
        () => {
          committed++;
          if (i < 20) step(i + 1);
          else chainDone();
        },
      );
    };
    step(1);
    await sleep(1);
    // the lone write notes how many of the chain's transactions had committed when it ran (not when its answer came:
    // that also waits for its WAL sync, which a loaded machine makes slow)
    const lone = db.run(`INSERT INTO site_config (site_id, kind, body, updated_at) SELECT ?, 'lone', CAST(COUNT(*) AS TEXT), 0 FROM site_config WHERE site_id = ?`, [s, s]);
    await Promise.all([lone, chainEnded]);
    expect(committed).toBe(20);
    const seenAt = Number((await db.get<{ body: string }>(`SELECT body FROM site_config WHERE site_id = ? AND kind = 'lone'`, [s]))!.body);
    expect(seenAt).toBeGreaterThanOrEqual(0);
    expect(seenAt).toBeLessThan(5);
  });

  test('a transaction commits every write when its callback resolves', async () => {
    const s = site();
    const result = await db.transaction(async (tx) => {
      await tx.run(INSERT_CONFIG, [s, 'a', '1', NOW]);
      await tx.run(INSERT_CONFIG, [s, 'b', '2', NOW]);
      return (await tx.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).length;
    });
    expect(result).toBe(2);
    expect(await db.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).toHaveLength(2);
  });

  test('a transaction rolls back every write and rethrows when its callback throws', async () => {
    const s = site();
    await expect(
      db.transaction(async (tx) => {
        await tx.run(INSERT_CONFIG, [s, 'a', '1', NOW]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).toEqual([]);
  });

  test('a transaction rolls back when one of its statements fails', async () => {
    const s = site();
    await expect(
      db.transaction(async (tx) => {
        await tx.run(INSERT_CONFIG, [s, 'a', '1', NOW]);
        await tx.run(INSERT_CONFIG, [s, 'a', 'duplicate key', NOW]);
      }),
    ).rejects.toThrow();
    expect(await db.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).toEqual([]);
  });

  test('a nested transaction joins the outer one and rolls back with it', async () => {
    const s = site();
    await expect(
      db.transaction(async (tx) => {
        await tx.transaction(async (inner) => {
          await inner.run(INSERT_CONFIG, [s, 'inner', '1', NOW]);
        });
        expect(await tx.get('SELECT kind FROM site_config WHERE site_id = ?', [s])).toEqual({ kind: 'inner' });
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(await db.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).toEqual([]);
  });

  test('a savepoint undoes a failed part of a transaction and the rest commits', async () => {
    const s = site();
    await db.transaction(async (tx) => {
      await tx.run(INSERT_CONFIG, [s, 'kept', '1', NOW]);
      await tx.run('SAVEPOINT part');
      try {
        await tx.run(INSERT_CONFIG, [s, 'undone', '2', NOW]);
        await tx.run(INSERT_CONFIG, [s, 'kept', 'duplicate key', NOW]);
        await tx.run('RELEASE SAVEPOINT part');
      } catch {
        await tx.run('ROLLBACK TO SAVEPOINT part');
        await tx.run('RELEASE SAVEPOINT part');
      }
      await tx.run(INSERT_CONFIG, [s, 'after', '3', NOW]);
    });
    const kinds = (await db.all<{ kind: string }>('SELECT kind FROM site_config WHERE site_id = ? ORDER BY kind', [s])).map((r) => r.kind);
    expect(kinds).toEqual(['after', 'kept']);
  });

  test('concurrent transactions all commit and lose no counter increment', async () => {
    const s = site();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.run(COUNT_VISITOR, [s, 'hot', NOW, NOW, NOW, 1, 0]);
          await tx.run(INSERT_CONFIG, [s, `k${i}`, String(i), NOW]);
        }),
      ),
    );
    expect(await db.get('SELECT event_count FROM visitors WHERE site_id = ?', [s])).toEqual({ event_count: 20 });
    expect(await db.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).toHaveLength(20);
  });

  test('a failing transaction does not disturb the ones running beside it', async () => {
    const s = site();
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.run(INSERT_CONFIG, [s, `k${i}`, String(i), NOW]);
          await sleep(5);
          if (i % 2) throw new Error(`odd ${i}`);
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
    const kinds = (await db.all<{ kind: string }>('SELECT kind FROM site_config WHERE site_id = ? ORDER BY kind', [s])).map((r) => r.kind);
    expect(kinds).toEqual(['k0', 'k2', 'k4']);
  });

  test('a write made outside any transaction survives a transaction that fails beside it', async () => {
    const s = site();
    const first = db.transaction(async () => {
      await sleep(10);
    });
    await sleep(2); // the first transaction now holds the connection
    // Queued behind the first transaction, the failing one and the plain write wake up together when it ends.
    const failing = db.transaction(async (tx) => {
      await tx.run(INSERT_CONFIG, [s, 'inside', '2', NOW]);
      await sleep(10);
      throw new Error('rolled back');
    });
    const outside = db.run(INSERT_CONFIG, [s, 'outside', '1', NOW]);
    const results = await Promise.allSettled([first, outside, failing]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(await db.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).toEqual([{ kind: 'outside' }]);
  });

  test('two transactions updating the same rows in opposite orders both commit', async () => {
    const s = site();
    await db.run(COUNT_VISITOR, [s, 'a', NOW, NOW, NOW, 0, 0]);
    await db.run(COUNT_VISITOR, [s, 'b', NOW, NOW, NOW, 0, 0]);
    const bump = 'UPDATE visitors SET event_count = event_count + 1 WHERE site_id = ? AND visitor_id = ?';
    let runs = 0;
    const crosswise = (first: string, second: string) =>
      db.transaction(async (tx) => {
        runs++;
        await tx.run(bump, [s, first]);
        await sleep(30); // let the other transaction take its first row: a deadlock on PostgreSQL, retried
        await tx.run(bump, [s, second]);
      });
    await Promise.all([crosswise('a', 'b'), crosswise('b', 'a')]);
    const rows = await db.all('SELECT visitor_id, event_count FROM visitors WHERE site_id = ? ORDER BY visitor_id', [s]);
    expect(rows).toEqual([
      { visitor_id: 'a', event_count: 2 },
      { visitor_id: 'b', event_count: 2 },
    ]);
    expect(runs).toBeGreaterThanOrEqual(2);
  });

  test.runIf(engine === 'pg')('on PostgreSQL a swallowed failed statement makes the transaction reject, never fake a commit', async () => {
    const s = site();
    await expect(
      db.transaction(async (tx) => {
        await tx.run(INSERT_CONFIG, [s, 'a', '1', NOW]);
        await tx.run(INSERT_CONFIG, [s, 'a', 'duplicate key', NOW]).catch(() => {});
      }),
    ).rejects.toThrow(/rolled back/);
    expect(await db.all('SELECT kind FROM site_config WHERE site_id = ?', [s])).toEqual([]);
  });

  test.runIf(engine === 'pg')('on PostgreSQL a tx handle is refused once its transaction ended', async () => {
    let leaked: Db | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.get('SELECT 1 AS one')).rejects.toThrow(/transaction already ended/);
  });
});
