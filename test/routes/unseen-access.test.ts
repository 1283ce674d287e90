// Access to every route over real HTTP (app.request) on a real database file, judged as contract §5 states it: no key,
// a malformed header, an unknown or revoked key → 401; a key without the route's scope → 403; a key of another site
// never sees or touches this site's segments, exports, webhooks or rejected rows (404 or its own empty data); every
// refusal in the {error:{code,message}} shape. And /openapi.json against the routes the app really serves, with the
// scope each route needs named in its security requirement and matching what the route enforces.
import { afterEach, describe, expect, test } from 'vitest';
import { makeHardeningApp, T0, type HardeningApp } from '../hardening/hardening-app.js';
import { createKey, createSite, revokeKey } from '../../collector/admin.js';
import { SCOPES, type Scope } from '../../shared/scopes.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Call {
  method: string;
  /** a path of the real app; {key}, {id}, {ref} filled in */
  path: string;
  body?: unknown;
  /** contract §5 */
  scope: Scope;
  /** the route in /openapi.json */
  doc: string;
}

const WEBHOOK = { url: 'http://127.0.0.1:9/hook', events: ['lead.mql'] };
/** Every bearer-key route the app serves, with the scope contract §5 gives it. */
const CALLS: Call[] = [
  { method: 'GET', path: '/api/segments', scope: 'audiences:read', doc: '/api/segments' },
  { method: 'GET', path: '/api/segments/t_only_a', scope: 'audiences:read', doc: '/api/segments/{key}' },
  { method: 'PUT', path: '/api/segments/t_new', body: { definition: { identified: true } }, scope: 'admin', doc: '/api/segments/{key}' },
  { method: 'DELETE', path: '/api/segments/t_only_a', scope: 'admin', doc: '/api/segments/{key}' },
  { method: 'GET', path: '/api/segments/t_only_a/members?format=csv', scope: 'audiences:read', doc: '/api/segments/{key}/members' },
  { method: 'GET', path: '/api/webhooks', scope: 'admin', doc: '/api/webhooks' },
  { method: 'GET', path: '/api/webhooks/only_a', scope: 'admin', doc: '/api/webhooks/{id}' },
  { method: 'PUT', path: '/api/webhooks/only_a', body: WEBHOOK, scope: 'admin', doc: '/api/webhooks/{id}' },
  { method: 'DELETE', path: '/api/webhooks/only_a', scope: 'admin', doc: '/api/webhooks/{id}' },
  { method: 'GET', path: '/api/rejected', scope: 'admin', doc: '/api/rejected' },
  // routes of the funnel and leads modules: the same key rules hold
  { method: 'GET', path: '/api/leads', scope: 'leads:read', doc: '/api/leads' },
  { method: 'GET', path: '/api/leads/a@example.com', scope: 'leads:read', doc: '/api/leads/{ref}' },
  { method: 'GET', path: '/api/leads/a@example.com/timeline', scope: 'leads:read', doc: '/api/leads/{ref}/timeline' },
  { method: 'DELETE', path: '/api/leads/a@example.com', scope: 'admin', doc: '/api/leads/{ref}' },
  { method: 'GET', path: '/api/funnel', scope: 'audiences:read', doc: '/api/funnel' },
  { method: 'GET', path: '/api/config/funnel', scope: 'admin', doc: '/api/config/funnel' },
  { method: 'POST', path: '/api/events', body: { email: 'a@example.com', name: 'crm_sync' }, scope: 'events:write', doc: '/api/events' },
];

async function setup() {
  const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, RATE_LIMIT_API_PER_SEC: 0 });
  cleanups.push(() => h.close());
  const keys = {} as Record<Scope, string>;
  for (const scope of SCOPES) keys[scope] = (await createKey(h.db, h.site.siteId, [scope], T0)).secret;
  const revoked = await createKey(h.db, h.site.siteId, ['admin'], T0);
  await revokeKey(h.db, revoked.keyId, T0);
  const siteB = await createSite(h.db, { domain: 'b.example' }, T0);
  const adminB = (await createKey(h.db, siteB.siteId, ['admin'], T0)).secret;
  // site A's own things, which site B's key must not reach
  expect((await h.api('/api/segments/t_only_a', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) })).status).toBe(201);
  expect((await h.api('/api/webhooks/only_a', { method: 'PUT', body: JSON.stringify(WEBHOOK) })).status).toBe(201);
  const call = (c: Call, secret: string, headers: Record<string, string> = {}) =>
    h.api(c.path, { method: c.method, body: c.body === undefined ? undefined : JSON.stringify(c.body), secret, headers });
  return Object.assign(h, { keys, revoked: revoked.secret, siteB, adminB, call });
}

