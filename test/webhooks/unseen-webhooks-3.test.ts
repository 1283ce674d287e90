// Webhooks judged from outside, third round, over real HTTP with a real local receiver and a real SQLite file (the
// app's own delivery service is stopped so that the worker each test drives is the only one): a lead that jumps two
// stages with one event gets its stage.changed deliveries in the order they happened; a webhook deleted with a retry
// pending or an attempt in flight; several webhooks each with its own types and secret, and a secret rotated before a
// retry; payloads checked against the `webhooks` schemas of /openapi.json; a PUT that leaves `active` out or narrows
// `events` while deliveries wait; a pause and a resume sent at once; a receiver that never answers next to one that
// does; a payload beyond ASCII verified over the raw bytes.
import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { randomId } from '../helpers/factories.js';
import { verifySignature } from '../../collector/webhooks/verify-signature.js';
import { startReceiver, type Received } from './receiver.js';
import { ORIGIN, useWebhookRigs } from './webhook-rig.js';

const { setup, closeLater } = useWebhookRigs();


const parse = (r: Received) => JSON.parse(r.body) as { id: string; type: string; createdAt: string; data: Record<string, unknown> };

/** Runs the worker until nothing more is due at `at`. */
async function drain(h: Awaited<ReturnType<typeof setup>>, at: number) {
  let total = 0;
  for (let n = await h.worker.runOnce(at); n > 0; n = await h.worker.runOnce(at)) total += n;
  return total;
}

describe('a lead that jumps several stages with one event', () => {
  test('gets one stage.changed per stage entered, sent one at a time in the order they happened, and logged newest first', async () => {
    const h = await setup(1);
    await h.hook('crm', { url: h.rx.url, events: ['stage.changed'] });
    const leads = Array.from({ length: 12 }, () => 'v_' + randomId());
    for (const v of leads) await h.send(v, [{ n: 'demo_request', f: 'demo', em: `${v}@example.com`, u: ORIGIN + '/demo' }]);
    expect(await drain(h, h.clock.t + 1000)).toBe(24);
    const byLead = new Map<string, Array<{ from: unknown; to: unknown }>>();
    for (const r of h.rx.requests) {
      const { data } = parse(r);
      byLead.set(String(data.email), [...(byLead.get(String(data.email)) ?? []), { from: data.from, to: data.to }]);
    }
    expect(byLead.size).toBe(12);
    // a CRM applying them as they come must end on the lead's real stage: null → awareness, then awareness → evaluation
    for (const [email, seq] of byLead) expect(seq, email).toEqual([{ from: null, to: 'awareness' }, { from: 'awareness', to: 'evaluation' }]);
    // the delivery log is newest first: the last stage entered heads it
    const log = (await (await h.api('/api/webhooks/crm')).json()).deliveries as Array<{ deliveryId: string }>;
    const order = h.rx.requests.map((r) => parse(r).id);
    expect(log.map((d) => d.deliveryId)).toEqual([...order].reverse());
  });
});

describe('a webhook deleted while deliveries are pending', () => {
  test('a queued retry is never sent after DELETE, and a new webhook of the same id starts with an empty log', async () => {
    const h = await setup();
    await h.hook('gone', { url: h.rx.url, events: ['stage.changed'] });
    h.rx.answer(() => 500);
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    const t1 = h.clock.t + 1000;
    expect(await h.worker.runOnce(t1)).toBe(1);
    expect((await (await h.api('/api/webhooks/gone')).json()).deliveries[0]).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await h.api('/api/webhooks/gone', { method: 'DELETE' })).status).toBe(204);
    h.rx.answer(() => 200);
    expect(await h.worker.runOnce(t1 + 86_400_000)).toBe(0);
    expect(h.rx.requests).toHaveLength(1);
    await h.hook('gone', { url: h.rx.url, events: ['stage.changed'] });
    expect((await (await h.api('/api/webhooks/gone')).json()).deliveries).toEqual([]);
    expect(await h.worker.runOnce(t1 + 2 * 86_400_000)).toBe(0);
  });

  test('an attempt in flight when the webhook is deleted finishes without bringing the delivery back or retrying it', async () => {
    const h = await setup();
    await h.hook('slow', { url: h.rx.url, events: ['stage.changed'] });
    h.rx.answer(() => 'hang');
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    const t1 = h.clock.t + 1000;
    const running = h.worker.runOnce(t1);
    while (h.rx.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect((await h.api('/api/webhooks/slow', { method: 'DELETE' })).status).toBe(204);
    expect(await running).toBe(1); // timed out after 400 ms
    expect(await h.count('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ?', [h.site.siteId])).toBe(0);
    expect(await h.worker.runOnce(t1 + 86_400_000)).toBe(0);
    expect(h.rx.requests).toHaveLength(1);
  });
});

