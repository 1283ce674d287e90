import { afterEach, describe, expect, test } from 'vitest';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../collector/server.js';
import { tempDir } from '../helpers/test-db.js';
import { serverTimeouts } from '../../collector/hardening/request-timeout.js';
import { makeHardeningApp } from './hardening-app.js';
import type { Config } from '../../collector/config.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

async function start(config: Partial<Config>) {
  running = await startServer({ env: {}, config: { DATABASE_PATH: join(tempDir(), 't.db'), PORT: 0, DEMO: '0', LOG_LEVEL: 'error', ...config } });
  return new URL(running.url);
}

/** Writes `first` to a raw socket, then nothing more; resolves with what the server sent and whether it closed. */
function trickle(url: URL, first: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(first));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve({ text, closed: true }));
    socket.on('error', () => {});
    setTimeout(() => {
      resolve({ text, closed: false });
      socket.destroy();
    }, 8000).unref();
  });
}

describe('request timeouts', () => {
  test('a client that never finishes its headers gets 408 and loses the connection', async () => {
    const url = await start({ HEADERS_TIMEOUT_MS: 300, REQUEST_TIMEOUT_MS: 600 });
    const r = await trickle(url, 'POST /e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closed).toBe(true);
  }, 15_000);

  test('a slow-loris body gets 408 from node:http when no handler deadline is set', async () => {
    const url = await start({ HEADERS_TIMEOUT_MS: 300, REQUEST_TIMEOUT_MS: 600, HANDLER_TIMEOUT_MS: 0 });
    const r = await trickle(url, 'POST /e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n{"s":"');
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closed).toBe(true);
  }, 15_000);

  test('a slow-loris body gets 503 with Retry-After from the handler deadline, and the connection closes', async () => {
    const url = await start({ HANDLER_TIMEOUT_MS: 300, REQUEST_TIMEOUT_MS: 5000, HEADERS_TIMEOUT_MS: 2000 });
    const r = await trickle(url, 'POST /e HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n{"s":"');
    expect(r.text).toMatch(/^HTTP\/1\.1 503/);
    expect(r.text).toMatch(/retry-after: 5/i);
    expect(r.text).toMatch(/connection: close/i);
    expect(r.text).toContain('"code":"timeout"');
    expect(r.closed).toBe(true);
  }, 15_000);

  test('a handler stuck past the deadline is answered 503 with the error shape', async () => {
    const h = await makeHardeningApp({ HANDLER_TIMEOUT_MS: 50 });
    h.app.get('/stuck', () => new Promise<Response>(() => {}));
    const res = await h.app.request('/stuck');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({ error: { code: 'timeout' } });
  });

  test('node:http is given a header deadline no longer than the request deadline', () => {
    expect(serverTimeouts({ REQUEST_TIMEOUT_MS: 1000, HEADERS_TIMEOUT_MS: 5000 })).toMatchObject({ requestTimeout: 1000, headersTimeout: 1000 });
    expect(serverTimeouts({ REQUEST_TIMEOUT_MS: 30_000, HEADERS_TIMEOUT_MS: 10_000 })).toMatchObject({ requestTimeout: 30_000, headersTimeout: 10_000, connectionsCheckingInterval: 1000 });
  });
});
