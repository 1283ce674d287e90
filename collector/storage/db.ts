// The one door to SQL: a tiny executor over SQLite (better-sqlite3) or PostgreSQL (pg), same SQL text for both.
// Queries are written with `?` placeholders in portable SQL; PostgreSQL gets them renumbered to $n.
// Statements are prepared once per SQL text and reused (SQLite statement cache, pg named statements).
export type Dialect = 'sqlite' | 'pg';

export interface Db {
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Runs fn inside one transaction on one connection; commits if it resolves, rolls back if it throws. Resolves once
   * the commit is durable. `onCommitted` runs as soon as the commit is done and the connection is free for the next
   * transaction, which may then overlap this one's wait for the disk (SQLite's shared WAL sync).
   */
  transaction<T>(fn: (tx: Db) => Promise<T>, onCommitted?: () => void): Promise<T>;
  close(): Promise<void>;
}

/** Renumbers `?` placeholders to `$1..$n`, skipping quoted strings. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else out += ch;
  }
  return out;
}

/** SQL fragments that differ between engines. Everything else is written once. */
export function dialectSql(dialect: Dialect) {
  return {
    /** larger of two values */
    greatest: (a: string, b: string) => (dialect === 'pg' ? `GREATEST(${a}, ${b})` : `max(${a}, ${b})`),
    least: (a: string, b: string) => (dialect === 'pg' ? `LEAST(${a}, ${b})` : `min(${a}, ${b})`),
    /** case-insensitive LIKE */
    ilike: dialect === 'pg' ? 'ILIKE' : 'LIKE',
  };
}
