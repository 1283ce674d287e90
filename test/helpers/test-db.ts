// Test databases: a fresh SQLite file per call, or (with TEST_DATABASE_URL) a fresh PostgreSQL schema.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { openDb } from '../../collector/storage/open-db.js';
import { openSqlite } from '../../collector/storage/sqlite-db.js';
import { openPostgres } from '../../collector/storage/pg-db.js';
import type { Db } from '../../collector/storage/db.js';

export const tempDir = (prefix = 'funnelbeam-') => mkdtempSync(join(tmpdir(), prefix));

/** A copy of an engine's committed migrations up to and including `last` (journal index): a database as it was then. */
export function migrationsUpTo(engine: 'sqlite' | 'pg', last: number): string {
  const src = fileURLToPath(new URL(`../../collector/storage/migrations/${engine}`, import.meta.url));
  const dir = join(tempDir('fb-migrations-'), engine);
  cpSync(src, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8'));
  journal.entries = journal.entries.filter((e: { idx: number }) => e.idx <= last);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

/**
 * A new database of the engine as it was after migration `last` (journal index: each engine numbers its own), to write
 * rows as an older collector did; `reopen()`, after closing it, opens it as the collector does today (every migration
 * and data step applied).
 */
export async function databaseUpTo(engine: 'sqlite' | 'pg', last: number): Promise<{ db: Db; reopen: () => Promise<Db> }> {
  if (engine === 'pg') {
    const url = await freshPgUrl();
    const db = openPostgres(url, 2);
    await migratePg(drizzlePg(db.pool), { migrationsFolder: migrationsUpTo('pg', last) });
    return { db, reopen: () => openDb({ databaseUrl: url, poolSize: 2 }) };
  }
  const path = join(tempDir(), 'old.db');
  const db = openSqlite(path);
  migrateSqlite(drizzleSqlite(db.raw), { migrationsFolder: migrationsUpTo('sqlite', last) });
  return { db, reopen: () => openDb({ databasePath: path }) };
}

export async function openTestSqlite(): Promise<Db> {
  // TEST_ENGINE=pg runs the whole suite on PostgreSQL: TEST_ENGINE=pg bash scripts/with-postgres.sh npx vitest run
  if (process.env.TEST_ENGINE === 'pg') return openTestDb('pg');
  return openDb({ databasePath: join(tempDir(), 'test.db') });
}

/** The engines a contract test runs on: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export const ENGINES: Array<'sqlite' | 'pg'> = process.env.TEST_DATABASE_URL ? ['sqlite', 'pg'] : ['sqlite'];

/** A fresh database of the engine: a temp SQLite file, or a new PostgreSQL database created on the test server. */
export async function openTestDb(engine: 'sqlite' | 'pg' = 'sqlite'): Promise<Db> {
  if (engine === 'sqlite') return openDb({ databasePath: join(tempDir(), 'test.db') });
  return openDb({ databaseUrl: await freshPgUrl(), poolSize: 4 });
}

/** The URL of a new, empty PostgreSQL database on the test server (TEST_DATABASE_URL). */
export async function freshPgUrl(): Promise<string> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const name = `fb_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

/**
 * Where a collector started by a test keeps its data: a temp SQLite file, or with TEST_ENGINE=pg a fresh PostgreSQL
 * database (config keys as the collector reads them).
 */
export async function collectorDatabase(fileName = 'test.db'): Promise<{ DATABASE_PATH: string; DATABASE_URL?: string }> {
  const DATABASE_PATH = join(tempDir(), fileName);
  return process.env.TEST_ENGINE === 'pg' ? { DATABASE_PATH, DATABASE_URL: await freshPgUrl() } : { DATABASE_PATH };
}
