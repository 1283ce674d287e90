// Multi-row statements for the funnel engine's set-based writes: rows go in chunks of a few fixed sizes, so each
// statement text is prepared once and a flush costs a handful of round trips on PostgreSQL.
const SIZES = [64, 16, 4, 1] as const;

/** Splits rows into chunks whose sizes are 64, 16, 4 or 1. */
export function chunkRows<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  let i = 0;
  while (i < rows.length) {
    const left = rows.length - i;
    const size = SIZES.find((s) => s <= left)!;
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
