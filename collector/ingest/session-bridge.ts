// A late event that bridges two sessions of a visitor (late-events.ts mergeBridgedSessions) merges them, inside the
// flush that stores it: the later session's stored events move to the earlier one (storage/session-merge.ts), and so do
// the events of requests enriched on the later session before the merge was known, in this flush or a later one.
import type { Db } from '../storage/db.js';
import type { EnrichedEvent } from './types.js';
import type { SessionState } from './sessions.js';
import { bridgedByCommitted, campaignAsStored, knownSessionsOf, type SessionMerge } from './late-events.js';
import { mergeStoredSessions, moveCurrentSession } from '../storage/session-merge.js';
import { listVisitorSessionEvents, type StoredCurrentSession, type VisitorUpdate } from '../storage/events.js';
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';

/** What the bridge reads of a write request (store.ts WriteRequest). */
export interface BridgedRequest {
  events: EnrichedEvent[];
  visitor?: { siteId: string; visitorId: string; session: SessionState };
  /** sessions its late events merged (enrich.ts, from placeLateEvents) */
  merges?: readonly SessionMerge[];
}

export interface SessionBridge {
  /**
   * Inside a flush, before its events are stored: merges the sessions its requests' late events bridged, in storage and
   * in its requests. Resolves to the leads whose stored events moved (their folds count sessions: fold them again).
   */
  bridge(tx: Db, reqs: BridgedRequest[]): Promise<Set<string>>;
  /**
   * PostgreSQL, inside a flush, after its visitor upsert (`current`: each visitor's current session as its row holds it
   * then, upsertVisitors): merges a later session another collector committed meanwhile into the session this flush's
   * events went on in, when they closed the gap it was opened for. Resolves to the leads whose stored events moved.
   */
  bridgeCommitted(tx: Db, updates: readonly VisitorUpdate[], current: ReadonlyMap<string, StoredCurrentSession>): Promise<Set<string>>;
  /**
   * PostgreSQL, inside a flush, after its visitor upsert: moves the requests that went on in a session another
   * collector's flush merged away since they were enriched into the session it joined, in storage and in the requests.
   * Resolves to the leads whose stored events moved, and the visitors whose session changed, with that session.
   */
  rejoinMerged(tx: Db, reqs: BridgedRequest[], updates: readonly VisitorUpdate[], current: ReadonlyMap<string, StoredCurrentSession>): Promise<Rejoined>;
}

export interface Rejoined {
  leads: Set<string>;
  sessions: Map<string, SessionState>;
}

const visitorKey = (siteId: string, visitorId: string) => siteId + '\u0000' + visitorId;
/** Visitor order, as a flush's statements lock visitors' rows (PostgreSQL: no deadlock between flushes). */
const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Moves a request's events and session from merged sessions to the ones they joined; none of them opens one now. */
function followMerges(req: BridgedRequest, merges: readonly SessionMerge[]): void {
  const v = req.visitor;
  if (!v) return;
  for (const m of merges) {
    for (const e of req.events) {
      if (e.sessionId !== m.from || e.visitorId !== v.visitorId || e.siteId !== v.siteId) continue;
      e.sessionId = m.into;
      // the visitor's first touch rides on session openers only (enrich.ts); this one continues a session now
      e.firstTouch = null;
    }
    if (v.session.sessionId === m.from) {
      const s = v.session;
      const session: SessionState = { ...s, sessionId: m.into, started: m.intoStarted, campaign: s.campaign !== '' ? s.campaign : m.intoCampaign };
      req.visitor = { ...v, session };
    }
  }
}

