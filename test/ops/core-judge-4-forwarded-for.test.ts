// README "Hardening settings": TRUST_PROXY=1 is for a collector behind a proxy you run, which appends the address it
// saw to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, a cloud load balancer). What the client itself wrote
// in that header comes before that address, so the first hop is whatever the client says. Read from the first hop,
// a client that writes a new made-up address in each request got a fresh rate-limit bucket each time: the per-client
// limit on POST /e (and on /api/* without a key) never answered it 429. The proxy's own entry, the last hop, is the
// address it saw. Expected values from the limits as configured: 1 request a second with a burst of two.
import { afterEach, describe, expect, test } from 'vitest';
import { makeHardeningApp, type HardeningApp } from '../hardening/hardening-app.js';
import { parseConfig } from '../../collector/config.js';

const PROXY = '10.0.0.1';
const apps: HardeningApp[] = [];
afterEach(async () => {
  for (const h of apps.splice(0)) {
    await h.close();
    await h.db.close();
  }
});

/** What the proxy forwards: the client's own header (if any), then the address the proxy saw. */
const forwarded = (client: string, written?: string) => ({ 'x-forwarded-for': written ? `${written}, ${client}` : client });

describe('TRUST_PROXY=1 behind one proxy', () => {
  test('a client writing a new X-Forwarded-For each time is still limited as itself on POST /e', async () => {
    const h = await makeHardeningApp({ TRUST_PROXY: 1, RATE_LIMIT_CLIENT_PER_SEC: 1, RATE_LIMIT_SITE_PER_SEC: 0 });
    apps.push(h);
    const statuses: number[] = [];
    for (let k = 1; k <= 5; k++) {
      const res = await h.postBeacon(h.batch(), { address: PROXY, headers: forwarded('203.0.113.9', `192.0.2.${k}`) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([202, 202, 429, 429, 429]);
    // another client behind the same proxy has its own bucket, and the first one's plain requests share its bucket
    expect((await h.postBeacon(h.batch(), { address: PROXY, headers: forwarded('198.51.100.20') })).status).toBe(202);
    expect((await h.postBeacon(h.batch(), { address: PROXY, headers: forwarded('203.0.113.9') })).status).toBe(429);
  });

  test('a proxy that writes the client\'s port (a new one per connection) still limits the client as itself', async () => {
    const h = await makeHardeningApp({ TRUST_PROXY: 1, RATE_LIMIT_CLIENT_PER_SEC: 1, RATE_LIMIT_SITE_PER_SEC: 0 });
    apps.push(h);
    const statuses: number[] = [];
    for (const client of ['203.0.113.9:51001', '203.0.113.9:51002', '203.0.113.9:51003', '[2001:db8::9]:51004', '[2001:db8::9]:51005', '2001:db8::9']) {
      statuses.push((await h.postBeacon(h.batch(), { address: PROXY, headers: forwarded(client) })).status);
    }
    expect(statuses).toEqual([202, 202, 429, 202, 202, 429]);
  });

  test('the same on /api/* for requests without a key', async () => {
    const h = await makeHardeningApp({ TRUST_PROXY: 1, RATE_LIMIT_API_PER_SEC: 1 });
    apps.push(h);
    const statuses: number[] = [];
    for (let k = 1; k <= 4; k++) {
      const res = await h.api('/api/leads', { secret: '', address: PROXY, headers: forwarded('203.0.113.9', `192.0.2.${k}`) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
  });
});

// README: TRUST_PROXY=N for N proxies you run (a CDN in front of a load balancer: 2). Each appends the address it saw:
// the CDN the client's, the balancer the CDN's. The client's address is the hop N from the end; what the client wrote
// comes before it. Expected values from the limits as configured: 1 request a second with a burst of two.
describe('TRUST_PROXY=2 behind a CDN and a load balancer', () => {
  const CDN = '10.0.0.7';
  /** the client's own header (if any), the CDN's entry (the client), the balancer's entry (the CDN) */
  const twice = (client: string, written?: string) => ({ 'x-forwarded-for': `${written ? written + ', ' : ''}${client}, ${CDN}` });

  test('the client is the hop the CDN appended: a made-up header per request is still limited as itself, another client is not', async () => {
    const h = await makeHardeningApp({ TRUST_PROXY: 2, RATE_LIMIT_CLIENT_PER_SEC: 1, RATE_LIMIT_SITE_PER_SEC: 0 });
    apps.push(h);
    const statuses: number[] = [];
    for (let k = 1; k <= 4; k++) statuses.push((await h.postBeacon(h.batch(), { address: PROXY, headers: twice('203.0.113.9', `192.0.2.${k}`) })).status);
    expect(statuses).toEqual([202, 202, 429, 429]);
    // every request came through the same CDN node: with TRUST_PROXY=1 they would all be one client (the CDN)
    expect((await h.postBeacon(h.batch(), { address: PROXY, headers: twice('198.51.100.20') })).status).toBe(202);
  });

  test('with TRUST_PROXY=1 the same traffic is all the CDN: one bucket for every client', async () => {
    const h = await makeHardeningApp({ TRUST_PROXY: 1, RATE_LIMIT_CLIENT_PER_SEC: 1, RATE_LIMIT_SITE_PER_SEC: 0 });
    apps.push(h);
    const statuses: number[] = [];
    for (const client of ['203.0.113.9', '198.51.100.20', '192.0.2.55']) statuses.push((await h.postBeacon(h.batch(), { address: PROXY, headers: twice(client) })).status);
    expect(statuses).toEqual([202, 202, 429]);
  });

  test('a request that reached the balancer past the CDN (one hop) is limited by that hop', async () => {
    const h = await makeHardeningApp({ TRUST_PROXY: 2, RATE_LIMIT_CLIENT_PER_SEC: 1, RATE_LIMIT_SITE_PER_SEC: 0 });
    apps.push(h);
    const statuses: number[] = [];
    for (let k = 0; k < 3; k++) statuses.push((await h.postBeacon(h.batch(), { address: PROXY, headers: { 'x-forwarded-for': '203.0.113.9' } })).status);
    expect(statuses).toEqual([202, 202, 429]);
  });

  test('TRUST_PROXY is a count of proxies from 0 to 9: anything else is refused at start', () => {
    expect(parseConfig({ TRUST_PROXY: '3' }).TRUST_PROXY).toBe(3);
    expect(parseConfig({}).TRUST_PROXY).toBe(0);
    for (const bad of ['yes', '-1', '10', '1.5']) expect(() => parseConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
  });
});
