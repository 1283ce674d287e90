// POST /e with input the other hardening tests do not send: byte order marks, compressed bodies, JSON that is not an
// object, odd numbers and times, script URLs, duplicate ids with different content, ids shared by two sites, and
// CORS answers for every kind of origin. Each refusal is a clear 4xx kept in the rejected store; good data is untouched.
import { describe, expect, test } from 'vitest';
import { gzipSync } from 'node:zlib';
import { makeHardeningApp, type HardeningApp } from './hardening-app.js';
import { makeBatch, makeWireEvent, randomId } from '../helpers/factories.js';
import { createSite } from '../../collector/admin.js';
import { LIMITS } from '../../shared/limits.js';
import type { WireEvent } from '../../shared/wire.js';

const SITE = 'https://example.com';
const NO_LIMITS = { RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, REJECTED_PER_SITE_PER_MIN: 1_000_000 };
const app = () => makeHardeningApp(NO_LIMITS, { domain: 'example.com' });

const batchOf = (h: HardeningApp, events: Partial<WireEvent>[] = [{}], v = 'v_' + randomId()) =>
  makeBatch(h.site.siteKey, { v }, events.map((e) => ({ t: h.clock.t, u: SITE + '/page', ...e })));
const send = (h: HardeningApp, body: object | string, headers: Record<string, string> = {}) =>
  h.postBeacon(body as never, { headers: { origin: SITE, ...headers } });
const rejected = (h: HardeningApp) =>
  h.db.all<{ reason: string; message: string; raw: string; site_id: string }>('SELECT reason, message, raw, site_id FROM rejected_events ORDER BY received_at, message');

describe('POST /e bodies that are not the usual JSON object', () => {
  test('a body that starts with a byte order mark is read as the JSON after it', async () => {
    const h = await app();
    const b = batchOf(h);
    const res = await send(h, '\uFEFF' + JSON.stringify(b));
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await h.count('SELECT COUNT(*) AS n FROM events WHERE event_id = ?', [b.e[0].i])).toBe(1);
    // as bytes too, the way a client writing UTF-8 with a BOM sends it
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(batchOf(h)))]);
    const raw = await h.app.request('/e', { method: 'POST', body: bytes, headers: { 'content-type': 'text/plain', origin: SITE } });
    expect(raw.status).toBe(202);
  });

  test('a compressed body is refused with 415 naming the encoding, kept, and nothing of it is stored', async () => {
    const h = await app();
    for (const encoding of ['gzip', 'br', 'deflate, gzip']) {
      const res = await h.app.request('/e', {
        method: 'POST',
        body: gzipSync(JSON.stringify(batchOf(h))),
        headers: { 'content-type': 'text/plain', 'content-encoding': encoding, origin: SITE },
      });
      expect(res.status).toBe(415);
      const { error } = await res.json();
      expect(error.code).toBe('unsupported_encoding');
      expect(error.message).toContain(encoding);
      expect(res.headers.get('access-control-allow-origin')).toBe(SITE);
    }
    expect((await rejected(h)).map((r) => r.reason)).toEqual(['unsupported_encoding', 'unsupported_encoding', 'unsupported_encoding']);
    expect(await h.count('SELECT COUNT(*) AS n FROM events')).toBe(0);
    // "identity" is no encoding at all
    const plain = await send(h, batchOf(h), { 'content-encoding': 'identity' });
    expect(plain.status).toBe(202);
  });

  test.each([
    ['an array', '[]', 'invalid_batch', 'expected object'],
    ['an array of batches', '[{"s":"x"}]', 'invalid_batch', 'expected object'],
    ['a string', '"hello"', 'invalid_batch', 'expected object'],
    ['null', 'null', 'invalid_batch', 'expected object'],
    ['a number', '42', 'invalid_batch', 'expected object'],
    ['nothing', '', 'invalid_json', 'not valid JSON'],
    ['a NUL byte', '\u0000', 'invalid_json', 'not valid JSON'],
  ])('a JSON body that is %s gets 400 %s and a rejected-store row', async (_what, body, code, words) => {
    const h = await app();
    const res = await send(h, body);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe(code);
    expect(error.message).toContain(words);
    const rows = await rejected(h);
    expect(rows.map((r) => r.reason)).toEqual([code]);
    expect(rows[0].raw).toBe(body.replace('\u0000', '\uFFFD'));
  });
});

