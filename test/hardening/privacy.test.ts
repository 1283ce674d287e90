import { afterEach, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIPv6 } from 'node:net';
import { startServer, type RunningServer } from '../../collector/server.js';
import { createKey, createSite } from '../../collector/admin.js';
import { hashSecret, secretMatches } from '../../collector/auth/secrets.js';
import { tempDir } from '../helpers/test-db.js';
import { CHROME_UA, IPHONE_UA, makeBatch } from '../helpers/factories.js';
import { makeHardeningApp } from './hardening-app.js';
import { scanDb } from './scan-db.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const CLIENTS = ['203.0.113.77', '198.51.100.23', '192.0.2.201', '2001:db8:85a3::8a2e:370:7334', '::ffff:203.0.113.99', '10.11.12.13', '127.0.0.1', '::1'];
const IPV4 = /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])/;
/** Any run of hex digits, colons and dots that node reads as an IPv6 address (with or without brackets or a port). */
const hasIpv6 = (v: string) => v.split(/[^0-9a-fA-F:.]+/).some((t) => t !== '::' && (isIPv6(t) || isIPv6(t.replace(/^:+|:+$/g, ''))));
const digests = (ip: string) => [createHash('sha256').update(ip).digest('hex'), createHash('sha256').update(ip).digest('base64url').slice(0, 20)];

