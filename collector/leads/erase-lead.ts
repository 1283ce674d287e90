// DELETE /api/leads/{ref}: erases the lead a ref names, with everything of it, in one transaction.
import type { Deps } from '../context.js';
import { eraseLeadRows, findUnattributedEventsWithEmail, type ErasureCounts } from '../storage/erasure.js';
import { lockTombstones } from '../storage/erasure-tombstones.js';
import { findLead, type FindLeadResult } from './find-lead.js';

export type EraseResult = { ok: true; leadId: string; erased: ErasureCounts } | Extract<FindLeadResult, { ok: false }>;

export async function eraseLead(deps: Deps, siteId: string, rawRef: string): Promise<EraseResult> {
  const found = await findLead(deps.db, siteId, rawRef);
  if (!found.ok) return found;
  const { lead_id: leadId, email } = found.lead;
  const pending = email ? await findUnattributedEventsWithEmail(deps.db, siteId, email) : [];
  const erased = await deps.db.transaction(async (tx) => {
    // no event write of any collector may pass its tombstone check while this one is under way (erasure-tombstones.ts)
    await lockTombstones(tx, 'exclusive');
    return eraseLeadRows(tx, siteId, leadId, email, pending, deps.now());
  });
  // The log keeps counts only: the erased ids and email must not survive here either.
  deps.log.info('lead erased', { siteId, events: erased.events, visitors: erased.visitors });
  return { ok: true, leadId, erased };
}