describe('POST /e values at and past their edges', () => {
  test('times: far future is clamped, before 2000 and negative or fractional are refused one by one with the reason', async () => {
    const h = await app();
    const b = batchOf(h, [
      { t: h.clock.t },
      { t: 8.64e15 }, // the last representable date
      { t: Date.UTC(1999, 11, 31) },
      { t: -1 },
      { t: h.clock.t + 0.5 },
      { t: 1e300 },
    ]);
    const res = await send(h, b);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: { index: number }) => r.index).sort()).toEqual([2, 3, 4, 5]);
    const byIndex = Object.fromEntries(body.rejected.map((r: { index: number; message: string }) => [r.index, r.message]));
    expect(byIndex[2]).toMatch(/^e\.2\.t: .*older than 7 days$/);
    expect(byIndex[3]).toMatch(/^e\.3\.t: /);
    expect(byIndex[4]).toMatch(/^e\.4\.t: .*int/);
    expect(byIndex[5]).toMatch(/^e\.5\.t: /);
    const future = await h.db.get<{ at: number }>('SELECT at FROM events WHERE event_id = ?', [b.e[1].i]);
    expect(Number(future!.at)).toBe(h.clock.t + LIMITS.futureSkewMs);
    expect((await rejected(h)).filter((r) => r.reason === 'invalid_event')).toHaveLength(4);
  });

  test('a too-old event after a refused one is answered with its own index in the batch as sent', async () => {
    const h = await app();
    const old = h.clock.t - LIMITS.maxAgeMs - 60_000;
    const b = batchOf(h, [{ n: 'bad name!' }, { t: old }, {}, { t: old - 1 }]);
    const body = await (await send(h, b)).json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r: { index: number; id: string }) => [r.index, r.id])).toEqual([[0, b.e[0].i], [1, b.e[1].i], [3, b.e[3].i]]);
    expect(body.rejected[1].message).toMatch(/^e\.1\.t: .*older than 7 days$/);
    expect(body.rejected[2].message).toMatch(/^e\.3\.t: .*older than 7 days$/);
  });

  test('props: huge, negative and fractional numbers are kept exactly; nested objects and arrays are dropped and explained', async () => {
    const h = await app();
    const b = batchOf(h, [{ p: { big: 1.7976931348623157e308, neg: -42.5, tiny: 5e-324, zero: -0, obj: { a: 1 } as never, list: [1, 2] as never, ok: 'yes' } }]);
    const res = await send(h, b);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.repaired[0].message).toContain('p.obj: dropped');
    expect(body.repaired[0].message).toContain('p.list: dropped');
    const row = await h.db.get<{ props: string }>('SELECT props FROM events WHERE event_id = ?', [b.e[0].i]);
    expect(JSON.parse(row!.props)).toEqual({ big: 1.7976931348623157e308, neg: -42.5, tiny: 5e-324, zero: 0, ok: 'yes' });
    const kept = (await rejected(h)).filter((r) => r.reason === 'invalid_field');
    expect(kept).toHaveLength(1);
    expect(JSON.parse(kept[0].raw).p.obj).toEqual({ a: 1 });
  });

  test('a __proto__ key in props or traits is dropped and explained, never lost in silence; other keys are plain keys', async () => {
    const h = await app();
    const b = batchOf(h, [{ n: 'identify', em: 'proto@example.com', p: { ok: 1 }, tr: { company: 'Acme' } }]);
    const text = JSON.stringify(b)
      .replace('"ok":1', '"__proto__":"x","ok":1,"constructor":"c","toString":"t"')
      .replace('"company":"Acme"', '"company":"Acme","__proto__":{"polluted":"yes"}');
    const res = await send(h, text);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.repaired[0].message).toContain('e.0.p.__proto__: dropped (reserved key)');
    expect(body.repaired[0].message).toContain('e.0.tr.__proto__: dropped');
    const row = await h.db.get<{ props: string; traits: string }>('SELECT props, traits FROM events WHERE event_id = ?', [b.e[0].i]);
    expect(JSON.parse(row!.props)).toEqual({ ok: 1, constructor: 'c', toString: 't' });
    expect(JSON.parse(row!.traits)).toEqual({ company: 'Acme' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // the event as sent is kept, its __proto__ parts with it
    const kept = (await rejected(h)).find((r) => r.reason === 'invalid_field')!;
    expect(kept.raw).toContain('"__proto__":"x"');
  });

  test('event names: upper case and spaces are kept as sent (trimmed), an empty name or one with other punctuation is refused with the rule', async () => {
    const h = await app();
    const b = batchOf(h, [{ n: 'PageView' }, { n: ' page view ' }, { n: '' }, { n: 'plan:Pro.v2-x_y' }, { n: 'bad name!' }]);
    const body = await (await send(h, b)).json();
    expect(body.accepted).toBe(3);
    expect(body.rejected.map((r: { index: number; message: string }) => [r.index, r.message.slice(0, 6)])).toEqual([[2, 'e.2.n:'], [4, 'e.4.n:']]);
    const names = await h.db.all<{ name: string }>('SELECT name FROM events ORDER BY name');
    expect(names.map((r) => r.name)).toEqual(['PageView', 'page view', 'plan:Pro.v2-x_y']);
  });

  test('a page URL with a script or other non-web scheme refuses the event; such a referrer is dropped and explained', async () => {
    const h = await app();
    const b = batchOf(h, [
      { u: 'javascript:alert(document.cookie)' },
      { u: 'JavaScript:alert(1)' },
      { u: ' java\tscript:alert(1)' },
      { u: 'data:text/html,<script>alert(1)</script>' },
      { u: 'vbscript:msgbox(1)' },
      { u: SITE + '/ok', r: 'javascript:alert(1)' },
      { u: SITE + '/ok2', r: 'android-app://com.google.android.gm/' },
      { u: SITE + '/ok3', st: { url: 'data:text/html,x', utm_source: 'news' } },
    ]);
    const res = await send(h, b);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(3);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3, 4]);
    for (const r of body.rejected) expect(r.message).toMatch(/^e\.\d\.u: not an http\(s\) URL$/);
    expect(body.repaired.map((r: { index: number; message: string }) => [r.index, r.message])).toEqual([
      [5, 'e.5.r: dropped (not an http(s) URL)'],
      [7, 'e.7.st.url: dropped (not an http(s) URL)'],
    ]);
    const rows = await h.db.all<{ url: string; referrer: string; path: string; utm_source: string | null }>('SELECT url, referrer, path, utm_source FROM events ORDER BY url');
    expect(rows).toEqual([
      { url: SITE + '/ok', referrer: '', path: '/ok', utm_source: null },
      { url: SITE + '/ok2', referrer: 'android-app://com.google.android.gm/', path: '/ok2', utm_source: null },
      { url: SITE + '/ok3', referrer: '', path: '/ok3', utm_source: 'news' },
    ]);
    const dump = JSON.stringify(await h.db.all('SELECT * FROM events'));
    expect(dump).not.toMatch(/javascript|vbscript|data:text/i);
  });

  test('lone surrogates become replacement characters and a NUL in a URL too; a NUL inside props stays JSON-escaped', async () => {
    const h = await app();
    const b = batchOf(h, [{ u: SITE + '/a\ud800b\u0000', p: { k: 'x\udfffy', n: 'a\u0000b' } }]);
    // written by hand: JSON.stringify would escape them, a sloppy client does not
    const text = JSON.stringify(b).replace('\\ud800', '\ud800').replace('\\udfff', '\udfff');
    const res = await send(h, text);
    expect(res.status).toBe(202);
    const row = await h.db.get<{ url: string; props: string }>('SELECT url, props FROM events WHERE event_id = ?', [b.e[0].i]);
    expect(row!.url).toBe(SITE + '/a\ufffdb\ufffd');
    expect(JSON.parse(row!.props)).toEqual({ k: 'x\ufffdy', n: 'a\u0000b' });
  });
});

