import { afterEach, describe, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { createKey } from '../../collector/admin.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});
const app = async () => {
  const j = await makeJourneyApp();
  closers.push(j.close);
  return j;
};
const put = (j: Awaited<ReturnType<typeof app>>, body: unknown) =>
  j.app.request('/api/config/funnel', { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), headers: j.auth });

describe('GET/PUT /api/config/funnel', () => {
  test('a site without a stored config gets the defaults', async () => {
    const j = await app();
    const res = await j.app.request('/api/config/funnel', { headers: j.auth });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(DEFAULT_FUNNEL_CONFIG)));
  });

  test('a valid config is stored and read back, and rules the next events', async () => {
    const j = await app();
    const config = structuredClone(DEFAULT_FUNNEL_CONFIG);
    config.stageRules.push({ id: 'docs', stage: 'consideration', when: { event: 'pageview', path: '/docs/*' } });
    config.mqlThreshold = 2;
    const res = await put(j, config);
    expect(res.status).toBe(200);
    expect(await (await j.app.request('/api/config/funnel', { headers: j.auth })).json()).toEqual(config);
    await j.visit('v_docsread01', [{ path: '/docs/api' }, { path: '/docs/sdk' }, { path: '/docs/cli' }, { path: '/docs/x' }, { path: '/docs/y' }]);
    const lead = await j.lead(await j.leadOfVisitor('v_docsread01'));
    expect(lead).toMatchObject({ stage: 'consideration', mql: true });
  });

  test('an invalid config answers 400 naming the bad part and keeps the old one', async () => {
    const j = await app();
    const bad = structuredClone(DEFAULT_FUNNEL_CONFIG) as any;
    bad.scoreRules[2].window = 'fortnight';
    const res = await put(j, bad);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toEqual({ code: 'invalid_config', message: expect.stringMatching(/^scoreRules\.2\.window: /) });
    expect((await put(j, '{')).status).toBe(400);
    expect((await put(j, { stages: [] })).status).toBe(400);
    expect(await (await j.app.request('/api/config/funnel', { headers: j.auth })).json()).toEqual(JSON.parse(JSON.stringify(DEFAULT_FUNNEL_CONFIG)));
  });

  test('needs the admin scope', async () => {
    const j = await app();
    const key = await createKey(j.db, j.site.siteId, ['audiences:read', 'events:write', 'leads:read']);
    const headers = { authorization: `Bearer ${key.secret}` };
    expect((await j.app.request('/api/config/funnel', { headers })).status).toBe(403);
    expect((await j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify(DEFAULT_FUNNEL_CONFIG), headers })).status).toBe(403);
    expect((await j.app.request('/api/config/funnel')).status).toBe(401);
  });

  test('each site has its own config', async () => {
    const j = await app();
    const other = await makeJourneyApp({ db: j.db });
    closers.push(other.close);
    await put(j, { ...DEFAULT_FUNNEL_CONFIG, mqlThreshold: 7 });
    expect((await (await other.app.request('/api/config/funnel', { headers: other.auth })).json()).mqlThreshold).toBe(50);
  });

  test('the routes are described in /openapi.json', async () => {
    const j = await app();
    const doc = await (await j.app.request('/openapi.json')).json();
    expect(doc.paths['/api/config/funnel'].get).toBeDefined();
    expect(doc.paths['/api/config/funnel'].put).toBeDefined();
    expect(doc.paths['/api/events'].post).toBeDefined();
  });
});
