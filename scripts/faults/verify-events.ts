// After a fault run: every acknowledged event id is stored exactly once, and visitor counters agree with the rows.
import { openDb } from '../../collector/storage/open-db.js';

export interface Verification {
  acked: number;
  stored: number;
  missing: number;
  duplicated: number;
  /** visitors whose event_count differs from their stored events */
  countMismatch: number;
}

export async function verifyEvents(databasePath: string, acked: Set<string>): Promise<Verification> {
  const db = await openDb({ databasePath });
  try {
    const rows = await db.all<{ event_id: string; n: number }>('SELECT event_id, COUNT(*) AS n FROM events GROUP BY event_id');
    const stored = new Map(rows.map((r) => [r.event_id, Number(r.n)]));
    let missing = 0;
    for (const i of acked) if (!stored.has(i)) missing++;
    const duplicated = rows.filter((r) => Number(r.n) > 1).length;
    const mismatch = await db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM visitors v WHERE v.event_count <> (SELECT COUNT(*) FROM events e WHERE e.site_id = v.site_id AND e.visitor_id = v.visitor_id)`,
    );
    return { acked: acked.size, stored: rows.length, missing, duplicated, countMismatch: Number(mismatch?.n ?? 0) };
  } finally {
    await db.close();
  }
}
