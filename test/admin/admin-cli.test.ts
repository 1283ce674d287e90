import { describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { runAdmin } from '../../scripts/admin.js';
import { tempDir } from '../helpers/test-db.js';
import { openDb } from '../../collector/storage/open-db.js';
import { createApp } from '../../collector/app.js';
import { secretMatches } from '../../collector/auth/secrets.js';

const run = promisify(execFile);

describe('npm run admin', () => {
  test('creates sites and keys, lists and revokes them, storing secrets only as hashes', async () => {
    const env = { DATABASE_PATH: join(tempDir(), 'admin.db') };
    const site = await runAdmin(['site', 'create', '--domain', 'https://www.Example.com/path', '--name', 'Example'], env);
    expect(site.code).toBe(0);
    const s = JSON.parse(site.out);
    expect(s).toMatchObject({ domain: 'www.example.com', name: 'Example', siteId: expect.stringMatching(/^site_/), siteKey: expect.stringMatching(/^pk_/) });

    const key = JSON.parse((await runAdmin(['key', 'create', '--site', s.siteId, '--scopes', 'leads:read,audiences:read'], env)).out);
    expect(key.scopes).toEqual(['leads:read', 'audiences:read']);
    expect(key.secret.startsWith(key.keyId + '.')).toBe(true);

    const keys = JSON.parse((await runAdmin(['key', 'list', '--site', s.siteId], env)).out);
    expect(keys).toEqual([{ keyId: key.keyId, scopes: ['leads:read', 'audiences:read'], createdAt: expect.any(String), revokedAt: null }]);
    expect(JSON.parse((await runAdmin(['site', 'list'], env)).out)).toHaveLength(1);

    const db = await openDb({ databasePath: env.DATABASE_PATH });
    const row = await db.get<{ secret_hash: string }>('SELECT secret_hash FROM api_keys');
    expect(row!.secret_hash).not.toContain(key.secret.split('.')[1]);
    expect(secretMatches(key.secret, row!.secret_hash)).toBe(true);
    expect(secretMatches(key.secret + 'x', row!.secret_hash)).toBe(false);

    // the key works on the API until it is revoked
    const { app } = createApp({ db });
    const call = () => app.request('/api/rejected', { headers: { authorization: `Bearer ${key.secret}` } });
    expect((await call()).status).toBe(403); // leads:read is not admin
    const admin = JSON.parse((await runAdmin(['key', 'create', '--site', s.siteId, '--scopes', 'admin'], env)).out);
    const asAdmin = () => app.request('/api/rejected', { headers: { authorization: `Bearer ${admin.secret}` } });
    expect((await asAdmin()).status).toBe(200);
    expect(JSON.parse((await runAdmin(['key', 'revoke', '--key', admin.keyId], env)).out)).toEqual({ keyId: admin.keyId, revoked: true });
    expect((await asAdmin()).status).toBe(401);
    await db.close();
  });

  test.each([
    [['nope'], 2, 'unknown command'],
    [['site', 'create'], 1, '--domain is required'],
    [['site', 'create', '--domain', 'not a host!'], 1, 'is not a host name'],
    [['key', 'create', '--site', 'site_missing', '--scopes', 'admin'], 1, 'no site'],
    [['key', 'create', '--site', 'site_missing', '--scopes', 'root'], 1, 'unknown scope "root"'],
    [['key', 'revoke', '--key', 'fbk_nope'], 1, 'no live key'],
  ])('admin %j fails with exit %i and a one-line message', async (args, code, message) => {
    const r = await runAdmin(args, { DATABASE_PATH: join(tempDir(), 'admin.db') });
    expect(r.code).toBe(code);
    expect(r.out).toContain(message);
  });

  test('site create --origins: the site\'s other domains send events too, and a visit from them is no referral', async () => {
    const env = { DATABASE_PATH: join(tempDir(), 'origins.db') };
    const r = await runAdmin(['site', 'create', '--domain', 'acme.io', '--origins', 'app.acme-cloud.com, https://Shop.Acme.NET/ ,'], env);
    expect(r.code, r.out).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.origins).toEqual(['app.acme-cloud.com', 'shop.acme.net']);
    expect((await runAdmin(['site', 'create', '--domain', 'acme.io', '--origins', 'not a host!'], env)).code).toBe(1);
    const db = await openDb({ databasePath: env.DATABASE_PATH });
    const { app } = createApp({ db });
    const beacon = (origin: string, i: string) =>
      app.request('/e', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin },
        body: JSON.stringify({ s: s.siteKey, v: 'v-origins-visitor', e: [{ i, n: 'pageview', t: Date.now(), u: 'https://acme.io/pricing', st: { ref: 'https://app.acme-cloud.com/billing' } }] }),
      });
    expect((await beacon('https://app.acme-cloud.com', 'origins-event-01')).status).toBe(202);
    expect((await beacon('https://evil.example', 'origins-event-02')).status).toBe(403);
    const row = await db.get<{ channel: string }>('SELECT channel FROM events WHERE event_id = ?', ['origins-event-01']);
    expect(row!.channel).toBe('direct');
    await db.close();
  });

  test('the command line prints JSON on stdout and exits non-zero on error', async () => {
    const env = { ...process.env, DATABASE_PATH: join(tempDir(), 'cli.db') };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'site', 'create', '--domain', 'acme.io'], { env });
    expect(JSON.parse(stdout).domain).toBe('acme.io');
    const failed = await run(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'key', 'list', '--site', 'nope'], { env }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toBe('funnelbeam admin: no site "nope"');
  });

  test('an option given twice is refused with exit 2 and creates nothing', async () => {
    const env = { ...process.env, DATABASE_PATH: join(tempDir(), 'twice.db') };
    const twice = await runAdmin(['site', 'create', '--domain', 'a.com', '--domain', 'b.com'], env);
    expect(twice.code).toBe(2);
    expect(twice.out).toContain('--domain is given twice');
    const listed = await runAdmin(['site', 'list'], env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out)).toEqual([]);
  });
});

describe('API keys', () => {
  test('a missing, malformed or unknown bearer secret gets 401 with the error shape', async () => {
    const db = await openDb({ databasePath: join(tempDir(), 'k.db') });
    const { app } = createApp({ db });
    for (const authorization of ['', 'Bearer', 'Basic abc', 'Bearer fbk_x.y', 'Bearer nodot']) {
      const res = await app.request('/api/rejected', { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('unauthorized');
    }
  });
});

describe('npm run admin -- replay', () => {
  test('rebuilds a site and reports what it did; an unknown site fails', async () => {
    const env = { DATABASE_PATH: join(tempDir(), 'replay.db') };
    const s = JSON.parse((await runAdmin(['site', 'create', '--domain', 'replay.io'], env)).out);
    const r = await runAdmin(['replay', '--site', s.siteId], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ siteId: s.siteId, attributedEvents: 0, leads: 0 });
    const bad = await runAdmin(['replay', '--site', 'site_nope'], env);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('no site');
  });
});
