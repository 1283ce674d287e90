// Webhooks judged from outside, fourth round, over real HTTP with real local receivers and a real SQLite file (the
// app's own delivery service stopped, so the worker each test drives is the only one; its timeout is 400 ms): every
// 2xx a receiver may answer counts as delivered, also one whose body never ends or that sends 102 Processing first;
// a 410 Gone, a reset connection and a closed port are failed attempts, retried on the README's schedule (30 s
// doubling, jittered, 10 attempts, then `failed`); a slow receiver within the timeout is delivered once; a URL's
// query string reaches the receiver as given.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { randomId } from '../helpers/factories.js';
import { verifySignature } from '../../collector/webhooks/verify-signature.js';
import { ORIGIN, useWebhookRigs } from './webhook-rig.js';

const DAY = 86_400_000;
const { setup, closeLater } = useWebhookRigs();

interface LogEntry {
  deliveryId: string; status: string; attempts: number; lastStatusCode: number | null; lastError: string | null;
  nextAttemptAt: string | null; deliveredAt: string | null;
}

/** A receiver whose every answer the test writes itself; records the raw request line, headers and body. */
async function rawReceiver(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const seen: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      handle(req, res, seen.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closeLater(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function withOneDelivery(url: string) {
  const h = await setup();
  const { secret } = await h.hook('crm', { url, events: ['stage.changed'] });
  await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
  const log = async () => (await (await h.api('/api/webhooks/crm')).json()).deliveries as LogEntry[];
  return Object.assign(h, { secret: secret as string, log });
}

describe('what counts as delivered', () => {
  test('201, 202, 204, 226 and 299 are each delivered at the first attempt; none is sent again', async () => {
    const statuses = [201, 202, 204, 226, 299];
    for (const status of statuses) {
      const rx = await rawReceiver((_req, res) => res.writeHead(status).end());
      const h = await withOneDelivery(rx.base + '/hook');
      const t1 = h.clock.t + 1000;
      expect(await h.worker.runOnce(t1), String(status)).toBe(1);
      expect((await h.log())[0], String(status)).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: status, nextAttemptAt: null });
      expect(await h.worker.runOnce(t1 + DAY)).toBe(0);
      expect(rx.seen, String(status)).toHaveLength(1);
    }
  });

  test('a 200 whose body never ends is delivered: the answer is the status, not the body the receiver streams', async () => {
    const rx = await rawReceiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('accepted, still writing'); // and never end()
    });
    const h = await withOneDelivery(rx.base + '/hook');
    const t1 = h.clock.t + 1000;
    expect(await h.worker.runOnce(t1)).toBe(1);
    expect((await h.log())[0]).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null });
    expect(rx.seen).toHaveLength(1);
  });

  test('a receiver that first sends 102 Processing, then 200, is delivered: an interim answer is not the answer', async () => {
    const rx = await rawReceiver((_req, res) => {
      res.writeProcessing();
      setTimeout(() => res.writeHead(200).end('ok'), 50);
    });
    const h = await withOneDelivery(rx.base + '/hook');
    const t1 = h.clock.t + 1000;
    expect(await h.worker.runOnce(t1)).toBe(1);
    expect((await h.log())[0]).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200 });
    expect(await h.worker.runOnce(t1 + DAY)).toBe(0);
    expect(rx.seen).toHaveLength(1);
  });

  test('a receiver answering after 250 ms, within the 400 ms timeout, is delivered once and not retried', async () => {
    const rx = await rawReceiver((_req, res) => void setTimeout(() => res.writeHead(200).end('ok'), 250));
    const h = await withOneDelivery(rx.base + '/hook');
    const t1 = h.clock.t + 1000;
    expect(await h.worker.runOnce(t1)).toBe(1);
    expect((await h.log())[0]).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await h.worker.runOnce(t1 + DAY)).toBe(0);
    expect(rx.seen).toHaveLength(1);
  });
});

