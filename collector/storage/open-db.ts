// Opens the configured engine, applies its committed drizzle-kit migrations, then the one-time data steps.
import { fileURLToPath } from 'node:url';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { Db } from './db.js';
import { openSqlite } from './sqlite-db.js';
import { openPostgres } from './pg-db.js';
import { canonicalizeStoredEmails } from './canonicalize-stored-emails.js';

const migrations = (engine: string) => fileURLToPath(new URL(`./migrations/${engine}`, import.meta.url));

export interface DbConfig {
  /** postgres://… selects PostgreSQL */
  databaseUrl?: string;
  /** SQLite file (default engine) */
  databasePath?: string;
  /** pg pool size */
  poolSize?: number;
}

/** PostgreSQL connections a collector keeps: one per flush in flight (PG_FLUSHES) and 6 for reads, API writes and
 * sweeps beside them, at least 10. With 10 alone, PG_FLUSHES above 10 waited for connections and starved every read. */
export const pgPoolSize = (flushes = 0) => Math.max(10, flushes + 6);

/**
 * openDb for the configured `DATABASE_URL` or `DATABASE_PATH`, a failure naming what could not be opened (never the URL
 * itself: it may hold a password; SQLite's own "unable to open database file" names no file). The collector and the
 * admin command both open the database so.
 */
export async function openConfiguredDb(config: { DATABASE_URL?: string; DATABASE_PATH: string; PG_FLUSHES?: number }): Promise<Db> {
  return openDb({ databaseUrl: config.DATABASE_URL, databasePath: config.DATABASE_PATH, poolSize: pgPoolSize(config.PG_FLUSHES) }).catch((err: Error) => {
    const where = config.DATABASE_URL ? 'the PostgreSQL database of DATABASE_URL' : `the SQLite database at DATABASE_PATH=${config.DATABASE_PATH}`;
    throw new Error(`cannot open ${where}: ${err.message}`);
  });
}

export async function openDb(config: DbConfig): Promise<Db> {
  if (config.databaseUrl) {
    const db = openPostgres(config.databaseUrl, config.poolSize);
    // Several collectors may start at once: one applies migrations, the others wait on the lock.
    const client = await db.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(7262001)');
      await migratePg(drizzlePg(client), { migrationsFolder: migrations('pg') });
    } finally {
      await client.query('SELECT pg_advisory_unlock(7262001)').catch(() => {});
      client.release();
    }
    await canonicalizeStoredEmails(db);
    return db;
  }
  const db = openSqlite(config.databasePath ?? './data/funnelbeam.db');
  migrateSqlite(drizzleSqlite(db.raw), { migrationsFolder: migrations('sqlite') });
  await canonicalizeStoredEmails(db);
  return db;
}
