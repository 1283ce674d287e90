// CONTRACT §1: a key's secret "is shown once and stored only as a hash". Every refused request is kept in the
// rejected store with its query and body as sent (README), so a secret put where it does not belong (`?api_key=` in a
// curl line, a CRM integration that sends its key in the JSON) was written to the database in clear, for every admin
// key holder to read in GET /api/rejected. The database files are searched byte by byte after the run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createKey, createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { hashSecret } from '../../collector/auth/secrets.js';
import { openDb } from '../../collector/storage/open-db.js';
import { tempDir } from '../helpers/test-db.js';
import { CHROME_UA } from '../helpers/factories.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

test('a secret sent in a query, a path or a body of a refused request is never written to the database', async () => {
  const dir = tempDir('fb-core-judge-secrets-');
  const db = await openDb({ databasePath: join(dir, 'secrets.db') });
  const site = await createSite(db, { domain: 'example.com' });
  const admin = await createKey(db, site.siteId, ['admin']);
  const writer = await createKey(db, site.siteId, ['events:write']);
  const reader = await createKey(db, site.siteId, ['leads:read']);
  const created = createApp({ db, config: defaultConfig({ LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0 }) });
  let open = true;
  closers.push(async () => {
    if (!open) return;
    await created.close();
    await db.close();
  });
  const call = (path: string, init: RequestInit = {}) => created.app.request(path, init);
  const bearer = (secret: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${secret}`, ...extra });
  const secrets = [admin.secret, writer.secret, reader.secret];

  const answers = [
    // the key in the query, as some APIs take it
    await call(`/api/leads?api_key=${admin.secret}`),
    await call(`/api/leads?access_token=${encodeURIComponent(reader.secret)}&limit=5`),
    // the key pasted where a lead's reference goes
    await call(`/api/leads/${encodeURIComponent(writer.secret)}`, { headers: bearer(reader.secret) }),
    // in a body: a bad segment definition, server events whose JSON carries the key
    await call('/api/segments/leaky', {
      method: 'PUT',
      headers: bearer(admin.secret, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: 'x', definition: { apiKey: admin.secret } }),
    }),
    await call('/api/events', {
      method: 'POST',
      headers: bearer(writer.secret, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: 'closed_won', token: writer.secret }),
    }),
    await call('/api/events', { method: 'POST', headers: bearer(writer.secret, { 'content-type': 'application/json' }), body: `{"key":"${writer.secret}"` }),
    // and a beacon (the site key belongs in it, a secret never does)
    await call('/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://example.com', 'user-agent': CHROME_UA },
      body: JSON.stringify({ s: site.siteKey, v: 'v_secret_leak_1', e: [{ i: 'e', n: 'pageview', t: Date.now(), u: 'https://example.com/', p: { k: admin.secret } }] }),
    }),
  ];
  expect(answers.map((r) => r.status)).toEqual([401, 401, 404, 400, 400, 400, 400]);

  // the refusals are kept, and the admin still sees which key was misused (its id), not its secret
  const listed = await call('/api/rejected?limit=50', { headers: bearer(admin.secret) });
  const items = ((await listed.json()) as { items: Array<{ raw: string; message: string }> }).items;
  expect(items.length).toBeGreaterThanOrEqual(5);
  const everything = JSON.stringify(items);
  for (const s of secrets) expect(everything).not.toContain(s.split('.')[1]);
  expect(everything).toContain(writer.keyId);

  await created.close();
  await db.close();
  open = false;
  // byte by byte, in the database file and whatever SQLite keeps beside it: only the hashes
  const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
  const all = Buffer.concat(files);
  for (const s of secrets) {
    const random = s.split('.')[1];
    expect(all.includes(Buffer.from(random)), 'the secret in clear').toBe(false);
    expect(all.includes(Buffer.from(random, 'utf16le')), 'the secret in UTF-16').toBe(false);
    expect(all.includes(Buffer.from(encodeURIComponent(s))) && encodeURIComponent(s) !== s, 'the secret percent-encoded').toBe(false);
    expect(all.includes(Buffer.from(hashSecret(s))), 'its hash, as the key row keeps it').toBe(true);
  }
});
