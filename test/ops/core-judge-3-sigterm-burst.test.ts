// SIGTERM in the middle of a burst of real beacon traffic, as `npm start` runs the collector (a child process, the
// HTTP-thread flush of a 2-CPU machine). Earlier passes sent only good single-event beacons at a stop; here the
// burst mixes what a site's traffic holds: good batches, a batch with one bad event beside good ones, an outbox resent
// (duplicates), a body cut short, and a tag with a wrong key. README "Operations": SIGTERM stops accepting, finishes
// in-flight requests, runs the last flush, exits 0. Contract §7: a 202 means stored; bad input is kept in the
// rejected store. So after the stop: exit 0; no answer but 202/400/404 (a request the stop cut off has no answer at
// all, never a 5xx); every event a 202 accepted is stored once; every refusal answered has its rejected-store row.
import http from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, test } from 'vitest';
import { createSite } from '../../collector/admin.js';
import { openDb } from '../../collector/storage/open-db.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { CHROME_UA } from '../helpers/factories.js';
import { tempDir } from '../helpers/test-db.js';

const children: ChildServer[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});

type Answer = { status: number | string; body: string };

function post(url: URL, agent: http.Agent, body: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname, port: url.port, path: '/e', method: 'POST', agent,
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body), origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: e.code ?? 'error', body: '' }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: e.code ?? 'error', body: '' }));
    req.end(body);
  });
}

