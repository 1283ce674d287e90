// README (rejected store): "A key's secret (`fbk_<keyId>.<random>`) in a refused request's query, path or body
// (`?api_key=…`, a CRM sending its key in the JSON) is kept as `fbk_<keyId>.[redacted]`: the key is named, its secret
// is stored nowhere but as its hash." A secret right after a percent-escape (a form body's `Bearer%20fbk_…`, a callback
// URL carried in JSON or in the query whose `api_key%3Dfbk_…` is encoded once more) was kept in clear: the pattern
// (storage/rejected.ts SECRET) wanted no letter or digit before `fbk_`, and an escape ends with one.
import { afterEach, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createKey, createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { openTestSqlite } from '../helpers/test-db.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

test('a secret after a percent-escape in a refused request is kept as fbk_<keyId>.[redacted]', async () => {
  const db = await openTestSqlite();
  const site = await createSite(db, { domain: 'example.com' });
  const admin = await createKey(db, site.siteId, ['admin']);
  const created = createApp({ db, config: defaultConfig({ LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0 }) });
  closers.push(async () => {
    await created.close();
    await db.close();
  });
  const secret = admin.secret;
  const [keyId, random] = secret.split('.');
  const auth = { authorization: `Bearer ${secret}` };
  const answers = [
    // an integration that posts its headers form-encoded
    await created.app.request('/api/segments/a', {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: `authorization=Bearer%20${secret}`,
    }),
    // a callback URL holding the key, in a JSON body
    await created.app.request('/api/segments/b', {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', hook: `https://example.com/cb?u=${encodeURIComponent(`https://c.example/api?api_key=${secret}`)}` }),
    }),
    // and in the query (decoded once before it is kept, so still encoded once)
    await created.app.request(`/api/leads?next=${encodeURIComponent(encodeURIComponent(`https://c.example/?api_key=${secret}`))}`),
  ];
  expect(answers.map((r) => r.status)).toEqual([415, 400, 401]);
  const rows = await db.all<{ raw: string; message: string }>('SELECT raw, message FROM rejected_events');
  expect(rows).toHaveLength(3);
  for (const r of rows) {
    expect(r.raw).not.toContain(random);
    expect(r.message).not.toContain(random);
    // the key is still named
    expect(r.raw).toContain(`${keyId}.[redacted]`);
  }
});
