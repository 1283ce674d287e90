// Static Citus readiness: keys start with the distribution column, and citus.sql distributes every table exactly once.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { readPgSchema, readSqliteSchema } from './schema-shape.js';

/** Small tables read by key before a site is known; copied to every Citus worker instead of sharded. */
const REFERENCE_TABLES = ['sites', 'api_keys'];

const citusSql = readFileSync(new URL('../../collector/storage/citus.sql', import.meta.url), 'utf8');
const statements = (fn: string) =>
  [...citusSql.matchAll(new RegExp(`SELECT ${fn}\\('([a-z_]+)'(?:, '([a-z_]+)')?`, 'g'))].map((m) => ({ table: m[1], column: m[2] }));

describe.each([
  ['sqlite', readSqliteSchema()],
  ['pg', readPgSchema()],
] as const)('the %s schema is ready for Citus', (_engine, schema) => {
  const tables = Object.values(schema);
  const distributed = tables.filter((t) => !REFERENCE_TABLES.includes(t.name));

  test('every table has a primary key', () => {
    for (const t of tables) expect(t.primaryKey.length, t.name).toBeGreaterThan(0);
  });

  test('every distributed table has site_id as the first column of its primary key', () => {
    expect(distributed.length).toBeGreaterThanOrEqual(14);
    for (const t of distributed) expect(t.primaryKey[0], t.name).toBe('site_id');
  });

  test('every unique index of a distributed table starts with site_id', () => {
    const unique = distributed.flatMap((t) => t.indexes.filter((i) => i.unique).map((i) => ({ table: t.name, ...i })));
    expect(unique.length).toBeGreaterThan(0);
    for (const i of unique) expect(i.columns[0], `${i.table}.${i.name}`).toBe('site_id');
  });

  test('only the reference tables have keys without site_id in front', () => {
    const offenders = tables
      .filter((t) => t.primaryKey[0] !== 'site_id' || t.indexes.some((i) => i.unique && i.columns[0] !== 'site_id'))
      .map((t) => t.name);
    expect(offenders.every((name) => REFERENCE_TABLES.includes(name))).toBe(true);
  });
});

describe('collector/storage/citus.sql', () => {
  const tableNames = Object.values(readPgSchema()).map((t) => t.name).sort();

  test('makes exactly the reference tables reference tables', () => {
    expect(statements('create_reference_table').map((s) => s.table).sort()).toEqual([...REFERENCE_TABLES].sort());
  });

  test('distributes every other table by site_id, once', () => {
    const dist = statements('create_distributed_table');
    expect(dist.every((s) => s.column === 'site_id')).toBe(true);
    const names = dist.map((s) => s.table);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(tableNames.filter((n) => !REFERENCE_TABLES.includes(n)));
  });

  test('co-locates every distributed table with the first one', () => {
    const [first, ...rest] = statements('create_distributed_table').map((s) => s.table);
    for (const table of rest) {
      expect(citusSql).toContain(`create_distributed_table('${table}', 'site_id', colocate_with => '${first}')`);
    }
  });
});
