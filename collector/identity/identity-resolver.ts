// Applies the identity rule for one flush of one site: which lead each event belongs to, first sight of a visitor,
// email claims, merges of anonymous leads and switches between identified leads. Every change is an identity link.
import type { Db } from '../storage/db.js';
import { getCurrentLink, getLinkAt, mergeLeadInto, setVisitorLead, startLink, type LinkReason } from '../storage/identity.js';
import { claimLeadEmail, getLeadEmail, getLeadIdByEmail, insertLead } from '../storage/leads.js';
import { anonymousLeadId, newLeadId } from './anonymous-lead-id.js';
import { decideIdentity } from './decide-identity.js';

export interface IdentityEvent {
  eventId: string;
  at: number;
}

export interface IdentityResolver {
  /** the lead the visitor belonged to at the event's time; a visitor seen for the first time gets an anonymous lead */
  leadOf(visitorId: string, e: IdentityEvent): Promise<string>;
  /** applies an email seen on the visitor at the event; resolves to the visitor's lead afterwards */
  identify(visitorId: string, email: string, e: IdentityEvent): Promise<string>;
  /** the lead that has this email, made when none has it yet */
  leadForEmail(email: string, e: IdentityEvent): Promise<string>;
  /** leads that must be rebuilt from all their events (they received another lead's history) */
  readonly rebuild: Set<string>;
  /** anonymous leads merged away in this flush, and where they went */
  readonly merged: Map<string, string>;
}

export function createIdentityResolver(tx: Db, siteId: string, firstStage: string, now: number): IdentityResolver {
  const links = new Map<string, { leadId: string; fromAt: number }>();
  const emails = new Map<string, string | null>();
  const rebuild = new Set<string>();
  const merged = new Map<string, string>();

  async function emailOf(leadId: string): Promise<string | null> {
    if (emails.has(leadId)) return emails.get(leadId)!;
    const row = await getLeadEmail(tx, siteId, leadId);
    const email = row?.email ?? null;
    emails.set(leadId, email);
    return email;
  }

  async function link(visitorId: string, leadId: string, e: IdentityEvent, email: string | null, reason: LinkReason) {
    await startLink(tx, { siteId, visitorId, fromAt: e.at, leadId, email, eventId: e.eventId, reason, now });
    await setVisitorLead(tx, siteId, visitorId, leadId);
    links.set(visitorId, { leadId, fromAt: e.at });
  }

  async function currentLink(visitorId: string, e: IdentityEvent) {
    let l = links.get(visitorId);
    if (l) return l;
    const row = await getCurrentLink(tx, siteId, visitorId);
    if (row) {
      l = { leadId: row.lead_id, fromAt: Number(row.from_at) };
      links.set(visitorId, l);
      // a visitor first named by a server event has a link before its visitors row exists
      await setVisitorLead(tx, siteId, visitorId, l.leadId);
      return l;
    }
    const leadId = anonymousLeadId(siteId, visitorId);
    await insertLead(tx, { siteId, leadId, email: null, stage: firstStage, at: e.at, now });
    await link(visitorId, leadId, e, null, 'first_seen');
    return links.get(visitorId)!;
  }

  async function leadForEmail(email: string, e: IdentityEvent): Promise<string> {
    const found = await getLeadIdByEmail(tx, siteId, email);
    if (found) return found;
    const leadId = newLeadId();
    if (await insertLead(tx, { siteId, leadId, email, stage: firstStage, at: e.at, now })) {
      emails.set(leadId, email);
      return leadId;
    }
    // another collector made the lead for this email a moment ago
    const winner = await getLeadIdByEmail(tx, siteId, email);
    if (!winner) throw new Error('lead for email vanished');
    return winner;
  }

  /** Claims the email for an anonymous lead; false when another lead got it first (pg: a concurrent commit). */
  async function tryClaim(leadId: string, email: string, e: IdentityEvent): Promise<boolean> {
    await tx.run('SAVEPOINT fb_claim');
    try {
      const ok = await claimLeadEmail(tx, siteId, leadId, email, e.at, now);
      await tx.run('RELEASE SAVEPOINT fb_claim');
      return ok;
    } catch (err) {
      await tx.run('ROLLBACK TO SAVEPOINT fb_claim');
      await tx.run('RELEASE SAVEPOINT fb_claim');
      if (await getLeadIdByEmail(tx, siteId, email)) return false;
      throw err;
    }
  }

  return {
    rebuild,
    merged,
    leadForEmail,

    async leadOf(visitorId, e) {
      const l = await currentLink(visitorId, e);
      if (e.at >= l.fromAt) return l.leadId;
      const past = await getLinkAt(tx, siteId, visitorId, e.at);
      return past?.lead_id ?? l.leadId;
    },

    async identify(visitorId, email, e) {
      const l = await currentLink(visitorId, e);
      // an identify that arrives after a later identity change of the visitor changes nothing
      if (e.at < l.fromAt) return (await getLinkAt(tx, siteId, visitorId, e.at))?.lead_id ?? l.leadId;
      const current = l.leadId;
      const currentEmail = await emailOf(current);
      let owner = currentEmail === email ? current : ((await getLeadIdByEmail(tx, siteId, email)) ?? null);
      let action = decideIdentity({ leadId: current, email: currentEmail }, email, owner);
      if (action.kind === 'claim') {
        if (await tryClaim(current, email, e)) {
          emails.set(current, email);
          await link(visitorId, current, e, email, 'identified');
          return current;
        }
        owner = (await getLeadIdByEmail(tx, siteId, email)) ?? null;
        action = decideIdentity({ leadId: current, email: null }, email, owner);
      }
      if (action.kind === 'merge') {
        await mergeLeadInto(tx, siteId, current, action.into);
        emails.delete(current);
        for (const [from, into] of merged) if (into === current) merged.set(from, action.into);
        merged.set(current, action.into);
        rebuild.delete(current);
        rebuild.add(action.into);
        for (const [v, l] of links) if (l.leadId === current) links.set(v, { ...l, leadId: action.into });
        await link(visitorId, action.into, e, email, 'merged');
        return action.into;
      }
      if (action.kind === 'switch') {
        const to = action.to ?? (await leadForEmail(email, e));
        await link(visitorId, to, e, email, 'switched');
        return to;
      }
      return current;
    },
  };
}
