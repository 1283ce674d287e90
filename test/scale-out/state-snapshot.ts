// A site's stored state reduced to what must not depend on which collector handled which request, or in what order.
// Lead ids are random, so leads are named by their email, or by their visitors when anonymous.
import { expect } from 'vitest';
import type { Db } from '../../collector/storage/db.js';
import { listSegments } from '../../collector/storage/segments.js';

/**
 * Scores decay towards the moment a collector computes them, so two runs a few milliseconds apart differ in the
 * sixth digit: compared to a hundredth of a point.
 */
const roundScore = (n: unknown) => Math.round(Number(n) * 100) / 100;

export interface StateSnapshot {
  events: unknown[];
  visitors: unknown[];
  leads: unknown[];
  /** leads no visitor points at any more (merged away): only their number is comparable */
  orphanLeads: number;
  stagesEntered: string[];
  scorePointsByRule: string[];
  /** links without their reason: which of two devices identified first and which merged into it is arrival order */
  identityLinks: unknown[];
  /** the reasons of each lead's links, as a sorted list: the same for every serial order of the devices */
  identityReasons: string[];
  segmentMembers: string[];
  memberCounts: string[];
  memberRows: string[];
}

export async function readStateSnapshot(db: Db, siteId: string): Promise<StateSnapshot> {
  const visitorRows = await db.all<Record<string, unknown>>(
    `SELECT visitor_id, lead_id, first_seen, last_seen, session_id, session_started, session_count, event_count,
       first_touch, last_touch, browser, os, device, is_bot
     FROM visitors WHERE site_id = ? ORDER BY visitor_id`,
    [siteId],
  );
  const leadRows = await db.all<Record<string, unknown>>(
    'SELECT lead_id, email, stage, score, mql, sql, traits FROM leads WHERE site_id = ?',
    [siteId],
  );
  const visitorsOf = new Map<string, string[]>();
  for (const v of visitorRows) if (v.lead_id) (visitorsOf.get(String(v.lead_id)) ?? visitorsOf.set(String(v.lead_id), []).get(String(v.lead_id))!).push(String(v.visitor_id));
  const emailOf = new Map(leadRows.map((l) => [String(l.lead_id), l.email as string | null]));
  const leadKey = (leadId: unknown) => {
    if (leadId == null) return null;
    const email = emailOf.get(String(leadId));
    if (email) return `email:${email}`;
    const visitors = visitorsOf.get(String(leadId));
    return visitors ? `anon:${[...visitors].sort().join(',')}` : `orphan`;
  };

  const events = (
    await db.all<Record<string, unknown>>(
      `SELECT event_id, visitor_id, lead_id, name, at, session_id, path, channel, email, form, is_bot, attributed
       FROM events WHERE site_id = ? ORDER BY event_id`,
      [siteId],
    )
  ).map((e) => ({ ...e, lead_id: leadKey(e.lead_id) }));

  const visitors = visitorRows.map((v) => ({ ...v, lead_id: leadKey(v.lead_id) }));
  const leads = leadRows
    .filter((l) => leadKey(l.lead_id) !== 'orphan')
    .map((l) => ({ ...l, lead_id: leadKey(l.lead_id), score: roundScore(l.score) }))
    .sort((a, b) => String(a.lead_id).localeCompare(String(b.lead_id)));

  const stagesEntered = (await db.all<{ lead_id: string; to_stage: string }>('SELECT lead_id, to_stage FROM stage_changes WHERE site_id = ?', [siteId]))
    .map((r) => `${leadKey(r.lead_id)} ${r.to_stage}`)
    .sort();
  const scorePointsByRule = (
    await db.all<{ lead_id: string; rule: string; points: number }>(
      'SELECT lead_id, rule, SUM(points) AS points FROM score_changes WHERE site_id = ? GROUP BY lead_id, rule',
      [siteId],
    )
  )
    .map((r) => `${leadKey(r.lead_id)} ${r.rule} ${roundScore(r.points)}`)
    .sort();
  const linkRows = await db.all<Record<string, unknown>>(
    'SELECT visitor_id, from_at, to_at, lead_id, email, reason FROM identity_links WHERE site_id = ? ORDER BY visitor_id, from_at',
    [siteId],
  );
  const identityLinks = linkRows.map(({ reason: _reason, ...l }) => ({ ...l, lead_id: leadKey(l.lead_id) }));
  const reasons = new Map<string, string[]>();
  for (const l of linkRows) {
    const key = String(leadKey(l.lead_id));
    (reasons.get(key) ?? reasons.set(key, []).get(key)!).push(String(l.reason));
  }
  const identityReasons = [...reasons].map(([lead, rs]) => `${lead} ${rs.sort().join(',')}`).sort();
  const segmentMembers = (await db.all<{ lead_id: string; segment_key: string }>('SELECT lead_id, segment_key FROM segment_members WHERE site_id = ?', [siteId]))
    .map((m) => `${leadKey(m.lead_id)} ${m.segment_key}`)
    .sort();
  // the live counts the API shows (base plus shard rows), next to the member rows they must agree with
  const segments = await listSegments(db, siteId);
  const memberCounts = segments.map((s) => `${s.key} ${s.memberCount}`);
  const memberRows = segments.map((s) => `${s.key} ${segmentMembers.filter((m) => m.endsWith(' ' + s.key)).length}`);

  return {
    events,
    visitors,
    leads,
    orphanLeads: leadRows.length - leads.length,
    stagesEntered,
    scorePointsByRule,
    identityLinks,
    identityReasons,
    segmentMembers,
    memberCounts,
    memberRows,
  };
}

/** What the funnel engine decided, the same on both sides: leads, identities, stages, scores and segment members. */
export function expectSameAttribution(got: StateSnapshot, want: StateSnapshot): void {
  expect(got.leads).toEqual(want.leads);
  expect(got.identityLinks).toEqual(want.identityLinks);
  expect(got.identityReasons).toEqual(want.identityReasons);
  expect(got.stagesEntered).toEqual(want.stagesEntered);
  expect(got.scorePointsByRule).toEqual(want.scorePointsByRule);
  expect(got.segmentMembers).toEqual(want.segmentMembers);
}
