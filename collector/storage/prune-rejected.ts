// Keeps the rejected-events store under a total row cap by deleting its oldest rows, in small batches.
import type { Db } from './db.js';

export async function countAllRejected(db: Db): Promise<number> {
  const r = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM rejected_events');
  return Number(r?.n ?? 0);
}

/** Deletes the oldest rows over `maxRows`, at most `batch` per statement so no write lock is held for long. */
export async function pruneRejected(db: Db, maxRows: number, batch = 2000): Promise<number> {
  let excess = (await countAllRejected(db)) - maxRows;
  let deleted = 0;
  while (excess > 0) {
    const n = await db.run(
      `DELETE FROM rejected_events WHERE (site_id, rejected_id) IN
         (SELECT site_id, rejected_id FROM rejected_events ORDER BY received_at, rejected_id LIMIT ?)`,
      [Math.min(batch, excess)],
    );
    if (n === 0) break;
    deleted += n;
    excess -= n;
  }
  return deleted;
}
