// Applies the identity rule for one flush of one site: which lead each event belongs to, first sight of a visitor,
// email claims, merges of anonymous leads and switches between identified leads. Every change is an identity link.
// First sights are kept in memory and written together (flushLinks); their leads are inserted with their fold.
import type { Db } from '../storage/db.js';
import {
  getCurrentLink, getCurrentLinks, getLatestLinkTime, getLinkAt, insertFirstLinks, mergeLeadInto, moveEventsOfSwitch, setVisitorLead, setVisitorLeads, startLink,
  type LinkReason, type NewLink,
} from '../storage/identity.js';
import { claimLeadEmail, getLeadEmail, getLeadIdByEmail, insertLead, lowerIdentifiedAt } from '../storage/leads.js';
import { anonymousLeadId, newLeadId } from './anonymous-lead-id.js';
import { decideIdentity } from './decide-identity.js';

export interface IdentityEvent {
  eventId: string;
  at: number;
}

export interface IdentityResolver {
  /** loads the current links of these visitors at once */
  prefetch(visitorIds: readonly string[]): Promise<void>;
  /** the lead the visitor belonged to at the event's time; a visitor seen for the first time gets an anonymous lead */
  leadOf(visitorId: string, e: IdentityEvent): Promise<string>;
  /** applies an email seen on the visitor at the event; resolves to the visitor's lead afterwards */
  identify(visitorId: string, email: string, e: IdentityEvent): Promise<string>;
  /** the lead that has this email, made when none has it yet; identified at the event at the latest */
  leadForEmail(email: string, e: IdentityEvent): Promise<string>;
  /** writes first-sight links and keeps `visitors.lead_id` in step; fresh leads stay to be inserted by the caller */
  flushLinks(): Promise<void>;
  /** each visitor met in this flush and the lead it belongs to now */
  currentLeads(): Map<string, string>;
  /** flushLinks, and inserts the fresh leads as bare rows too */
  flushAll(): Promise<void>;
  /** anonymous leads made at first sight in this flush whose rows are not written yet, with their first event time */
  readonly fresh: Map<string, { visitorId: string; at: number }>;
  /** leads that must be rebuilt from all their events (they received another lead's history) */
  readonly rebuild: Set<string>;
  /** anonymous leads merged away in this flush, and where they went */
  readonly merged: Map<string, string>;
}

/**
 * `restarted`: devices an erasure covered (`site_id \0 visitor_id` → the end of the span it covered), known to the
 * caller from its tombstone check; met without a link, such a device is a new anonymous lead under an id derived from
 * that erasure, never the erased lead's (which the plain anonymous id would be again). `own`: whether an event is one the
 * caller stored already and places through this resolver (a flush's beacons): a switch that moves only those rebuilds
 * nothing.
 */