test('SIGTERM during a mixed burst: exit 0, every 202 stored once, every refusal answered is kept, no 5xx', async () => {
  const path = join(tempDir('fb-cj3-term-'), 'burst.db');
  const setup = await openDb({ databasePath: path });
  const site = await createSite(setup, { domain: '127.0.0.1' });
  await setup.close();
  // flushes a little apart, so that requests are waiting for their group commit when the signal comes
  // (the rejected store's per-site budget raised: every refusal of the burst is to be kept, none only counted)
  const server = await startChildServer({ DATABASE_PATH: path, FLUSH_MS: '15', REJECTED_PER_SITE_PER_MIN: '100000' });
  children.push(server);
  const url = new URL(server.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 12 });

  let n = 0;
  let stop = false;
  const t0 = Date.now() - 60_000;
  const sentGood: string[][] = []; // batches already answered 202, to resend as an outbox
  const log: Array<{ kind: string; ids: string[]; bad: string[]; answer: Answer; at: number }> = [];
  const ev = (i: string, k: number) => ({ i, n: 'pageview', t: t0 + k, u: `http://127.0.0.1/pricing?p=${k}` });
  const senders = Array.from({ length: 12 }, async (_, lane) => {
    while (!stop) {
      const k = n++;
      const v = `termvisitor${lane}_${k}`;
      let kind: string;
      let body: string;
      let ids: string[] = [];
      let bad: string[] = [];
      switch (k % 5) {
        case 0:
          kind = 'good';
          ids = [0, 1, 2].map((j) => `term_good_${k}_${j}`);
          body = JSON.stringify({ s: site.siteKey, v, e: ids.map((i, j) => ev(i, k * 3 + j)) });
          break;
        case 1:
          kind = 'partial';
          ids = [`term_part_${k}`];
          bad = [`term_bad_${k}`];
          // the second event's name holds a comma: refused alone (README "HTTP API", event names)
          body = JSON.stringify({ s: site.siteKey, v, e: [ev(ids[0], k), { ...ev(bad[0], k), n: 'demo,request' }] });
          break;
        case 2: {
          kind = 'resend';
          const again = sentGood[k % Math.max(1, sentGood.length)];
          ids = again ?? [];
          body = again
            ? JSON.stringify({ s: site.siteKey, v: `termresend_${k}`, e: again.map((i, j) => ev(i, j)) })
            : JSON.stringify({ s: site.siteKey, v, e: [ev((ids = [`term_first_${k}`])[0], k)] });
          break;
        }
        case 3:
          kind = 'cut';
          body = JSON.stringify({ s: site.siteKey, v, e: [ev(`term_cut_${k}`, k)] }).slice(0, 60);
          break;
        default:
          kind = 'wrongkey';
          body = JSON.stringify({ s: 'pk_notthisone0000', v, e: [ev(`term_nokey_${k}`, k)] });
      }
      const answer = await post(url, agent, body);
      log.push({ kind, ids, bad, answer, at: Date.now() });
      if (answer.status === 202 && kind === 'good') sentGood.push(ids);
    }
  });

  await expect.poll(() => log.filter((l) => l.answer.status === 202).length, { timeout: 20_000, interval: 20 }).toBeGreaterThan(60);
  const killedAt = Date.now();
  server.child.kill('SIGTERM');
  const code = await Promise.race([server.exited, new Promise((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
  stop = true;
  await Promise.all(senders);
  agent.destroy();
  expect(code).toBe(0);
  // the stop came in the middle of the burst: requests in flight then were answered after it
  expect(log.filter((l) => l.at > killedAt && typeof l.answer.status === 'number').length).toBeGreaterThan(0);

  // the only answers: the expected ones, or none at all (a request the stop cut before it was read)
  const expected: Record<string, number> = { good: 202, partial: 202, resend: 202, cut: 400, wrongkey: 404 };
  const unexpected = log.filter((l) => typeof l.answer.status === 'number' && l.answer.status !== expected[l.kind]);
  expect(unexpected.map((l) => [l.kind, l.answer.status, l.answer.body])).toEqual([]);
  const noAnswer = log.filter((l) => typeof l.answer.status !== 'number').map((l) => l.answer.status);
  expect(noAnswer.filter((s) => !['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'socket hang up'].includes(String(s)))).toEqual([]);

  const db = new Database(path, { readonly: true });
  const stored = new Map<string, number>();
  for (const r of db.prepare('SELECT event_id, COUNT(*) AS n FROM events GROUP BY event_id').all() as Array<{ event_id: string; n: number }>) stored.set(r.event_id, r.n);
  const rejected = db.prepare("SELECT site_id, reason, raw FROM rejected_events WHERE route = '/e'").all() as Array<{ site_id: string; reason: string; raw: string }>;
  db.close();

  const answered = log.filter((l) => l.answer.status === 202);
  // every event a 202 answered for is stored, once; the resent ones are duplicates of stored ones
  const missing = answered.flatMap((l) => l.ids).filter((i) => stored.get(i) !== 1);
  expect(missing).toEqual([]);
  for (const l of answered) {
    const a = JSON.parse(l.answer.body);
    if (l.kind === 'good') expect(a).toEqual({ accepted: 3, duplicates: 0 });
    if (l.kind === 'partial') expect([a.accepted, a.rejected?.map((r: { index: number }) => r.index)]).toEqual([1, [1]]);
    if (l.kind === 'resend') expect(a.accepted + a.duplicates).toBe(l.ids.length);
  }
  // nothing refused was stored
  expect(log.flatMap((l) => l.bad).filter((i) => stored.has(i))).toEqual([]);
  expect([...stored.keys()].filter((i) => /^term_(cut|nokey|bad)_/.test(i))).toEqual([]);

  // every refusal the client was told of is kept: a refused event as the site's, the body cut short as the site's
  // (its opening names the key), the wrong key under no site
  const rowsWith = (reason: string, siteId: string, needle: string) => rejected.filter((r) => r.reason === reason && r.site_id === siteId && r.raw.includes(needle));
  for (const l of log) {
    if (l.kind === 'partial' && l.answer.status === 202) expect(rowsWith('invalid_event', site.siteId, `"${l.bad[0]}"`), l.bad[0]).toHaveLength(1);
  }
  const cutAnswered = log.filter((l) => l.kind === 'cut' && l.answer.status === 400).length;
  expect(rejected.filter((r) => r.reason === 'invalid_json' && r.site_id === site.siteId).length).toBeGreaterThanOrEqual(cutAnswered);
  const nokeyAnswered = log.filter((l) => l.kind === 'wrongkey' && l.answer.status === 404).length;
  expect(rejected.filter((r) => r.reason === 'unknown_site' && r.site_id === '').length).toBeGreaterThanOrEqual(nokeyAnswered);
  expect(cutAnswered + nokeyAnswered).toBeGreaterThan(10);
}, 60_000);