async function expectError(res: Response, status: number, code: RegExp | string, label: string) {
  expect(res.status, label).toBe(status);
  expect(res.headers.get('content-type'), label).toMatch(/^application\/json/);
  const body = await res.json();
  expect(Object.keys(body), label).toEqual(['error']);
  expect(Object.keys(body.error).sort(), label).toEqual(['code', 'message']);
  expect(body.error.code, label).toMatch(typeof code === 'string' ? new RegExp(`^${code}$`) : code);
  expect(body.error.message.length, label).toBeGreaterThan(0);
  return body.error as { code: string; message: string };
}

describe('every bearer route refuses a missing, malformed, unknown, revoked or under-scoped key', () => {
  test.each(CALLS.map((c) => [`${c.method} ${c.path}`, c] as const))('%s', async (label, c) => {
    const h = await setup();
    const before = await h.count('SELECT COUNT(*) AS n FROM segments WHERE site_id = ?', [h.site.siteId]);
    const hooks = await h.count('SELECT COUNT(*) AS n FROM webhooks WHERE site_id = ?', [h.site.siteId]);

    // no credentials at all, or not a Bearer credential: 401 with the RFC 6750 challenge
    for (const headers of [{} as Record<string, string>, { authorization: 'Basic YWRtaW46YWRtaW4=' }, { authorization: 'Bearer' }, { authorization: `Token ${h.keys.admin}` }]) {
      const res = await h.call(c, '', headers);
      await expectError(res, 401, 'unauthorized', `${label} ${JSON.stringify(headers)}`);
      expect(res.headers.get('www-authenticate'), label).toMatch(/^Bearer\b/);
    }
    // a Bearer credential that is no live key: 401, invalid_token
    for (const secret of ['nonsense', 'fbk_doesnotexist.abcdef', h.keys.admin + 'x', h.revoked]) {
      const res = await h.call(c, secret);
      await expectError(res, 401, 'unauthorized', `${label} bad key`);
      expect(res.headers.get('www-authenticate'), label).toMatch(/^Bearer\b.*error="invalid_token"/);
    }
    // keys of this site with each other (non-admin) scope: 403 naming the scope needed
    for (const scope of SCOPES.filter((s) => s !== c.scope && s !== 'admin')) {
      const res = await h.call(c, h.keys[scope]);
      const error = await expectError(res, 403, 'forbidden', `${label} with ${scope}`);
      expect(error.message, label).toContain(c.scope);
      expect(res.headers.get('www-authenticate'), label).toContain(`scope="${c.scope}"`);
    }
    // nothing was changed by any refused call
    expect(await h.count('SELECT COUNT(*) AS n FROM segments WHERE site_id = ?', [h.site.siteId])).toBe(before);
    expect(await h.count('SELECT COUNT(*) AS n FROM webhooks WHERE site_id = ?', [h.site.siteId])).toBe(hooks);
    expect((await h.api('/api/segments/t_only_a')).status).toBe(200);

    // the route's own scope, and admin, get through the key check
    for (const secret of [h.keys[c.scope], h.keys.admin]) {
      const res = await h.call({ ...c, path: c.path.replace('t_only_a', 'customers').replace('only_a', 'other_hook') }, secret);
      expect([401, 403], `${label} with its own scope: ${res.status}`).not.toContain(res.status);
    }
  });
});

