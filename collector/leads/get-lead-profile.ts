// GET /api/leads/{ref}: the profile of the lead a ref names, score decayed to now.
import type { Deps } from '../context.js';
import { listSegmentKeysOfLeads, listVisitorIdsOfLeads } from '../storage/lead-reads.js';
import { findLead, type FindLeadResult } from './find-lead.js';
import { loadFunnel } from './load-funnel.js';
import { toLeadProfile, type LeadProfile } from './to-lead-profile.js';

export type ProfileResult = { ok: true; profile: LeadProfile } | Extract<FindLeadResult, { ok: false }>;

export async function getLeadProfile(deps: Deps, siteId: string, rawRef: string): Promise<ProfileResult> {
  const found = await findLead(deps.db, siteId, rawRef);
  if (!found.ok) return found;
  const id = found.lead.lead_id;
  const [visitors, segments, funnel] = await Promise.all([
    listVisitorIdsOfLeads(deps.db, siteId, [id]),
    listSegmentKeysOfLeads(deps.db, siteId, [id]),
    loadFunnel(deps.db, siteId),
  ]);
  const profile = toLeadProfile(found.lead, {
    visitorIds: visitors.get(id) ?? [],
    segments: segments.get(id) ?? [],
    now: deps.now(),
    halfLifeMs: funnel.halfLifeMs,
  });
  return { ok: true, profile };
}
