// PostgreSQL, two collectors: a page at 0 minutes is stored; then, both enriched on that session (last active at 0),
// the page at 14 minutes (sent late) goes on in it on one collector, and the page at 32 minutes opens a session for
// the gap on the other. One collector leaves one session in either order (test/ingest/session-bridge.test.ts); two
// must too, whichever flush commits first. Each order is played here step by step with two real transactions: the
// second flush waits on the visitor's row lock the first holds, and only then is the first committed.
// (test/scale-out/late-page-race.test.ts plays the same race through POST /e, with no control of the order.)
import { describe, expect, test } from 'vitest';
import { sessionIdFor } from '../../collector/ingest/sessions.js';
import { enrichBatch } from '../../collector/ingest/enrich.js';
import { parseUserAgent } from '../../collector/ingest/user-agent.js';
import { visitorSpan, type WriteRequest } from '../../collector/ingest/store.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { MIN, T0 } from '../helpers/funnel-factories.js';
import { collector, deferred, NOW, setUpFlushes, someoneWaits } from '../helpers/pg-flush-harness.js';

const setUp = setUpFlushes;

describe.runIf(!!process.env.TEST_DATABASE_URL)('a late page and the next session\'s first page, flushed by two collectors at once', () => {
  /** Plays the two flushes: `first` takes the visitor's row and holds it until `second` waits for it, then commits. */
  async function play(c: Awaited<ReturnType<typeof setUp>>, v: string, first: WriteRequest, second: WriteRequest) {
    const releaseFirst = deferred();
    const a = c.flush(collector(), first, releaseFirst.promise);
    await a.held;
    const b = c.flush(collector(), second, Promise.resolve());
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
