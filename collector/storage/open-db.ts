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