export function createSessionBridge(max = 10_000): SessionBridge {
  // merges made here lately, per visitor: a request enriched on a merged session before the merge was known (its write
  // queued behind the merge's) follows them
  const recent = new Map<string, SessionMerge[]>();
  const remember = (key: string, merges: readonly SessionMerge[]) => {
    const had = recent.get(key) ?? [];
    recent.delete(key);
    if (recent.size >= max) recent.delete(recent.keys().next().value as string);
    recent.set(key, [...had, ...merges].slice(-16));
  };

  async function bridge(tx: Db, reqs: BridgedRequest[]): Promise<Set<string>> {
    const leads = new Set<string>();
    if (recent.size) {
      for (const r of reqs) {
        const merges = r.visitor && recent.get(visitorKey(r.visitor.siteId, r.visitor.visitorId));
        if (merges) followMerges(r, merges);
      }
    }
    const bridging = reqs
      .filter((r) => r.merges?.length && r.visitor)
      .map((r) => ({ r, key: visitorKey(r.visitor!.siteId, r.visitor!.visitorId) }))
      .sort(byKey);
    for (const { r, key } of bridging) {
      const { siteId, visitorId } = r.visitor!;
      for (const other of reqs) if (other !== r && other.visitor && visitorKey(other.visitor.siteId, other.visitor.visitorId) === key) followMerges(other, r.merges!);
      for (const lead of await mergeStoredSessions(tx, siteId, visitorId, r.merges!)) leads.add(lead);
      remember(key, r.merges!);
    }
    return leads;
  }

  /**
   * Two requests of a visitor at the same moment on two collectors, both enriched on its session last active at `t`: one
   * goes on in that session (a page sent late, at most 30 minutes after `t`), the other opens a session for the gap
   * after `t` (its page more than 30 minutes after `t`) though the first request's page is at most 30 minutes before it.
   * One collector would have made them one session, in either order. When the opener's flush commits second, the joiner
   * moves it (concurrent-sessions.ts). When it commits first, this flush's visitor upsert finds its session current
   * (waiting for its commit when the opener's flush took the row first): the stored sessions from `t` on, read under the
   * row lock, are merged as a late event's would be (late-events.ts bridgedByCommitted). Only a visitor whose row holds a later session
   * than this flush's, begun at most 30 minutes after its events and more than 30 minutes after `t`, with no campaign
   * or the same one, costs a read; none of the others costs anything.
   */
  async function bridgeCommitted(tx: Db, updates: readonly VisitorUpdate[], current: ReadonlyMap<string, StoredCurrentSession>): Promise<Set<string>> {
    const leads = new Set<string>();
    const candidates: Array<{ u: VisitorUpdate; key: string; before: number }> = [];
    for (const u of updates) {
      const key = visitorKey(u.siteId, u.visitorId);
      const theirs = current.get(key);
      const ours = u.session;
      const before = u.basedOn?.sessionId === ours.sessionId ? u.basedOn.lastSeen : undefined;
      // (events of its own stored now: a resent request's copies were stored, and bridged, by its first flush)
      if (!theirs || theirs.sessionId === ours.sessionId || before === undefined || u.newEvents === 0) continue;
      // a later session, begun after this flush's events and within 30 minutes of them, opened for a gap they closed
      if (theirs.started <= ours.lastSeen || theirs.started - ours.lastSeen > SESSION_TIMEOUT_MS || theirs.started - before <= SESSION_TIMEOUT_MS) continue;
      const campaign = campaignAsStored(theirs.campaign);
      if (campaign !== '' && campaign !== campaignAsStored(ours.campaign)) continue;
      candidates.push({ u, key, before });
    }
    candidates.sort(byKey);
    for (const { u, key, before } of candidates) {
      const stored = knownSessionsOf(await listVisitorSessionEvents(tx, u.siteId, u.visitorId, before, Number.MAX_SAFE_INTEGER));
      const merges = bridgedByCommitted(u.visitorId, stored, u.session.sessionId, before, u.session.campaign);
      if (merges.length === 0) continue;
      for (const lead of await mergeStoredSessions(tx, u.siteId, u.visitorId, merges)) leads.add(lead);
      remember(key, merges);
    }
    return leads;
  }

  /**
   * A request enriched on a session (remembered while its opener's write was under way, or read back) that another
   * collector's flush then merged into an earlier one (its late page bridged the gap the session was opened for:
   * bridgeCommitted there), stored after that merge: its events would keep the merged session's id, and the visitor two
   * sessions. One collector's flush follows its own merges (bridge); this follows another's, under the row lock the
   * visitor upsert took. The upsert left the row on the earlier session (upsertVisitorSql: an update that opened no
   * session, finding the row on an earlier one though past its own's start), and the event that opened the request's
   * session is in that one now: one read, only for such a visitor. The merge is remembered, so a later request here
   * enriched on the merged session follows it (bridge). When that event is not there (not merged: the row saw later
   * activity of its own session before this session's opener was stored), the row goes on in the update's session, as
   * the upsert would have put it.
   */
  async function rejoinMerged(tx: Db, reqs: BridgedRequest[], updates: readonly VisitorUpdate[], current: ReadonlyMap<string, StoredCurrentSession>): Promise<Rejoined> {
    const out: Rejoined = { leads: new Set(), sessions: new Map() };
    const candidates: Array<{ u: VisitorUpdate; key: string; theirs: StoredCurrentSession }> = [];
    for (const u of updates) {
      const key = visitorKey(u.siteId, u.visitorId);
      const theirs = current.get(key);
      // (an update that opened a session, or began no later than the row's, moved the row to its own as before)
      if (!theirs || theirs.sessionId === u.session.sessionId || u.newSessions > 0 || u.newEvents === 0 || theirs.started >= u.session.started) continue;
      candidates.push({ u, key, theirs });
    }
    candidates.sort(byKey);
    for (const { u, key, theirs } of candidates) {
      const ours = u.session;
      const mine = reqs.filter((r) => r.visitor && visitorKey(r.visitor.siteId, r.visitor.visitorId) === key);
      const own = new Set(mine.flatMap((r) => r.events.filter((e) => e.sessionId === ours.sessionId).map((e) => e.at)));
      // the session's opening event: moved into the row's session by a merge, or not (then the row goes on in this
      // update's session, as it would have without the merge check)
      const opening = (await listVisitorSessionEvents(tx, u.siteId, u.visitorId, ours.started, ours.started)).filter((e) => !own.has(e.at));
      if (opening.some((e) => e.sessionId === ours.sessionId) || !opening.some((e) => e.sessionId === theirs.sessionId)) {
        await moveCurrentSession(tx, u.siteId, u.visitorId, theirs.sessionId, ours);
        continue;
      }
      const merges: SessionMerge[] = [{ from: ours.sessionId, into: theirs.sessionId, intoStarted: theirs.started, intoCampaign: theirs.campaign }];
      for (const lead of await mergeStoredSessions(tx, u.siteId, u.visitorId, merges)) out.leads.add(lead);
      for (const r of mine) followMerges(r, merges);
      remember(key, merges);
      // the visitor's session after this flush, as followMerges moves a request's
      out.sessions.set(key, { ...ours, sessionId: theirs.sessionId, started: theirs.started, campaign: ours.campaign !== '' ? ours.campaign : theirs.campaign });
    }
    return out;
  }

  return { bridge, bridgeCommitted, rejoinMerged };
}
