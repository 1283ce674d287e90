import { describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { updateMemberships } from '../../collector/segments/update-memberships.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { T0, insertEvent, insertLead } from './fixtures.js';

async function setup(engine: 'sqlite' | 'pg', domain = '127.0.0.1') {
  const db = await openTestDb(engine);
  const site = await createSite(db, { domain }, T0);
  const created = createApp({ db, now: () => T0 });
  const get = (visitorId: string, siteKey: string, origin?: string) =>
    created.app.request(`/api/visitors/${encodeURIComponent(visitorId)}/segments?site=${encodeURIComponent(siteKey)}`, {
      headers: origin ? { origin } : {},
    });
  return { db, site, deps: created.deps, get, app: created.app, close: async () => { await created.close(); await db.close(); } };
}

describe.each(ENGINES)('GET /api/visitors/{visitorId}/segments (%s)', (engine) => {
  test('answers the segment keys of the visitor\'s lead, with CORS for the site origin', async () => {
    const s = await setup(engine);
    const { leadId, visitorId } = await insertLead(s.db, s.site.siteId, { stage: 'intent' });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'pageview', path: '/pricing', at: T0 });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'download', path: '/x.pdf', at: T0 });
    await s.db.transaction((tx) => updateMemberships(tx, s.deps, s.site.siteId, [leadId], T0));
    const res = await s.get(visitorId, s.site.siteKey, 'http://127.0.0.1');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1');
    expect(await res.json()).toEqual({ segments: ['content_downloaders', 'pricing_no_demo'] });
    await s.close();
  });

  test('an unknown visitor has no segments', async () => {
    const s = await setup(engine);
    const res = await s.get('v_nobody', s.site.siteKey, 'http://127.0.0.1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ segments: [] });
    await s.close();
  });

  test('an unknown site key is 404', async () => {
    const s = await setup(engine);
    const res = await s.get('v_x', 'pk_unknown');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('unknown_site');
    await s.close();
  });

  test('subdomains of the site may read; other origins are refused', async () => {
    const s = await setup(engine, 'example.com');
    const ok = await s.get('v_x', s.site.siteKey, 'https://www.example.com');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    const evil = await s.get('v_x', s.site.siteKey, 'https://example.com.evil.test');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    await s.close();
  });

  test('a preflight from the site origin is allowed', async () => {
    const s = await setup(engine);
    const res = await s.app.request(`/api/visitors/v_x/segments?site=${s.site.siteKey}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1', 'access-control-request-method': 'GET' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    await s.close();
  });

  test('the key of site B sees nothing of a visitor of site A', async () => {
    const s = await setup(engine);
    const b = await createSite(s.db, { domain: '127.0.0.1' }, T0);
    const { leadId, visitorId } = await insertLead(s.db, s.site.siteId);
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'download', at: T0 });
    await s.db.transaction((tx) => updateMemberships(tx, s.deps, s.site.siteId, [leadId], T0));
    expect(await (await s.get(visitorId, s.site.siteKey)).json()).toEqual({ segments: ['content_downloaders'] });
    expect(await (await s.get(visitorId, b.siteKey)).json()).toEqual({ segments: [] });
    await s.close();
  });
});
