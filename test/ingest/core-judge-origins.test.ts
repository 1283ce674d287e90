// A site whose domain is an IP address: the admin may type it in any spelling a URL bar takes, but a browser sends
// the page's Origin in the WHATWG URL's canonical form (dotted-quad IPv4, bracketed compressed lower-case IPv6). The
// README: "A domain is stored as browsers send it in `Origin`". A site stored as typed refused every beacon of its
// own pages with 403.
import { afterEach, describe, expect, test } from 'vitest';
import { AdminError, createSite, normalizeDomain } from '../../collector/admin.js';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import { openTestSqlite } from '../helpers/test-db.js';
import { CHROME_UA } from '../helpers/factories.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function siteAt(domain: string) {
  const db = await openTestSqlite();
  const site = await createSite(db, { domain });
  const { app, close } = createApp({ db, config: defaultConfig({ LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0 }) });
  closers.push(async () => {
    await close();
    await db.close();
  });
  let n = 0;
  const beacon = async (origin: string) => {
    const i = `evt_ipsite_${++n}_${Date.now()}`;
    const res = await app.request('/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin, 'user-agent': CHROME_UA },
      body: JSON.stringify({ s: site.siteKey, v: 'v_ip_site_visitor', e: [{ i, n: 'pageview', t: Date.now(), u: origin + '/pricing' }] }),
    });
    return res.status;
  };
  const stored = async () => Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE site_id = ?', [site.siteId]))!.n);
  return { site, beacon, stored };
}

describe('a site whose domain is an IPv4 address', () => {
  // the canonical forms, worked out by hand from the WHATWG URL standard's IPv4 parser
  test.each([
    ['127.1', '127.0.0.1'],
    ['127.000.000.001', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    // a part with a leading 0 is octal to the URL parser: a browser opening 192.168.001.010 is at 192.168.1.8
    ['http://192.168.001.010:8080/app', '192.168.1.8'],
    ['10.1', '10.0.0.1'],
  ])('typed as %s is stored as %s, the Origin its pages send, and takes their beacons', async (typed, canonical) => {
    expect(normalizeDomain(typed)).toBe(canonical);
    const h = await siteAt(typed);
    expect(h.site.domain).toBe(canonical);
    expect(await h.beacon(`http://${canonical}:8080`)).toBe(202);
    expect(await h.beacon(`https://${canonical}`)).toBe(202);
    expect(await h.stored()).toBe(2);
  });

  test('typed as a short form, it does not admit another machine whose address ends with the same digits', async () => {
    // "1.2.3" is 1.2.0.3 to a browser; stored as typed, it admitted 0.1.2.3 as if it were a subdomain
    const h = await siteAt('1.2.3');
    expect(await h.beacon('http://0.1.2.3')).toBe(403);
    expect(await h.beacon('http://1.2.0.3')).toBe(202);
  });

  test.each(['10.0.0.256', '1.2.3.4.5', '256.1', '0x100000000'])('%s, which no browser takes as an address, is refused', (typed) => {
    expect(() => normalizeDomain(typed)).toThrow(AdminError);
  });
});

describe('a site whose domain is an IPv6 address', () => {
  test.each([
    ['[::1]', '[::1]'],
    ['::1', '[::1]'],
    ['http://[0:0::1]:8787/demo/', '[::1]'],
    ['[2001:DB8:0:0:0:0:0:1]', '[2001:db8::1]'],
    ['2001:db8::1', '[2001:db8::1]'],
  ])('typed as %s is stored as %s and takes its pages\' beacons, not another address\'s', async (typed, canonical) => {
    // it was refused: `"[::1]" is not a host name`, so a site (or the demo) reached at an IPv6 literal could not exist
    expect(normalizeDomain(typed)).toBe(canonical);
    const h = await siteAt(typed);
    expect(h.site.domain).toBe(canonical);
    expect(await h.beacon(`http://${canonical}:3000`)).toBe(202);
    expect(await h.beacon('http://[::2]')).toBe(403);
    expect(await h.stored()).toBe(1);
  });

  test.each(['[::1', '[::g]', '[1:2:3:4:5:6:7:8:9]', 'fe80::1%eth0', '[fe80::1%25eth0]'])('%s, which is no address, is refused', (typed) => {
    expect(() => normalizeDomain(typed)).toThrow(AdminError);
  });
});

describe('a name that a URL bar would take but no site is named by', () => {
  test.each(['user:pw@example.com', 'example.com@evil.test', 'exa_mple.com', 'a..b'])('%s is refused', (typed) => {
    expect(() => normalizeDomain(typed)).toThrow(AdminError);
  });
});

describe('a referrer written as a fully qualified name (a trailing dot)', () => {
  // Before the fix, hostOf (channels.ts) kept the dot, so `example.com.` was not the site's own host and
  // `www.google.com.` no search engine: a page opened as https://example.com./ counted its own links as referrals.
  test('is the same host: the site\'s own pages are no referral, and Google is search', async () => {
    const { classifyChannel } = await import('../../collector/ingest/channels.js');
    expect(classifyChannel({ ref: 'https://example.com./pricing' }, ['example.com'])).toBe('direct');
    expect(classifyChannel({ ref: 'https://blog.example.com./post' }, ['example.com'])).toBe('direct');
    expect(classifyChannel({ ref: 'https://www.google.com./' }, ['example.com'])).toBe('organic_search');
    expect(classifyChannel({ ref: 'https://t.co./abc' }, ['example.com'])).toBe('organic_social');
  });
});
