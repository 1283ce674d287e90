// Webhooks judged from outside over real HTTP, with a real local receiver and a real database file (PostgreSQL with
// TEST_ENGINE=pg): the four event types of one journey, each verified by the receiver with the exported
// verifySignature and by the README's recipe; the score a segment event carries is the lead's score at that moment (a
// lead that leaves a score segment as its score decays is not reported above the threshold); a receiver that fails
// with 500, then does not answer, then accepts, seen in the delivery log with the documented backoff; and refused
// GET/PUT/DELETE calls that say why in the error shape and change nothing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { T0 } from '../hardening/hardening-app.js';
import { randomId } from '../helpers/factories.js';
import { verifySignature } from '../../collector/webhooks/verify-signature.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import type { Received } from './receiver.js';
import { ORIGIN, useWebhookRigs } from './webhook-rig.js';

const DAY = 86_400_000;
const { setup } = useWebhookRigs();


/** What a receiver does: verify the raw body with the secret, both with the exported helper and by hand, then parse. */
function receive(req: Received, secret: string, nowSec: number) {
  const header = String(req.headers['funnelbeam-signature']);
  expect(verifySignature(header, req.body, secret, 300, nowSec)).toEqual({ ok: true, timestamp: expect.any(Number) });
  expect(verifySignature(header, req.body + ' ', secret, 300, nowSec)).toMatchObject({ ok: false, reason: 'mismatch' });
  expect(verifySignature(header, req.body, secret + 'x', 300, nowSec)).toMatchObject({ ok: false, reason: 'mismatch' });
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
  expect(m).not.toBeNull();
  const mac = createHmac('sha256', secret).update(`${m[1]}.${req.body}`, 'utf8').digest();
  expect(timingSafeEqual(Buffer.from(m[2], 'hex'), mac)).toBe(true);
  expect(req.headers['content-type']).toMatch(/^application\/json/);
  const payload = JSON.parse(req.body);
  expect(Object.keys(payload).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
  expect(req.headers['funnelbeam-delivery']).toBe(payload.id);
  expect(req.headers['funnelbeam-event']).toBe(payload.type);
  return payload as { id: string; type: string; createdAt: string; data: Record<string, unknown> };
}

describe('one journey, every event type, verified by the receiver', () => {
  test('stage.changed, lead.mql, segment.entered and segment.exited arrive signed, in the documented shapes', async () => {
    const h = await setup();
    const { secret } = await h.hook('all', { url: h.rx.url, events: ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'] });
    expect(secret).toMatch(/^whsec_/);
    expect((await h.api('/api/segments/t_pricing', { method: 'PUT', body: JSON.stringify({ name: 'Pricing, no demo', definition: { all: [{ did: { event: 'pageview', path: '/pricing*' } }, { not: { did: { event: 'demo_request' } } }] } }) })).status).toBe(201);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: `${v}@example.com` }]);
    h.clock.t += 60_000;
    await h.send(v, [{ n: 'demo_request', f: 'demo', u: ORIGIN + '/demo' }, { n: 'download', u: ORIGIN + '/files/ebook.pdf', p: { url: ORIGIN + '/files/ebook.pdf' } }]);

    const at = h.clock.t + 1000;
    const sent = await h.worker.runOnce(at);
    expect(sent).toBe(h.rx.requests.length);
    const payloads = h.rx.requests.map((r) => receive(r, secret, Math.floor(at / 1000)));
    const types = new Set(payloads.map((p) => p.type));
    expect([...types].sort()).toEqual(['lead.mql', 'segment.entered', 'segment.exited', 'stage.changed']);
    const email = `${v.toLowerCase()}@example.com`;
    const leadId = payloads[0].data.leadId;
    for (const p of payloads) {
      expect(p.data.leadId).toBe(leadId);
      expect(p.data.email).toBe(email);
      expect(p.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(p.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(payloads.map((p) => p.id)).size).toBe(payloads.length);
    for (const p of payloads.filter((x) => x.type === 'stage.changed')) expect(p.data).toMatchObject({ to: expect.any(String), at: expect.stringMatching(/Z$/) });
    expect(payloads.filter((x) => x.type === 'stage.changed').map((p) => p.data.to)).toContain('evaluation');
    expect(payloads.find((x) => x.type === 'lead.mql')!.data).toMatchObject({ score: expect.any(Number), threshold: expect.any(Number) });
    const seg = payloads.filter((x) => x.type.startsWith('segment.') && x.data.segment === 't_pricing');
    expect(seg.map((p) => p.type)).toEqual(['segment.entered', 'segment.exited']);
    for (const p of seg) expect(p.data).toMatchObject({ segment: 't_pricing', segmentName: 'Pricing, no demo', stage: expect.any(String), score: expect.any(Number), at: p.createdAt });
    // the delivery log agrees, and never shows the secret
    const log = await (await h.api('/api/webhooks/all')).json();
    expect(log.deliveries).toHaveLength(sent);
    expect(log.deliveries.every((d: { status: string; attempts: number; lastStatusCode: number }) => d.status === 'delivered' && d.attempts === 1 && d.lastStatusCode === 200)).toBe(true);
    expect(JSON.stringify(log)).not.toContain(secret);
  });
});

describe('the score in a segment event is the score of the lead at that moment', () => {
  test('a lead leaving a score segment as its score decays is reported below the threshold, with the score the lead API shows', async () => {
    const h = await setup();
    const { secret } = await h.hook('scores', { url: h.rx.url, events: ['segment.entered', 'segment.exited'] });
    expect((await h.api('/api/segments/t_hot', { method: 'PUT', body: JSON.stringify({ definition: { score: { gte: 20 } } }) })).status).toBe(201);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'newsletter_signup', f: 'newsletter', em: `${v}@example.com` }]);
    const stored = (await (await h.api(`/api/leads/${v}`)).json()).score as number;
    expect(stored).toBeGreaterThanOrEqual(20);
    // the 90-day half-life takes it under 20 at 90·log2(score/20) days; the sweep takes the lead out then
    const crossing = T0 + 90 * DAY * Math.log2(stored / 20);
    const later = Math.ceil(crossing) + 60_000;
    h.clock.t = later;
    const swept = await sweepSegments(h.deps, later);
    expect(swept.changes.map((c) => `${c.segment}:${c.kind}`)).toContain('t_hot:exited');
    const profile = await (await h.api(`/api/leads/${v}`)).json();
    expect(profile.score).toBeLessThan(20);

    await h.worker.runOnce(later + 1000);
    const payloads = h.rx.requests.map((r) => receive(r, secret, Math.floor((later + 1000) / 1000)));
    const entered = payloads.find((p) => p.type === 'segment.entered')!;
    const exited = payloads.find((p) => p.type === 'segment.exited')!;
    expect(entered.data.score).toBe(stored);
    expect(exited.data.score).toBe(profile.score);
    expect(exited.data.score as number).toBeLessThan(20);
  });
});

