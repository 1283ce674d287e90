// An outside judge's POST /e input, seventh pass: the guarantees of contract §7 and README "store" / "Operations" on
// the path a production machine takes. With 4 or more CPUs the flushes run on a writer thread (WRITER_THREAD=auto), so
// "a 202 survives kill -9" and "SIGTERM runs the last flush" are judged there too, as real processes; and a beacon whose
// body is still arriving when SIGTERM comes is an in-flight request that must be finished, not dropped.
import { describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { openDb } from '../../collector/storage/open-db.js';
import { createSite } from '../../collector/admin.js';
import { runAdmin } from '../../scripts/admin.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { makeBatch, CHROME_UA } from '../helpers/factories.js';
import { tempDir } from '../helpers/test-db.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ORIGIN = 'http://127.0.0.1';
const headers = { 'content-type': 'text/plain;charset=UTF-8', origin: ORIGIN, 'user-agent': CHROME_UA };

async function siteDb(name: string) {
  const path = join(tempDir('fb-unseen7-'), name);
  const setup = await openDb({ databasePath: path });
  const site = await createSite(setup, { domain: '127.0.0.1' });
  await setup.close();
  return { path, site };
}

async function storedIds(path: string): Promise<{ ids: Set<string>; rows: number }> {
  const db = await openDb({ databasePath: path });
  try {
    const rows = await db.all<{ event_id: string }>('SELECT event_id FROM events');
    return { ids: new Set(rows.map((r) => r.event_id)), rows: rows.length };
  } finally {
    await db.close();
  }
}

/** Polls `read` until `check` holds, or fails at the deadline. */
async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metric(server: ChildServer, name: string): Promise<number> {
  const text = await (await fetch(server.url + '/metrics')).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

describe('the writer thread (WRITER_THREAD=1, the default on 4 or more CPUs) keeps contract §7', () => {
  test('every event answered 202 survives a SIGKILL a moment later, stored once', async () => {
    const { path, site } = await siteDb('kill-thread.db');
    const server = await startChildServer({ DATABASE_PATH: path, WRITER_THREAD: '1', RATE_LIMIT_CLIENT_PER_SEC: '0' });
    const acked: string[] = [];
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const batch = makeBatch(site.siteKey, {}, [{}, {}, {}, {}]);
        try {
          const res = await fetch(server.url + '/e', { method: 'POST', body: JSON.stringify(batch), headers });
          if (res.status === 202) acked.push(...batch.e.map((e) => e.i));
          else throw new Error(`status ${res.status}: ${await res.text()}`);
        } catch (err) {
          if (/status/.test((err as Error).message)) throw err;
          return; // the collector is gone
        }
      }
    };
    const senders = Array.from({ length: 6 }, sender);
    await until(async () => acked.length, (n) => n >= 400, 'acknowledged events');
    server.child.kill('SIGKILL');
    stop = true;
    expect(await server.exited).toBe('SIGKILL');
    await Promise.all(senders);
    const { ids, rows } = await storedIds(path);
    expect(acked.filter((i) => !ids.has(i))).toEqual([]);
    expect(rows).toBe(ids.size);
  }, 40_000);

  test('SIGTERM while events wait for their group commit on the thread: each is answered 202, stored, exit 0', async () => {
    const { path, site } = await siteDb('term-thread.db');
    const server = await startChildServer({ DATABASE_PATH: path, WRITER_THREAD: '1', FLUSH_MS: '1000' });
    const batches = Array.from({ length: 8 }, () => makeBatch(site.siteKey, {}, [{}, {}]));
    const answers = batches.map((b) => fetch(server.url + '/e', { method: 'POST', body: JSON.stringify(b), headers }).then((r) => r.status));
    // every request has reached the collector and waits for the 1 s flush
    await until(
      async () => (await metric(server, 'funnelbeam_writer_pending_events')) + (await metric(server, 'funnelbeam_events_accepted_total')),
      (n) => n >= 16,
      'events pending or stored',
    );
    server.child.kill('SIGTERM');
    expect(await Promise.all(answers)).toEqual(batches.map(() => 202));
    expect(await server.exited).toBe(0);
    const { ids } = await storedIds(path);
    expect(batches.flatMap((b) => b.e.map((e) => e.i)).filter((i) => !ids.has(i))).toEqual([]);
  }, 30_000);
});

describe('SIGTERM while a beacon is still being uploaded (README "Operations": finish in-flight requests)', () => {
  test.each(['0', '1'])('its body finished after the signal is answered 202 and stored; the collector then exits 0 (WRITER_THREAD=%s)', async (thread) => {
    const { path, site } = await siteDb(`upload-${thread}.db`);
    const server = await startChildServer({ DATABASE_PATH: path, WRITER_THREAD: thread, LOG_LEVEL: 'info' });
    const batch = makeBatch(site.siteKey, {}, [{}, {}, {}]);
    const body = Buffer.from(JSON.stringify(batch));
    const half = Math.floor(body.length / 2);
    const u = new URL(server.url + '/e');
    let answered!: (v: { status: number; text: string }) => void;
    const answer = new Promise<{ status: number; text: string }>((r) => (answered = r));
    const req = request({ host: u.hostname, port: u.port, path: '/e', method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => answered({ status: res.statusCode!, text }));
    });
    req.on('error', (err) => answered({ status: 0, text: err.message }));
    req.write(body.subarray(0, half));
    // the headers and half of the body are with the collector when a /healthz on another connection has been answered
    await until(async () => (await fetch(server.url + '/healthz')).status, (s) => s === 200, 'healthz');
    server.child.kill('SIGTERM');
    await until(async () => server.output(), (o) => o.includes('shutting down'), 'the shutdown log line');
    req.end(body.subarray(half));
    const got = await answer;
    expect(got.status, got.text).toBe(202);
    expect(JSON.parse(got.text)).toMatchObject({ accepted: 3 });
    expect(await server.exited).toBe(0);
    const { ids } = await storedIds(path);
    expect(batch.e.map((e) => e.i).filter((i) => !ids.has(i))).toEqual([]);
  }, 30_000);
});

