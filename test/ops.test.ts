import { describe, expect, test } from 'vitest';
import { createApp } from '../collector/app.js';
import { createKey, createSite } from '../collector/admin.js';
import { API_BODY_CEILING } from '../collector/hardening/api-body-limit.js';
import { openTestSqlite } from './helpers/test-db.js';

describe('operations routes', () => {
  test('GET /healthz answers ok with the engine name', async () => {
    const db = await openTestSqlite();
    const { app } = createApp({ db });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    // 'sqlite' here; 'pg' when the suite runs with TEST_ENGINE=pg
    expect(await res.json()).toEqual({ ok: true, engine: db.dialect });
    expect(['sqlite', 'pg']).toContain(db.dialect);
  });
  test('unknown routes answer 404 with the error shape', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });
  test('GET /openapi.json describes /healthz', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const doc = await (await app.request('/openapi.json')).json();
    expect(doc.paths['/healthz']).toBeDefined();
  });
  test('GET /metrics on a fresh collector lists every documented series, counters at 0, in valid Prometheus text', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const res = await app.request('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of ['funnelbeam_events_accepted_total 0', 'funnelbeam_events_duplicate_total 0', 'funnelbeam_cors_refused_total 0', 'funnelbeam_attribution_failures_total 0', 'funnelbeam_flush_seconds_count 0', 'funnelbeam_flush_batch_size_count 0']) {
      expect(text.split('\n')).toContain(line);
    }
    for (const family of ['funnelbeam_events_rejected_total counter', 'funnelbeam_api_refused_total counter', 'funnelbeam_database_bytes gauge']) expect(text).toContain(`# TYPE ${family}`);
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    for (const line of text.trimEnd().split('\n').filter((l) => !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/);
    }
  });
  test('GET /openapi.json documents the 400s that routes answer to a bad query', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const doc = await (await app.request('/openapi.json')).json();
    expect(Object.keys(doc.paths['/api/segments/{key}/members'].get.responses)).toContain('400');
    expect(Object.keys(doc.paths['/api/visitors/{visitorId}/segments'].get.responses)).toContain('400');
    expect(Object.keys(doc.paths['/api/rejected'].get.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
  });
  test('GET /openapi.json documents the 413 and 415 that the JSON PUT routes answer', async () => {
    const db = await openTestSqlite();
    const { app } = createApp({ db });
    const site = await createSite(db, { domain: 'example.com' });
    const auth = `Bearer ${(await createKey(db, site.siteId, ['admin'])).secret}`;
    const doc = await (await app.request('/openapi.json')).json();
    const big = JSON.stringify({ name: 'x'.repeat(API_BODY_CEILING) });
    for (const [doced, path] of [['/api/segments/{key}', '/api/segments/x'], ['/api/webhooks/{id}', '/api/webhooks/x'], ['/api/config/funnel', '/api/config/funnel']]) {
      const res = await app.request(path, { method: 'PUT', headers: { authorization: auth, 'content-type': 'application/json', 'content-length': String(big.length) }, body: big });
      expect(res.status, path).toBe(413);
      expect(Object.keys(doc.paths[doced].put.responses), path).toContain('413');
    }
    for (const [doced, path] of [['/api/segments/{key}', '/api/segments/x'], ['/api/webhooks/{id}', '/api/webhooks/x']]) {
      const res = await app.request(path, { method: 'PUT', headers: { authorization: auth, 'content-type': 'text/plain' }, body: '{}' });
      expect(res.status, path).toBe(415);
      expect(Object.keys(doc.paths[doced].put.responses), path).toContain('415');
    }
    expect(Object.keys(doc.paths['/s.js'].get.responses)).toEqual(expect.arrayContaining(['200', '304', '503']));
  });
  test('GET /openapi.json gives every rate-limited operation (POST /e and /api/*) its 429 with Retry-After, and no other', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const doc = await (await app.request('/openapi.json')).json();
    const ops = Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>).flatMap(([path, o]) =>
      Object.entries(o).map(([method, op]) => ({ path, method, op })),
    );
    const limited = ops.filter((o) => o.path === '/e' || o.path.startsWith('/api/'));
    expect(limited.length).toBeGreaterThan(15);
    for (const { path, method, op } of limited) expect(op.responses['429']?.headers, `${method} ${path}`).toHaveProperty('Retry-After');
    expect(doc.paths['/healthz'].get.responses['429']).toBeUndefined();
  });
});
