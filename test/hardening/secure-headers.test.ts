import { describe, expect, test } from 'vitest';
import { makeHardeningApp } from './hardening-app.js';
import { ensureDemoSite } from '../../collector/demo/demo-site.js';
import { LIMITS } from '../../shared/limits.js';

function expectSecure(res: Response, where: string) {
  const h = res.headers;
  expect(h.get('x-content-type-options'), where).toBe('nosniff');
  expect(h.get('referrer-policy'), where).toBeTruthy();
  expect(h.get('x-frame-options'), where).toBe('DENY');
  expect(h.get('content-security-policy'), where).toContain("default-src 'none'");
  expect(h.get('content-security-policy'), where).toContain("frame-ancestors 'none'");
  expect(h.get('x-powered-by'), where).toBeNull();
}

describe('secure response headers', () => {
  test('every documented GET route answers with them, whatever its status', async () => {
    const h = await makeHardeningApp();
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const paths = Object.keys(doc.paths).filter((p) => doc.paths[p].get);
    expect(paths.length).toBeGreaterThan(5);
    for (const p of paths) {
      const url = p.replace(/\{[^}]+\}/g, 'x');
      expectSecure(await h.api(url), url);
      expectSecure(await h.api(url, { secret: '' }), url + ' without a key');
    }
    expectSecure(await h.app.request('/openapi.json'), '/openapi.json');
  });

  test('errors, unknown routes, oversized bodies and accepted beacons carry them too', async () => {
    const h = await makeHardeningApp();
    expectSecure(await h.app.request('/no/such/route'), '404');
    expectSecure(await h.postBeacon(h.batch()), '202');
    expectSecure(await h.postBeacon('{'), '400');
    expectSecure(await h.postBeacon('x'.repeat(LIMITS.bodyBytes + 1)), '413');
    expectSecure(await h.app.request('/e', { method: 'OPTIONS', headers: { origin: h.origin } }), 'preflight');
    expectSecure(await h.api('/api/rejected', { method: 'DELETE' }), 'wrong method');
  });

  test('demo pages may be framed by their own origin only', async () => {
    const h = await makeHardeningApp();
    await ensureDemoSite(h.db, '127.0.0.1');
    const res = await h.app.request('/demo/');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  test('the snippet is served with nosniff so it only ever runs as JavaScript', async () => {
    const h = await makeHardeningApp();
    const res = await h.app.request('/s.js');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    // any site may embed it, cross-origin-isolated ones (COEP require-corp) too
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });
});
