// A visitor's stored session merged into an earlier one: a late event showed the two to be one visit (ingest/late-events.ts
// mergeBridgedSessions), as they would have been had its events come in time order.
import type { Db } from './db.js';
import type { SessionMerge } from '../ingest/late-events.js';

const OPENERS_SQL = `SELECT lead_id, SUM(CASE WHEN first_touch IS NOT NULL AND source = 'web' THEN 1 ELSE 0 END) AS openers
  FROM events WHERE site_id = ? AND visitor_id = ? AND session_id = ? GROUP BY lead_id`;
const MOVE_EVENTS_SQL = `UPDATE events SET session_id = ?, first_touch = NULL WHERE site_id = ? AND visitor_id = ? AND session_id = ?`;
const MOVE_CURRENT_SQL = `UPDATE visitors SET session_id = ?, session_started = ?, session_campaign = ?
  WHERE site_id = ? AND visitor_id = ? AND session_id = ?`;

/**
 * Moves the events of a visitor's later sessions into the earlier ones (`merges` in order): they take the earlier
 * session's id and none opens a session any more (first_touch, which only a session's opening event carries, cleared),
 * the visitor's session count loses the sessions so closed, and its current session, when it was a later one, is the
 * earlier one. PostgreSQL: the visitor's row is locked first, so another collector's flush writing the visitor commits
 * before the events are read and moved. Resolves to the leads whose events moved (their folds count sessions).
 */
export async function mergeStoredSessions(tx: Db, siteId: string, visitorId: string, merges: readonly SessionMerge[]): Promise<Set<string>> {
  const leads = new Set<string>();
  if (merges.length === 0) return leads;
  if (tx.dialect === 'pg') await tx.get('SELECT 1 FROM visitors WHERE site_id = ? AND visitor_id = ? FOR UPDATE', [siteId, visitorId]);
  let openers = 0;
  for (const m of merges) {
    const rows = await tx.all<{ lead_id: string | null; openers: number | string }>(OPENERS_SQL, [siteId, visitorId, m.from]);
    for (const r of rows) {
      if (r.lead_id !== null) leads.add(r.lead_id);
      openers += Number(r.openers);
    }
    if (rows.length) await tx.run(MOVE_EVENTS_SQL, [m.into, siteId, visitorId, m.from]);
    await tx.run(MOVE_CURRENT_SQL, [m.into, m.intoStarted, m.intoCampaign, siteId, visitorId, m.from]);
  }
  if (openers) await tx.run('UPDATE visitors SET session_count = session_count - ? WHERE site_id = ? AND visitor_id = ?', [openers, siteId, visitorId]);
  return leads;
}

/**
 * PostgreSQL: puts a visitor's row on session `to` when it holds session `from` (session-bridge.ts rejoinMerged: an
 * update that went on in `to` found the row on an earlier one, but `to` was not merged away).
 */
export async function moveCurrentSession(tx: Db, siteId: string, visitorId: string, from: string, to: { sessionId: string; started: number; campaign: string }): Promise<void> {
  await tx.run(MOVE_CURRENT_SQL, [to.sessionId, to.started, to.campaign, siteId, visitorId, from]);
}
