// With WRITER_THREAD=1 (the default on 4 or more CPUs) flushes run on a writer thread: what it acknowledges is stored and attributed, its metrics reach
// /metrics, retried ids are stored once, and closing the server drains what the thread still holds.
import { afterAll, expect, test, vi } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { availableParallelism } from 'node:os';
import { startServer, type RunningServer } from '../../collector/server.js';
import { tempDir } from '../helpers/test-db.js';

const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function start(env: Record<string, string> = {}) {
  const path = join(tempDir(), 'thread.db');
  const server = await startServer({ env: { PORT: '0', DATABASE_PATH: path, LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0', WRITER_THREAD: '1', ...env } });
  servers.push(server);
  return { server, path };
}

const beacon = (server: RunningServer, v: string, ids: string[]) =>
  fetch(server.url + '/e', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: 'http://localhost', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36' },
    body: JSON.stringify({ s: server.demoSite!.siteKey, v, e: ids.map((i, k) => ({ i, n: 'pageview', t: Date.now() + k, u: 'http://localhost/pricing' })) }),
  });

test('concurrent beacons are stored once each, attributed, and counted in /metrics', async () => {
  const { server } = await start();
  expect(server.created.deps.writer.name).toBe('event-writer-thread');
  const visitors = Array.from({ length: 40 }, (_, k) => 'mhvisitor' + String(k).padStart(3, '0'));
  const answers = await Promise.all(visitors.map((v) => beacon(server, v, [v + '-a', v + '-b'])));
  expect(answers.map((r) => r.status)).toEqual(visitors.map(() => 202));
  // a retry of the first visitor's beacon: stored once, reported as duplicates
  const retry = await beacon(server, visitors[0], [visitors[0] + '-a', visitors[0] + '-b']);
  expect(await retry.json()).toEqual({ accepted: 0, duplicates: 2 });

  const db = server.db;
  expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n).toBe(80);
  // attribution ran on the thread: one anonymous lead per visitor, at its first stage, events attributed
  const leads = await db.all<{ stage: string }>('SELECT stage FROM leads');
  expect(leads.length).toBe(40);
  expect(new Set(leads.map((l) => l.stage))).toEqual(new Set(['consideration']));
  expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE attributed = 0'))!.n).toBe(0);

  const metrics = await (await fetch(server.url + '/metrics')).text();
  expect(metrics).toMatch(/^funnelbeam_events_accepted_total 80$/m);
  expect(metrics).toMatch(/^funnelbeam_events_duplicate_total 2$/m);
  expect(metrics).toMatch(/^funnelbeam_attribution_seconds_count [1-9]\d*$/m);
  expect(metrics).toMatch(/^funnelbeam_writer_pending_events 0$/m);
});

test('closing the server answers and stores every beacon the thread still held', async () => {
  const { server, path } = await start({ FLUSH_MS: '200' });
  const sent = Array.from({ length: 25 }, (_, k) => beacon(server, 'mhclosing' + k, ['mhclosing' + k + '-e']));
  // once the thread holds them all (waiting for the 200 ms flush), shut down
  await vi.waitFor(() => expect(server.created.deps.writer.pendingEvents()).toBe(25), { timeout: 5000, interval: 2 });
  const closing = server.close();
  expect((await Promise.all(sent)).map((r) => r.status)).toEqual(sent.map(() => 202));
  await closing;
  const raw = new Database(path, { readonly: true });
  expect((raw.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(25);
  raw.close();
});

test('WRITER_THREAD=0 keeps the flush on the HTTP thread', async () => {
  const { server } = await start({ WRITER_THREAD: '0' });
  expect(server.created.deps.writer.name).toBe('event-writer');
  expect((await beacon(server, 'mhinline01', ['mhinline01-e'])).status).toBe(202);
});

test('WRITER_THREAD=auto takes a thread only with 4 or more CPUs', async () => {
  const { server } = await start({ WRITER_THREAD: 'auto' });
  expect(server.created.deps.writer.name).toBe(availableParallelism() >= 4 ? 'event-writer-thread' : 'event-writer');
  expect((await beacon(server, 'mhauto0001', ['mhauto0001-e'])).status).toBe(202);
});
