// POST /e on a real listening server against bodies that never say their size: a chunked upload past 64 KiB is answered
// 413 as soon as it crosses the cap, while the client is still sending (nothing waits for, or keeps, the rest), and
// a body of exactly 64 KiB with a byte order mark and multi-byte text is read whole.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { request } from 'node:http';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../collector/server.js';
import { tempDir } from '../helpers/test-db.js';
import { LIMITS } from '../../shared/limits.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ env: { PORT: '0', DATABASE_PATH: join(tempDir(), 'oversized.db'), LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0' } });
});
afterAll(() => server.close());

test('a chunked upload that crosses 64 KiB is answered 413 before the client has finished sending', async () => {
  const piece = Buffer.alloc(16 * 1024, 'x');
  let sent = 0;
  let ended = false;
  const answer = await new Promise<{ status: number; body: string; sentBefore: number }>((resolve, reject) => {
    const req = request(server.url + '/e', { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'http://localhost', 'transfer-encoding': 'chunked' } });
    req.on('response', (res) => {
      const sentBefore = sent;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        ended = true;
        req.destroy();
        resolve({ status: res.statusCode!, body, sentBefore });
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    req.write('{"s":"');
    // keep sending, up to 8 MiB, without ever ending the body: a server that waits for the end never answers
    (async () => {
      while (!ended && sent < 8 * 1024 * 1024) {
        if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
        sent += piece.length;
        await new Promise((r) => setImmediate(r));
      }
    })().catch(() => {});
    setTimeout(() => reject(new Error(`no answer after ${sent} bytes`)), 20_000).unref();
  });
  expect(answer.status).toBe(413);
  expect(JSON.parse(answer.body).error.code).toBe('payload_too_large');
  expect(answer.sentBefore).toBeGreaterThan(LIMITS.bodyBytes);
  expect(answer.sentBefore).toBeLessThan(8 * 1024 * 1024);
  expect((await fetch(server.url + '/healthz')).status).toBe(200);
});

test('a body of exactly 64 KiB that opens with a byte order mark and holds multi-byte text is stored', async () => {
  const make = (pad: string) =>
    '\uFEFF' + JSON.stringify({ s: server.demoSite!.siteKey, v: 'v-oversized', e: [{ i: 'event-bom-64k', n: 'pageview', t: Date.now(), u: 'http://localhost/日本', p: { pad } }] });
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  // three-byte characters in a prop (within its 512 characters), then an unknown field of single bytes up to the cap
  const pad = '€'.repeat(500);
  const extra = LIMITS.bodyBytes - bytes(make(pad));
  const body = make(pad).replace('"u":', `"x":"${'y'.repeat(extra - 7)}","u":`);
  expect(bytes(body)).toBe(LIMITS.bodyBytes);
  const res = await fetch(server.url + '/e', { method: 'POST', body, headers: { 'content-type': 'text/plain', origin: 'http://localhost' } });
  expect(res.status, await res.clone().text()).toBe(202);
  const over = await fetch(server.url + '/e', { method: 'POST', body: body + ' ', headers: { 'content-type': 'text/plain', origin: 'http://localhost' } });
  expect(over.status).toBe(413);
  await server.created.deps.writer.flush();
  const row = await server.created.deps.db.get<{ url: string; props: string }>(`SELECT url, props FROM events WHERE event_id = 'event-bom-64k'`);
  expect(row!.url).toBe('http://localhost/日本');
  expect(JSON.parse(row!.props).pad).toBe(pad);
});
