// PostgreSQL, several collectors: two requests of one visitor in flight at once on two collectors each open a session
// when neither has seen the other's. A flush that opens sessions locks those visitors' rows, reads what the other
// collectors committed, and moves its events into a session opened there meanwhile for the same visit, as one
// collector would have done (store.ts calls it; SQLite has one writer and never needs it).
import type { Db } from '../storage/db.js';
import type { SessionState } from './sessions.js';
import type { WriteRequest } from './store.js';
import { claimVisitorSessions } from '../storage/events.js';
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';
import { campaignAsStored } from './late-events.js';

/** A session this request's events opened (its events carry the first touch of an opener), not the one it continued. */
function openedSession(req: WriteRequest): SessionState | null {
  const v = req.visitor;
  if (!v || v.basedOn === undefined || v.session.sessionId === v.basedOn?.sessionId) return null;
  const opener = req.events.some((e) => e.sessionId === v.session.sessionId && e.firstTouch !== null && e.source === 'web');
  return opener ? v.session : null;
}

type BasedOn = { sessionId: string; started: number; lastSeen?: number } | null;

/**
 * Whether a session this request opened at `opened.started` is the same visit as `stored`: one that another collector
 * opened (and committed) after the session this request continued from, or that session itself gone on meanwhile to
 * within 30 minutes of it (another collector stored a late event that bridges the gap this request opened a session
 * for: late-events.ts mergeBridgedSessions, which could not see this session yet). The rules of sessions.ts, in either
 * order of the two requests (within 30 minutes of it, and no other campaign).
 */
function sameVisit(opened: SessionState, stored: SessionState, basedOn: BasedOn): boolean {
  if (stored.sessionId === opened.sessionId) return false;
  // campaigns compare as sessions.ts compares them: which click id, not its value (the same ad clicked again)
  if (opened.campaign !== '' && campaignAsStored(opened.campaign) !== campaignAsStored(stored.campaign)) return false;
  if (stored.sessionId === basedOn?.sessionId) {
    // opened for the gap after it (not for a device clock that jumped), which the session's stored events now close
    return basedOn.lastSeen !== undefined && opened.started - basedOn.lastSeen > SESSION_TIMEOUT_MS && opened.started - stored.lastSeen <= SESSION_TIMEOUT_MS;
  }
  if (basedOn && stored.started <= basedOn.started) return false;
  return opened.started >= stored.started - SESSION_TIMEOUT_MS && opened.started <= stored.lastSeen + SESSION_TIMEOUT_MS;
}

/** Moves a request's events (and its visitor's session) from one session to another; the opener no longer opens one. */
function moveSession(req: WriteRequest, from: string, to: SessionState): boolean {
  let moved = false;
  for (const e of req.events) {
    if (e.sessionId !== from) continue;
    e.sessionId = to.sessionId;
    // the visitor's first touch rides on session openers only (enrich.ts); this one continues a session now
    e.firstTouch = null;
    moved = true;
  }
  const v = req.visitor;
  if (v && v.session.sessionId === from) {
    req.visitor = { ...v, session: { ...to, lastSeen: Math.max(to.lastSeen, v.session.lastSeen) } };
    moved = true;
  }
  return moved;
}

export interface SessionJoiner {
  /**
   * Notes the session a request opens (or continues from an opener not answered yet) as in flight; the function
   * returned is called once it is answered.
   */
  track(req: WriteRequest): (() => void) | null;
  /**
   * Inside a flush: moves requests that opened a session another collector opened for the same visit into that one.
   * Resolves to the visitors whose session changed, with that session.
   */
  join(tx: Db, reqs: WriteRequest[]): Promise<Map<string, SessionState>>;
}

