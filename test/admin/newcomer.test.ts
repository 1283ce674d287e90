// A newcomer's and an operator's first hour, as real processes over real HTTP: `npm start` (collector/server.ts as
// a child), `npm run admin` (scripts/admin.ts as a child), then the demo, the snippet and /metrics through fetch.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { tempDir } from '../helpers/test-db.js';
import { DEMO_PAGES } from '../../collector/demo/pages.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** runs `npx tsx scripts/admin.ts …` as a user would, without npm's banner */
function admin(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], { cwd: root, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** starts collector/server.ts and resolves with its exit code and output once it exits (or kills it after 20 s) */
function runServerToExit(env: Record<string, string>): Promise<{ code: number | string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'collector/server.ts'], {
      cwd: root,
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DEMO: '0', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let started = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!started && out.includes('"listening"')) {
        started = true; // it started: that is the answer; one SIGTERM stops it
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, out });
    });
  });
}

describe('npm run admin: every error is one line on stderr, nothing on stdout', () => {
  const env = { DATABASE_PATH: join(tempDir('fb-newcomer-'), 'admin.db') };
  test.each([
    [['bogus'], 'unknown command "bogus"'],
    [[], 'no command given'],
    [['site'], 'unknown command "site"'],
    [['site', 'create', '--domain', 'x.io', '--nme', 'typo'], "Unknown option '--nme'"],
    [['site', 'create', '--domain', 'not a host'], 'is not a host name'],
    [['key', 'create', '--site', 'site_nope', '--scopes', 'admin'], 'no site "site_nope"'],
    [['key', 'revoke', '--key', 'fbk_nope'], 'no live key "fbk_nope"'],
  ])('%j', async (args, message) => {
    const r = await admin(args, env);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
    expect(lines[0].startsWith('funnelbeam admin: ')).toBe(true);
  });

  test('help prints the usage and exits 0', async () => {
    const r = await admin(['help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('key create --site <siteId> --scopes');
  });
});

describe('configuration from the environment', () => {
  test('an empty value means unset (HOST=, FLUSH_MS=, PORT given): the collector starts on the defaults', async () => {
    const r = await runServerToExit({ HOST: '', FLUSH_MS: '', LOG_LEVEL: '', DATABASE_PATH: join(tempDir('fb-newcomer-'), 'empty.db') });
    expect(r.out).toContain('{"listening":"http://127.0.0.1:');
    expect(r.code).toBe(0);
  });

  test('a SIGTERM sent the moment the listening line appears is a graceful stop (exit 0), every time', async () => {
    // the handlers used to be installed after the URLs were printed: a supervisor quick to stop it killed it outright
    for (let i = 0; i < 4; i++) {
      const r = await runServerToExit({ LOG_LEVEL: 'info', DATABASE_PATH: join(tempDir('fb-newcomer-'), `term${i}.db`) });
      expect([i, r.code]).toEqual([i, 0]);
      expect(r.out).toContain('"msg":"shutting down","signal":"SIGTERM"');
    }
  });

  test.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ FLUSH_MS: '-1' }, 'FLUSH_MS'],
    [{ DATABASE_URL: 'notaurl' }, 'DATABASE_URL'],
  ])('a bad value %j stops the process with a one-line message naming it', async (env, name) => {
    const r = await runServerToExit({ ...env, DATABASE_PATH: join(tempDir('fb-newcomer-'), 'bad.db') });
    expect(r.code).toBe(1);
    const lines = r.out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^funnelbeam: bad configuration: ${name}: `));
  });

  test('a SIGTERM sent to `npm start` itself (as a supervisor does) stops the collector gracefully, leaving no orphan serving', async () => {
    const npm = spawn('npm', ['start'], {
      cwd: root,
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DEMO: '0', LOG_LEVEL: 'info', DATABASE_PATH: join(tempDir('fb-newcomer-'), 'npm.db') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | string | null>((r) => npm.on('exit', (code, signal) => r(code ?? signal)));
    const killer = setTimeout(() => npm.kill('SIGKILL'), 30_000);
    await expect.poll(() => /"listening":"([^"]+)"/.exec(out)?.[1], { timeout: 25_000, interval: 100 }).toBeTruthy();
    const url = /"listening":"([^"]+)"/.exec(out)![1];
    expect((await fetch(url + '/healthz')).status).toBe(200);
    npm.kill('SIGTERM');
    await exited;
    clearTimeout(killer);
    // the collector got the signal: it shut down as it should, and nothing answers on its port any more
    await expect.poll(() => out, { timeout: 10_000 }).toContain('"msg":"shutting down","signal":"SIGTERM"');
    await expect.poll(async () => fetch(url + '/healthz').then(() => 'answers', () => 'gone'), { timeout: 10_000 }).toBe('gone');
  }, 60_000);

  test('a database path that cannot be opened stops the process with a message naming the path', async () => {
    const file = join(tempDir('fb-newcomer-'), 'a-file');
    writeFileSync(file, 'not a directory');
    const path = join(file, 'funnelbeam.db');
    const r = await runServerToExit({ DATABASE_PATH: path });
    expect(r.code).toBe(1);
    expect(r.out.trim()).toContain(`funnelbeam: cannot open the SQLite database at DATABASE_PATH=${path}: `);
  });
});

describe('npm start with the demo', () => {
  let server: ChildServer;
  beforeAll(async () => {
    server = await startChildServer({ DEMO: '1', DATABASE_PATH: join(tempDir('fb-newcomer-'), 'demo.db') });
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  test('/s.js answers 304 to its ETag sent back weak (as a compressing proxy makes it), in a list, or as *', async () => {
    const first = await fetch(server.url + '/s.js');
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);
    await first.arrayBuffer();
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await fetch(server.url + '/s.js', { headers: { 'if-none-match': inm } });
      expect([inm, res.status]).toEqual([inm, 304]);
    }
    const other = await fetch(server.url + '/s.js', { headers: { 'if-none-match': '"other"' } });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  test('every demo page runs under its own Content-Security-Policy: no inline handlers, its scripts served', async () => {
    for (const page of DEMO_PAGES) {
      const res = await fetch(server.url + page.path);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain("'unsafe-hashes'");
      const html = await res.text();
      // an inline onsubmit was blocked: the form then sent itself as a GET, the visitor's email in the address
      expect([page.path, html.match(/\son[a-z]+\s*=/gi)]).toEqual([page.path, null]);
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i); // no inline script either
      for (const [, src] of html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)) {
        const js = await fetch(new URL(src, server.url + page.path));
        expect([src, js.status, js.headers.get('content-type')]).toEqual([src, 200, expect.stringContaining('javascript')]);
        await js.arrayBuffer();
      }
    }
  });

  test('/metrics gives every family a HELP line, those listed from their first count included', async () => {
    // a demo visit through the beacon endpoint, so attribution and segment upkeep run and their summaries appear
    const siteKey = /site key (pk_[\w-]+)/.exec(server.output())![1];
    const res = await fetch(server.url + '/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: new URL(server.url).origin, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36' },
      body: JSON.stringify({
        s: siteKey,
        v: 'newcomervisitor00001',
        t: Date.now(),
        e: [{ i: 'newcomerevent0000001', n: 'pageview', t: Date.now(), u: server.url + '/demo/pricing', r: '' }],
      }),
    });
    expect(res.status).toBe(202);
    let text = '';
    for (let i = 0; i < 50 && !text.includes('funnelbeam_attribution_seconds_count'); i++) {
      text = await (await fetch(server.url + '/metrics')).text();
      if (!text.includes('funnelbeam_attribution_seconds_count')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toMatch(/^funnelbeam_events_accepted_total [1-9]/m);
    const typed = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    const helped = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
    expect(typed).toContain('funnelbeam_attribution_seconds');
    expect(typed.filter((n) => !helped.has(n))).toEqual([]);
  });
});
