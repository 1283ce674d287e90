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

export function openPostgres(url: string, max = 10): PgDb {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', (err) => console.error(JSON.stringify({ level: 'error', msg: 'pg pool error', error: err.message })));
  const texts = new Map<string, { text: string; name: string }>();
  const compile = (sql: string) => {
    let c = texts.get(sql);
    if (!c) {
      const text = toPgPlaceholders(sql);
      c = { text, name: 'q' + createHash('sha1').update(text).digest('hex').slice(0, 20) };
      if (texts.size > 1000) texts.clear();
      texts.set(sql, c);
    }
    return c;
  };
  const bind = (params: readonly unknown[] = []) =>
    params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p === undefined ? null : p));
  const exec = async (q: Queryable, sql: string, params?: readonly unknown[]) => {
    const { text, name } = compile(sql);
    return q.query({ name, text, values: bind(params) });
  };
  const on = (q: Queryable): Omit<Db, 'transaction' | 'close' | 'dialect'> => ({
    all: async <T>(s: string, p?: readonly unknown[]) => (await exec(q, s, p)).rows as T[],
    get: async <T>(s: string, p?: readonly unknown[]) => (await exec(q, s, p)).rows[0] as T | undefined,
    run: async (s, p) => (await exec(q, s, p)).rowCount ?? 0,
  });
  const db: PgDb = {
    dialect: 'pg',
    pool,
    ...on(pool),
    async transaction(fn) {
      const client = await pool.connect();
      const tx: Db = {
        dialect: 'pg',
        ...on(client),
        transaction: async (inner) => inner(tx),
        close: async () => {},
      };
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
  return db;
}
