// Flushes of POST /e requests played step by step on PostgreSQL, each in a real transaction of its own, as several
// collectors' event writers run them (store.ts, attribution aside): for the tests that order two or three collectors'
// flushes by hand (test/ingest/pg-bridge-commit-order.test.ts, test/ingest/pg-late-page-next-request.test.ts).
import { afterEach, expect } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import type { SessionState } from '../../collector/ingest/sessions.js';
import { createSessionJoiner, type SessionJoiner } from '../../collector/ingest/concurrent-sessions.js';
import { createSessionBridge, type SessionBridge } from '../../collector/ingest/session-bridge.js';
import { enrichBatch } from '../../collector/ingest/enrich.js';
import { parseUserAgent } from '../../collector/ingest/user-agent.js';
import { mergeVisitorUpdates, visitorSpan, type WriteRequest } from '../../collector/ingest/store.js';
import { getVisitorSession, insertEvents, upsertVisitors } from '../../collector/storage/events.js';
import type { Db } from '../../collector/storage/db.js';
import { openTestDb } from './test-db.js';
import { CHROME_UA, randomId } from './factories.js';
import { MIN, T0 } from './funnel-factories.js';

/** The collectors' clock: every request is received at 50 minutes. */
export const NOW = T0 + 50 * MIN;

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

export function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves once a statement of the database waits for a lock another transaction holds (polled, 5 s at most). */
export async function someoneWaits(db: Db) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const r = await db.get<{ n: number | string }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (Number(r!.n) > 0) return;
    if (Date.now() > deadline) throw new Error('no transaction waited for the row lock');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A collector's session state across its flushes (store.ts createEventWriter keeps one of each). */
export interface Collector { joiner: SessionJoiner; bridge: SessionBridge }
export const collector = (): Collector => ({ joiner: createSessionJoiner(), bridge: createSessionBridge() });

/** A site on a fresh PostgreSQL database, and the steps of its visitors' requests. */
export async function setUpFlushes() {
  const db = await openTestDb('pg');
  const site = await createSite(db, { domain: '127.0.0.1' }, T0);
  const app = createApp({ db, now: () => T0, config: defaultConfig({ FLUSH_MS: 0, SEGMENT_SWEEP_MS: 0 }), log: createLog('error') });
  closers.push(async () => {
    await app.close();
    await db.close();
  });
  const ua = parseUserAgent(CHROME_UA);

  /** The visitor's page at 0 minutes, stored through POST /e. */
  async function firstPage(v: string) {
    const res = await app.app.request('/e', {
      method: 'POST',
      body: JSON.stringify({ s: site.siteKey, v, e: [{ i: randomId(), n: 'pageview', t: T0, u: 'http://127.0.0.1/pricing' }] }),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
    });
    expect(res.status).toBe(202);
  }

  /** A request of the visitor's page at `minutes`, enriched on the session `previous` as a collector would. */
  function request(v: string, minutes: number, previous: SessionState): WriteRequest {
    const batch = { s: site.siteKey, v, e: [{ i: randomId(), n: 'pageview', t: T0 + minutes * MIN, u: 'http://127.0.0.1/pricing' }] };
    const out = enrichBatch({ site, ua, receivedAt: NOW, session: previous, batch });
    return {
      events: out.events,
      visitor: {
        siteId: site.siteId, visitorId: v, ...visitorSpan(out.events), session: out.session, newSessions: out.newSessions,
        browser: null, os: null, device: null, isBot: false, basedOn: { sessionId: previous.sessionId, started: previous.started, lastSeen: previous.lastSeen },
      },
    };
  }

  /**
   * One flush of one request on collector `c`, as the event writer runs it (store.ts, attribution aside), in a
   * transaction of its own: `held` resolves once its visitor upsert is done, and it commits once `release` resolves.
   */
  function flush(c: Collector, req: WriteRequest, release: Promise<void>) {
    const held = deferred();
    const done = db.transaction(async (tx) => {
      await c.joiner.join(tx, [req]);
      await c.bridge.bridge(tx, [req]);
      const updates = mergeVisitorUpdates([req], await insertEvents(tx, req.events));
      const current = await upsertVisitors(tx, updates);
      await c.bridge.bridgeCommitted(tx, updates, current!);
      await c.bridge.rejoinMerged(tx, [req], updates, current!);
      held.resolve();
      await release;
    });
    return { held: held.promise, done };
  }

  /** The visitor's events as [minutes, session, opener] and its row's current session. */
  async function stored(v: string) {
    const rows = await db.all<{ at: number; session_id: string; opener: number }>(
      'SELECT at, session_id, CASE WHEN first_touch IS NOT NULL THEN 1 ELSE 0 END AS opener FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at',
      [site.siteId, v],
    );
    const row = await db.get<{ session_id: string; session_started: number; session_count: number }>(
      'SELECT session_id, session_started, session_count FROM visitors WHERE site_id = ? AND visitor_id = ?', [site.siteId, v]);
    return {
      events: rows.map((r) => [(Number(r.at) - T0) / MIN, r.session_id, Number(r.opener)]),
      visitor: { sessionId: row!.session_id, started: Number(row!.session_started), count: Number(row!.session_count) },
    };
  }

  return { db, site, firstPage, request, flush, stored, session: (v: string) => getVisitorSession(db, site.siteId, v) };
}
