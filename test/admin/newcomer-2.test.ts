// An outside judge's newcomer path, second pass: `npm run admin` typed the way people type it, and the demo opened at
// the URL `npm start` prints.
import { afterAll, describe, expect, test } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAdmin } from '../../scripts/admin.js';
import { openDb } from '../../collector/storage/open-db.js';
import { startChildServer } from '../helpers/child-server.js';
import { startServer } from '../../collector/server.js';
import { createKey } from '../../collector/admin.js';
import { CHROME_UA } from '../helpers/factories.js';
import { tempDir } from '../helpers/test-db.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('npm run admin: a word too many is a wrong command line (exit 2), never dropped in silence', () => {
  const env = { DATABASE_PATH: join(tempDir('fb-newcomer2-'), 'admin.db') };

  test('`--scopes leads:read, audiences:read` (a space after the comma) makes no key with fewer scopes', async () => {
    const site = JSON.parse((await runAdmin(['site', 'create', '--domain', 'example.com'], env)).out);
    const r = await runAdmin(['key', 'create', '--site', site.siteId, '--scopes', 'leads:read,', 'audiences:read'], env);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^funnelbeam admin: unexpected argument "audiences:read" after "key create"/);
    expect(r.out.split('\n')).toHaveLength(1);
    // no key was made
    expect(JSON.parse((await runAdmin(['key', 'list', '--site', site.siteId], env)).out)).toEqual([]);
    // quoted with its space, the list is one argument and works
    const ok = await runAdmin(['key', 'create', '--site', site.siteId, '--scopes', 'leads:read, audiences:read'], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).scopes).toEqual(['leads:read', 'audiences:read']);
  });

  test('an unquoted name with a space makes no site named by its first word', async () => {
    const before = JSON.parse((await runAdmin(['site', 'list'], env)).out).length;
    const r = await runAdmin(['site', 'create', '--domain', 'acme.io', '--name', 'Acme', 'Inc'], env);
    expect(r.code).toBe(2);
    expect(r.out).toContain('unexpected argument "Inc"');
    expect(JSON.parse((await runAdmin(['site', 'list'], env)).out)).toHaveLength(before);
  });

  test.each([
    [['site', 'list', '--site', 'site_x'], '"site list" has no option --site; it takes no options'],
    [['key', 'revoke', '--site', 'site_x', '--key', 'fbk_x'], '"key revoke" has no option --site; it takes --key'],
    [['site', 'create', '--domain', 'x.io', '--scopes', 'admin'], '"site create" has no option --scopes; it takes --domain, --name, --origins'],
    [['replay', 'now', '--site', 'site_x'], 'unexpected argument "now" after "replay"'],
  ])('%j: exit 2, one line', async (args, message) => {
    const r = await runAdmin(args, env);
    expect(r.code).toBe(2);
    expect(r.out).toContain(message);
    expect(r.out.startsWith('funnelbeam admin: ')).toBe(true);
  });

  test('as a process: the message on stderr, nothing on stdout, exit 2', async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'site', 'list', 'extra'], { cwd: root, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
      ),
    );
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr.trim()).toBe('funnelbeam admin: unexpected argument "extra" after "site list"; quote a value with spaces, and write a list without spaces (a,b) (npm run admin -- help)');
  });

  test('the secret is shown once: no list prints it, and the database holds only its SHA-256', async () => {
    const site = JSON.parse((await runAdmin(['site', 'create', '--domain', 'secret.example'], env)).out);
    const key = JSON.parse((await runAdmin(['key', 'create', '--site', site.siteId, '--scopes', 'admin'], env)).out);
    const random = key.secret.split('.')[1];
    for (const args of [['key', 'list', '--site', site.siteId], ['site', 'list']]) expect((await runAdmin(args, env)).out).not.toContain(random);
    const db = await openDb({ databasePath: env.DATABASE_PATH });
    const rows = await db.all<Record<string, unknown>>('SELECT * FROM api_keys WHERE key_id = ?', [key.keyId]);
    await db.close();
    expect(JSON.stringify(rows)).not.toContain(random);
    const { createHash } = await import('node:crypto');
    expect(JSON.stringify(rows)).toContain(createHash('sha256').update(key.secret).digest('hex'));
  });
});

