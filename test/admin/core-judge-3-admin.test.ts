// CONTRACT §1: admin commands print JSON, and on error "non-zero exit and a one-line message"; README "Administration":
// `funnelbeam admin: <what is wrong>`. Judged here with what earlier passes did not type: the usual ways of asking a
// command line for help, a database the command cannot open (a DATABASE_PATH that names a folder, or a file's
// child), and a key revoked by the command while a collector serves the same database file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { runAdmin } from '../../scripts/admin.js';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import { openDb } from '../../collector/storage/open-db.js';
import { tempDir } from '../helpers/test-db.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe('asking for help', () => {
  test.each([[['--help']], [['-h']], [['site', 'create', '--help']], [['key', '-h']]])('%j prints the usage and exits 0', async (args) => {
    const r = await runAdmin(args, { DATABASE_PATH: join(tempDir('fb-cj3-admin-'), 'a.db') });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: npm run admin -- <command>/);
    expect(r.out).toContain('key create --site <siteId> --scopes');
  });
});

describe('a database the command cannot open', () => {
  test('a DATABASE_PATH that is a folder: exit 1, one line naming the path', async () => {
    const dir = tempDir('fb-cj3-admin-');
    const r = await runAdmin(['site', 'list'], { DATABASE_PATH: dir });
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toHaveLength(1);
    expect(r.out).toMatch(/^funnelbeam admin: /);
    expect(r.out).toContain(dir);
  });

  test('a DATABASE_PATH under a file: exit 1, one line naming the path', async () => {
    const dir = tempDir('fb-cj3-admin-');
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    const path = join(dir, 'not-a-folder', 'funnelbeam.db');
    const r = await runAdmin(['site', 'create', '--domain', 'example.com'], { DATABASE_PATH: path }).catch((err: Error) => ({ code: -1, out: err.message }));
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toHaveLength(1);
    expect(r.out).toMatch(/^funnelbeam admin: /);
    expect(r.out).toContain(path);
  });
});

describe('a key revoked with the command while a collector serves the same file', () => {
  test('the next request with it is a 401, and a key made meanwhile works at once', async () => {
    const dir = tempDir('fb-cj3-admin-');
    mkdirSync(join(dir, 'data'));
    const env = { DATABASE_PATH: join(dir, 'data', 'funnelbeam.db') };
    const site = JSON.parse((await runAdmin(['site', 'create', '--domain', 'example.com'], env)).out);
    // the collector: its own connection to the file, as `npm start` has
    const db = await openDb({ databasePath: env.DATABASE_PATH });
    const created = createApp({ db, config: defaultConfig({ LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0, DATABASE_PATH: env.DATABASE_PATH }) });
    closers.push(() => db.close(), () => created.close());
    const call = (secret: string, path = '/api/leads') => created.app.request(path, { headers: { authorization: `Bearer ${secret}` } });

    const sales = JSON.parse((await runAdmin(['key', 'create', '--site', site.siteId, '--scopes', 'leads:read'], env)).out);
    const marketing = JSON.parse((await runAdmin(['key', 'create', '--site', site.siteId, '--scopes', 'audiences:read'], env)).out);
    expect((await call(sales.secret)).status).toBe(200);
    // scopes as made: sales reads leads, not the funnel; marketing the funnel, not leads
    expect((await call(sales.secret, '/api/funnel')).status).toBe(403);
    expect((await call(marketing.secret, '/api/funnel')).status).toBe(200);
    expect((await call(marketing.secret)).status).toBe(403);

    const revoked = await runAdmin(['key', 'revoke', '--key', sales.keyId], env);
    expect(revoked.code).toBe(0);
    const res = await call(sales.secret);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe('unauthorized');
    // the other key is untouched; revoking again says there is no live key
    expect((await call(marketing.secret, '/api/funnel')).status).toBe(200);
    const again = await runAdmin(['key', 'revoke', '--key', sales.keyId], env);
    expect([again.code, again.out]).toEqual([1, `funnelbeam admin: no live key "${sales.keyId}"`]);
    const listed = JSON.parse((await runAdmin(['key', 'list', '--site', site.siteId], env)).out);
    expect(listed.map((k: { keyId: string; revokedAt: string | null }) => [k.keyId, k.revokedAt !== null])).toEqual(
      expect.arrayContaining([[sales.keyId, true], [marketing.keyId, false]]),
    );
  });
});
