// CONTRACT §2: `GET /s.js` serves the snippet on every page of every site. Its size budget is counted gzip -9
// (test/snippet/size.test.ts, GZIP_BUDGET), but the collector sent it uncompressed whatever the browser accepted:
// about twice those bytes on every page load, wherever no proxy in front compressed it (`npm start` as it is). Browsers
// send `Accept-Encoding: gzip, deflate, br`; the snippet is sent in the best coding accepted, and as built otherwise.
import http from 'node:http';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { startServer, type RunningServer } from '../../collector/server.js';
import { openTestSqlite, tempDir } from '../helpers/test-db.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());

describe('GET /s.js and Accept-Encoding', () => {
  test('br or gzip as accepted (q=0 refuses one), the script itself otherwise; one Vary, an ETag per coding, 304 for each', async () => {
    const db = await openTestSqlite();
    const { app, close } = createApp({ db });
    const get = (headers: Record<string, string> = {}) => app.request('/s.js', { headers });
    const plain = await get();
    expect(plain.headers.get('content-encoding')).toBeNull();
    const code = (await bytesOf(plain)).toString('utf8');
    // what the size budget counts
    const budget = gzipSync(code, { level: 9 }).length;
    expect(code.length).toBeGreaterThan(1.5 * budget);

    const cases: Array<[string, string | null]> = [
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip, deflate', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
      ['BR', 'br'],
      ['*', 'br'],
      ['gzip;q=0, br;q=0', null],
      ['identity', null],
      ['deflate', null],
    ];
    const etags = new Set<string>();
    for (const [accept, coding] of cases) {
      const res = await get({ 'accept-encoding': accept });
      expect([accept, res.status, res.headers.get('content-encoding')]).toEqual([accept, 200, coding]);
      expect(res.headers.get('vary')).toBe('Accept-Encoding');
      const body = await bytesOf(res);
      const text = coding === 'br' ? brotliDecompressSync(body) : coding === 'gzip' ? gunzipSync(body) : body;
      expect(text.toString('utf8')).toBe(code);
      if (coding) expect(body.length).toBeLessThanOrEqual(budget);
      const etag = res.headers.get('etag')!;
      etags.add(etag);
      expect((await get({ 'accept-encoding': accept, 'if-none-match': etag })).status).toBe(304);
    }
    expect(etags.size).toBe(3);
    await close();
    await db.close();
  });

  test('a real server sends a browser the compressed script', async () => {
    running = await startServer({ env: {}, config: { DATABASE_PATH: join(tempDir('fb-cj4-snippet-'), 's.db'), PORT: 0, DEMO: '0', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0 } });
    const { status, encoding, length } = await new Promise<{ status: number; encoding: string | undefined; length: number }>((resolve, reject) => {
      http
        .get(running!.url + '/s.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
          let length = 0;
          res.on('data', (chunk: Buffer) => (length += chunk.length));
          res.on('end', () => resolve({ status: res.statusCode!, encoding: res.headers['content-encoding'], length }));
        })
        .on('error', reject);
    });
    expect([status, encoding]).toEqual([200, 'br']);
    // fetch decodes it as a browser does
    const code = await (await fetch(running.url + '/s.js')).text();
    expect(code).toMatch(/funnelbeam/);
    expect(length).toBeLessThanOrEqual(gzipSync(code, { level: 9 }).length);
  }, 60_000);
});
