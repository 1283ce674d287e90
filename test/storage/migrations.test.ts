// Committed migrations: idempotent, in step with the drizzle schema, and safe when several collectors start at once.
import { afterEach, describe, expect, test } from 'vitest';
import { openDb } from '../../collector/storage/open-db.js';
import type { Db } from '../../collector/storage/db.js';
import type { PgDb } from '../../collector/storage/pg-db.js';
import type { SqliteDb } from '../../collector/storage/sqlite-db.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { readPgSchema, readSqliteSchema } from './schema-shape.js';
import { DAY_COUNT_TABLES, TOUCH_DAY_COUNT_TABLES } from '../../collector/storage/stage-day-counts.js';

/** Where an open test database lives, to open it again the way a second collector would. */
const reopen = (db: Db) =>
  db.dialect === 'pg'
    ? openDb({ databaseUrl: (db as PgDb).pool.options.connectionString!, poolSize: 2 })
    : openDb({ databasePath: (db as SqliteDb).raw.name });

const appliedMigrations = async (db: Db) =>
  Number(
    (await db.get<{ n: number }>(
      db.dialect === 'pg' ? 'SELECT COUNT(*) AS n FROM drizzle.__drizzle_migrations' : 'SELECT COUNT(*) AS n FROM __drizzle_migrations',
    ))!.n,
  );

/** Tables → sorted column names, read back from the live database. */
async function readLiveColumns(db: Db): Promise<Record<string, string[]>> {
  const rows =
    db.dialect === 'pg'
      ? await db.all<{ t: string; c: string }>(
          `SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'public'`,
        )
      : await db.all<{ t: string; c: string }>(
          `SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p
           WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__drizzle%'`,
        );
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[r.t] ??= []).push(r.c);
  for (const cols of Object.values(out)) cols.sort();
  return out;
}

async function readLiveIndexes(db: Db): Promise<string[]> {
  const rows =
    db.dialect === 'pg'
      ? await db.all<{ name: string }>(`SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT i.indisprimary`)
      : await db.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'`);
  return rows.map((r) => r.name).sort();
}

describe.each(ENGINES)('migrations on %s', (engine) => {
  const open: Db[] = [];
  const track = <T extends Db>(db: T) => (open.push(db), db);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((db) => db.close()));
  });

  test('create exactly the tables and columns the drizzle schema declares', async () => {
    const db = track(await openTestDb(engine));
    const schema = engine === 'pg' ? readPgSchema() : readSqliteSchema();
    const declared = Object.fromEntries(Object.values(schema).map((t) => [t.name, t.columns.map((c) => c.name).sort()]));
    // SQLite also has the funnel report's day counts, made by migrations 0007 and 0011's own SQL (with their triggers)
    if (engine === 'sqlite') {
      for (const t of DAY_COUNT_TABLES) declared[t] = ['day', 'n', 'site_id', 'stage'];
      const keys = ['campaign', 'channel', 'medium', 'source'];
      declared.lead_touch_days = declared.stage_entry_touch_days = [...keys, 'day', 'n', 'site_id', 'stage', 'touch'].sort();
      declared.stage_dwell_touches = [...keys, 'd', 'from_at', 'lead_id', 'site_id', 'stage', 'to_stage', 'touch'].sort();
      expect(Object.keys(declared).filter((t) => t.includes('touch')).sort()).toEqual([...TOUCH_DAY_COUNT_TABLES].sort());
    }
    expect(await readLiveColumns(db)).toEqual(declared);
  });

  test('create every index the drizzle schema declares', async () => {
    const db = track(await openTestDb(engine));
    const schema = engine === 'pg' ? readPgSchema() : readSqliteSchema();
    const declared = Object.values(schema).flatMap((t) => t.indexes.map((i) => i.name)).sort();
    expect(await readLiveIndexes(db)).toEqual(declared);
  });

  test('applied a second time change nothing and keep the data', async () => {
    const db = track(await openTestDb(engine));
    const before = await appliedMigrations(db);
    expect(before).toBeGreaterThan(0);
    await db.run("INSERT INTO site_config (site_id, kind, body, updated_at) VALUES ('s', 'funnel', '{}', 1)");
    const again = track(await reopen(db));
    expect(await appliedMigrations(again)).toBe(before);
    expect(await again.all('SELECT body FROM site_config')).toEqual([{ body: '{}' }]);
  });

  test.runIf(engine === 'pg')('four collectors opening one new database at once apply the migrations once', async () => {
    const db = track(await openTestDb(engine));
    const url = new URL((db as PgDb).pool.options.connectionString!);
    const admin = new URL(url);
    url.pathname = `/${url.pathname.slice(1)}_fresh`;
    await db.run(`CREATE DATABASE ${url.pathname.slice(1)}`);
    const collectors = await Promise.all(
      Array.from({ length: 4 }, () => openDb({ databaseUrl: url.toString(), poolSize: 2 }).then(track)),
    );
    expect(await appliedMigrations(collectors[0])).toBe(await appliedMigrations(db));
    expect(Object.keys(await readLiveColumns(collectors[3]))).toContain('events');
    expect(admin.pathname).not.toBe(url.pathname);
  });
});