describe('POST /e ids', () => {
  test('one id twice in a batch with different content: the earlier event is stored, the other counted as a duplicate', async () => {
    const h = await app();
    const id = 'dup_' + randomId();
    const b = batchOf(h, [
      { i: id, n: 'pageview', u: SITE + '/second', t: h.clock.t - 1000 },
      { i: id, n: 'download', u: SITE + '/first', t: h.clock.t - 5000 },
      { n: 'pageview', u: SITE + '/other' },
    ]);
    const res = await send(h, b);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 1 });
    const rows = await h.db.all<{ event_id: string; name: string; url: string }>('SELECT event_id, name, url FROM events ORDER BY at');
    expect(rows).toEqual([
      { event_id: id, name: 'download', url: SITE + '/first' },
      { event_id: b.e[2].i, name: 'pageview', url: SITE + '/other' },
    ]);
    expect(await h.count('SELECT event_count AS n FROM visitors WHERE visitor_id = ?', [b.v])).toBe(2);
    // sent again with yet other content, it stays as first stored
    const again = await send(h, batchOf(h, [{ i: id, n: 'closed_won_fake', u: SITE + '/third' }]));
    expect(await again.json()).toEqual({ accepted: 0, duplicates: 1 });
    expect(await h.db.get('SELECT name, url FROM events WHERE event_id = ?', [id])).toEqual({ name: 'download', url: SITE + '/first' });
  });

  test('late events of one earlier visit, sent together after newer ones, are one past session, not one each', async () => {
    const h = await makeHardeningApp(NO_LIMITS, { domain: '127.0.0.1' });
    const v = 'v_' + randomId();
    const T = h.clock.t;
    h.clock.t = T + 3 * 3600_000;
    const at = (ms: number, path: string) => ({ t: T + ms, u: 'http://127.0.0.1' + path });
    const post = (events: Partial<WireEvent>[]) => h.postBeacon(makeBatch(h.site.siteKey, { v }, events));
    expect((await post([at(0, '/')])).status).toBe(202);
    expect((await post([at(2 * 3600_000, '/')])).status).toBe(202);
    // three pricing views of the visit in between, an hour before the current session, arrive last
    const late = [at(3600_000, '/pricing'), at(3600_000 + 60_000, '/pricing'), at(3600_000 + 120_000, '/pricing')].map((e) => makeWireEvent(e));
    expect((await post(late)).status).toBe(202);
    // and once more, as a snippet retries a batch it had no answer for: stored once, and no session counted again
    expect(await (await post(late)).json()).toEqual({ accepted: 0, duplicates: 3 });
    const sessions = await h.db.all<{ session_id: string }>('SELECT DISTINCT session_id FROM events WHERE visitor_id = ? ORDER BY session_id', [v]);
    expect(sessions).toHaveLength(3);
    expect(await h.db.get('SELECT session_count, event_count FROM visitors WHERE visitor_id = ?', [v])).toEqual({ session_count: 3, event_count: 5 });
    // pricing in one session only: consideration, not intent ("pricing seen in two or more sessions")
    expect(await h.db.get<{ stage: string }>('SELECT l.stage FROM leads l JOIN visitors v ON v.lead_id = l.lead_id WHERE v.visitor_id = ?', [v])).toEqual({ stage: 'consideration' });
  });

  test('the same event id on two sites is two events, one per site', async () => {
    const h = await app();
    const other = await createSite(h.db, { domain: 'other.example' }, h.clock.t);
    const id = 'shared_' + randomId();
    const a = batchOf(h, [{ i: id }]);
    const b = { ...makeBatch(other.siteKey, {}, [{ i: id, t: h.clock.t, u: 'https://other.example/' }]) };
    expect(await (await send(h, a)).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await (await send(h, b, { origin: 'https://other.example' })).json()).toEqual({ accepted: 1, duplicates: 0 });
    const rows = await h.db.all<{ site_id: string }>('SELECT site_id FROM events WHERE event_id = ? ORDER BY site_id', [id]);
    expect(rows.map((r) => r.site_id).sort()).toEqual([h.site.siteId, other.siteId].sort());
  });

  test('good events in a batch with bad ones are stored; the bad are answered and kept; nothing stored before is touched', async () => {
    const h = await app();
    const first = batchOf(h, [{ n: 'pageview' }]);
    expect((await send(h, first)).status).toBe(202);
    const before = await h.db.all('SELECT * FROM events');
    const b = batchOf(h, [{}, { i: 'short' }, { n: 'bad name!' }, { u: 42 as never }, { i: first.e[0].i, n: 'download' }, {}], first.v);
    const res = await send(h, b);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(body.rejected.map((r: { index: number; id: string | null }) => [r.index, r.id])).toEqual([[1, 'short'], [2, b.e[2].i], [3, b.e[3].i]]);
    expect(await h.count('SELECT COUNT(*) AS n FROM events')).toBe(3);
    const after = await h.db.all('SELECT * FROM events WHERE event_id = ?', [first.e[0].i]);
    expect(after).toEqual(before);
    const kept = (await rejected(h)).filter((r) => r.reason === 'invalid_event');
    expect(kept.map((r) => JSON.parse(r.raw).i)).toEqual(['short', b.e[2].i, b.e[3].i]);
    expect(kept.every((r) => r.site_id === h.site.siteId)).toBe(true);
  });
});

