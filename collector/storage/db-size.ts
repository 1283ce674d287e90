// Size of the database in bytes, for /metrics.
import type { Db } from './db.js';

export async function getDatabaseBytes(db: Db): Promise<number> {
  const sql =
    db.dialect === 'pg'
      ? 'SELECT pg_database_size(current_database()) AS n'
      : 'SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()';
  return Number((await db.get<{ n: number }>(sql))?.n ?? 0);
}
