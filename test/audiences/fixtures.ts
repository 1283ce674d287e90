// Fixture factories for export tests: a site with keys, leads with traits, visitors, segments and members (rows as the brief defines them).
import { randomBytes } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import { createKey, createSite } from '../../collector/admin.js';
import type { Scope } from '../../shared/scopes.js';

export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
let counter = 0;
/** Lead ids sort in creation order, like keyset pagination reads them. */
export const nextLeadId = () => `lead_${String(++counter).padStart(7, '0')}_${randomBytes(3).toString('hex')}`;

export async function makeSiteWithKey(db: Db, scopes: Scope[] = ['audiences:read']) {
  const site = await createSite(db, { domain: `site${++counter}.example.com` }, T0);
  const key = await createKey(db, site.siteId, scopes, T0);
  return { siteId: site.siteId, secret: key.secret, auth: { authorization: `Bearer ${key.secret}` } };
}

export interface LeadFixture {
  leadId?: string;
  email?: string | null;
  traits?: Record<string, unknown>;
  stage?: string;
  score?: number;
  optedOut?: boolean;
  isBot?: boolean;
}

export async function makeLead(db: Db, siteId: string, lead: LeadFixture = {}): Promise<string> {
  const leadId = lead.leadId ?? nextLeadId();
  await db.run(
    `INSERT INTO leads (site_id, lead_id, email, traits, stage, stage_rank, stage_at, score, score_at, created_at, updated_at, opted_out, is_bot)
     VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)`,
    [siteId, leadId, lead.email === undefined ? `${leadId}@example.com` : lead.email, JSON.stringify(lead.traits ?? {}),
      lead.stage ?? 'interest', T0, lead.score ?? 0, T0, T0, T0, lead.optedOut ? 1 : 0, lead.isBot ? 1 : 0],
  );
  return leadId;
}

export async function makeVisitor(db: Db, siteId: string, leadId: string, visitorId: string, lastSeen: number) {
  await db.run(
    `INSERT INTO visitors (site_id, visitor_id, lead_id, first_seen, last_seen, session_id, session_started)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [siteId, visitorId, leadId, T0, lastSeen, 's_' + visitorId, T0],
  );
}

export async function makeSegment(db: Db, siteId: string, segmentKey: string) {
  await db.run(
    `INSERT INTO segments (site_id, segment_key, name, definition, member_count, created_at, updated_at)
     VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (site_id, segment_key) DO NOTHING`,
    [siteId, segmentKey, segmentKey, JSON.stringify({ all: [{ identified: true }] }), T0, T0],
  );
}

export async function addMembers(db: Db, siteId: string, segmentKey: string, leadIds: string[]) {
  for (const leadId of leadIds) {
    await db.run(
      'INSERT INTO segment_members (site_id, segment_key, lead_id, entered_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [siteId, segmentKey, leadId, T0],
    );
  }
}

/** Many identified leads in one segment, in one transaction (fast enough for the page-boundary tests). */
export async function makeManyMembers(db: Db, siteId: string, segmentKey: string, n: number, lead: (i: number) => LeadFixture = () => ({})) {
  const ids: string[] = [];
  await db.transaction(async (tx) => {
    for (let i = 0; i < n; i++) ids.push(await makeLead(tx, siteId, lead(i)));
    await addMembers(tx, siteId, segmentKey, ids);
  });
  return ids;
}
