// Reads both drizzle schemas into plain data (tables, columns, keys, indexes) so tests can compare them and check Citus rules.
import { getTableConfig as getSqliteTable, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { getTableConfig as getPgTable, PgTable } from 'drizzle-orm/pg-core';
import * as sqliteSchema from '../../collector/storage/schema.sqlite.js';
import * as pgSchema from '../../collector/storage/schema.pg.js';

export interface ColumnShape { name: string; kind: 'text' | 'integer' | 'real'; notNull: boolean; default: unknown }
export interface IndexShape { name: string; columns: string[]; unique: boolean }
export interface TableShape { name: string; columns: ColumnShape[]; primaryKey: string[]; indexes: IndexShape[] }

/** Both engines' column types reduced to the portable kinds the storage code relies on. */
const KINDS: Record<string, ColumnShape['kind']> = {
  text: 'text',
  integer: 'integer',
  bigint: 'integer',
  real: 'real',
  'double precision': 'real',
};

const kindOf = (sqlType: string): ColumnShape['kind'] => {
  const kind = KINDS[sqlType];
  if (!kind) throw new Error(`column type ${sqlType} has no portable kind`);
  return kind;
};

const columnName = (c: unknown) => (typeof c === 'string' ? c : (c as { name: string }).name);

type AnyConfig = {
  name: string;
  columns: Array<{ name: string; getSQLType(): string; notNull: boolean; default: unknown; primary: boolean }>;
  primaryKeys: Array<{ columns: Array<{ name: string }> }>;
  indexes: Array<{ config: { name: string; columns: unknown[]; unique: boolean } }>;
};

const toShape = (t: AnyConfig): TableShape => {
  const inline = t.columns.filter((c) => c.primary).map((c) => c.name);
  const composite = t.primaryKeys[0]?.columns.map((c) => c.name) ?? [];
  return {
    name: t.name,
    columns: t.columns.map((c) => ({ name: c.name, kind: kindOf(c.getSQLType()), notNull: c.notNull, default: c.default })),
    primaryKey: composite.length ? composite : inline,
    indexes: t.indexes
      .map((i) => ({ name: i.config.name, columns: i.config.columns.map(columnName), unique: i.config.unique }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
};

export function readSqliteSchema(): Record<string, TableShape> {
  return Object.fromEntries(
    Object.entries(sqliteSchema)
      .filter(([, v]) => v instanceof SQLiteTable)
      .map(([k, v]) => [k, toShape(getSqliteTable(v as SQLiteTable) as unknown as AnyConfig)]),
  );
}

export function readPgSchema(): Record<string, TableShape> {
  return Object.fromEntries(
    Object.entries(pgSchema)
      .filter(([, v]) => v instanceof PgTable)
      .map(([k, v]) => [k, toShape(getPgTable(v as PgTable) as unknown as AnyConfig)]),
  );
}
