// Scans every value of every table (SQLite or PostgreSQL): the privacy tests search it for what must not be there.
import { expect } from 'vitest';
import type { Db } from '../../collector/storage/db.js';

export interface Found {
  table: string;
  column: string;
  value: string;
}

async function listColumns(db: Db): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const add = (t: string, c: string) => (out.get(t) ?? out.set(t, []).get(t)!).push(c);
  if (db.dialect === 'pg') {
    const rows = await db.all<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name NOT LIKE '__drizzle%'`,
    );
    for (const r of rows) add(r.table_name, r.column_name);
    return out;
  }
  const tables = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'");
  for (const { name } of tables) for (const c of await db.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', [name])) add(name, c.name);
  return out;
}

/** Every cell, as text, that satisfies `match`. */
export async function scanDb(db: Db, match: (value: string) => boolean): Promise<Found[]> {
  const found: Found[] = [];
  const tables = await listColumns(db);
  expect(tables.size).toBeGreaterThan(10);
  for (const [table, columns] of tables) {
    for (const column of columns) {
      const rows = await db.all<{ v: unknown }>(`SELECT "${column}" AS v FROM "${table}" WHERE "${column}" IS NOT NULL`);
      for (const r of rows) {
        const value = String(r.v);
        if (match(value)) found.push({ table, column, value: value.slice(0, 200) });
      }
    }
  }
  return found;
}
