// Stored sessions read for enrichment: of visitors the collector has not seen, and of those it remembers while none of
// their writes is under way here (other collectors and erasure change them too; pipeline.ts loadSession).
// SQLite: one indexed read each (in process: cheaper than waiting to batch). PostgreSQL: every statement is a round
// trip, so the visitors asked for within one turn of the event loop are read together in one statement per site.
// Late events also read the visitor's stored sessions near them (loadKnownSessions), only when a batch holds some.
import type { Db } from '../storage/db.js';
import { getVisitorSession, getVisitorSessions, listVisitorSessionEvents } from '../storage/events.js';
import { type SessionState } from './sessions.js';
import { knownSessionsOf, type KnownSession } from './late-events.js';

export type SessionLoader = (siteId: string, visitorId: string) => Promise<SessionState | null>;

interface Waiter {
  resolve: (s: SessionState | null) => void;
  reject: (err: unknown) => void;
}

export function createSessionLoader(db: Db): SessionLoader {
  if (db.dialect !== 'pg') return (siteId, visitorId) => getVisitorSession(db, siteId, visitorId);
  let pending = new Map<string, Map<string, Waiter[]>>();
  const run = async (bySite: Map<string, Map<string, Waiter[]>>) => {
    for (const [siteId, visitors] of bySite) {
      try {
        const found = await getVisitorSessions(db, siteId, [...visitors.keys()]);
        for (const [visitorId, waiters] of visitors) for (const w of waiters) w.resolve(found.get(visitorId) ?? null);
      } catch (err) {
        for (const waiters of visitors.values()) for (const w of waiters) w.reject(err);
      }
    }
  };
  return (siteId, visitorId) =>
    new Promise((resolve, reject) => {
      if (pending.size === 0) {
        setImmediate(() => {
          const batch = pending;
          pending = new Map();
          void run(batch);
        });
      }
      let visitors = pending.get(siteId);
      if (!visitors) pending.set(siteId, (visitors = new Map()));
      let waiters = visitors.get(visitorId);
      if (!waiters) visitors.set(visitorId, (waiters = []));
      waiters.push({ resolve, reject });
    });
}

/**
 * The visitor's stored sessions with events between two times (enrich.ts lateEventSpan), from those events: what late
 * events join across batches and restarts, without any session state kept but the events themselves.
 */
export async function loadKnownSessions(db: Db, siteId: string, visitorId: string, span: { from: number; to: number }): Promise<KnownSession[]> {
  return knownSessionsOf(await listVisitorSessionEvents(db, siteId, visitorId, span.from, span.to));
}
