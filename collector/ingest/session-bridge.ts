// A late event that bridges two sessions of a visitor (late-events.ts mergeBridgedSessions) merges them, inside the
// flush that stores it: the later session's stored events move to the earlier one (storage/session-merge.ts), and so do
// the events of requests enriched on the later session before the merge was known, in this flush or a later one.
import type { Db } from '../storage/db.js';
import type { EnrichedEvent } from './types.js';
import type { SessionState } from './sessions.js';
import type { SessionMerge } from './late-events.js';
import { mergeStoredSessions } from '../storage/session-merge.js';

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
}

const visitorKey = (siteId: string, visitorId: string) => siteId + '\u0000' + visitorId;

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
    // in visitor order, as a flush's other statements lock visitors' rows (PostgreSQL: no deadlock between flushes)
    const bridging = reqs
      .filter((r) => r.merges?.length && r.visitor)
      .map((r) => ({ r, key: visitorKey(r.visitor!.siteId, r.visitor!.visitorId) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { r, key } of bridging) {
      const { siteId, visitorId } = r.visitor!;
      for (const other of reqs) if (other !== r && other.visitor && visitorKey(other.visitor.siteId, other.visitor.visitorId) === key) followMerges(other, r.merges!);
      for (const lead of await mergeStoredSessions(tx, siteId, visitorId, r.merges!)) leads.add(lead);
      remember(key, r.merges!);
    }
    return leads;
  }

  return { bridge };
}
