// What the compile-time parity check (collector/storage/schema-parity.ts) cannot see: SQL kinds, defaults, keys and indexes.
import { describe, expect, test } from 'vitest';
import { readPgSchema, readSqliteSchema } from './schema-shape.js';

describe('SQLite and PostgreSQL schemas', () => {
  const sqlite = readSqliteSchema();
  const pg = readPgSchema();

  test('declare the same tables', () => {
    expect(Object.keys(pg).sort()).toEqual(Object.keys(sqlite).sort());
    expect(Object.keys(sqlite).length).toBeGreaterThanOrEqual(16);
  });

  test.each(Object.keys(sqlite))('table %s has the same columns, kinds, nullability and defaults on both engines', (table) => {
    expect(pg[table].name).toBe(sqlite[table].name);
    expect(pg[table].columns).toEqual(sqlite[table].columns);
  });

  test.each(Object.keys(sqlite))('table %s has the same primary key and indexes on both engines', (table) => {
    expect(pg[table].primaryKey).toEqual(sqlite[table].primaryKey);
    expect(pg[table].indexes).toEqual(sqlite[table].indexes);
  });
});