export function createSessionJoiner(): SessionJoiner {
  // PostgreSQL: sessions this collector opened that a flush found opened at the same moment by another collector, and
  // moved into that one (per visitor): later requests of the visitor, enriched on the remembered session before the
  // move was known, move too
  const movedSessions = new Map<string, { from: string; to: SessionState }>();
  const MOVED_MAX = 10_000;
  // PostgreSQL: sessions opened by requests not answered yet (per site and session id), with the session each opener
  // continued from. A later request of the visitor enriched on top of one (in another flush here) is checked like its
  // opener: otherwise its flush, racing the opener's, could store the session the opener's flush moved away from. It
  // keeps the session in flight until it is answered too: its flush may begin after the opener was answered, when a
  // late page's flush on another collector has merged the session away (session-bridge.ts bridgeCommitted).
  const openedInFlight = new Map<string, { basedOn: BasedOn; n: number }>();
  const inFlightKey = (siteId: string, sessionId: string) => siteId + '\u0000' + sessionId;
  /** The session a request opened, or continues from an opener not answered yet, and what that opener continued from. */
  const checkedSession = (r: WriteRequest) => {
    const own = openedSession(r);
    if (own) return { opened: own, basedOn: r.visitor!.basedOn ?? null };
    const v = r.visitor;
    const opener = v && v.basedOn !== undefined ? openedInFlight.get(inFlightKey(v.siteId, v.session.sessionId)) : undefined;
    return opener ? { opened: v!.session, basedOn: opener.basedOn } : null;
  };

  /**
   * PostgreSQL: two requests of one visitor in flight at once on two collectors each open a session when neither has
   * seen the other's. Each flush locks the rows of the visitors whose sessions it opens (claimVisitorSessions: one
   * statement, only when it opens any) and reads what the other collectors committed; a session opened there in the
   * meantime that is the same visit takes this request's events, as one collector would have done. Resolves to the
   * visitors whose session changed, with that session.
   */
  async function join(tx: Db, reqs: WriteRequest[]): Promise<Map<string, SessionState>> {
    const changed = new Map<string, SessionState>();
    const followMoves = () => {
      if (movedSessions.size === 0) return;
      for (const r of reqs) {
        if (!r.visitor) continue;
        const m = movedSessions.get(r.visitor.siteId + '\u0000' + r.visitor.visitorId);
        if (m && moveSession(r, m.from, m.to)) changed.set(r.visitor.siteId + '\u0000' + r.visitor.visitorId, r.visitor!.session);
      }
    };
    followMoves();
    // checked now, before the wait for the rows: meanwhile the opener a request continues may be answered (and its
    // session no longer in flight) while another collector's flush merges that session away
    const opening = reqs.flatMap((r) => {
      const checked = checkedSession(r);
      return checked ? [{ r, checked }] : [];
    });
    if (opening.length === 0) return changed;
    const stored = await claimVisitorSessions(tx, opening.map(({ r }) => ({ ...r.visitor!, newEvents: 0 })));
    // a move recorded by another flush while this one waited for the rows
    followMoves();
    for (const { r, checked } of opening) {
      const v = r.visitor!;
      const key = v.siteId + '\u0000' + v.visitorId;
      const opened = checked.opened;
      // (a request such a move took is in the session it joined)
      if (v.session.sessionId !== opened.sessionId) continue;
      const theirs = stored.get(key);
      if (!theirs || !sameVisit(opened, theirs, checked.basedOn)) continue;
      const to = { ...theirs, lastSeen: Math.max(theirs.lastSeen, opened.lastSeen) };
      moveSession(r, opened.sessionId, to);
      changed.set(key, r.visitor!.session);
      movedSessions.delete(key);
      if (movedSessions.size >= MOVED_MAX) movedSessions.delete(movedSessions.keys().next().value as string);
      movedSessions.set(key, { from: opened.sessionId, to });
    }
    followMoves();
    return changed;
  }

  function track(req: WriteRequest): (() => void) | null {
    const opened = openedSession(req);
    const v = req.visitor;
    // a request that opens a session, or continues one whose opener is not answered yet (checkedSession)
    const sessionId = opened ? opened.sessionId : v && v.basedOn !== undefined && openedInFlight.has(inFlightKey(v.siteId, v.session.sessionId)) ? v.session.sessionId : null;
    if (sessionId === null) return null;
    const k = inFlightKey(v!.siteId, sessionId);
    const entry = openedInFlight.get(k);
    if (entry) entry.n++;
    else openedInFlight.set(k, { basedOn: v!.basedOn ?? null, n: 1 });
    return () => {
      const e = openedInFlight.get(k);
      if (e && --e.n === 0) openedInFlight.delete(k);
    };
  }

  return { track, join };
}
