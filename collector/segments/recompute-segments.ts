// Re-evaluates every lead of a site after a definition or the funnel settings segments read changed: pages of leads
// in short transactions, yielding between them so that ingest flushes interleave instead of waiting for the whole site.
import type { Deps } from '../context.js';
import { listLeadIdsAfter, recountMembers } from '../storage/segments.js';
import { updateMembershipsFor } from './update-memberships.js';

const PAGE = 500;

/** Decides every lead's memberships of every segment again, at the time of each page. */
export async function reevaluateSiteSegments(deps: Deps, siteId: string): Promise<void> {
  let after = '';
  for (;;) {
    const leadIds = await listLeadIdsAfter(deps.db, siteId, after, PAGE);
    if (leadIds.length === 0) break;
    await deps.db.transaction((tx) => updateMembershipsFor(tx, deps, siteId, leadIds, deps.now()));
    after = leadIds[leadIds.length - 1];
    if (leadIds.length < PAGE) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Returns the segment's member count once every lead has been evaluated. */
export async function recomputeSegment(deps: Deps, siteId: string, key: string): Promise<number> {
  await reevaluateSiteSegments(deps, siteId);
  // the live count was kept by deltas; a recount makes it exact even if a concurrent writer raced us
  return deps.db.transaction((tx) => recountMembers(tx, siteId, key));
}