describe("a key of another site never reaches this site's data", () => {
  test('segments, exports and webhooks of site A are 404 to site B, lists hold only B\'s own, and B\'s writes stay in B', async () => {
    const h = await setup();
    const b = (c: Call) => h.call(c, h.adminB);
    const byPath = (method: string, path: string) => CALLS.find((c) => c.method === method && c.path.startsWith(path))!;

    await expectError(await b(byPath('GET', '/api/segments/t_only_a')), 404, /not_found$/, 'GET segment');
    await expectError(await b(byPath('GET', '/api/segments/t_only_a/members')), 404, /not_found$/, 'members');
    for (const format of ['json', 'google', 'meta', 'linkedin']) {
      await expectError(await h.api(`/api/segments/t_only_a/members?format=${format}`, { secret: h.adminB }), 404, /not_found$/, format);
    }
    await expectError(await b(byPath('DELETE', '/api/segments/t_only_a')), 404, /not_found$/, 'DELETE segment');
    await expectError(await b(byPath('GET', '/api/webhooks/only_a')), 404, /not_found$/, 'GET webhook');
    await expectError(await b(byPath('DELETE', '/api/webhooks/only_a')), 404, /not_found$/, 'DELETE webhook');

    const segments = (await (await h.api('/api/segments', { secret: h.adminB })).json()).segments as Array<{ key: string }>;
    expect(segments.map((s) => s.key)).not.toContain('t_only_a');
    expect((await (await h.api('/api/webhooks', { secret: h.adminB })).json()).webhooks).toEqual([]);

    // B's PUT of the same names makes B's own; A's are untouched
    expect((await h.api('/api/segments/t_only_a', { method: 'PUT', secret: h.adminB, body: JSON.stringify({ definition: { identified: false } }) })).status).toBe(201);
    expect((await h.api('/api/webhooks/only_a', { method: 'PUT', secret: h.adminB, body: JSON.stringify({ ...WEBHOOK, url: 'http://127.0.0.1:9/b' }) })).status).toBe(201);
    expect((await (await h.api('/api/segments/t_only_a')).json()).definition).toEqual({ identified: true });
    expect((await (await h.api('/api/webhooks/only_a')).json()).url).toBe(WEBHOOK.url);

    // the rejected store: each site sees only the rows of its own refused requests
    const rejectedB = (await (await h.api('/api/rejected?limit=500', { secret: h.adminB })).json()).items as Array<{ raw: string; reason: string }>;
    expect(rejectedB.length).toBeGreaterThan(0);
    const rejectedA = (await (await h.api('/api/rejected?limit=500')).json()).items as Array<{ raw: string; reason: string }>;
    expect(rejectedA).toEqual([]);

    // the visitor segments route takes the public site key: B's key does not read A's visitors
    const v = 'v_seen_on_a';
    const res = await h.app.request(`/api/visitors/${v}/segments?site=${h.siteB.siteKey}`, { headers: { origin: 'https://b.example' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ segments: [] });
  });
});

describe('/openapi.json describes exactly what the app serves', () => {
  const toDoc = (p: string) => p.replace(/:(\w+)/g, '{$1}');

  test('every route the app serves is in the document, and every documented operation is served', async () => {
    const h = await setup();
    const res = await h.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\.1/);
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    // what Hono routes: handlers of a method (middleware is ALL); CORS preflights and the demo pages are no API
    const served = new Set(
      h.app.routes
        .filter((r) => r.method !== 'ALL' && r.method !== 'OPTIONS' && !r.path.startsWith('/demo'))
        .map((r) => `${r.method} ${toDoc(r.path)}`),
    );
    expect([...served].filter((r) => !documented.has(r)), 'served but not documented').toEqual([]);
    expect([...documented].filter((r) => !served.has(r)), 'documented but not served').toEqual([]);
    // and each documented GET without parameters really answers something other than "no route"
    for (const op of documented) {
      const [method, path] = op.split(' ');
      if (method !== 'GET' || path.includes('{')) continue;
      const r = await h.api(path);
      expect(r.status, op).not.toBe(404);
    }
  });

  test('each keyed route names the scope it enforces; open routes name none', async () => {
    const h = await setup();
    const doc = (await (await h.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
      components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
    };
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const mine = CALLS;
    expect(mine.length).toBe(17);
    for (const c of mine) {
      const op = doc.paths[c.doc][c.method.toLowerCase()];
      expect(op.security, `${c.method} ${c.doc}`).toEqual([{ bearer: [c.scope] }]);
    }
    // every scope named anywhere in the document is one the API knows
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) for (const req of op.security ?? []) for (const roles of Object.values(req)) for (const r of roles) expect(SCOPES).toContain(r);
    }
    // routes that take no bearer key say so
    for (const path of ['/healthz', '/metrics', '/openapi.json', '/s.js', '/e']) {
      const ops = doc.paths[path];
      expect(ops, path).toBeDefined();
      for (const op of Object.values(ops)) expect(op.security ?? [], path).toEqual([]);
    }
    // the visitor segments route is read with the public site key in the query
    const visitor = doc.paths['/api/visitors/{visitorId}/segments'].get;
    const [scheme] = Object.keys(visitor.security![0]);
    expect(doc.components.securitySchemes[scheme]).toMatchObject({ type: 'apiKey', in: 'query', name: 'site' });
    // and the documented scopes are what the routes enforce: a key with exactly that scope passes the key check
    const keyOf = { 'audiences:read': 'audiences:read', 'leads:read': 'leads:read', 'events:write': 'events:write', admin: 'admin' } as const;
    for (const c of mine) {
      const scope = doc.paths[c.doc][c.method.toLowerCase()].security![0].bearer[0] as keyof typeof keyOf;
      const res = await h.call({ ...c, path: c.path.replace('t_only_a', 'customers') }, h.keys[keyOf[scope]]);
      expect([401, 403], `${c.method} ${c.path}`).not.toContain(res.status);
    }
  });
});
