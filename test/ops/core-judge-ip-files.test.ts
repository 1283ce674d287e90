// CONTRACT §7 and README: "IP addresses are never stored, not even hashed." A grader greps the database FILES after a
// run, not only the rows: the main file, its WAL and shared-memory file, free pages and all, for each client's address
// in any form a program might keep it (text, UTF-16, reversed, hex, a 32-bit number, IPv4-mapped IPv6, an anonymised
// /24 or /48, a plain hash). The clients are the test's own socket (127.0.0.1) and addresses given by a trusted proxy.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../collector/server.js';
import { createKey, createSite } from '../../collector/admin.js';
import { tempDir } from '../helpers/test-db.js';
import { CHROME_UA, IPHONE_UA } from '../helpers/factories.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const V4 = ['203.0.113.77', '198.51.100.23', '127.0.0.1'];
const V6 = ['2001:db8:85a3::8a2e:370:7334'];

function v4Forms(ip: string): string[] {
  const o = ip.split('.').map(Number);
  const n = ((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3];
  const hex = o.map((x) => x.toString(16).padStart(2, '0')).join('');
  return [ip, [...o].reverse().join('.'), hex, hex.toUpperCase(), String(n), `::ffff:${ip}`, `${o[0]}.${o[1]}.${o[2]}.0`];
}
function v6Forms(ip: string): string[] {
  // 2001:db8:85a3::8a2e:370:7334 written out in full, and its /48 prefix
  const [head, tail] = ip.split('::');
  const h = head.split(':');
  const t = tail.split(':');
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0'));
  return [ip, groups.join(':'), groups.join(''), h.slice(0, 3).join(':') + '::'];
}
const hashes = (ip: string) =>
  ['sha256', 'sha1', 'md5'].flatMap((alg) => [createHash(alg).update(ip).digest('hex'), createHash(alg).update(ip).digest('base64').replace(/=+$/, '')]);

test('after accepted, refused, rate-limited and API traffic, no database file holds a client address in any form', async () => {
  const dir = tempDir('fb-core-judge-ipfiles-');
  running = await startServer({
    env: {},
    config: { DATABASE_PATH: join(dir, 'ip.db'), PORT: 0, DEMO: '0', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0, TRUST_PROXY: 1, RATE_LIMIT_CLIENT_PER_SEC: 3 },
  });
  const site = await createSite(running.db, { domain: 'shop.example' });
  const admin = await createKey(running.db, site.siteId, ['admin', 'events:write']);
  const origin = 'https://shop.example';
  const statuses: number[] = [];
  let k = 0;
  // null: no X-Forwarded-For, the socket's own address (127.0.0.1) is the client
  for (const forwarded of [null, '203.0.113.77', '198.51.100.23, 10.0.0.1', '2001:db8:85a3::8a2e:370:7334', '::ffff:203.0.113.77']) {
    for (const ua of [CHROME_UA, IPHONE_UA]) {
      const v = `v_ipfiles_${++k}_x`;
      const headers: Record<string, string> = { 'content-type': 'text/plain', origin, 'user-agent': ua };
      if (forwarded) headers['x-forwarded-for'] = forwarded;
      const beacon = (e: object[]) => JSON.stringify({ s: site.siteKey, v, e });
      const t = Date.now();
      for (const body of [
        beacon([{ i: `evt_ipf_${k}_a`, n: 'pageview', t, u: `${origin}/pricing?utm_source=google&utm_medium=cpc`, r: 'https://www.google.com/' }]),
        beacon([{ i: `evt_ipf_${k}_b`, n: 'form_submit', t: t + 1, u: `${origin}/demo`, f: 'demo', em: `ip${k}@acme.example`, tr: { company: 'Acme' } }]),
        beacon([{ i: 'short', n: 'pageview', t, u: origin }]),
        `{"s":"${site.siteKey}","v":"${v}","e":[`,
        beacon([{ i: `evt_ipf_${k}_c`, n: 'pageview', t: t + 2, u: `${origin}/blog` }]),
      ]) {
        statuses.push((await fetch(running.url + '/e', { method: 'POST', headers, body })).status);
      }
      const api = { authorization: `Bearer ${admin.secret}`, 'content-type': 'application/json', ...(forwarded ? { 'x-forwarded-for': forwarded } : {}) };
      statuses.push((await fetch(running.url + '/api/events', { method: 'POST', headers: api, body: JSON.stringify({ email: `ip${k}@acme.example`, name: 'closed_won' }) })).status);
      statuses.push((await fetch(running.url + '/api/leads/nobody@nowhere.example', { headers: api })).status);
      statuses.push((await fetch(running.url + '/api/leads', { headers: { ...api, authorization: 'Bearer fbk_nope.nope' } })).status);
    }
  }
  // the traffic was what it says: stored, refused and rate-limited
  for (const s of [202, 400, 401, 404, 429]) expect([s, statuses.includes(s)]).toEqual([s, true]);
  await running.created.deps.writer.flush();

  const needles = [...V4.flatMap(v4Forms), ...V6.flatMap(v6Forms), ...[...V4, ...V6].flatMap(hashes)];
  const scan = () => {
    const files = readdirSync(dir).filter((f) => f.startsWith('ip.db'));
    expect(files).toContain('ip.db');
    const found: string[] = [];
    for (const f of files) {
      const bytes = readFileSync(join(dir, f));
      for (const n of needles) {
        for (const form of [Buffer.from(n), Buffer.from(n, 'utf16le')]) if (bytes.includes(form)) found.push(`${f}: ${n}`);
      }
    }
    return found;
  };
  // while it runs (the WAL holds the recent pages), and after a graceful stop (checkpointed into the main file)
  expect(scan()).toEqual([]);
  await running.close();
  running = null;
  expect(scan()).toEqual([]);
}, 60_000);
