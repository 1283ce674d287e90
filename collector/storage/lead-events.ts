// Events as the funnel engine reads and marks them: a lead's events for a rebuild, and the attribution mark.
import type { Db } from './db.js';
import { EVENT_COLUMNS, rowToEvent } from './events.js';
import type { StoredEvent } from '../ingest/types.js';

const MARK = 'UPDATE events SET lead_id = ?, attributed = 1 WHERE site_id = ? AND event_id = ?';

// PostgreSQL: every mark of a flush in one statement (a round trip per event would dominate the flush).
const MARK_MANY_PG = `UPDATE events SET lead_id = m.lead_id, attributed = 1
  FROM UNNEST(?::text[], ?::text[]) AS m(event_id, lead_id) WHERE events.site_id = ? AND events.event_id = m.event_id`;

/** Ties each event to its lead and marks it attributed (a later mark of the same event wins). */
export async function markEventsAttributed(db: Db, siteId: string, marks: ReadonlyArray<readonly [eventId: string, leadId: string]>): Promise<void> {
  if (db.dialect === 'pg' && marks.length > 1) {
    const last = new Map(marks); // one row per event, as UPDATE … FROM needs; sorted so concurrent flushes lock in one order
    const ids = [...last.keys()].sort();
    await db.run(MARK_MANY_PG, [ids, ids.map((id) => last.get(id)!), siteId]);
    return;
  }
  for (const [eventId, leadId] of marks) await db.run(MARK, [leadId, siteId, eventId]);
}

/**
 * Undoes the insert-time attribution mark of events whose attribution failed: they become unattributed again (web
 * events lose their guessed lead; server events keep the lead they named) and replay picks them up.
 */
export async function unmarkEvents(db: Db, siteId: string, eventIds: readonly string[]): Promise<void> {
  for (const id of eventIds) {
    await db.run(
      "UPDATE events SET attributed = 0, lead_id = CASE WHEN source = 'server' THEN lead_id ELSE NULL END WHERE site_id = ? AND event_id = ?",
      [siteId, id],
    );
  }
}

/** Every attributed event of a lead (bots excluded), for a rebuild of its stage and score. */
export async function listLeadFoldEvents(db: Db, siteId: string, leadId: string): Promise<StoredEvent[]> {
  const rows = await db.all<Record<string, unknown>>(
    `SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE site_id = ? AND lead_id = ? AND attributed = 1 AND is_bot = 0 ORDER BY at, event_id`,
    [siteId, leadId],
  );
  return rows.map(rowToEvent);
}

/** Events the given ids name that are stored but not attributed (replay and recovery). */
export async function listUnattributed(db: Db, siteId: string, limit: number): Promise<StoredEvent[]> {
  const rows = await db.all<Record<string, unknown>>(
    `SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE site_id = ? AND attributed = 0 AND is_bot = 0 ORDER BY at, event_id LIMIT ?`,
    [siteId, limit],
  );
  return rows.map(rowToEvent);
}

/** Which of these event ids the site already stored (retried server events), with their lead. */
export async function findStoredEvents(db: Db, siteId: string, eventIds: readonly string[]): Promise<Map<string, string | null>> {
  const found = new Map<string, string | null>();
  for (const id of eventIds) {
    const r = await db.get<{ lead_id: string | null }>('SELECT lead_id FROM events WHERE site_id = ? AND event_id = ?', [siteId, id]);
    if (r) found.set(id, r.lead_id);
  }
  return found;
}
