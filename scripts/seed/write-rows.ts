// Bulk writes for the seed: multi-row INSERTs through the Db executor, and (SQLite) index rebuilds around a big load.
import type { Db } from '../../collector/storage/db.js';

/** Most bound parameters per statement we use on either engine (SQLite allows 32766, PostgreSQL 65535). */
const MAX_PARAMS = 30_000;

export async function insertMany(tx: Db, table: string, columns: readonly string[], rows: unknown[][]): Promise<void> {
  const perStatement = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / columns.length)));
  const one = `(${columns.map(() => '?').join(', ')})`;
  const head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const params: unknown[] = [];
    for (const r of chunk) for (const v of r) params.push(v);
    await tx.run(head + Array.from({ length: chunk.length }, () => one).join(', ') + ' ON CONFLICT DO NOTHING', params);
  }
}

export interface IndexDef {
  name: string;
  sql: string;
}

/** SQLite: drops the secondary indexes of `tables` (rebuilding them once after a bulk load is far faster). */
export async function dropIndexes(db: Db, tables: readonly string[]): Promise<IndexDef[]> {
  if (db.dialect !== 'sqlite') return [];
  const defs = await db.all<IndexDef>(
    `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')})`,
    tables,
  );
  for (const d of defs) await db.run(`DROP INDEX IF EXISTS "${d.name.replace(/"/g, '""')}"`);
  return defs;
}

export async function createIndexes(db: Db, defs: readonly IndexDef[]): Promise<void> {
  for (const d of defs) await db.run(d.sql);
}