describe('a receiver that fails, then hangs, then accepts', () => {
  test('each attempt is logged with its outcome; the retries come after the documented backoff; the body and id never change', async () => {
    const h = await setup();
    const { secret } = await h.hook('flaky', { url: h.rx.url, events: ['stage.changed'] });
    const answers: Array<number | 'hang'> = [500, 'hang', 200];
    h.rx.answer((n) => answers[n - 1] ?? 200);
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    const log = async () => (await (await h.api('/api/webhooks/flaky')).json()).deliveries as Array<{
      deliveryId: string; status: string; attempts: number; lastStatusCode: number | null; lastError: string | null; nextAttemptAt: string | null; deliveredAt: string | null;
    }>;

    const t1 = h.clock.t + 1000;
    expect(await h.worker.runOnce(t1)).toBe(1);
    let [d] = await log();
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, deliveredAt: null });
    expect(d.lastError).toContain('500');
    // 30 s after the first failure, with equal jitter (0.5 here): 22.5 s
    expect(Date.parse(d.nextAttemptAt!) - t1).toBe(22_500);
    expect(await h.worker.runOnce(t1 + 22_499)).toBe(0);

    const t2 = t1 + 22_500;
    expect(await h.worker.runOnce(t2)).toBe(1); // the receiver does not answer: the 400 ms timeout of this worker
    [d] = await log();
    expect(d).toMatchObject({ status: 'pending', attempts: 2, lastStatusCode: null });
    expect(d.lastError).toMatch(/no answer within 400 ms/);
    // 60 s after the second failure, jittered: 45 s
    expect(Date.parse(d.nextAttemptAt!) - t2).toBe(45_000);

    const t3 = t2 + 45_000;
    expect(await h.worker.runOnce(t3)).toBe(1);
    [d] = await log();
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200, nextAttemptAt: null, deliveredAt: new Date(t3).toISOString() });
    expect(await h.worker.runOnce(t3 + DAY)).toBe(0);

    expect(h.rx.requests).toHaveLength(3);
    const bodies = h.rx.requests.map((r, i) => {
      const p = receive(r, secret, Math.floor([t1, t2, t3][i] / 1000));
      expect(Number(/t=(\d+)/.exec(String(r.headers['funnelbeam-signature']))![1])).toBe(Math.floor([t1, t2, t3][i] / 1000));
      return p;
    });
    expect(new Set(h.rx.requests.map((r) => r.body)).size).toBe(1);
    expect(bodies[0].id).toBe(d.deliveryId);
  });
});

