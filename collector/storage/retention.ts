// Retention: finds anonymous visitors unseen since a cutoff and deletes them with their events and anonymous leads.
// A visitor counts as anonymous when its lead has no email, no event of it carries an email, and no identity link
// ties it to any other lead; anything that might belong to a known person is kept. It counts as unseen when neither it
// nor its lead has an event since the cutoff: a CRM's event naming the lead (`srv:<leadId>`) or the device does not
// move the device's last_seen, and a deal the CRM sent last week must not go with a visit of last year.
import type { Db } from './db.js';
import { listSql } from './multi-row.js';
import { purgeTombstones } from './erasure-tombstones.js';

export interface ExpiredVisitor {
  visitorId: string;
  leadId: string | null;
}

export interface PurgeCounts {
  visitors: number;
  events: number;
  leads: number;
  other: number;
}


const EXPIRED_SQL = `SELECT v.visitor_id, v.lead_id FROM visitors v
  LEFT JOIN leads l ON l.site_id = v.site_id AND l.lead_id = v.lead_id
  WHERE v.site_id = ? AND v.last_seen < ? AND l.email IS NULL
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.site_id = v.site_id AND e.visitor_id = v.visitor_id AND e.email IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM identity_links i WHERE i.site_id = v.site_id AND i.visitor_id = v.visitor_id
                    AND (i.email IS NOT NULL OR v.lead_id IS NULL OR i.lead_id <> v.lead_id))
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.site_id = v.site_id AND e.visitor_id = v.visitor_id AND e.at >= ?)
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.site_id = v.site_id AND e.lead_id = v.lead_id AND e.at >= ?)`;

export async function listSiteIds(db: Db): Promise<string[]> {
  return (await db.all<{ site_id: string }>('SELECT site_id FROM sites ORDER BY site_id')).map((r) => r.site_id);
}

/** Up to `limit` anonymous visitors of the site whose last activity is before `cutoff`, oldest first. */
export async function listExpiredVisitors(db: Db, siteId: string, cutoff: number, limit: number): Promise<ExpiredVisitor[]> {
  const rows = await db.all<{ visitor_id: string; lead_id: string | null }>(`${EXPIRED_SQL} ORDER BY v.last_seen LIMIT ?`, [siteId, cutoff, cutoff, cutoff, limit]);
  return rows.map((r) => ({ visitorId: r.visitor_id, leadId: r.lead_id }));
}

/**
 * Inside one transaction: re-checks the candidates (one may have come back since they were listed), then deletes them
 * with their events, identity links and anonymous leads and everything keyed by those leads.
 */
export async function purgeVisitors(tx: Db, siteId: string, cutoff: number, candidates: string[]): Promise<PurgeCounts> {
  const c: PurgeCounts = { visitors: 0, events: 0, leads: 0, other: 0 };
  if (!candidates.length) return c;
  const lock = tx.dialect === 'pg' ? ' FOR UPDATE OF v' : '';
  const still = await tx.all<{ visitor_id: string; lead_id: string | null }>(
    `${EXPIRED_SQL} AND v.visitor_id IN (${listSql(candidates.length)})${lock}`,
    [siteId, cutoff, cutoff, cutoff, ...candidates],
  );
  if (!still.length) return c;
  const visitors = still.map((r) => r.visitor_id);
  const vs = listSql(visitors.length);
  // an anonymous lead goes only when no visitor outside this batch still points to it
  const leadIds = [...new Set(still.map((r) => r.lead_id).filter((l): l is string => !!l))];
  let leads: string[] = [];
  if (leadIds.length) {
    const kept = await tx.all<{ lead_id: string }>(
      `SELECT DISTINCT lead_id FROM visitors WHERE site_id = ? AND lead_id IN (${listSql(leadIds.length)}) AND visitor_id NOT IN (${vs})`,
      [siteId, ...leadIds, ...visitors],
    );
    const keep = new Set(kept.map((k) => k.lead_id));
    leads = leadIds.filter((l) => !keep.has(l));
  }
  c.events += await tx.run(`DELETE FROM events WHERE site_id = ? AND visitor_id IN (${vs})`, [siteId, ...visitors]);
  c.other += await tx.run(`DELETE FROM identity_links WHERE site_id = ? AND visitor_id IN (${vs})`, [siteId, ...visitors]);
  if (leads.length) {
    const ls = listSql(leads.length);
    c.events += await tx.run(`DELETE FROM events WHERE site_id = ? AND lead_id IN (${ls})`, [siteId, ...leads]);
    c.other += await tx.run(`DELETE FROM identity_links WHERE site_id = ? AND lead_id IN (${ls})`, [siteId, ...leads]);
    for (const table of ['stage_changes', 'score_changes', 'segment_changes', 'segment_rechecks']) {
      c.other += await tx.run(`DELETE FROM ${table} WHERE site_id = ? AND lead_id IN (${ls})`, [siteId, ...leads]);
    }
    // live member counts drop with the memberships
    await tx.run(
      `UPDATE segments SET member_count = member_count -
         (SELECT COUNT(*) FROM segment_members m WHERE m.site_id = segments.site_id AND m.segment_key = segments.segment_key AND m.lead_id IN (${ls}))
       WHERE site_id = ?`,
      [...leads, siteId],
    );
    c.other += await tx.run(`DELETE FROM segment_members WHERE site_id = ? AND lead_id IN (${ls})`, [siteId, ...leads]);
    c.leads += await tx.run(`DELETE FROM leads WHERE site_id = ? AND email IS NULL AND lead_id IN (${ls})`, [siteId, ...leads]);
  }
  c.visitors += await tx.run(`DELETE FROM visitors WHERE site_id = ? AND visitor_id IN (${vs})`, [siteId, ...visitors]);
  return c;
}

/**
 * Rows that only ever hold copies of input or payloads: kept no longer than the visitors they may describe. Erasure
 * tombstones go after as long: a beacon event that old is refused anyway (7 days), a backfill that old is let in.
 */
export async function purgeOldCopies(db: Db, cutoff: number): Promise<number> {
  let n = await db.run('DELETE FROM rejected_events WHERE received_at < ?', [cutoff]);
  n += await db.run("DELETE FROM webhook_deliveries WHERE created_at < ? AND status IN ('delivered', 'failed')", [cutoff]);
  n += await purgeTombstones(db, cutoff);
  return n;
}
