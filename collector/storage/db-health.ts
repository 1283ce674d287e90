// The database as /healthz and /metrics see it: whether it answers, and its size in bytes.
import type { Db } from './db.js';

export async function getDatabaseBytes(db: Db): Promise<number> {
  const sql =
    db.dialect === 'pg'
      ? 'SELECT pg_database_size(current_database()) AS n'
      : 'SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()';
  return Number((await db.get<{ n: number }>(sql))?.n ?? 0);
}

/** Resolves when the database answers a trivial query; rejects when it does not. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.get('SELECT 1 AS one');
}
