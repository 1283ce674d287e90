// PostgreSQL, two collectors: a page at 0 minutes is stored; then, both enriched on that session (last active at 0),
// the page at 14 minutes (sent late) goes on in it on one collector, and the page at 32 minutes opens a session for
// the gap on the other. One collector leaves one session in either order (test/ingest/session-bridge.test.ts); two
// must too, whichever flush commits first. Each order is played here step by step with two real transactions: the
// second flush waits on the visitor's row lock the first holds, and only then is the first committed.
// (test/scale-out/late-page-race.test.ts plays the same race through POST /e, with no control of the order.)
import { afterEach, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { sessionIdFor, type SessionState } from '../../collector/ingest/sessions.js';
import { createSessionJoiner } from '../../collector/ingest/concurrent-sessions.js';
import { createSessionBridge } from '../../collector/ingest/session-bridge.js';
import { enrichBatch } from '../../collector/ingest/enrich.js';
import { parseUserAgent } from '../../collector/ingest/user-agent.js';
import { mergeVisitorUpdates, visitorSpan, type WriteRequest } from '../../collector/ingest/store.js';
import { getVisitorSession, insertEvents, upsertVisitors } from '../../collector/storage/events.js';
import type { Db } from '../../collector/storage/db.js';
import { openTestDb } from '../helpers/test-db.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { MIN, T0 } from '../helpers/funnel-factories.js';

const NOW = T0 + 50 * MIN;
let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves once a statement of the database waits for a lock another transaction holds (polled, 5 s at most). */
async function someoneWaits(db: Db) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const r = await db.get<{ n: number | string }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (Number(r!.n) > 0) return;
    if (Date.now() > deadline) throw new Error('no transaction waited for the row lock');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setUp() {
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
   * One collector's flush of one request, as the event writer runs it (store.ts, attribution aside), in a transaction
   * of its own: `hold` resolves once its visitor upsert is done, and it commits once `release` resolves.
   */
  function flush(req: WriteRequest, release: Promise<void>) {
    const held = deferred();
    const joiner = createSessionJoiner();
    const bridge = createSessionBridge();
    const done = db.transaction(async (tx) => {
      await joiner.join(tx, [req]);
      await bridge.bridge(tx, [req]);
      const updates = mergeVisitorUpdates([req], await insertEvents(tx, req.events));
      const current = await upsertVisitors(tx, updates);
      await bridge.bridgeCommitted(tx, updates, current!);
      await bridge.rejoinMerged(tx, [req], updates, current!);
      held.resolve();
      await release;
    });
    return { held: held.promise, done };
  }

  async function stored(v: string) {
    const rows = await db.all<{ at: number; session_id: string; opener: number }>(
      "SELECT at, session_id, CASE WHEN first_touch IS NOT NULL THEN 1 ELSE 0 END AS opener FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at",
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

describe.runIf(!!process.env.TEST_DATABASE_URL)('a late page and the next session\'s first page, flushed by two collectors at once', () => {
  /** Plays the two flushes: `first` takes the visitor's row and holds it until `second` waits for it, then commits. */
  async function play(c: Awaited<ReturnType<typeof setUp>>, v: string, first: WriteRequest, second: WriteRequest) {
    const releaseFirst = deferred();
    const a = c.flush(first, releaseFirst.promise);
    await a.held;
    const b = c.flush(second, Promise.resolve());
    await someoneWaits(c.db);
    releaseFirst.resolve();
    await Promise.all([a.done, b.done]);
    return c.stored(v);
  }

  test('the opener\'s flush first: the late page\'s flush, committing second, merges its session into the first', async () => {
    const c = await setUp();
    const v = 'v_pgbridgeorder1';
    await c.firstPage(v);
    const was = (await c.session(v))!;
    const [late, opener] = [c.request(v, 14, was), c.request(v, 32, was)];
    // as enriched, the page at 32 minutes opens a session for the gap after 0
    expect(opener.events[0].sessionId).toBe(sessionIdFor(v, T0 + 32 * MIN));
    const a = sessionIdFor(v, T0);
    expect(await play(c, v, opener, late)).toEqual({
      events: [[0, a, 1], [14, a, 0], [32, a, 0]],
      visitor: { sessionId: a, started: T0, count: 1 },
    });
  });

  test('the late page\'s flush first: the opener\'s flush, waiting for the row, reads its page and joins the first session', async () => {
    const c = await setUp();
    const v = 'v_pgbridgeorder2';
    await c.firstPage(v);
    const was = (await c.session(v))!;
    const [late, opener] = [c.request(v, 14, was), c.request(v, 32, was)];
    const a = sessionIdFor(v, T0);
    expect(await play(c, v, late, opener)).toEqual({
      events: [[0, a, 1], [14, a, 0], [32, a, 0]],
      visitor: { sessionId: a, started: T0, count: 1 },
    });
  });

  test('a page more than 30 minutes after the late one still opens its own session, in either order', async () => {
    const c = await setUp();
    for (const [v, opensFirst] of [['v_pgbridgeapart1', true], ['v_pgbridgeapart2', false]] as const) {
      await c.firstPage(v);
      const was = (await c.session(v))!;
      const [late, opener] = [c.request(v, 14, was), c.request(v, 45, was)];
      const [a, b] = [sessionIdFor(v, T0), sessionIdFor(v, T0 + 45 * MIN)];
      expect(await play(c, v, opensFirst ? opener : late, opensFirst ? late : opener), v).toEqual({
        events: [[0, a, 1], [14, a, 0], [45, b, 1]],
        visitor: { sessionId: b, started: T0 + 45 * MIN, count: 2 },
      });
    }
  });

  test('a session the other page opened with a new campaign stays apart, in either order', async () => {
    const c = await setUp();
    for (const [v, opensFirst] of [['v_pgbridgecamp1', true], ['v_pgbridgecamp2', false]] as const) {
      await c.firstPage(v);
      const was = (await c.session(v))!;
      const late = c.request(v, 14, was);
      const u = 'http://127.0.0.1/pricing?utm_source=news&utm_medium=email&utm_campaign=spring';
      const batch = { s: c.site.siteKey, v, e: [{ i: randomId(), n: 'pageview', t: T0 + 32 * MIN, u }] };
      const out = enrichBatch({ site: c.site, ua: parseUserAgent(CHROME_UA), receivedAt: NOW, session: was, batch });
      const opener: WriteRequest = {
        events: out.events,
        visitor: { ...late.visitor!, ...visitorSpan(out.events), session: out.session, newSessions: out.newSessions },
      };
      const [a, b] = [sessionIdFor(v, T0), sessionIdFor(v, T0 + 32 * MIN)];
      const got = await play(c, v, opensFirst ? opener : late, opensFirst ? late : opener);
      expect(got.events, v).toEqual([[0, a, 1], [14, a, 0], [32, b, 1]]);
      expect(got.visitor, v).toEqual({ sessionId: b, started: T0 + 32 * MIN, count: 2 });
    }
  });
});