describe('refused webhook calls', () => {
  test('GET, PUT and DELETE with bad ids or bodies answer 4xx {error:{code,message}} naming the problem and change nothing', async () => {
    const h = await setup();
    const original = await h.hook('keep', { url: h.rx.url, events: ['lead.mql'], secret: 'a-secret-of-enough-length' });
    const before = await (await h.api('/api/webhooks/keep')).json();
    const expectRefusal = async (res: Response, status: number, mention: RegExp, label: string) => {
      expect(res.status, label).toBe(status);
      const body = await res.json();
      expect(Object.keys(body), label).toEqual(['error']);
      expect(body.error.code, label).toMatch(/^[a-z_]+$/);
      expect(body.error.message, label).toMatch(mention);
    };

    for (const id of ['a.b', 'x'.repeat(65), 'a%2Fb', '%C3%A9', 'a%20b']) {
      await expectRefusal(await h.api(`/api/webhooks/${id}`), 400, /id/, `GET ${id}`);
      await expectRefusal(await h.api(`/api/webhooks/${id}`, { method: 'DELETE' }), 400, /id/, `DELETE ${id}`);
      await expectRefusal(await h.api(`/api/webhooks/${id}`, { method: 'PUT', body: JSON.stringify({ url: h.rx.url, events: ['lead.mql'] }) }), 400, /id/, `PUT ${id}`);
    }
    await expectRefusal(await h.api('/api/webhooks/missing'), 404, /missing/, 'GET missing');
    await expectRefusal(await h.api('/api/webhooks/missing', { method: 'DELETE' }), 404, /missing/, 'DELETE missing');

    const bad: Array<[unknown, RegExp]> = [
      [{ events: ['lead.mql'] }, /url/],
      [{ url: 'ftp://127.0.0.1/x', events: ['lead.mql'] }, /url/],
      [{ url: 'javascript:alert(1)', events: ['lead.mql'] }, /url/],
      [{ url: '/relative', events: ['lead.mql'] }, /url/],
      [{ url: h.rx.url }, /events/],
      [{ url: h.rx.url, events: [] }, /events/],
      [{ url: h.rx.url, events: 'lead.mql' }, /events/],
      [{ url: h.rx.url, events: ['lead.sql'] }, /events/],
      [{ url: h.rx.url, events: ['lead.mql'], secret: 'short' }, /secret/],
      [{ url: h.rx.url, events: ['lead.mql'], secret: 12345678901234567 }, /secret/],
      [{ url: h.rx.url, events: ['lead.mql'], active: 'false' }, /active/],
      [[], /./],
      ['not json {', /./],
    ];
    for (const [body, mention] of bad) {
      const res = await h.api('/api/webhooks/keep', { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body) });
      await expectRefusal(res, 400, mention, JSON.stringify(body));
    }
    const plain = await h.api('/api/webhooks/keep', { method: 'PUT', body: JSON.stringify({ url: h.rx.url, events: ['lead.mql'] }), headers: { 'content-type': 'text/plain' } });
    await expectRefusal(plain, 415, /./, 'text/plain');

    // nothing changed: same settings, same secret (a delivery is still signed with it)
    expect(await (await h.api('/api/webhooks/keep')).json()).toEqual(before);
    expect(original.secret).toBeUndefined(); // a secret the admin chose is never echoed
    expect((await (await h.api('/api/webhooks')).json()).webhooks.map((w: { id: string }) => w.id)).toEqual(['keep']);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'download', u: ORIGIN + '/files/ebook.pdf', p: { url: ORIGIN + '/files/ebook.pdf' } }, { n: 'demo_request', f: 'demo', em: `${v}@example.com` }]);
    const at = h.clock.t + 1000;
    expect(await h.worker.runOnce(at)).toBe(1);
    receive(h.rx.requests[0], 'a-secret-of-enough-length', Math.floor(at / 1000));

    // DELETE removes it with its log; then every read is 404
    expect((await h.api('/api/webhooks/keep', { method: 'DELETE' })).status).toBe(204);
    await expectRefusal(await h.api('/api/webhooks/keep'), 404, /keep/, 'GET deleted');
    await expectRefusal(await h.api('/api/webhooks/keep', { method: 'DELETE' }), 404, /keep/, 'DELETE deleted');
    expect(await h.count('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ?', [h.site.siteId])).toBe(0);
  });
});