describe('several webhooks of one site', () => {
  test('each gets only the types it subscribed to, signed with its own secret only; a rotated secret signs the next retry', async () => {
    const h = await setup();
    const rx2 = await startReceiver();
    closeLater(() => rx2.close());
    const a = await h.hook('stages', { url: h.rx.url, events: ['stage.changed'] });
    const b = await h.hook('segments', { url: rx2.url, events: ['segment.entered', 'segment.exited'] });
    expect(a.secret).not.toBe(b.secret);
    expect((await h.api('/api/segments/t_pricing', { method: 'PUT', body: JSON.stringify({ definition: { did: { event: 'pageview', path: '/pricing' } } }) })).status).toBe(201);
    rx2.answer(() => 503);
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    const t1 = h.clock.t + 1000;
    await drain(h, t1);
    const sec = Math.floor(t1 / 1000);
    const stageCalls = h.rx.requests.length;
    expect(new Set(h.rx.requests.map((r) => parse(r).type))).toEqual(new Set(['stage.changed']));
    expect(new Set(rx2.requests.map((r) => parse(r).type))).toEqual(new Set(['segment.entered']));
    const segmentCalls = rx2.requests.length;
    const sigA = String(h.rx.requests[0].headers['funnelbeam-signature']);
    const sigB = String(rx2.requests[0].headers['funnelbeam-signature']);
    expect(verifySignature(sigA, h.rx.requests[0].body, a.secret, 300, sec).ok).toBe(true);
    expect(verifySignature(sigA, h.rx.requests[0].body, b.secret, 300, sec).ok).toBe(false);
    expect(verifySignature(sigB, rx2.requests[0].body, b.secret, 300, sec).ok).toBe(true);
    expect(verifySignature(sigB, rx2.requests[0].body, a.secret, 300, sec).ok).toBe(false);

    // the segments receiver rotates its secret while a retry is pending: the retry is signed with the new one
    const rotated = 'whsec_rotated_' + randomId(16);
    await h.hook('segments', { url: rx2.url, events: ['segment.entered', 'segment.exited'], secret: rotated });
    rx2.answer(() => 200);
    const t2 = t1 + 86_400_000;
    expect(await drain(h, t2)).toBe(segmentCalls);
    const retry = rx2.requests[segmentCalls];
    expect(retry.body).toBe(rx2.requests[0].body);
    const sig2 = String(retry.headers['funnelbeam-signature']);
    expect(verifySignature(sig2, retry.body, rotated, 300, Math.floor(t2 / 1000))).toEqual({ ok: true, timestamp: Math.floor(t2 / 1000) });
    expect(verifySignature(sig2, retry.body, b.secret, 300, Math.floor(t2 / 1000)).ok).toBe(false);
    expect(h.rx.requests.length).toBe(stageCalls);
  });
});

