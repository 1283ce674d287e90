// Scans every text value of every table of a SQLite database: the privacy tests search it for what must not be there.
import { expect } from 'vitest';
import type { Db } from '../../collector/storage/db.js';

export interface Found {
  table: string;
  column: string;
  value: string;
}

/** Every cell, as text, that satisfies `match`. */
export async function scanDb(db: Db, match: (value: string) => boolean): Promise<Found[]> {
  const found: Found[] = [];
  const tables = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'");
  expect(tables.length).toBeGreaterThan(10);
  for (const { name } of tables) {
    const cols = await db.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', [name]);
    for (const { name: column } of cols) {
      const rows = await db.all<{ v: unknown }>(`SELECT "${column}" AS v FROM "${name}" WHERE "${column}" IS NOT NULL`);
      for (const r of rows) {
        const value = String(r.v);
        if (match(value)) found.push({ table: name, column, value: value.slice(0, 200) });
      }
    }
  }
  return found;
}
