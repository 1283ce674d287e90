// An outside judge's POST /e input, second pass: charsets a server client declares, the 64 KiB limit crossed by one
// byte with and without a Content-Length on a real listening server, and the usual refusals checked against the
// contract (§5, §7) and the README: a clear 4xx, kept in the rejected store with its reason, good data untouched.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startServer, type RunningServer } from '../../collector/server.js';
import { createSite } from '../../collector/admin.js';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { tempDir } from '../helpers/test-db.js';
import { LIMITS } from '../../shared/limits.js';
import type { Site } from '../../collector/storage/sites.js';

let seq = 0;
const id = (p: string) => `${p}${Date.now().toString(36)}${String(seq++).padStart(6, '0')}`;
const event = (extra: Record<string, unknown> = {}) => ({ i: id('evt'), n: 'pageview', t: Date.now(), u: 'http://127.0.0.1/p', ...extra });
const batch = (siteKey: string, events: object[], v = id('vis')) => JSON.stringify({ s: siteKey, v, e: events });

describe('bodies in the charset their Content-Type declares (app.request)', () => {
  test.each([
    ['UTF-16LE with its BOM, charset=utf-16', 'text/plain; charset=utf-16', (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')])],
    ['UTF-16BE with its BOM, no charset', 'text/plain', (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()])],
    ['ISO-8859-1, charset=ISO-8859-1', 'text/plain; charset=ISO-8859-1', (s: string) => Buffer.from(s, 'latin1')],
    ['windows-1252 quoted, JSON type', 'application/json; charset="windows-1252"', (s: string) => Buffer.from(s, 'latin1')],
    ['UTF-8, charset=UTF-8', 'text/plain;charset=UTF-8', (s: string) => Buffer.from(s, 'utf8')],
    ['UTF-8 under a charset no decoder knows', 'text/plain; charset=x-made-up', (s: string) => Buffer.from(s, 'utf8')],
    ['UTF-8 labelled us-ascii (read as UTF-8, its superset)', 'text/plain; charset=us-ascii', (s: string) => Buffer.from(s, 'utf8')],
  ])('%s: stored, the accented text as sent', async (_name, contentType, encode) => {
    const h = await makeIngestApp();
    const ev = event({ p: { city: 'Zürich café' } });
    const res = await h.app.request('/e', { method: 'POST', headers: { 'content-type': contentType, origin: 'http://127.0.0.1' }, body: encode(batch(h.site.siteKey, [ev])) });
    // read as UTF-8 whatever was declared, UTF-16 was refused as invalid JSON and Latin-1 stored U+FFFD
    expect([res.status, await res.json()]).toEqual([202, { accepted: 1, duplicates: 0 }]);
    const row = await h.db.get<{ props: string }>('SELECT props FROM events WHERE event_id = ?', [ev.i]);
    expect(JSON.parse(row!.props)).toEqual({ city: 'Zürich café' });
    await h.db.close();
  });
});

describe('a real listening collector', () => {
  let server: RunningServer;
  let site: Site;
  beforeAll(async () => {
    server = await startServer({ env: { PORT: '0', DEMO: '0', DATABASE_PATH: join(tempDir('fb-unseen2-'), 'e.db'), LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0', RATE_LIMIT_SITE_PER_SEC: '0' } });
    site = await createSite(server.db, { domain: 'example.com' });
  });
  afterAll(() => server.close());

  function post(body: Buffer | string, headers: Record<string, string>, chunked: boolean): Promise<{ status: number; body: string; cors: string | undefined }> {
    const bytes = Buffer.from(body);
    return new Promise((resolve, reject) => {
      const req = request(server.url + '/e', { method: 'POST', headers: { origin: 'https://example.com', ...headers, ...(chunked ? {} : { 'content-length': String(bytes.length) }) } });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text, cors: res.headers['access-control-allow-origin'] as string | undefined }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
      if (chunked) {
        for (let i = 0; i < bytes.length; i += 4096) req.write(bytes.subarray(i, i + 4096));
        req.end();
      } else req.end(bytes);
    });
  }

  /** a valid batch of exactly `size` bytes (padded with JSON whitespace) */
  const exactly = (size: number) => {
    const text = batch(site.siteKey, [event({ u: 'https://example.com/limit' })]);
    return text + ' '.repeat(size - Buffer.byteLength(text));
  };

  test.each([false, true])('64 KiB is accepted and 64 KiB + 1 byte is a 413 the page can read (chunked: %s)', async (chunked) => {
    const at = await post(exactly(LIMITS.bodyBytes), { 'content-type': 'text/plain' }, chunked);
    expect(at.status).toBe(202);
    const over = await post(exactly(LIMITS.bodyBytes + 1), { 'content-type': 'text/plain' }, chunked);
    expect([over.status, JSON.parse(over.body).error.code, over.cors]).toEqual([413, 'payload_too_large', 'https://example.com']);
  });

  test('a UTF-16 body sent chunked, split inside a character, is stored', async () => {
    const ev = event({ u: 'https://example.com/ü', p: { q: 'naïve' } });
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(batch(site.siteKey, [ev]), 'utf16le')]);
    const res = await post(bytes, { 'content-type': 'text/plain; charset=UTF-16' }, true);
    expect(res.status).toBe(202);
    const row = await server.db.get<{ props: string }>('SELECT props FROM events WHERE event_id = ?', [ev.i]);
    expect(JSON.parse(row!.props)).toEqual({ q: 'naïve' });
  });

  test('gzip is a 415 kept in the rejected store; a BOM before text/plain JSON is read', async () => {
    const gz = await post(gzipSync(batch(site.siteKey, [event()])), { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, false);
    expect([gz.status, JSON.parse(gz.body).error.code]).toEqual([415, 'unsupported_encoding']);
    const kept = await server.db.all<{ reason: string }>("SELECT reason FROM rejected_events WHERE reason = 'unsupported_encoding'");
    expect(kept.length).toBeGreaterThan(0);
    const bom = await post('\ufeff' + batch(site.siteKey, [event()]), { 'content-type': 'text/plain;charset=UTF-8' }, false);
    expect(bom.status).toBe(202);
  });
});

describe('refusals, duplicates and origins (app.request)', () => {
  test('an id sent again in a later batch is stored once; a bad event among good ones is kept with its reason', async () => {
    const h = await makeIngestApp({ domain: 'example.com' });
    const send = (body: string, origin = 'https://example.com') => h.app.request('/e', { method: 'POST', headers: { 'content-type': 'text/plain', origin }, body });
    const v = id('vis');
    const a = event({ u: 'https://example.com/a' });
    expect(await (await send(batch(h.site.siteKey, [a], v))).json()).toEqual({ accepted: 1, duplicates: 0 });
    const b = event({ u: 'https://example.com/b' });
    const bad = event({ u: 'javascript:alert(1)' });
    const res = await send(batch(h.site.siteKey, [{ ...a }, bad, b], v));
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ accepted: 1, duplicates: 1, rejected: [{ index: 1, id: bad.i }] });
    const stored = await h.db.all<{ event_id: string }>('SELECT event_id FROM events ORDER BY event_id');
    expect(stored.map((r) => r.event_id).sort()).toEqual([a.i, b.i].sort());
    const rejected = await h.db.all<{ reason: string; raw: string; site_id: string }>('SELECT reason, raw, site_id FROM rejected_events');
    expect(rejected).toEqual([{ reason: 'invalid_event', raw: expect.stringContaining(bad.i), site_id: h.site.siteId }]);
    await h.db.close();
  });

  test('an unknown site key is a 404 kept without a site; a look-alike domain is a 403, subdomains pass', async () => {
    const h = await makeIngestApp({ domain: 'example.com' });
    const send = (body: string, origin: string) => h.app.request('/e', { method: 'POST', headers: { 'content-type': 'text/plain', origin }, body });
    const unknown = await send(batch('pk_nobody', [event()]), 'https://example.com');
    expect([unknown.status, (await unknown.json()).error.code]).toEqual([404, 'unknown_site']);
    for (const origin of ['https://evilexample.com', 'https://example.com.evil.net', 'https://example.co', 'https://xexample.com:443']) {
      const res = await send(batch(h.site.siteKey, [event({ u: 'https://example.com/' })]), origin);
      expect([origin, res.status, res.headers.get('access-control-allow-origin')]).toEqual([origin, 403, null]);
    }
    for (const origin of ['https://example.com', 'https://www.example.com', 'https://blog.eu.example.com:8443', 'HTTPS://APP.EXAMPLE.COM']) {
      const res = await send(batch(h.site.siteKey, [event({ u: 'https://example.com/' })]), origin);
      expect([origin, res.status]).toEqual([origin, 202]);
    }
    const reasons = await h.db.all<{ reason: string; site_id: string }>('SELECT reason, site_id FROM rejected_events ORDER BY received_at');
    expect(reasons.filter((r) => r.reason === 'unknown_site')).toEqual([{ reason: 'unknown_site', site_id: '' }]);
    expect(reasons.filter((r) => r.reason === 'origin_not_allowed')).toHaveLength(4);
    await h.db.close();
  });

  test('a device clock 3 hours fast: event times move back to the collector\'s clock', async () => {
    const h = await makeIngestApp();
    const skew = 3 * 3_600_000;
    const ev = event({ t: Date.now() + skew });
    const res = await h.app.request('/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1' },
      body: JSON.stringify({ s: h.site.siteKey, v: id('vis'), t: Date.now() + skew, e: [ev] }),
    });
    expect(res.status).toBe(202);
    const row = await h.db.get<{ at: number }>('SELECT at FROM events WHERE event_id = ?', [ev.i]);
    expect(Math.abs(Number(row!.at) - Date.now())).toBeLessThan(60_000);
    await h.db.close();
  });
});
