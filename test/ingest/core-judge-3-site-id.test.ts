// A site owner pastes the site ID where the tag wants the site KEY. Both are printed side by side, by `npm start` ("site
// key pk_…, site id site_…") and by `site create` ({ siteId, siteKey }), and the admin command already explains the
// converse mistake (README "Administration"). Every beacon of such a tag is a 404 unknown_site, and the snippet settles
// 4xx answers, so nothing is ever stored. Contract §7: bad input "is kept in the rejected-events store with its
// reason"; the issue: "a row in a rejected-events store (reason, truncated raw body, time, site if known)". The site
// is known here (its own id names it), yet the refusal was kept under no site, so the one place its admin can look
// (GET /api/rejected with the site's admin key) stayed empty while every visit was lost.
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { createKey, createSite } from '../../collector/admin.js';
import { LIMITS } from '../../shared/limits.js';
import { useRejectedHarness } from './rejected-harness.js';

const SITE = 'https://example.com';
const open = useRejectedHarness();

let seq = 0;
const beacon = (s: string) =>
  JSON.stringify({ s, v: `visitor_${Date.now().toString(36)}${seq}`, e: [{ i: `evt_site_id_${++seq}`, n: 'pageview', t: Date.now() - 1000, u: `${SITE}/pricing` }] });

describe('data-site holding the site id instead of the site key', () => {
  test('the beacon is a 404 that says so, readable by the page, and kept where the site\'s admin finds it', async () => {
    const h = await open();
    const body = beacon(h.site.siteId);
    const res = await h.post(body, { origin: SITE });
    expect(res.status).toBe(404);
    expect(res.headers.get('access-control-allow-origin')).toBe(SITE);
    const { error } = await res.json();
    expect(error.code).toBe('unknown_site');
    // says what is wrong and what to use instead, without printing the key itself
    expect(error.message).toMatch(/site id/);
    expect(error.message).toMatch(/site key/);
    expect(error.message).not.toContain(h.site.siteKey);
    expect(await h.stored()).toBe(0);

    const kept = await h.rejected();
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ reason: 'unknown_site', message: error.message, route: '/e', raw: body });
  });

  test('a page of the site on a subdomain, and a server client without Origin: kept as the site\'s too', async () => {
    const h = await open();
    expect((await h.post(beacon(h.site.siteId), { origin: 'https://blog.example.com' })).status).toBe(404);
    const server = await h.app.request('/e', { method: 'POST', body: beacon(h.site.siteId), headers: { 'content-type': 'text/plain' } });
    expect(server.status).toBe(404);
    expect((await h.rejected()).map((i) => i.reason)).toEqual(['unknown_site', 'unknown_site']);
  });

  test('another origin naming the site id is refused as before and not put in the site\'s store', async () => {
    const h = await open();
    for (const origin of ['https://evilexample.com', 'https://example.com.evil.net', 'null']) {
      expect((await h.post(beacon(h.site.siteId), { origin })).status).toBe(404);
    }
    expect(await h.rejected()).toEqual([]);
    // still kept, under no site, and counted by reason
    const rows = await h.db.all<{ site_id: string; reason: string }>('SELECT site_id, reason FROM rejected_events');
    expect(rows).toEqual([0, 1, 2].map(() => ({ site_id: '', reason: 'unknown_site' })));
  });

  test('another site\'s admin never sees it; a made-up site id and a made-up key stay siteless', async () => {
    const h = await open();
    const other = await createSite(h.db, { domain: 'example.com' });
    const otherAdmin = (await createKey(h.db, other.siteId, ['admin'])).secret;
    expect((await h.post(beacon(h.site.siteId), { origin: SITE })).status).toBe(404);
    expect((await h.post(beacon('site_doesNotExist'), { origin: SITE })).status).toBe(404);
    expect((await h.post(beacon('pk_doesNotExist0000'), { origin: SITE })).status).toBe(404);
    expect(await h.rejected(otherAdmin)).toEqual([]);
    expect((await h.rejected()).length).toBe(1);
    // the right key still works, for both sites
    expect((await h.post(beacon(h.site.siteKey), { origin: SITE })).status).toBe(202);
    expect((await h.post(beacon(other.siteKey), { origin: SITE })).status).toBe(202);
    expect(await h.stored()).toBe(2);
  });

  test('a body over 64 KiB (413) or compressed (415) that opens with the site id is kept as the site\'s, from its pages only', async () => {
    const h = await open();
    // a batch of long addresses, as the snippet writes it (`{"s":…` first): over the limit
    const events = Array.from({ length: 50 }, (_, k) => ({ i: `evt_big_${k}_${Date.now()}`, n: 'pageview', t: Date.now() - 1000, u: `${SITE}/${'x'.repeat(1500)}` }));
    const big = JSON.stringify({ s: h.site.siteId, v: 'visitor_big_0001', e: events });
    expect(Buffer.byteLength(big)).toBeGreaterThan(LIMITS.bodyBytes);
    expect((await h.post(big, { origin: SITE })).status).toBe(413);
    expect((await h.post(big, { origin: 'https://evilexample.com' })).status).toBe(413);
    const gz = gzipSync(beacon(h.site.siteId));
    const compressed = await h.app.request('/e', { method: 'POST', body: gz, headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip', origin: SITE } });
    expect(compressed.status).toBe(415);
    expect((await h.rejected()).map((i) => i.reason).sort()).toEqual(['payload_too_large', 'unsupported_encoding']);
  });

  test('a batch that is bad in another way and names the site id is kept as the site\'s as well', async () => {
    const h = await open();
    const res = await h.post(JSON.stringify({ s: h.site.siteId, v: 'short', e: [] }), { origin: SITE });
    expect(res.status).toBe(400);
    expect((await h.rejected()).map((i) => i.reason)).toEqual(['invalid_batch']);
  });
});