describe('privacy', () => {
  test('no IP address, nor a hash of one, is stored anywhere after realistic traffic', async () => {
    const path = join(tempDir(), 'privacy.db');
    running = await startServer({
      env: {},
      config: { DATABASE_PATH: path, PORT: 0, DEMO: '0', LOG_LEVEL: 'error', TRUST_PROXY: 1, RATE_LIMIT_CLIENT_PER_SEC: 2, REJECTED_PER_SITE_PER_MIN: 10_000 },
    });
    const site = await createSite(running.db, { domain: 'shop.example' });
    const key = await createKey(running.db, site.siteId, ['admin']);
    const origin = 'https://shop.example';
    const statuses = new Map<number, number>();
    let i = 0;
    for (const ip of CLIENTS) {
      for (const ua of [CHROME_UA, IPHONE_UA]) {
        const visitor = `v_privacy_${i++}_visitor`;
        const bodies = [
          JSON.stringify(makeBatch(site.siteKey, { v: visitor }, [{ u: `${origin}/pricing?utm_source=google&gclid=abc`, r: 'https://www.google.com/' }])),
          JSON.stringify(makeBatch(site.siteKey, { v: visitor }, [{ n: 'newsletter_signup', f: 'newsletter', em: `p${i}@example.com`, tr: { company: 'ACME' }, u: `${origin}/blog` }])),
          JSON.stringify(makeBatch(site.siteKey, { v: visitor }, [{ n: 'download', u: `${origin}/ebook.pdf` }, { n: '', u: `${origin}/x` }])),
          '{"s":"' + site.siteKey + '","v":"broken',
          JSON.stringify(makeBatch(site.siteKey, { v: visitor }, [{ u: `${origin}/contact` }])),
        ];
        for (const body of bodies) {
          const res = await fetch(running.url + '/e', {
            method: 'POST',
            body,
            // as one proxy forwards it: an address the client wrote itself, then the one the proxy saw (the client's)
            headers: { 'content-type': 'text/plain', origin, 'user-agent': ua, 'x-forwarded-for': `10.0.0.1, ${ip}`, 'x-real-ip': ip, forwarded: `for="${ip}"` },
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }
      const api = await fetch(running.url + '/api/rejected', { headers: { authorization: `Bearer ${key.secret}`, 'x-forwarded-for': ip } });
      expect(api.status).toBe(200);
    }
    // the traffic was realistic: accepted, rejected and rate-limited requests all happened
    expect(statuses.get(202)).toBeGreaterThan(10);
    expect(statuses.get(400)).toBeGreaterThan(5);
    expect(statuses.get(429)).toBeGreaterThan(5);
    await running.created.deps.writer.flush();
    await running.close();
    running = null;

    const { openDb } = await import('../../collector/storage/open-db.js');
    const db = await openDb({ databasePath: path });
    expect(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n)).toBeGreaterThan(10);
    expect(Number((await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM rejected_events WHERE reason = 'rate_limited'"))!.n)).toBeGreaterThan(5);
    const needles = [...CLIENTS, '10.0.0.1', ...CLIENTS.flatMap(digests)];
    const found = await scanDb(db, (v) => IPV4.test(v) || hasIpv6(v) || needles.some((n) => v.includes(n)));
    expect(found).toEqual([]);
    await db.close();
  }, 60_000);

  test('the scan patterns do find addresses wherever they would hide', () => {
    for (const v of ['x 203.0.113.77 y', '{"ip":"10.0.0.1"}', 'for=192.0.2.1:443']) expect(IPV4.test(v), v).toBe(true);
    for (const v of ['2001:db8:85a3::8a2e:370:7334', '[2001:db8::1]', '::ffff:203.0.113.99', '::1']) expect(hasIpv6(v), v).toBe(true);
    for (const v of ['Chrome 126', 'https://shop.example/pricing', '1736942400000', 'v_privacy_1_visitor', '12:30:45', 'a:b', '::']) expect(IPV4.test(v) || hasIpv6(v), v).toBe(false);
  });
});

describe('CORS on the API', () => {
  test('no /api route answers a foreign origin with permissive CORS, preflight or not', async () => {
    const h = await makeHardeningApp({}, { domain: 'shop.example' });
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const apiPaths = Object.keys(doc.paths).filter((p) => p.startsWith('/api/'));
    expect(apiPaths.length).toBeGreaterThan(5);
    for (const p of apiPaths) {
      const url = p.replace(/\{[^}]+\}/g, 'x') + '?site=' + h.site.siteKey;
      for (const origin of ['https://evil.example', 'null', 'https://shop.example.evil.example']) {
        const pre = await h.app.request(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
        const get = await h.api(url, { headers: { origin } });
        for (const res of [pre, get]) {
          expect(res.headers.get('access-control-allow-origin'), `${p} ${origin}`).toBeNull();
          expect(res.headers.get('access-control-allow-credentials'), p).toBeNull();
          expect(res.headers.get('access-control-allow-headers') ?? '', p).not.toMatch(/authorization/i);
        }
      }
    }
  });
});

describe('key secrets', () => {
  test('are compared in constant time, also when the key id is unknown', () => {
    const secrets = readFileSync(new URL('../../collector/auth/secrets.ts', import.meta.url), 'utf8');
    const scope = readFileSync(new URL('../../collector/auth/require-scope.ts', import.meta.url), 'utf8');
    expect(secrets).toMatch(/timingSafeEqual\(/);
    // the only comparison of a presented secret is secretMatches, and it runs whether or not the key exists
    expect(scope).toMatch(/secretMatches\(secret, key\?\.secretHash \?\? /);
    expect(scope).not.toMatch(/secret\s*===|===\s*secret|secretHash\s*===|===\s*key\.secretHash/);
  });

  test('a stored hash matches only its own secret, never a prefix, a case change or a malformed hash', () => {
    const secret = 'fbk_abc.' + 'S'.repeat(32);
    const stored = hashSecret(secret);
    expect(secretMatches(secret, stored)).toBe(true);
    for (const wrong of [secret.slice(0, -1), secret.toLowerCase(), secret + ' ', '']) expect(secretMatches(wrong, stored)).toBe(false);
    for (const bad of ['', 'zz', stored.slice(0, 10), stored + '00']) expect(secretMatches(secret, bad)).toBe(false);
  });

  test('a wrong secret for a real key id and an unknown key id get the same answer', async () => {
    const h = await makeHardeningApp();
    const keyId = h.admin.secret.split('.')[0];
    const a = await h.api('/api/rejected', { secret: `${keyId}.wrongwrongwrong` });
    const b = await h.api('/api/rejected', { secret: 'fbk_nosuchkey.wrongwrongwrong' });
    expect([a.status, b.status]).toEqual([401, 401]);
    expect(await a.json()).toEqual(await b.json());
  });
});
