// README, Operations: "Logs: one JSON line per problem on stderr, none per accepted event." The app's log is given a
// writer that keeps the lines (the same createLog the collector writes stderr with), and the problems are real: a
// table the flush or the attribution needs is gone.
import { afterEach, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { openTestSqlite } from '../helpers/test-db.js';
import { CHROME_UA } from '../helpers/factories.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function logged() {
  const lines: string[] = [];
  const db = await openTestSqlite();
  const site = await createSite(db, { domain: 'example.com' });
  const created = createApp({ db, log: createLog('info', (l) => lines.push(l)), config: defaultConfig({ LOG_LEVEL: 'info', SEGMENT_SWEEP_MS: 0 }) });
  closers.push(async () => {
    await created.close();
    await db.close();
  });
  let n = 0;
  const post = (body: string, headers: Record<string, string> = {}) =>
    created.app.request('/e', { method: 'POST', body, headers: { 'content-type': 'text/plain', origin: 'https://example.com', 'user-agent': CHROME_UA, ...headers } });
  const batch = (visitor: string, events: number) =>
    JSON.stringify({
      s: site.siteKey,
      v: visitor,
      e: Array.from({ length: events }, () => ({ i: `evt_log_${++n}_${visitor}`, n: 'pageview', t: Date.now(), u: 'https://example.com/pricing' })),
    });
  const parsed = () => lines.map((l) => JSON.parse(l) as { time: string; level: string; msg: string } & Record<string, unknown>);
  return { db, site, lines, parsed, post, batch, metrics: created.deps.metrics };
}

describe('structured logs', () => {
  test('accepted events and retries write no line, however many', async () => {
    const h = await logged();
    const bodies = Array.from({ length: 12 }, (_, k) => h.batch(`v_log_quiet_${k}`, 5));
    const answers = await Promise.all(bodies.map((b) => h.post(b)));
    expect(answers.map((r) => r.status)).toEqual(bodies.map(() => 202));
    // the same batches again: duplicates, stored once, still nothing to say
    expect((await Promise.all(bodies.map((b) => h.post(b)))).map((r) => r.status)).toEqual(bodies.map(() => 202));
    expect(h.metrics.value('funnelbeam_events_accepted_total')).toBe(60);
    expect(h.lines).toEqual([]);
  });

  // Before the fix, besides the flush's line, each request it failed logged `beacon not stored` (routes/ingest.ts):
  // 1 + N lines for one full disk. The flush marks its error logged (ops/log.ts markLogged), and the route skips it.
  test('a flush that fails is one JSON line naming it, with the events it held, not a line per request', async () => {
    const h = await logged();
    expect((await h.post(h.batch('v_log_before', 1))).status).toBe(202);
    // the disk fills up: SQLite refuses the flush's INSERT (a trigger raises the error the real one would)
    await h.db.run("CREATE TRIGGER no_room BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const answers = await Promise.all(Array.from({ length: 6 }, (_, k) => h.post(h.batch(`v_log_fail_${k}`, 3))));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 503));
    const failedFlushes = h.metrics.value('funnelbeam_flush_failures_total', { code: 'SQLITE_CONSTRAINT_TRIGGER' });
    expect(failedFlushes).toBeGreaterThanOrEqual(1);
    const lines = h.parsed();
    for (const l of lines) {
      expect(l.level).toBe('error');
      expect(new Date(l.time).toISOString()).toBe(l.time);
      expect(l.msg).toMatch(/flush failed/);
      expect(l.error).toBe('database or disk is full');
    }
    // one line per failed flush, and together they name every event that was not stored
    expect(lines.length).toBe(failedFlushes);
    expect(lines.reduce((sum, l) => sum + Number(l.events), 0)).toBe(18);
  });

  test('an attribution that fails is one line; the events stay stored for replay', async () => {
    const h = await logged();
    await h.db.run('DROP TABLE leads');
    const res = await h.post(h.batch('v_log_attr', 4));
    expect(res.status).toBe(202);
    const lines = h.parsed();
    expect(lines.map((l) => [l.level, l.msg, l.events])).toEqual([['error', expect.stringMatching(/attribution failed/), 4]]);
    const stored = await h.db.get<{ n: number; a: number }>("SELECT COUNT(*) AS n, SUM(attributed) AS a FROM events WHERE visitor_id = 'v_log_attr'");
    expect([Number(stored!.n), Number(stored!.a)]).toEqual([4, 0]);
    expect(h.metrics.value('funnelbeam_attribution_failures_total')).toBe(1);
  });
});
