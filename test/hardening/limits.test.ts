import { describe, expect, test } from 'vitest';
import { makeHardeningApp } from './hardening-app.js';

const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };

describe('rate limits on POST /e', () => {
  test('a client over its rate gets 429 with Retry-After, the error shape and a rejected-store row', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await h.postBeacon(h.batch(), { address: '203.0.113.9' })).status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(10); // burst: two seconds' worth
    const res = await h.postBeacon(h.batch(), { address: '203.0.113.9' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('access-control-allow-origin')).toBe(h.origin);
    expect(res.headers.get('access-control-expose-headers')).toBe('Retry-After');
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limited', message: expect.stringContaining('client') } });
    const rows = await h.db.all<{ site_id: string; route: string; raw: string }>("SELECT site_id, route, raw FROM rejected_events WHERE reason = 'rate_limited'");
    expect(rows.length).toBe(3);
    expect(rows[0]).toMatchObject({ site_id: h.site.siteId, route: '/e' });
    expect(rows[0].raw).toContain(h.site.siteKey);
    expect(h.deps.metrics.value('funnelbeam_rate_limited_total', { scope: 'client', route: '/e' })).toBe(3);
  });

  test('other clients are not affected, and the client is admitted again once tokens refill', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 1 });
    expect((await h.postBeacon(h.batch(), { address: '203.0.113.1' })).status).toBe(202);
    expect((await h.postBeacon(h.batch(), { address: '203.0.113.1' })).status).toBe(202);
    expect((await h.postBeacon(h.batch(), { address: '203.0.113.1' })).status).toBe(429);
    expect((await h.postBeacon(h.batch(), { address: '2001:db8::1' })).status).toBe(202);
    h.clock.t += 1000;
    expect((await h.postBeacon(h.batch(), { address: '203.0.113.1' })).status).toBe(202);
  });

  test('a site over its rate gets 429 whichever client sends', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_SITE_PER_SEC: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await h.postBeacon(h.batch(), { address: `203.0.113.${i + 1}` })).status);
    expect(statuses).toEqual([202, 202, 202, 202, 429, 429]);
    const res = await h.postBeacon(h.batch(), { address: '203.0.113.99' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await res.json()).error.message).toContain('site');
  });

  test('the rate limiter does not count bodies that name no site against any site', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_SITE_PER_SEC: 1 });
    for (let i = 0; i < 5; i++) expect((await h.postBeacon('{not json', { address: `203.0.113.${i}` })).status).toBe(400);
    expect((await h.postBeacon(h.batch())).status).toBe(202);
  });

  test('a rate of 0 disables a limit', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0 });
    const statuses = await Promise.all(Array.from({ length: 60 }, () => h.postBeacon(h.batch()).then((r) => r.status)));
    expect(statuses.every((s) => s === 202)).toBe(true);
  });

  test('the default limits let a benchmark-like burst from one address through', async () => {
    const h = await makeHardeningApp();
    const statuses = await Promise.all(Array.from({ length: 300 }, () => h.postBeacon(h.batch()).then((r) => r.status)));
    expect(statuses.filter((s) => s !== 202)).toEqual([]);
  });

  test('X-Forwarded-For is ignored unless TRUST_PROXY is set', async () => {
    const spoofed = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 1 });
    const xff = (ip: string) => ({ address: '10.0.0.1', headers: { 'x-forwarded-for': ip } });
    const a = [];
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) a.push((await spoofed.postBeacon(spoofed.batch(), xff(ip))).status);
    expect(a).toEqual([202, 202, 429]);
    const proxied = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 1, TRUST_PROXY: 1 });
    const b = [];
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) b.push((await proxied.postBeacon(proxied.batch(), xff(ip))).status);
    expect(b).toEqual([202, 202, 202]);
  });
});

describe('rate limits on /api/*', () => {
  test('a key over its rate gets 429 with Retry-After; another key and the other site are unaffected', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_API_PER_SEC: 2 });
    const { createKey } = await import('../../collector/admin.js');
    const other = await createKey(h.db, h.site.siteId, ['admin'], h.clock.t);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await h.api('/api/rejected')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const res = await h.api('/api/rejected');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await h.api('/api/rejected', { secret: other.secret })).status).toBe(200);
    h.clock.t += 1000;
    expect((await h.api('/api/rejected')).status).toBe(200);
  });

  test('requests without a key are limited per client address', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_API_PER_SEC: 1 });
    const s = [];
    for (let i = 0; i < 3; i++) s.push((await h.api('/api/rejected', { secret: '', address: '203.0.113.4' })).status);
    expect(s).toEqual([401, 401, 429]);
    expect((await h.api('/api/rejected', { secret: '', address: '203.0.113.5' })).status).toBe(401);
  });

  test('a rate-limited POST /api/events leaves a rejected-store row for the key’s site', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_API_PER_SEC: 1 });
    const body = JSON.stringify({ email: 'a@example.com', name: 'closed_won' });
    const res = [];
    for (let i = 0; i < 3; i++) res.push(await h.api('/api/events', { method: 'POST', body }));
    expect(res[2].status).toBe(429);
    expect(await res[2].json()).toEqual(errorShape);
    const row = await h.db.get<{ site_id: string; route: string; reason: string }>("SELECT site_id, route, reason FROM rejected_events WHERE reason = 'rate_limited'");
    expect(row).toEqual({ site_id: h.site.siteId, route: '/api/events', reason: 'rate_limited' });
  });
});

describe('body limits on /api/*', () => {
  test('routes without a limit of their own refuse a body over the ceiling with 413 and the error shape', async () => {
    const { API_BODY_CEILING } = await import('../../collector/hardening/api-body-limit.js');
    const h = await makeHardeningApp();
    const big = JSON.stringify({ definition: { identified: true }, name: 'x'.repeat(API_BODY_CEILING) });
    for (const path of ['/api/segments/big', '/api/config/funnel', '/api/webhooks/big']) {
      const res = await h.api(path, { method: 'PUT', body: big });
      expect(res.status, path).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    }
  });
});