describe('the demo opened at the URL npm start prints', () => {
  const beacon = (url: string, siteKey: string, origin: string) =>
    fetch(url + '/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin },
      body: JSON.stringify({ s: siteKey, v: 'demovisitor0000001', e: [{ i: `demoevent${Date.now()}${Math.random().toString(36).slice(2, 8)}`, n: 'pageview', t: Date.now(), u: origin + '/demo/' }] }),
    });

  test('with PUBLIC_URL (a dev box, a container behind a name), its pages\' beacons are stored, also when PUBLIC_URL changes later', async () => {
    const path = join(tempDir('fb-newcomer2-'), 'demo.db');
    const port = await freePort();
    const address = `http://127.0.0.1:${port}`;
    const first = await startChildServer({ DEMO: '1', HOST: '127.0.0.1', PORT: String(port), PUBLIC_URL: 'http://devbox.test:8787', DATABASE_PATH: path });
    children.push(first.child);
    await expect.poll(() => /site key (pk_[\w-]+)/.exec(first.output())?.[1], { timeout: 5_000 }).toBeTruthy();
    const siteKey = /site key (pk_[\w-]+)/.exec(first.output())![1];
    expect(first.output()).toContain('http://devbox.test:8787/demo/');
    // the printed URL is PUBLIC_URL; the test reaches the same server at its real address, as a proxy would
    expect((await beacon(address, siteKey, 'http://devbox.test:8787')).status).toBe(202);
    expect((await beacon(address, siteKey, 'http://127.0.0.1:8787')).status).toBe(202);
    expect((await beacon(address, siteKey, 'http://evil.test')).status).toBe(403);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // the next start names another host: the same demo site, now admitting it too
    const port2 = await freePort();
    const address2 = `http://127.0.0.1:${port2}`;
    const second = await startChildServer({ DEMO: '1', HOST: '127.0.0.1', PORT: String(port2), PUBLIC_URL: 'https://funnel.example.org', DATABASE_PATH: path });
    children.push(second.child);
    await expect.poll(() => /site key (pk_[\w-]+)/.exec(second.output())?.[1], { timeout: 5_000 }).toBe(siteKey);
    expect((await beacon(address2, siteKey, 'https://funnel.example.org')).status).toBe(202);
    expect((await beacon(address2, siteKey, 'http://devbox.test:8787')).status).toBe(202);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});

describe('the demo follows the funnel playbook on its own pages', () => {
  test('a visit to /demo/pricing is a pricing view: consideration, its points, and the pricing_no_demo segment', async () => {
    const running = await startServer({ env: { PORT: '0', DEMO: '1', LOG_LEVEL: 'error', DATABASE_PATH: join(tempDir('fb-newcomer2-'), 'rules.db') } });
    try {
      const site = running.demoSite!;
      const { app } = running.created;
      const origin = new URL(running.url).origin;
      const v = 'demorulesvisitor0001';
      const res = await app.request('/e', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin, 'user-agent': CHROME_UA },
        body: JSON.stringify({ s: site.siteKey, v, e: [{ i: 'demorulesevent000001', n: 'pageview', t: Date.now(), u: origin + '/demo/pricing' }] }),
      });
      expect(res.status).toBe(202);
      const key = await createKey(running.db, site.siteId, ['admin']);
      const auth = { authorization: `Bearer ${key.secret}` };
      const leadRes = await app.request(`/api/leads/${v}`, { headers: auth });
      const lead = await leadRes.json();
      expect([leadRes.status, lead.error]).toEqual([200, undefined]);
      // the default rules read /pricing*: the demo's pricing page, at /demo/pricing, left the visitor in awareness
      expect(lead.stage).toBe('consideration');
      expect(lead.score).toBeGreaterThanOrEqual(10);
      expect(lead.segments).toContain('pricing_no_demo');
      const config = await (await app.request('/api/config/funnel', { headers: auth })).json();
      expect(JSON.stringify(config)).toContain('"/pricing*","/plans*","/demo/pricing*","/demo/plans*"');
    } finally {
      await running.close();
    }
  });
});

/** A port free at this moment, so that a collector whose printed URL is PUBLIC_URL can still be reached directly. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}
