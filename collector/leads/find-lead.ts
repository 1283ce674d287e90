// Resolves a `{ref}` to the lead row: email → by email; otherwise a lead id, then the `srv:<leadId>` visitor id server
// events of a lead carry, then a visitor id (its current lead), then the id of a lead merged into another (the lead it
// became). A ref with an `@` that no lead's email is may still be a visitor id: POST /api/events takes `@` in one.
import type { Db } from '../storage/db.js';
import { getLeadIdOfVisitor, getLeadRow, getLeadRowByEmail, type LeadRow } from '../storage/lead-reads.js';
import { getAliasedLeadId } from '../storage/identity.js';
import { isRefProblem, parseRef } from './parse-ref.js';
import { idText, serverVisitorLead } from '../funnel/server-event-input.js';

export type FindLeadResult =
  | { ok: true; lead: LeadRow }
  | { ok: false; code: 'invalid_ref' | 'not_found'; message: string };

/**
 * A visitor id as POST /api/events takes one (server-event-input.ts): a CRM keying people by its own contact id
 * (`contact@4711`) makes a visitor of that id, which reads as an email here.
 */
const isServerVisitorId = (s: string) => idText.safeParse(s).success;

export async function findLead(db: Db, siteId: string, rawRef: string): Promise<FindLeadResult> {
  const ref = parseRef(rawRef);
  const trimmed = rawRef.trim();
  const idWithAt = trimmed.includes('@') && isServerVisitorId(trimmed) && !trimmed.includes('..') ? trimmed : null;
  if (isRefProblem(ref) && !idWithAt) return { ok: false, code: 'invalid_ref', message: ref.problem };
  let lead: LeadRow | undefined;
  if (!isRefProblem(ref) && ref.kind === 'email') lead = await getLeadRowByEmail(db, siteId, ref.email);
  if (!lead && idWithAt) {
    // the email names nobody (or the ref is no email at all): the visitor id POST /api/events was given
    const leadId = await getLeadIdOfVisitor(db, siteId, idWithAt);
    if (leadId) lead = await getLeadRow(db, siteId, leadId);
  } else if (!isRefProblem(ref) && ref.kind === 'id') {
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