describe('CORS on POST /e', () => {
  const allowed = ['https://example.com', 'http://example.com', 'https://www.example.com', 'https://a.b.example.com', 'https://example.com:8443', 'http://localhost.example.com:3000', 'https://EXAMPLE.com', 'https://example.com.', 'https://xn--bcher-kva.example.com'];
  const refused = ['https://evil.com', 'https://example.com.evil.com', 'https://evilexample.com', 'https://example.co', 'null', 'file://', 'chrome-extension://abcdef', 'https://xn--exmple-cua.com', 'https://example.com@evil.com'];

  test('the site domain, its subdomains, any port, any case and the fully qualified name are admitted and echoed', async () => {
    const h = await app();
    for (const origin of allowed) {
      const res = await send(h, batchOf(h), { origin });
      expect(res.status, origin).toBe(202);
      expect(res.headers.get('access-control-allow-origin'), origin).toBe(origin);
      expect(res.headers.get('vary')).toContain('Origin');
    }
  });

  test('other origins, null and other schemes are refused with 403 and no CORS header; nothing is stored', async () => {
    const h = await app();
    for (const origin of refused) {
      const res = await send(h, batchOf(h), { origin });
      expect(res.status, origin).toBe(403);
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
    expect(await h.count('SELECT COUNT(*) AS n FROM events')).toBe(0);
    expect(await h.count("SELECT COUNT(*) AS n FROM rejected_events WHERE reason = 'origin_not_allowed'")).toBe(refused.length);
  });

  test('a refused origin cannot read the site\'s other refusals either (bad batch, bad events)', async () => {
    const h = await app();
    const badBatch = { s: h.site.siteKey, v: 'x', e: [] };
    const badEvents = batchOf(h, [{ n: 'bad name!' }]);
    for (const body of [badBatch, badEvents]) {
      const evil = await send(h, body, { origin: 'https://evil.com' });
      expect(evil.status).toBeGreaterThanOrEqual(400);
      expect(evil.status).toBeLessThan(500);
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      const own = await send(h, body, { origin: 'https://www.example.com' });
      expect(own.status).toBe(400);
      expect(own.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    }
    // `null` is never echoed, whatever the answer
    for (const body of ['{', JSON.stringify(makeBatch('pk_unknown_site'))]) {
      const res = await send(h, body, { origin: 'null' });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  test('a 429 is readable by web pages (for Retry-After) but never by the null origin', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 1 }, { domain: 'example.com' });
    const statuses: Array<[number, string | null]> = [];
    for (const origin of ['https://example.com', 'https://example.com', 'https://www.example.com', 'null']) {
      const res = await send(h, batchOf(h), { origin });
      statuses.push([res.status, res.headers.get('access-control-allow-origin')]);
    }
    expect(statuses).toEqual([[202, 'https://example.com'], [202, 'https://example.com'], [429, 'https://www.example.com'], [429, null]]);
  });

  test('the preflight admits origins some site admits, and never null, other schemes or unknown hosts', async () => {
    const h = await app();
    const preflight = (origin: string) =>
      h.app.request('/e', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    const ok = await preflight('https://www.example.com');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    for (const origin of ['null', 'file://', 'chrome-extension://abcdef', 'https://evil.com', 'https://example.com.evil.com']) {
      const res = await preflight(origin);
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(res.headers.get('access-control-allow-methods'), origin).toBeNull();
    }
    // a site created later admits its origin in the preflight within seconds
    await createSite(h.db, { domain: 'later.example' }, h.clock.t);
    h.clock.t += 5_000;
    expect((await preflight('https://app.later.example')).headers.get('access-control-allow-origin')).toBe('https://app.later.example');
  });
});