describe('SIGTERM while a client stalls in the middle of its body (README "Operations": closed HANDLER_TIMEOUT_MS + 1 s later)', () => {
  test('the collector still stops, exit 0, within seconds; the half body is not stored, the events answered before are', async () => {
    const { path, site } = await siteDb('stall.db');
    const server = await startChildServer({ DATABASE_PATH: path, HANDLER_TIMEOUT_MS: '1000', LOG_LEVEL: 'info' });
    const before = makeBatch(site.siteKey, {}, [{}, {}]);
    expect((await fetch(server.url + '/e', { method: 'POST', body: JSON.stringify(before), headers })).status).toBe(202);
    const stalled = makeBatch(site.siteKey, {}, [{}, {}, {}]);
    const body = Buffer.from(JSON.stringify(stalled));
    const u = new URL(server.url + '/e');
    const ended = new Promise<string>((resolve) => {
      const req = request({ host: u.hostname, port: u.port, path: '/e', method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(`answered ${res.statusCode}`));
        res.on('error', () => resolve('closed'));
      });
      req.on('error', () => resolve('closed'));
      req.write(body.subarray(0, 40)); // and never the rest
    });
    await until(async () => (await fetch(server.url + '/healthz')).status, (s) => s === 200, 'healthz');
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // HANDLER_TIMEOUT_MS (1 s) + 1 s, and some room for a busy machine
    expect(Date.now() - signalled).toBeLessThan(6_000);
    expect(await ended).not.toBe('answered 202');
    const { ids } = await storedIds(path);
    expect(before.e.every((e) => ids.has(e.i))).toBe(true);
    expect(stalled.e.some((e) => ids.has(e.i))).toBe(false);
  }, 30_000);
});

describe('npm run admin with the public site key where the site id goes (README "Administration")', () => {
  // `npm start` prints both ("site key pk_…, site id site_…") and the tag holds the key: a newcomer types the one they
  // have. The command still fails (exit 1, nothing made), but says which id it takes instead of "no site".
  test('key create and key list name the site id to use; nothing is made', async () => {
    const { path, site } = await siteDb('admin-key.db');
    const env = { ...process.env, DATABASE_PATH: path };
    for (const args of [['key', 'create', '--site', site.siteKey, '--scopes', 'admin'], ['key', 'list', '--site', site.siteKey]]) {
      const got = await runAdmin(args, env);
      expect(got.code, got.out).toBe(1);
      expect(got.out.split('\n')).toHaveLength(1);
      expect(got.out).toMatch(/^funnelbeam admin: /);
      expect(got.out).toContain(site.siteKey);
      expect(got.out).toContain(`--site ${site.siteId}`);
    }
    // a site id that is no site at all still says just that
    expect((await runAdmin(['key', 'list', '--site', 'site_nosuchsite'], env)).out).toBe('funnelbeam admin: no site "site_nosuchsite"');
    const db = await openDb({ databasePath: path });
    expect(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys'))!.n)).toBe(0);
    await db.close();
  });

  test('key revoke given the whole secret (as printed) names its key id; the key stays live', async () => {
    const { path, site } = await siteDb('admin-revoke.db');
    const env = { ...process.env, DATABASE_PATH: path };
    const made = JSON.parse((await runAdmin(['key', 'create', '--site', site.siteId, '--scopes', 'leads:read'], env)).out);
    const got = await runAdmin(['key', 'revoke', '--key', made.secret], env);
    expect(got.code, got.out).toBe(1);
    expect(got.out).toMatch(/^funnelbeam admin: /);
    expect(got.out).toContain(`--key ${made.keyId}`);
    expect(got.out).not.toContain(made.secret.slice(made.keyId.length + 1)); // the secret's private part is not echoed
    const list = JSON.parse((await runAdmin(['key', 'list', '--site', site.siteId], env)).out);
    expect(list).toEqual([expect.objectContaining({ keyId: made.keyId, revokedAt: null })]);
  });
});

describe('the admin command npm start prints, pasted into a shell (README "Two commands")', () => {
  // collector/server.ts quotes DATABASE_PATH in the printed command (shellWord): unquoted, the shell refused it
  test("a DATABASE_PATH with a space and a quote (a macOS or Windows folder) is quoted: the command makes a key for the demo site", async () => {
    const dir = join(tempDir('fb-unseen7-'), "Ann's Projects", 'funnel beam');
    const path = join(dir, 'data.db');
    const server = await startChildServer({ DATABASE_PATH: path, DEMO: '1' });
    try {
      await until(async () => server.output(), (o) => /npm run -s admin -- key create/.test(o), 'the printed admin command');
      const line = /^ {2}(.*npm run -s admin -- key create --site (\S+) --scopes admin)$/m.exec(server.output());
      expect(line, server.output()).toBeTruthy();
      // pasted into a shell in the project's directory, with nothing else set
      const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp' };
      const made = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const sh = spawn('sh', ['-c', line![1]], { cwd: root, env });
        let out = '';
        let err = '';
        sh.stdout.on('data', (d) => (out += d));
        sh.stderr.on('data', (d) => (err += d));
        sh.on('close', (code) => resolve({ code, out, err }));
      });
      expect(made.code, made.err).toBe(0);
      const key = JSON.parse(made.out);
      const res = await fetch(`${server.url}/api/leads`, { headers: { authorization: `Bearer ${key.secret}` } });
      expect(res.status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 30_000);
});
