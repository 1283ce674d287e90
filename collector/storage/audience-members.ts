// Segment members for exports: keyset pages over segment_members ⋈ leads, with the ad-platform suppression filter.
import type { Db } from './db.js';

export interface AudienceMemberRow {
  lead_id: string;
  visitor_id?: string | null;
  email: string | null;
  stage: string;
  score: number;
  traits: string;
  /** with `withScore`: when the score was last stored (its decay starts there) and the fold state that holds it exactly */
  score_at?: number;
  state?: string;
}

export interface AudienceQuery {
  siteId: string;
  segmentKey: string;
  /**
   * Ad-platform lists: identified leads only, and never customers (stage `purchase` or the `customers`
   * segment), leads that opted out, or leads flagged as bots. The `customers` segment itself is the suppression
   * list that is uploaded as an exclusion audience: its platform list keeps its customers.
   */
  platform: boolean;
}

/** The segment that marks customers for suppression (a preset of every site). */
export const CUSTOMERS_SEGMENT = 'customers';
const CUSTOMER_STAGE = 'purchase';

const FROM = 'FROM segment_members m JOIN leads l ON l.site_id = m.site_id AND l.lead_id = m.lead_id';
const WHERE = 'WHERE m.site_id = ? AND m.segment_key = ?';
const PLATFORM_FILTER = `AND l.email IS NOT NULL AND l.email <> '' AND l.opted_out = 0 AND l.is_bot = 0`;
const NO_CUSTOMERS = `AND l.stage <> ?
  AND NOT EXISTS (SELECT 1 FROM segment_members c WHERE c.site_id = m.site_id AND c.segment_key = ? AND c.lead_id = m.lead_id)`;
/** The filter of a list (none for json/csv) and its parameters. */
const suppressCustomers = (q: AudienceQuery) => q.platform && q.segmentKey !== CUSTOMERS_SEGMENT;
const filterSql = (q: AudienceQuery) => (q.platform ? `${PLATFORM_FILTER} ${suppressCustomers(q) ? NO_CUSTOMERS : ''}` : '');
// `+v.last_seen` keeps SQLite on the (site_id, lead_id) index: sorting by the bare column made it walk the site's
// whole (site_id, last_seen) index for every member, which is quadratic in the number of visitors.
const LATEST_VISITOR = `(SELECT v.visitor_id FROM visitors v WHERE v.site_id = m.site_id AND v.lead_id = m.lead_id
  ORDER BY +v.last_seen DESC, v.visitor_id DESC LIMIT 1) AS visitor_id`;

const filterParams = (q: AudienceQuery) => (suppressCustomers(q) ? [CUSTOMER_STAGE, CUSTOMERS_SEGMENT] : []);

export async function hasSegment(db: Db, siteId: string, segmentKey: string): Promise<boolean> {
  return !!(await db.get('SELECT 1 AS one FROM segments WHERE site_id = ? AND segment_key = ?', [siteId, segmentKey]));
}

export async function countAudienceMembers(db: Db, q: AudienceQuery): Promise<number> {
  const row = await db.get<{ n: number }>(
    `SELECT COUNT(*) AS n ${FROM} ${WHERE} ${filterSql(q)}`,
    [q.siteId, q.segmentKey, ...filterParams(q)],
  );
  return Number(row?.n ?? 0);
}

/** Up to `limit` members with lead ids after `afterLeadId` (start with ''), in lead id order. */
export async function listAudienceMembersPage(
  db: Db,
  q: AudienceQuery & { afterLeadId: string; limit: number; withVisitor: boolean; withScore?: boolean },
): Promise<AudienceMemberRow[]> {
  const cols = `m.lead_id, l.email, l.stage, l.score, l.traits${q.withScore ? ', l.score_at, l.state' : ''}${q.withVisitor ? ', ' + LATEST_VISITOR : ''}`;
  return db.all<AudienceMemberRow>(
    `SELECT ${cols} ${FROM} ${WHERE} AND m.lead_id > ? ${filterSql(q)} ORDER BY m.lead_id LIMIT ?`,
    [q.siteId, q.segmentKey, q.afterLeadId, ...filterParams(q), q.limit],
  );
}
