// Webhooks caused by real beacons over HTTP, delivered to a real receiver: stage.changed and lead.mql payloads, a
// signature the receiver checks by the README's recipe, and a failed delivery retried with the same body and id after
// a backoff inside its jitter window, signed again with the time of the retry.
import { afterEach, describe, expect, test } from 'vitest';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { makeHardeningApp } from '../hardening/hardening-app.js';
import { makeBatch, randomId } from '../helpers/factories.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { startReceiver, type Received } from './receiver.js';

const ORIGIN = 'http://127.0.0.1';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What a receiver does with a delivery: check the signature against the raw body, then parse it. */
function verified(req: Received, secret: string, nowSec: number) {
  const header = String(req.headers['funnelbeam-signature']);
  const t = /(?:^|,)t=(\d+)(?:,|$)/.exec(header)?.[1];
  const v1 = [...header.matchAll(/(?:^|,)v1=([0-9a-f]{64})(?=,|$)/g)].map((m) => m[1]);
  expect(t, header).toBeDefined();
  expect(Math.abs(nowSec - Number(t))).toBeLessThanOrEqual(300);
  const expected = createHmac('sha256', secret).update(`${t}.${req.body}`, 'utf8').digest();
  expect(v1.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected)), header).toBe(true);
  return { t: Number(t), payload: JSON.parse(req.body) };
}

describe('webhooks from beacons to a receiver', () => {
  test('stage.changed and lead.mql carry the documented shape, and a 500 is retried with the same body after backoff', async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0 });
    cleanups.push(() => h.close());
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    const put = await h.api('/api/webhooks/crm', { method: 'PUT', body: JSON.stringify({ url: rx.url, events: ['stage.changed', 'lead.mql'] }) });
    expect(put.status).toBe(201);
    const { secret } = await put.json();
    expect(secret).toMatch(/^whsec_/);

    const v = 'v_' + randomId();
    const batch = makeBatch(h.site.siteKey, { v }, [
      { n: 'pageview', u: ORIGIN + '/pricing', t: h.clock.t },
      { n: 'download', u: ORIGIN + '/files/ebook.pdf', p: { url: ORIGIN + '/files/ebook.pdf' }, t: h.clock.t + 500 },
      { n: 'demo_request', f: 'demo', em: `Lead.${v}@Example.com`, u: ORIGIN + '/demo', t: h.clock.t + 1000 },
    ]);
    expect((await h.postBeacon(batch)).status).toBe(202);

    // the receiver fails the first attempt of everything, then accepts
    const failedOnce = new Set<string>();
    rx.answer((n) => {
      const id = JSON.parse(rx.requests[n - 1].body).id;
      if (failedOnce.has(id)) return 200;
      failedOnce.add(id);
      return 500;
    });
    const worker = startWebhookWorker(h.deps, { autoStart: false, random: () => 0.5 });
    cleanups.push(() => worker.close());
    const first = h.clock.t + 1000;
    const sent = await worker.runOnce(first);
    expect(sent).toBeGreaterThanOrEqual(3);
    const firstRound = rx.requests.map((r) => verified(r, secret, Math.floor(first / 1000)));
    const types = firstRound.map((r) => r.payload.type).sort();
    expect(types.filter((t) => t === 'lead.mql')).toHaveLength(1);
    expect(types.filter((t) => t === 'stage.changed').length).toBeGreaterThanOrEqual(2);
    const email = `lead.${v.toLowerCase()}@example.com`;
    const stages = firstRound.filter((r) => r.payload.type === 'stage.changed').map((r) => r.payload.data);
    for (const d of stages) {
      expect(d).toMatchObject({ leadId: expect.any(String), email, to: expect.any(String), at: expect.stringMatching(/Z$/) });
      expect('from' in d).toBe(true);
    }
    // the first stage comes from none; each later one from the stage before it
    const chain = stages.sort((a, b) => a.at.localeCompare(b.at) || (a.from === null ? -1 : 1));
    expect(chain[0]).toMatchObject({ from: null, to: 'awareness' });
    for (let i = 1; i < chain.length; i++) expect(chain[i].from).toBe(chain[i - 1].to);
    expect(chain[chain.length - 1].to).toBe('evaluation');
    const mql = firstRound.find((r) => r.payload.type === 'lead.mql')!.payload;
    expect(mql.data).toMatchObject({ leadId: stages[0].leadId, email, threshold: 50, score: expect.any(Number) });
    expect(mql.data.score).toBeGreaterThanOrEqual(50);

    // nothing is due again before the backoff (30 s, equal jitter at 0.5: 22.5 s), everything after it
    expect(await worker.runOnce(first + 22_000)).toBe(0);
    const retry = first + 23_000;
    expect(await worker.runOnce(retry)).toBe(sent);
    const second = rx.requests.slice(sent).map((r) => verified(r, secret, Math.floor(retry / 1000)));
    expect(second.map((r) => r.t)).toEqual(second.map(() => Math.floor(retry / 1000)));
    expect(second.map((r) => r.payload).sort((a, b) => a.id.localeCompare(b.id))).toEqual(firstRound.map((r) => r.payload).sort((a, b) => a.id.localeCompare(b.id)));
    const log = await (await h.api('/api/webhooks/crm')).json();
    expect(JSON.stringify(log)).not.toContain(secret);
    // delivered now: nothing more goes out
    expect(await worker.runOnce(retry + 86_400_000)).toBe(0);
  });
});

describe('a receiver that redirects', () => {
  test('is not followed: the signed body never reaches the other host, and the attempt counts as failed and is retried', async () => {
    const { createServer } = await import('node:http');
    const other = await startReceiver();
    cleanups.push(() => other.close());
    let hits = 0;
    const redirector = createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(307, { location: other.url }).end());
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { redirector.closeAllConnections(); redirector.close(() => r()); }));
    const url = `http://127.0.0.1:${(redirector.address() as { port: number }).port}/hook`;

    const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0 });
    cleanups.push(() => h.close());
    expect((await h.api('/api/webhooks/moved', { method: 'PUT', body: JSON.stringify({ url, events: ['stage.changed'] }) })).status).toBe(201);
    expect((await h.postBeacon(makeBatch(h.site.siteKey, {}, [{ n: 'pageview', u: ORIGIN + '/pricing', t: h.clock.t }]))).status).toBe(202);
    const worker = startWebhookWorker(h.deps, { autoStart: false, random: () => 0 });
    cleanups.push(() => worker.close());
    const sent = await worker.runOnce(h.clock.t + 1000);
    expect(sent).toBeGreaterThan(0);
    expect(hits).toBe(sent);
    expect(other.requests).toHaveLength(0);
    const log = await (await h.api('/api/webhooks/moved')).json();
    const deliveries = JSON.stringify(log);
    expect(deliveries).toContain('307');
    expect(deliveries).toContain('pending');
    // retried after the backoff, still never followed
    expect(await worker.runOnce(h.clock.t + 1000 + 15_000)).toBe(sent);
    expect(other.requests).toHaveLength(0);
  });
});
