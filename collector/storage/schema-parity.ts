// Compile-time guard (npx tsc --noEmit) that the SQLite and PostgreSQL schemas describe the same tables, columns and row types.
// A failure names the offending table: "Type 'true' is not assignable to type '"leads"'".
import type * as sqlite from './schema.sqlite.js';
import type * as pg from './schema.pg.js';

type Sqlite = typeof sqlite;
type Pg = typeof pg;

/** Exact type equality (not mere mutual assignability: optional vs required and `any` are told apart). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type Shared = keyof Sqlite & keyof Pg;
/** SQL column name of every property: a table's property → column-name map. */
type ColumnNames<T extends { _: { columns: Record<string, { _: { name: string } }> } }> = {
  [C in keyof T['_']['columns']]: T['_']['columns'][C]['_']['name'];
};

/** The export names present in one schema file only. */
type OnlyInSqlite = Exclude<keyof Sqlite, keyof Pg>;
type OnlyInPg = Exclude<keyof Pg, keyof Sqlite>;
/** Tables whose SQL name differs. */
type TableNameMismatch = { [K in Shared]: Equal<Sqlite[K]['_']['name'], Pg[K]['_']['name']> extends true ? never : K }[Shared];
/** Tables whose property → column-name map differs. */
type ColumnNameMismatch = {
  [K in Shared]: Equal<ColumnNames<Sqlite[K]>, ColumnNames<Pg[K]>> extends true ? never : K;
}[Shared];
/** Tables whose selected row type differs. */
type SelectMismatch = { [K in Shared]: Equal<Sqlite[K]['$inferSelect'], Pg[K]['$inferSelect']> extends true ? never : K }[Shared];
/** Tables whose insert type differs (nullability, defaults). */
type InsertMismatch = { [K in Shared]: Equal<Sqlite[K]['$inferInsert'], Pg[K]['$inferInsert']> extends true ? never : K }[Shared];

/** Compiles only when the union is empty; otherwise the error shows its members. */
type NoneOf<T> = [T] extends [never] ? true : T;

export const schemaParity: {
  tablesOnlyInSqlite: NoneOf<OnlyInSqlite>;
  tablesOnlyInPg: NoneOf<OnlyInPg>;
  tableNames: NoneOf<TableNameMismatch>;
  columnNames: NoneOf<ColumnNameMismatch>;
  selectRows: NoneOf<SelectMismatch>;
  insertRows: NoneOf<InsertMismatch>;
} = {
  tablesOnlyInSqlite: true,
  tablesOnlyInPg: true,
  tableNames: true,
  columnNames: true,
  selectRows: true,
  insertRows: true,
};