export function createIdentityResolver(
  tx: Db, siteId: string, firstStage: string, now: number, restarted?: ReadonlyMap<string, number>, own?: (eventId: string) => boolean,
): IdentityResolver {
  const links = new Map<string, { leadId: string; fromAt: number }>();
  const unlinked = new Set<string>();
  /** visitors whose `visitors.lead_id` may be out of step with their link */
  const unsynced = new Set<string>();
  const pending = new Map<string, NewLink>();
  const fresh = new Map<string, { visitorId: string; at: number }>();
  const emails = new Map<string, string | null>();
  const rebuild = new Set<string>();
  const merged = new Map<string, string>();
  /** visitors whose links all ended (their last lead was erased), with their latest link time */
  const ended = new Map<string, number>();

  async function emailOf(leadId: string): Promise<string | null> {
    if (fresh.has(leadId)) return null;
    if (emails.has(leadId)) return emails.get(leadId)!;
    const email = (await getLeadEmail(tx, siteId, leadId))?.email ?? null;
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
    if (!unlinked.has(visitorId)) {
      const row = await getCurrentLink(tx, siteId, visitorId);
      if (row) {
        l = { leadId: row.lead_id, fromAt: Number(row.from_at) };
        links.set(visitorId, l);
        unsynced.add(visitorId);
        return l;
      }
      const last = await getLatestLinkTime(tx, siteId, visitorId);
      if (last !== null) ended.set(visitorId, last);
    }
    // first sight: the anonymous lead is written with its fold at the end of the flush. A visitor whose last lead was
    // erased starts afresh too, but its plain anonymous id may still name a lead it belonged to earlier (one that
    // claimed an email, then lost the visitor to another): its new id is derived from its history instead, so every
    // collector still makes the same one
    const past = ended.get(visitorId);
    const erasedTo = past === undefined ? restarted?.get(siteId + '\u0000' + visitorId) : undefined;
    const leadId = anonymousLeadId(
      siteId, past !== undefined ? `${visitorId}\u0000${past}` : erasedTo !== undefined ? `${visitorId}\u0000erased\u0000${erasedTo}` : visitorId,
    );
    l = { leadId, fromAt: e.at };
    links.set(visitorId, l);
    unlinked.delete(visitorId);
    unsynced.add(visitorId);
    fresh.set(leadId, { visitorId, at: e.at });
    pending.set(visitorId, { siteId, visitorId, fromAt: e.at, leadId, email: null, eventId: e.eventId, reason: 'first_seen', now });
    return l;
  }

  /**
   * A device whose last lead was erased has no current link: its next event starts a new anonymous lead. An event of it
   * dated inside an earlier lead's period (an outbox held back, the erased period's own events being dropped by their
   * tombstones) is still that lead's, as it was before the erasure; only events after the last link ended start afresh.
   */
  async function endedLeadAt(visitorId: string, e: IdentityEvent): Promise<string | null> {
    if (links.has(visitorId)) return null;
    if (!ended.has(visitorId)) {
      // prefetched without a link at all (the usual first sight), or a link of it is current: the usual rules
      if (unlinked.has(visitorId) || (await getCurrentLink(tx, siteId, visitorId))) return null;
      const last = await getLatestLinkTime(tx, siteId, visitorId);
      if (last === null) return null;
      ended.set(visitorId, last);
    }
    // the first link that ends after the event: the one covering it, or the first of all for an event before it
    const row = await tx.get<{ lead_id: string }>(
      'SELECT lead_id FROM identity_links WHERE site_id = ? AND visitor_id = ? AND to_at > ? ORDER BY from_at LIMIT 1',
      [siteId, visitorId, e.at],
    );
    return row?.lead_id ?? null;
  }

  /** Identity changes need the visitor's first link and its lead row in the table. */
  async function materialize(visitorId: string) {
    const p = pending.get(visitorId);
    if (!p) return;
    await insertFirstLinks(tx, [p]);
    pending.delete(visitorId);
    if (fresh.has(p.leadId)) {
      await insertLead(tx, { siteId, leadId: p.leadId, email: null, stage: firstStage, at: p.fromAt, now });
      fresh.delete(p.leadId);
      emails.set(p.leadId, null);
    }
  }

  async function leadForEmail(email: string, e: IdentityEvent): Promise<string> {
    const found = await getLeadIdByEmail(tx, siteId, email);
    // an event naming the lead by its email identifies it then: a lead it made would be identified at it, so an earlier
    // one that arrives later (a CRM back-fill, a sync sending newest first) moves identifiedAt back, whatever the order
    if (found) return identifiedAs(found, e.at);
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

  /** The email's lead, identified at `at`: its identification time is the earliest of its devices' (any arrival order). */
  async function identifiedAs(leadId: string, at: number): Promise<string> {
    await lowerIdentifiedAt(tx, siteId, leadId, at);
    return leadId;
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

  async function flushLinks() {
    await insertFirstLinks(tx, [...pending.values()]);
    pending.clear();
    await setVisitorLeads(tx, siteId, [...unsynced].map((v) => [v, links.get(v)!.leadId] as const));
    unsynced.clear();
  }

  return {
    fresh,
    rebuild,
    merged,
    leadForEmail,
    flushLinks,
    currentLeads: () => new Map([...links].map(([v, l]) => [v, l.leadId])),

    async flushAll() {
      for (const visitorId of [...pending.keys()]) await materialize(visitorId);
      await flushLinks();
    },

    async prefetch(visitorIds) {
      const want = visitorIds.filter((v) => !links.has(v));
      const found = await getCurrentLinks(tx, siteId, want);
      for (const [v, at] of found.ended) ended.set(v, at);
      for (const v of want) {
        const r = found.current.get(v);
        if (r) {
          links.set(v, { leadId: r.lead_id, fromAt: r.from_at });
          // a visitor first named by a server event has its link before its visitors row
          if (r.visitor_lead !== r.lead_id) unsynced.add(v);
        } else unlinked.add(v);
      }
    },

    async leadOf(visitorId, e) {
      const then = await endedLeadAt(visitorId, e);
      if (then) return then;
      const l = await currentLink(visitorId, e);
      if (e.at >= l.fromAt || pending.has(visitorId)) return l.leadId;
      const past = await getLinkAt(tx, siteId, visitorId, e.at);
      return past?.lead_id ?? l.leadId;
    },

    async identify(visitorId, email, e) {
      /** when the identification happened, even when its link can only start later (at the visitor's first sight) */
      const namedAt = e.at;
      const l = await currentLink(visitorId, e);
      await materialize(visitorId);
      // an identification dated before the visitor's current link (a CRM naming it for the past, a beacon resent late)
      // rewrites nothing of what the visitor did since (PostHog's rule: nothing moves, no link changes), but the event
      // is the person's it names: the lead the visitor had then when that lead has this email, else the email's lead
      if (e.at < l.fromAt) {
        const then = (await getLinkAt(tx, siteId, visitorId, e.at))?.lead_id ?? l.leadId;
        const thenEmail = await emailOf(then);
        // the person it named then: an identification earlier than any that arrived before it (an outbox resent late)
        if (thenEmail === email) return identifiedAs(then, namedAt);
        if (thenEmail !== null) return identifiedAs(await leadForEmail(email, e), namedAt);
        if (then !== l.leadId) return then;
        // a visitor never identified, named for a time before its first sight (a CRM deal dated before the first
        // page): it is identified from its first sight on, by the rules below
        e = { ...e, at: l.fromAt };
      }
      const current = l.leadId;
      const currentEmail = await emailOf(current);
      let owner = currentEmail === email ? current : ((await getLeadIdByEmail(tx, siteId, email)) ?? null);
      let action = decideIdentity({ leadId: current, email: currentEmail }, email, owner);
      if (action.kind === 'claim') {
        if (await tryClaim(current, email, e)) {
          emails.set(current, email);
          await link(visitorId, current, e, email, 'identified');
          // the claim dated it at the link: earlier only when named for a time before the visitor's first sight
          return namedAt < e.at ? identifiedAs(current, namedAt) : current;
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
        for (const [v, x] of links) if (x.leadId === current) links.set(v, { ...x, leadId: action.into });
        // mergeLeadInto moved the visitors rows already
        await link(visitorId, action.into, e, email, 'merged');
        return identifiedAs(action.into, namedAt);
      }
      if (action.kind === 'switch') {
        const to = action.to ?? (await leadForEmail(email, e));
        await link(visitorId, to, e, email, 'switched');
        // the link begins at this millisecond: the device's events of it that arrived before the identification (a
        // retried batch, the CRM naming the device at a page's time) were stored under the old lead; they go with the
        // device, and both leads are rebuilt (the caller's own events are placed by it and folded where they land)
        const moved = await moveEventsOfSwitch(tx, siteId, visitorId, e.at, current, to);
        if (moved.some((id) => !own?.(id))) {
          rebuild.add(current);
          rebuild.add(to);
        }
        return identifiedAs(to, namedAt);
      }
      return current;
    },
  };
}