describe('what counts as failed', () => {
  test('410 Gone is retried on the documented schedule like any non-2xx: 10 attempts in all, then `failed`, never sent again', async () => {
    const rx = await rawReceiver((_req, res) => res.writeHead(410).end('gone'));
    const h = await withOneDelivery(rx.base + '/hook');
    let at = h.clock.t + 1000;
    const attemptsAt: number[] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      expect(await h.worker.runOnce(at), `attempt ${attempt}`).toBe(1);
      attemptsAt.push(at);
      const [d] = await h.log();
      expect(d, `attempt ${attempt}`).toMatchObject({ attempts: attempt, lastStatusCode: 410, deliveredAt: null });
      expect(d.lastError).toContain('410');
      if (attempt === 10) {
        expect(d.status).toBe('failed');
        break;
      }
      expect(d.status, `attempt ${attempt}`).toBe('pending');
      // 30 s doubling after each failure, with equal jitter (the rig's random is 0.5: three quarters of it)
      const delay = 0.75 * 30_000 * 2 ** (attempt - 1);
      expect(Date.parse(d.nextAttemptAt!) - at, `delay after attempt ${attempt}`).toBe(delay);
      expect(await h.worker.runOnce(at + delay - 1), `early ${attempt}`).toBe(0);
      at += delay;
    }
    expect(await h.worker.runOnce(at + 30 * DAY)).toBe(0);
    expect(rx.seen).toHaveLength(10);
    // every attempt carries the same delivery and body, signed afresh at its own time
    expect(new Set(rx.seen.map((r) => r.body)).size).toBe(1);
    rx.seen.forEach((r, i) => {
      const nowSec = Math.floor(attemptsAt[i] / 1000);
      expect(verifySignature(String(r.headers['funnelbeam-signature']), r.body, h.secret, 300, nowSec), `attempt ${i + 1}`).toEqual({ ok: true, timestamp: nowSec });
    });
    // the 10 attempts span about 4 hours of full delays (about 3.2 with this jitter)
    expect(attemptsAt[9] - attemptsAt[0]).toBe(0.75 * 30_000 * (2 ** 9 - 1));
  });

  test('a connection reset before any answer is a failed attempt with its error, retried after the backoff', async () => {
    const rx = await rawReceiver((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else res.writeHead(200).end();
    });
    const h = await withOneDelivery(rx.base + '/hook');
    const t1 = h.clock.t + 1000;
    expect(await h.worker.runOnce(t1)).toBe(1);
    let [d] = await h.log();
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
    expect(d.lastError).toBeTruthy();
    const t2 = Date.parse(d.nextAttemptAt!);
    expect(t2 - t1).toBe(22_500);
    expect(await h.worker.runOnce(t2)).toBe(1);
    [d] = await h.log();
    expect(d).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200, lastError: null });
    expect(rx.seen).toHaveLength(2);

  });

  test('a port nobody listens on is a failed attempt naming the refused connection, retried after the backoff', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const h = await withOneDelivery(`http://127.0.0.1:${port}/hook`);
    const t1 = h.clock.t + 1000;
    expect(await h.worker.runOnce(t1)).toBe(1);
    const [d] = await h.log();
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
    expect(d.lastError).toMatch(/ECONNREFUSED/);
    expect(Date.parse(d.nextAttemptAt!) - t1).toBe(22_500);
  });
});

describe('the URL as the admin gave it', () => {
  test('a query string (a token some receivers authenticate with) and an encoded path reach the receiver unchanged', async () => {
    const rx = await rawReceiver((_req, res) => res.writeHead(204).end());
    const path = '/hooks/funnel%20beam/in?token=a%2Bb%3D&source=funnelbeam&x=1';
    const h = await withOneDelivery(rx.base + path);
    expect(await h.worker.runOnce(h.clock.t + 1000)).toBe(1);
    expect(rx.seen.map((r) => r.url)).toEqual([path]);
    expect((await h.log())[0]).toMatchObject({ status: 'delivered' });
  });
});
