// POST /e on a real listening server reads node's request stream itself: the byte cap holds with and without a
// Content-Length, a body split anywhere (even inside a UTF-8 character) arrives whole, and a refused body harms nothing.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { request } from 'node:http';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../collector/server.js';
import { tempDir } from '../helpers/test-db.js';
import { LIMITS } from '../../shared/limits.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ env: { PORT: '0', DATABASE_PATH: join(tempDir(), 'read-body.db'), LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0' } });
});
afterAll(() => server.close());

/** Sends the body in the given pieces; with `chunked` there is no Content-Length. */
function post(pieces: Buffer[], chunked: boolean): Promise<{ status: number; body: string }> {
  const length = pieces.reduce((n, p) => n + p.length, 0);
  return new Promise((resolve, reject) => {
    const req = request(server.url + '/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://localhost', ...(chunked ? {} : { 'content-length': String(length) }) },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    // a server that answers before reading everything may reset the rest of the upload
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    (async () => {
      for (const p of pieces) {
        if (!req.write(p)) await new Promise((r) => req.once('drain', r));
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    })().catch(reject);
  });
}

const batch = (title: string, pad = '') =>
  JSON.stringify({ s: server.demoSite!.siteKey, v: 'v-read-body', e: [{ i: 'event-id-' + title.length, n: 'pageview', t: Date.now(), u: 'http://localhost/' + title }], pad });

test('a body in many small pieces, split inside a multi-byte character, is stored whole', async () => {
  const bytes = Buffer.from(batch('préçis-€-日本'));
  const cut = bytes.indexOf(Buffer.from('€')) + 1; // inside the three bytes of €
  for (const chunked of [false, true]) {
    const res = await post([bytes.subarray(0, cut), bytes.subarray(cut, cut + 3), bytes.subarray(cut + 3)], chunked);
    expect(res.status, res.body).toBe(202);
  }
  await server.created.deps.writer.flush();
  const row = await server.created.deps.db.get<{ url: string; n: number }>(`SELECT url, COUNT(*) AS n FROM events WHERE visitor_id = 'v-read-body' GROUP BY url`);
  expect(row).toEqual({ url: 'http://localhost/préçis-€-日本', n: 1 });
});

test('over the byte cap is 413 with a declared length and without one, and the server goes on', async () => {
  const big = Buffer.from('{"s":"' + 'x'.repeat(LIMITS.bodyBytes) + '"}');
  for (const chunked of [false, true]) {
    const pieces = chunked ? [big.subarray(0, 1000), big.subarray(1000, 40_000), big.subarray(40_000)] : [big];
    const res = await post(pieces, chunked);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
  }
  const rows = await server.created.deps.db.all<{ reason: string }>(`SELECT reason FROM rejected_events WHERE reason = 'payload_too_large'`);
  expect(rows.length).toBe(2);
  // a body of exactly the cap is read (and then judged on its content)
  const atCap = Buffer.from(batch('cap', 'x'.repeat(LIMITS.bodyBytes - Buffer.byteLength(batch('cap')))));
  expect(atCap.length).toBe(LIMITS.bodyBytes);
  for (const chunked of [false, true]) expect((await post([atCap.subarray(0, 5000), atCap.subarray(5000)], chunked)).status).not.toBe(413);
  expect((await fetch(server.url + '/healthz')).status).toBe(200);
});