describe('payloads against the schemas /openapi.json publishes under `webhooks`', () => {
  test('every delivered body has each required field of its type, with the documented JSON type', async () => {
    const h = await setup();
    const doc = await (await h.app.request('/openapi.json')).json();
    const types = ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'];
    expect(Object.keys(doc.webhooks ?? {}).sort()).toEqual([...types].sort());
    const { secret } = await h.hook('all', { url: h.rx.url, events: types });
    expect((await h.api('/api/segments/t_pricing', { method: 'PUT', body: JSON.stringify({ definition: { all: [{ did: { event: 'pageview', path: '/pricing*' } }, { not: { did: { event: 'demo_request' } } }] } }) })).status).toBe(201);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    h.clock.t += 60_000;
    await h.send(v, [{ n: 'demo_request', f: 'demo', em: `${v}@example.com`, u: ORIGIN + '/demo' }, { n: 'download', u: ORIGIN + '/files/ebook.pdf', p: { url: ORIGIN + '/files/ebook.pdf' } }]);
    const at = h.clock.t + 1000;
    await drain(h, at);
    const resolve = (s: Record<string, unknown>): Record<string, unknown> => {
      const ref = s.$ref as string | undefined;
      if (!ref) return s;
      return resolve(ref.replace(/^#\//, '').split('/').reduce((o: Record<string, unknown>, k) => o[k] as Record<string, unknown>, doc));
    };
    const typeOf = (v: unknown) => (v === null ? 'null' : typeof v === 'number' ? 'number' : typeof v);
    const allowed = (s: Record<string, unknown>): string[] => {
      const r = resolve(s);
      if (Array.isArray(r.anyOf)) return (r.anyOf as Record<string, unknown>[]).flatMap(allowed);
      const t = r.type ?? (r.const !== undefined ? typeof r.const : r.enum ? typeof (r.enum as unknown[])[0] : undefined);
      const list = Array.isArray(t) ? t : [t];
      return [...list.map((x) => (x === 'integer' ? 'number' : String(x))), ...(r.nullable ? ['null'] : [])];
    };
    const check = (value: Record<string, unknown>, schema: Record<string, unknown>, where: string) => {
      const s = resolve(schema);
      for (const key of (s.required as string[]) ?? []) {
        expect(value, `${where}.${key}`).toHaveProperty(key);
        const prop = resolve((s.properties as Record<string, Record<string, unknown>>)[key]);
        expect(allowed(prop), `${where}.${key}`).toContain(typeOf(value[key]));
        if (prop.type === 'object') check(value[key] as Record<string, unknown>, prop, `${where}.${key}`);
      }
    };
    const seen = new Set<string>();
    for (const r of h.rx.requests) {
      expect(verifySignature(String(r.headers['funnelbeam-signature']), r.body, secret, 300, Math.floor(at / 1000)).ok).toBe(true);
      const body = parse(r);
      seen.add(body.type);
      const op = doc.webhooks[body.type].post;
      expect(Object.keys(op.requestBody.content)).toEqual(['application/json']);
      check(body as unknown as Record<string, unknown>, op.requestBody.content['application/json'].schema, body.type);
      const header = (op.parameters ?? []).find((p: { in: string; name: string }) => p.in === 'header');
      expect(header?.name.toLowerCase()).toBe('funnelbeam-signature');
    }
    expect([...seen].sort()).toEqual([...types].sort());
  });
});

describe('changing a webhook while deliveries wait', () => {
  test('a paused webhook stays paused when a PUT changes its url without naming `active`, as its secret stays', async () => {
    const h = await setup();
    const { secret } = await h.hook('crm', { url: 'http://127.0.0.1:9/old', events: ['stage.changed'] });
    await h.hook('crm', { url: 'http://127.0.0.1:9/old', events: ['stage.changed'], active: false });
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    expect(await h.count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ?", [h.site.siteId])).toBe(0);
    // the receiver moved: the admin gives the new url, and nothing else
    const moved = await h.hook('crm', { url: h.rx.url, events: ['stage.changed'] });
    expect(moved).toMatchObject({ url: h.rx.url, active: false });
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    expect(await h.worker.runOnce(h.clock.t + 1000)).toBe(0);
    expect(h.rx.requests).toHaveLength(0);
    // resumed explicitly, with the secret it always had
    await h.hook('crm', { url: h.rx.url, events: ['stage.changed'], active: true });
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    const at = h.clock.t + 1000;
    expect(await drain(h, at)).toBe(1);
    expect(verifySignature(String(h.rx.requests[0].headers['funnelbeam-signature']), h.rx.requests[0].body, secret, 300, Math.floor(at / 1000)).ok).toBe(true);
  });

  test('a type the webhook no longer subscribes to is not sent from the queue, retries and held deliveries included', async () => {
    const h = await setup();
    await h.hook('crm', { url: h.rx.url, events: ['stage.changed', 'segment.entered'] });
    h.rx.answer(() => 500);
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    const t1 = h.clock.t + 1000;
    const first = await drain(h, t1);
    expect(first).toBeGreaterThan(2);
    const types = new Set(h.rx.requests.map((r) => parse(r).type));
    expect(types).toEqual(new Set(['stage.changed', 'segment.entered']));
    // paused with more queued, then unsubscribed from segment.entered and resumed
    await h.hook('crm', { url: h.rx.url, events: ['stage.changed', 'segment.entered'], active: false });
    await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    await h.hook('crm', { url: h.rx.url, events: ['stage.changed'], active: true });
    h.rx.answer(() => 200);
    const before = h.rx.requests.length;
    await drain(h, t1 + 86_400_000);
    const later = h.rx.requests.slice(before).map((r) => parse(r).type);
    expect(later.length).toBeGreaterThan(0);
    expect(new Set(later)).toEqual(new Set(['stage.changed']));
    const log = (await (await h.api('/api/webhooks/crm')).json()).deliveries as Array<{ status: string; eventType?: string; type?: string }>;
    expect(log.filter((d) => d.status === 'pending' || d.status === 'held')).toEqual([]);
  });
});

describe('a receiver that never answers, next to one that does', () => {
  test('a backlog for the dead receiver does not hold every delivery slot: the other webhook is served in the same round', async () => {
    const h = await setup(16);
    const live = await startReceiver();
    closeLater(() => live.close());
    h.rx.answer(() => 'hang');
    await h.hook('dead', { url: h.rx.url, events: ['stage.changed'] });
    await h.hook('live', { url: live.url, events: ['lead.mql'] });
    // a CRM import: 40 new leads, each a stage.changed for the dead receiver, queued before the one MQL
    for (let i = 0; i < 40; i++) await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    h.clock.t += 1000;
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'download', u: ORIGIN + '/files/ebook.pdf', p: { url: ORIGIN + '/files/ebook.pdf' } }, { n: 'demo_request', f: 'demo', em: `${v}@example.com`, u: ORIGIN + '/demo' }]);
    expect(await h.count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ? AND webhook_id = 'live'", [h.site.siteId])).toBe(1);
    const started = Date.now();
    await h.worker.runOnce(h.clock.t + 1000);
    expect(live.requests.map((r) => parse(r).type)).toEqual(['lead.mql']);
    // one round: the 400 ms timeout of the dead receiver's attempts, not the three rounds its 40 would take
    expect(Date.now() - started).toBeLessThan(1200);
    // with nothing else due, the dead receiver may use every slot again (no throughput is given away)
    expect(await h.worker.runOnce(h.clock.t + 1000)).toBe(16);
  });
});

describe('a payload with text beyond ASCII', () => {
  test('the signature is the HMAC of the raw bytes received: a receiver that never decodes the body verifies it', async () => {
    const h = await setup();
    const { secret } = await h.hook('intl', { url: h.rx.url, events: ['segment.entered'] });
    const name = 'Preise – Übersicht 🚀 "quoted" \u2028 line';
    expect((await h.api('/api/segments/t_intl', { method: 'PUT', body: JSON.stringify({ name, definition: { did: { event: 'pageview', path: '/preise' } } }) })).status).toBe(201);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/preise' }, { n: 'identify', em: 'jürgen.groß@example.de' }]);
    const at = h.clock.t + 1000;
    await drain(h, at);
    const r = h.rx.requests.find((x) => parse(x).data.segment === 't_intl')!;
    const raw = Buffer.from(r.body, 'utf8');
    expect(Number(r.headers['content-length'] ?? raw.length)).toBe(raw.length);
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['funnelbeam-signature']))!;
    const mac = createHmac('sha256', secret).update(Buffer.concat([Buffer.from(`${m[1]}.`, 'ascii'), raw])).digest('hex');
    expect(mac).toBe(m[2]);
    const data = parse(r).data;
    expect(data.segmentName).toBe(name);
    expect(typeof data.email === 'string' && data.email.normalize('NFC')).toBe('jürgen.groß@example.de');
  });
});

