// PostgreSQL executor over a pg pool: same SQL text as SQLite, placeholders renumbered, statements named and reused.
import pg from 'pg';
import { createHash } from 'node:crypto';
import { toPgPlaceholders, type Db } from './db.js';

// epoch-ms columns are bigint: read them as numbers (safe below 2^53), and numeric as numbers too.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export interface PgDb extends Db {
  readonly pool: pg.Pool;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/** deadlock_detected and serialization_failure: the server aborted the transaction, running it again is the fix. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 5;
/** Named (server-side prepared) statements per connection; SQL texts past this run unnamed so dynamic SQL cannot grow server memory. */
const MAX_NAMED = 500;

/** PostgreSQL text cannot hold U+0000 (the whole statement would fail): it becomes U+FFFD, as on SQLite (sqlite-db.ts). */
const bindOne = (p: unknown) =>
  typeof p === 'string' ? (p.indexOf('\u0000') === -1 ? p : p.replaceAll('\u0000', '\uFFFD'))
  : typeof p === 'boolean' ? (p ? 1 : 0)
  : p === undefined ? null
  : p;

const sqlState = (err: unknown) => (err as { code?: string } | null)?.code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function openPostgres(url: string, max = 10): PgDb {
  // Custom plans only: the executor names its statements, and PostgreSQL would otherwise settle on a generic plan
  // after five runs. A generic plan made while a table is young (no statistics yet) can stick to the wrong index: the
  // per-lead event counts of segment upkeep scanned every event of the site (31 ms instead of 0.6 ms per call).
  // Set per session (not as a startup option, which PgBouncer refuses), before the pool hands the connection out.
  const pool = new pg.Pool({
    connectionString: url, max, application_name: 'funnelbeam',
    onConnect: async (client) => void (await client.query('SET plan_cache_mode = force_custom_plan')),
  });
  pool.on('error', (err) => console.error(JSON.stringify({ level: 'error', msg: 'pg pool error', error: err.message })));
  const texts = new Map<string, { text: string; name?: string }>();
  const compile = (sql: string) => {
    let c = texts.get(sql);
    if (!c) {
      const text = toPgPlaceholders(sql);
      if (texts.size >= MAX_NAMED) return { text };
      c = { text, name: 'q' + createHash('sha1').update(text).digest('hex').slice(0, 20) };
      texts.set(sql, c);
    }
    return c;
  };
  const bind = (params: readonly unknown[] = []) => params.map((p) => (Array.isArray(p) ? p.map(bindOne) : bindOne(p)));
  const exec = async (q: Queryable, sql: string, params?: readonly unknown[]) => {
    const { text, name } = compile(sql);
    return q.query(name ? { name, text, values: bind(params) } : { text, values: bind(params) });
  };
  const on = (q: Queryable, isOpen: () => boolean = () => true): Omit<Db, 'transaction' | 'close' | 'dialect'> => {
    const guard = () => {
      if (!isOpen()) throw new Error('transaction already ended: use the tx only inside its callback');
    };
    return {
      all: async <T>(s: string, p?: readonly unknown[]) => (guard(), (await exec(q, s, p)).rows as T[]),
      get: async <T>(s: string, p?: readonly unknown[]) => (guard(), (await exec(q, s, p)).rows[0] as T | undefined),
      run: async (s, p) => (guard(), (await exec(q, s, p)).rowCount ?? 0),
    };
  };

  async function runOnce<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let open = true;
    let broken: Error | undefined;
    // The pool listens for errors of idle connections only: a connection the server drops (pg_terminate_backend, a
    // restart) while it is checked out here would otherwise emit an unhandled 'error' and end the process. Kept as the
    // reason to discard it; the statement under way, or the next one, fails and the transaction with it.
    const onError = (err: Error) => void (broken ??= err);
    client.on('error', onError);
    const tx: Db = {
      dialect: 'pg',
      ...on(client, () => open),
      // Nested: the same transaction, as on SQLite (use SAVEPOINT statements for partial rollback).
      transaction: async (inner) => inner(tx),
      close: async () => {},
    };
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      const done = await client.query('COMMIT');
      // After a failed statement PostgreSQL answers COMMIT with ROLLBACK instead of an error: nothing was stored.
      if (done.command === 'ROLLBACK') throw new Error('transaction rolled back: a statement in it failed and was caught');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      open = false;
      client.off('error', onError);
      client.release(broken);
    }
  }

  const db: PgDb = {
    dialect: 'pg',
    pool,
    ...on(pool),
    /**
     * Runs fn in one transaction on one pooled connection. When PostgreSQL aborts it for a deadlock or a serialization
     * failure (several collectors touching the same rows), fn runs again from the start: keep it free of side effects
     * outside the database until it resolves.
     */
    async transaction(fn, onCommitted) {
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await runOnce(fn);
          onCommitted?.();
          return result;
        } catch (err) {
          if (!RETRYABLE.has(sqlState(err) ?? '') || attempt >= MAX_ATTEMPTS) throw err;
          await sleep(Math.random() * 10 * attempt);
        }
      }
    },
    async close() {
      await pool.end();
    },
  };
  return db;
}
