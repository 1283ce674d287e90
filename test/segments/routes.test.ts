import { describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createKey, createSite } from '../../collector/admin.js';
import { SEGMENT_PRESETS } from '../../collector/segments/presets.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { DAY, T0, insertEvent, insertLead, memberKeys } from './fixtures.js';

async function setup(engine: 'sqlite' | 'pg') {
  const db = await openTestDb(engine);
  const site = await createSite(db, { domain: '127.0.0.1' }, T0);
  const created = createApp({ db, now: () => T0 });
  const admin = (await createKey(db, site.siteId, ['admin'])).secret;
  const reader = (await createKey(db, site.siteId, ['audiences:read'])).secret;
  const call = (method: string, path: string, secret?: string, body?: unknown) =>
    created.app.request(path, {
      method,
      headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { db, site, admin, reader, call, app: created.app, close: async () => { await created.close(); await db.close(); } };
}

describe.each(ENGINES)('segment routes (%s)', (engine) => {
  test('GET /api/segments lists the six presets of a new site with live counts', async () => {
    const s = await setup(engine);
    const res = await s.call('GET', '/api/segments', s.reader);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.segments.map((x: { key: string }) => x.key).sort()).toEqual(SEGMENT_PRESETS.map((p) => p.key).sort());
    expect(body.segments.every((x: { memberCount: number }) => x.memberCount === 0)).toBe(true);
    expect(body.segments[0]).toHaveProperty('definition');
    await s.close();
  });

  test('segment routes need a key with the right scope', async () => {
    const s = await setup(engine);
    expect((await s.call('GET', '/api/segments')).status).toBe(401);
    const events = (await createKey(s.db, s.site.siteId, ['events:write'])).secret;
    expect((await s.call('GET', '/api/segments', events)).status).toBe(403);
    const put = await s.call('PUT', '/api/segments/x', s.reader, { definition: { identified: true } });
    expect(put.status).toBe(403);
    expect((await s.call('DELETE', '/api/segments/customers', s.reader)).status).toBe(403);
    await s.close();
  });

  test('PUT /api/segments/{key} answers 400 naming the bad part of an invalid definition', async () => {
    const s = await setup(engine);
    const res = await s.call('PUT', '/api/segments/bad', s.admin, {
      definition: { all: [{ identified: true }, { stage: { eq: 'intent' } }, { did: { event: 'pageview', within: 'a month' } }] },
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('invalid_definition');
    expect(body.error.message).toMatch(/^all\[2\]\.did\.within: /);
    const stage = await (await s.call('PUT', '/api/segments/bad', s.admin, { definition: { stage: { in: ['interest', 'trial'] } } })).json();
    expect(stage.error.message).toMatch(/^stage\.in\[1\]: unknown stage "trial"/);
    const missing = await s.call('PUT', '/api/segments/bad', s.admin, { name: 'x' });
    expect((await missing.json()).error.message).toMatch(/^definition: /);
    expect((await s.call('PUT', '/api/segments/Bad%20Key', s.admin, { definition: { identified: true } })).status).toBe(400);
    expect((await s.call('GET', '/api/segments/bad', s.reader)).status).toBe(404);
    await s.close();
  });

  test('stage names are checked against the site\'s own funnel stages', async () => {
    const s = await setup(engine);
    const config = { ...DEFAULT_FUNNEL_CONFIG, stages: [...DEFAULT_FUNNEL_CONFIG.stages, 'renewal'] };
    await s.db.run("INSERT INTO site_config (site_id, kind, body, updated_at) VALUES (?, 'funnel', ?, ?)", [s.site.siteId, JSON.stringify(config), T0]);
    expect((await s.call('PUT', '/api/segments/renewing', s.admin, { definition: { stage: { gte: 'renewal' } } })).status).toBe(201);
    const bad = await s.call('PUT', '/api/segments/other', s.admin, { definition: { stage: { eq: 'churned' } } });
    expect((await bad.json()).error.message).toMatch(/stage\.eq: unknown stage "churned" \(stages: awareness, .*renewal\)/);
    await s.close();
  });

  test('PUT creates a segment and computes its members from the leads already there', async () => {
    const s = await setup(engine);
    const a = await insertLead(s.db, s.site.siteId, { email: 'a@example.com' });
    const b = await insertLead(s.db, s.site.siteId);
    const c = await insertLead(s.db, s.site.siteId, { email: 'c@example.com' });
    await insertEvent(s.db, s.site.siteId, a.leadId, { name: 'webinar_registration', at: T0 - DAY, props: { topic: 'ai' } });
    await insertEvent(s.db, s.site.siteId, b.leadId, { name: 'webinar_registration', at: T0 - DAY, props: { topic: 'ai' } });
    await insertEvent(s.db, s.site.siteId, c.leadId, { name: 'webinar_registration', at: T0 - DAY, props: { topic: 'ops' } });
    const definition = { all: [{ identified: true }, { did: { event: 'webinar_registration', props: { topic: 'ai' }, within: '7d' } }] };
    const res = await s.call('PUT', '/api/segments/ai_webinar', s.admin, { name: 'AI webinar', definition });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ key: 'ai_webinar', name: 'AI webinar', definition, memberCount: 1 });
    expect(await memberKeys(s.db, s.site.siteId, a.leadId)).toContain('ai_webinar');
    expect(await memberKeys(s.db, s.site.siteId, b.leadId)).not.toContain('ai_webinar');
    const one = await (await s.call('GET', '/api/segments/ai_webinar', s.reader)).json();
    expect(one.memberCount).toBe(1);
    await s.close();
  });

  test('PUT with touch, score and stage conditions evaluates them over the stored leads', async () => {
    const s = await setup(engine);
    const a = await insertLead(s.db, s.site.siteId, { stage: 'intent', score: 30, firstTouch: { utm_source: 'google', utm_medium: 'cpc', channel: 'paid_search' } });
    await insertLead(s.db, s.site.siteId, { stage: 'intent', score: 30, firstTouch: { utm_source: 'bing' } });
    await insertLead(s.db, s.site.siteId, { stage: 'interest', score: 30, firstTouch: { utm_source: 'google' } });
    const definition = { all: [{ touch: { source: 'google', channel: 'paid_search' } }, { score: { gte: 20 } }, { stage: { gte: 'consideration' } }] };
    const res = await s.call('PUT', '/api/segments/paid_google', s.admin, { definition });
    expect((await res.json()).memberCount).toBe(1);
    expect(await memberKeys(s.db, s.site.siteId, a.leadId)).toContain('paid_google');
    await s.close();
  });

  test('PUT replacing a definition moves members out, keeps the name, and says 200', async () => {
    const s = await setup(engine);
    const a = await insertLead(s.db, s.site.siteId, { email: 'a@example.com' });
    await s.call('PUT', '/api/segments/known', s.admin, { name: 'Known people', definition: { identified: true } });
    expect(await memberKeys(s.db, s.site.siteId, a.leadId)).toContain('known');
    const res = await s.call('PUT', '/api/segments/known', s.admin, { definition: { identified: false } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'Known people', memberCount: 0 });
    expect(await memberKeys(s.db, s.site.siteId, a.leadId)).not.toContain('known');
    const history = await s.db.all('SELECT kind FROM segment_changes WHERE site_id = ? AND segment_key = ? ORDER BY kind', [s.site.siteId, 'known']);
    expect(history).toEqual([{ kind: 'entered' }, { kind: 'exited' }]);
    await s.close();
  });

  test('DELETE removes a segment and its members; a second DELETE is 404', async () => {
    const s = await setup(engine);
    const a = await insertLead(s.db, s.site.siteId);
    await insertEvent(s.db, s.site.siteId, a.leadId, { name: 'download', at: T0 });
    await s.call('PUT', '/api/segments/content_downloaders', s.admin, { definition: { did: { event: 'download' } } });
    expect(await memberKeys(s.db, s.site.siteId, a.leadId)).toEqual(['content_downloaders']);
    expect((await s.call('DELETE', '/api/segments/content_downloaders', s.admin)).status).toBe(204);
    expect(await memberKeys(s.db, s.site.siteId, a.leadId)).toEqual([]);
    expect((await s.call('DELETE', '/api/segments/content_downloaders', s.admin)).status).toBe(404);
    const list = await (await s.call('GET', '/api/segments', s.reader)).json();
    expect(list.segments.map((x: { key: string }) => x.key)).not.toContain('content_downloaders');
    await s.close();
  });

  test('a key of site B sees nothing of site A', async () => {
    const s = await setup(engine);
    const b = await createSite(s.db, { domain: 'b.example' }, T0);
    const bKey = (await createKey(s.db, b.siteId, ['admin'])).secret;
    await s.call('PUT', '/api/segments/a_only', s.admin, { definition: { identified: true } });
    const lead = await insertLead(s.db, s.site.siteId, { email: 'a@example.com' });
    await insertEvent(s.db, s.site.siteId, lead.leadId, { name: 'download', at: T0 });
    await s.call('PUT', '/api/segments/content_downloaders', s.admin, { definition: { did: { event: 'download' } } });
    const list = await (await s.call('GET', '/api/segments', bKey)).json();
    expect(list.segments.map((x: { key: string }) => x.key)).not.toContain('a_only');
    expect(list.segments.find((x: { key: string }) => x.key === 'content_downloaders').memberCount).toBe(0);
    expect((await s.call('GET', '/api/segments/a_only', bKey)).status).toBe(404);
    expect((await s.call('DELETE', '/api/segments/a_only', bKey)).status).toBe(404);
    expect((await s.call('GET', '/api/segments/a_only', s.reader)).status).toBe(200);
    await s.close();
  });

  test('/openapi.json describes the segment routes', async () => {
    const s = await setup(engine);
    const doc = await (await s.app.request('/openapi.json')).json();
    expect(Object.keys(doc.paths['/api/segments/{key}'])).toEqual(expect.arrayContaining(['get', 'put', 'delete']));
    expect(doc.paths['/api/visitors/{visitorId}/segments'].get).toBeDefined();
    await s.close();
  });
});
