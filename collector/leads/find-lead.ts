// Resolves a `{ref}` to the lead row: email → by email; otherwise a lead id, then the `srv:<leadId>` visitor id server
// events of a lead carry, then a visitor id (its current lead), then the id of a lead merged into another (the lead it
// became).
import type { Db } from '../storage/db.js';
import { getLeadIdOfVisitor, getLeadRow, getLeadRowByEmail, type LeadRow } from '../storage/lead-reads.js';
import { getAliasedLeadId } from '../storage/identity.js';
import { isRefProblem, parseRef } from './parse-ref.js';
import { serverVisitorLead } from '../funnel/server-event-input.js';

export type FindLeadResult =
  | { ok: true; lead: LeadRow }
  | { ok: false; code: 'invalid_ref' | 'not_found'; message: string };

export async function findLead(db: Db, siteId: string, rawRef: string): Promise<FindLeadResult> {
  const ref = parseRef(rawRef);
  if (isRefProblem(ref)) return { ok: false, code: 'invalid_ref', message: ref.problem };
  let lead: LeadRow | undefined;
  if (ref.kind === 'email') lead = await getLeadRowByEmail(db, siteId, ref.email);
  else {
    lead = await getLeadRow(db, siteId, ref.id);
    // the `srv:<leadId>` visitor id of server events names that lead before any device: a beacon may carry such an id
    // too, and POST /api/events reads it as the lead, so the reads must name the same one
    const serverLead = lead ? null : serverVisitorLead(ref.id);
    if (serverLead) {
      const found = await findLead(db, siteId, serverLead);
      if (found.ok) return found;
    }
    if (!lead) {
      // a visitor id, or the id of a lead merged into another
      const leadId = (await getLeadIdOfVisitor(db, siteId, ref.id)) ?? (await getAliasedLeadId(db, siteId, ref.id));
      if (leadId) lead = await getLeadRow(db, siteId, leadId);
    }
  }
  return lead ? { ok: true, lead } : { ok: false, code: 'not_found', message: 'no lead, visitor or email matches this ref' };
}