describe('pause and resume sent at the same time', () => {
  test('whichever PUT lands last, the queue agrees with it: no delivery held under an active webhook, none pending under a paused one', async () => {
    const h = await setup();
    await h.hook('crm', { url: h.rx.url, events: ['stage.changed'] });
    for (let round = 0; round < 6; round++) {
      await h.send('v_' + randomId(), [{ n: 'pageview', u: ORIGIN + '/blog' }]);
      await h.hook('crm', { url: h.rx.url, events: ['stage.changed'], active: round % 2 === 0 });
      const body = (active: boolean) => JSON.stringify({ url: h.rx.url, events: ['stage.changed'], active });
      const order = round % 2 === 0 ? [false, true] : [true, false];
      await Promise.all(order.map((active) => h.api('/api/webhooks/crm', { method: 'PUT', body: body(active) })));
      const { active } = await (await h.api('/api/webhooks/crm')).json();
      const statuses = (await h.db.all<{ status: string }>("SELECT status FROM webhook_deliveries WHERE site_id = ? AND status IN ('pending', 'held')", [h.site.siteId])).map((r) => r.status);
      expect(statuses.length, `round ${round}`).toBeGreaterThan(0);
      expect(new Set(statuses), `round ${round}: active ${active}`).toEqual(new Set([active ? 'pending' : 'held']));
    }
  });
});
