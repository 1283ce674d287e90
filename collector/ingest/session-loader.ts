// Stored sessions of visitors the collector has not seen since it started, read for enrichment.
// SQLite: one indexed read each (in process: cheaper than waiting to batch). PostgreSQL: every statement is a round
// trip, so the visitors asked for within one turn of the event loop are read together in one statement per site.
import type { Db } from '../storage/db.js';
import { getVisitorSession, getVisitorSessions } from '../storage/events.js';
import type { SessionState } from './sessions.js';

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
