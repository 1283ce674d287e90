// PostgreSQL, two collectors: a page at 0 minutes is stored; then the page at 14 minutes (sent late) reaches collector
// 1 while the page at 32 minutes reaches collector 2, both enriched on the session last active at 0, and the visitor's
// next page (35 minutes) reaches collector 2 a moment later, enriched on the session the page at 32 opened (its write
// still under way there). The opener's flush commits first, then the late page's flush merges that session into the
// first one (session-bridge.ts bridgeCommitted). One collector leaves one session (test/ingest/session-bridge.test.ts),
// so must two: the next page's flush, committing last, must not store its page under the merged-away session. Each
// interleaving is played here step by step with real transactions (the first two are those
// test/scale-out/late-page-race.test.ts met, 1 of 30 visitors in about one run of five):
// - the next page's flush waits for the visitor's row (held by the late page's flush) while the opener is answered;
// - the next page's flush begins only after the opener was answered (its slot freed by the opener's commit);
// - the next page goes to a third collector, which reads the session back before the merge and stores it after.
import { describe, expect, test } from 'vitest';
import { sessionIdFor } from '../../collector/ingest/sessions.js';
import { getVisitorSession } from '../../collector/storage/events.js';
import { T0, MIN } from '../helpers/funnel-factories.js';
import { collector, deferred, setUpFlushes, someoneWaits, type Collector } from '../helpers/pg-flush-harness.js';

async function setUp() {
  const { db, site, firstPage, request, flush, stored } = await setUpFlushes();

  /**
   * The visitor's three requests: the late page (collector 1), the opener and the next page (collector 2, each noted
   * in flight there as the event writer does when it is handed a request: store.ts write).
   */
  async function requests(v: string, c2: Collector) {
    await firstPage(v);
    const was = (await getVisitorSession(db, site.siteId, v))!;
    const late = request(v, 14, was);
    const opener = request(v, 32, was);
    const next = request(v, 35, opener.visitor!.session);
    // as enriched, the page at 32 minutes opens a session for the gap after 0 and the page at 35 continues it
    expect([opener.events[0].sessionId, next.events[0].sessionId]).toEqual([sessionIdFor(v, T0 + 32 * MIN), sessionIdFor(v, T0 + 32 * MIN)]);
    const answered = { opener: c2.joiner.track(opener) ?? (() => {}), next: c2.joiner.track(next) ?? (() => {}) };
    return { late, opener, next, answered };
  }

  return { db, flush, stored, requests, request };
}

describe.runIf(!!process.env.TEST_DATABASE_URL)('the next page of a visit whose opener a late page on another collector merged away', () => {
  // one session from 0 minutes: the four pages, the first alone opening it
  const oneSession = (v: string) => {
    const a = sessionIdFor(v, T0);
    return { events: [[0, a, 1], [14, a, 0], [32, a, 0], [35, a, 0]], visitor: { sessionId: a, started: T0, count: 1 } };
  };

  test('its flush waited for the visitor\'s row while the opener was answered: it joins the first session', async () => {
    const c = await setUp();
    const [c1, c2] = [collector(), collector()];
    const v = 'v_pglatepagenext1';
    const { late, opener, next, answered } = await c.requests(v, c2);
    // the opener's flush commits; its request is not answered yet
    await c.flush(c2, opener, Promise.resolve()).done;
    // the late page's flush finds that session current and merges it into the first one, holding the row
    const releaseLate = deferred();
    const a = c.flush(c1, late, releaseLate.promise);
    await a.held;
    // the next page's flush begins while the opener is in flight, and waits for the row
    const b = c.flush(c2, next, Promise.resolve());
    await someoneWaits(c.db);
    answered.opener();
    releaseLate.resolve();
    await Promise.all([a.done, b.done]);
    answered.next();
    expect(await c.stored(v)).toEqual(oneSession(v));
  });

  test('its flush began after the opener was answered: it joins the first session', async () => {
    const c = await setUp();
    const [c1, c2] = [collector(), collector()];
    const v = 'v_pglatepagenext2';
    const { late, opener, next, answered } = await c.requests(v, c2);
    await c.flush(c2, opener, Promise.resolve()).done;
    answered.opener();
    const releaseLate = deferred();
    const a = c.flush(c1, late, releaseLate.promise);
    await a.held;
    // (its flush waits for the row at the join or, unchecked, at its visitor upsert)
    const b = c.flush(c2, next, Promise.resolve());
    await someoneWaits(c.db);
    releaseLate.resolve();
    await Promise.all([a.done, b.done]);
    answered.next();
    expect(await c.stored(v)).toEqual(oneSession(v));
  });

  test('merged after the next page was stored: the late page\'s flush moves it too (the order that already held)', async () => {
    const c = await setUp();
    const [c1, c2] = [collector(), collector()];
    const v = 'v_pglatepagenext3';
    const { late, opener, next, answered } = await c.requests(v, c2);
    await c.flush(c2, opener, Promise.resolve()).done;
    answered.opener();
    await c.flush(c2, next, Promise.resolve()).done;
    answered.next();
    await c.flush(c1, late, Promise.resolve()).done;
    expect(await c.stored(v)).toEqual(oneSession(v));
  });

  test('enriched from storage on a third collector before the merge, flushed after it: it joins the first session', async () => {
    const c = await setUp();
    const [c1, c2, c3] = [collector(), collector(), collector()];
    const v = 'v_pglatepagenext4';
    const { late, opener, answered } = await c.requests(v, c2);
    await c.flush(c2, opener, Promise.resolve()).done;
    answered.opener();
    // the third collector reads the visitor's session back (the one the page at 32 opened) and goes on in it
    const read = (await getVisitorSession(c.db, opener.visitor!.siteId, v))!;
    expect(read.sessionId).toBe(sessionIdFor(v, T0 + 32 * MIN));
    const next = c.request(v, 35, read);
    // nothing of it is in flight there
    expect(c3.joiner.track(next)).toBe(null);
    const releaseLate = deferred();
    const a = c.flush(c1, late, releaseLate.promise);
    await a.held;
    // (its flush waits for the row at its visitor upsert)
    const n = c.flush(c3, next, Promise.resolve());
    await someoneWaits(c.db);
    releaseLate.resolve();
    await Promise.all([a.done, n.done]);
    expect(await c.stored(v)).toEqual(oneSession(v));
  });

  test('the next page\'s flush commits before its opener\'s, the late page\'s in between: one session', async () => {
    const c = await setUp();
    const [c1, c2] = [collector(), collector()];
    const v = 'v_pglatepagenext5';
    const { late, opener, next, answered } = await c.requests(v, c2);
    // the next page's flush takes the row first (it finds no later session to join), and commits
    await c.flush(c2, next, Promise.resolve()).done;
    // the late page's flush finds that session current and merges it into the first one
    await c.flush(c1, late, Promise.resolve()).done;
    // the opener's flush finds the first session gone on to within 30 minutes of its page, and joins it
    await c.flush(c2, opener, Promise.resolve()).done;
    answered.next();
    answered.opener();
    expect(await c.stored(v)).toEqual(oneSession(v));
  });
});
