// Multi-row statements for the set-based writes of a flush.
// SQLite (in process, no round trips): chunks of a few fixed sizes (powers of two), so each statement text is prepared
// once and n rows take one statement per bit of n: a statement costs more than a few more rows in it.
// PostgreSQL: every statement is a round trip over the network, which costs far more than parsing a new text, so the
// rows go in one statement (up to PG_ROWS; the executor names only its first texts, see pg-db.ts).
const SIZES = [64, 32, 16, 8, 4, 2, 1] as const;
/** rows per PostgreSQL statement: 1,000 rows of the widest table (events, 29 columns) stay under its 65,535 parameters */
export const PG_ROWS = 1000;

/** Splits rows into chunks: sizes 64, 32, 16, 8, 4, 2 or 1 on SQLite; up to PG_ROWS per chunk on PostgreSQL. */
export function chunkRows<T>(rows: readonly T[], dialect: 'sqlite' | 'pg' = 'sqlite'): T[][] {
  const out: T[][] = [];
  let i = 0;
  while (i < rows.length) {
    const left = rows.length - i;
    const size = dialect === 'pg' ? Math.min(left, PG_ROWS) : SIZES.find((s) => s <= left)!;
    out.push(rows.slice(i, i + size));
    i += size;
  }
  return out;
}

const cache = new Map<string, string>();

/** `(?, ?, ?), (?, ?, ?)` for n rows of width columns. */
export function valuesSql(width: number, n: number): string {
  const key = width + ':' + n;
  let sql = cache.get(key);
  if (!sql) {
    const row = '(' + Array(width).fill('?').join(', ') + ')';
    sql = Array(n).fill(row).join(', ');
    cache.set(key, sql);
  }
  return sql;
}

/** `?, ?, ?` for an IN list of n values. */
export const listSql = (n: number) => Array(n).fill('?').join(', ');

/**
 * The parameters of many rows in one flat list. A plain loop: Array.prototype.flatMap (and flat) take about 3 µs per
 * row on node 20, more than SQLite takes to insert a small row.
 */
export function flatRows<T>(rows: readonly T[], toRow: (row: T) => readonly unknown[], out: unknown[] = []): unknown[] {
  for (const row of rows) for (const v of toRow(row)) out.push(v);
  return out;
}

/**
 * A statement text per row count, built once and then the very same string: the statement cache finds it without
 * building, flattening and hashing a text of a few kilobytes again (about 3 µs a statement). Counts past the SQLite
 * chunk sizes (a large PostgreSQL flush) are built each time, as they rarely repeat.
 */
export function sqlForRows(build: (rows: number) => string): (rows: number) => string {
  const texts = new Map<number, string>();
  return (rows) => {
    let sql = texts.get(rows);
    if (sql === undefined) {
      sql = build(rows);
      if (rows <= SIZES[0]) texts.set(rows, sql);
    }
    return sql;
  };
}
