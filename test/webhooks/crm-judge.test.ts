// Outside judge of the CRM loop (issue 4, contract §5 `POST /api/events` and webhooks, README "HTTP API" and
// "Webhooks"): what the CRM sends in, and what it hears back on a real HTTP receiver on 127.0.0.1. On what the earlier
// webhook and server-event files leave out: the signature checked by a fresh `node` process that knows nothing of the
// project but the README's recipe; a server event sent again (same id, same or other content) that must not be told
// twice; a receiver that is down and comes back on the same port; a retry that does not hold back what was queued
// after it, and the README's ordering rule that puts the CRM right anyway; another site's webhook hearing nothing; an
// array of bad rows of every shape, each refused alone with a clear reason; an anonymous device the CRM joins to a
// known lead (the lead hears only the stages above where it stood); a retry that follows the webhook to a new url; a
// lead erased while its deliveries wait for a retry. Real HTTP (app.request) on a real
// database (PostgreSQL with TEST_ENGINE=pg); the app's own delivery service is stopped and a worker driven by the test
// at chosen times is the only one. Expected values come from the README by hand.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createKey, createSite } from '../../collector/admin.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents, profile, useJourneys, type Journey } from '../helpers/journey-api.js';
import { tempDir } from '../helpers/test-db.js';
import { startReceiver, type Receiver } from './receiver.js';

const { open, closeLater } = useJourneys();

interface Delivered {
  id: string;
  type: string;
  createdAt: string;
  data: { leadId: string; email: string | null; from: string | null; to: string; at: string; eventId: string; rule: string };
}
interface LogEntry { deliveryId: string; event: string; status: string; attempts: number; lastStatusCode: number | null; lastError: string | null; nextAttemptAt: string | null }

/** A journey app with a webhook `crm` for stage moves to a fresh receiver, and a worker the test drives. */
async function rig(events: string[] = ['stage.changed']) {
  const j = await open();
  await j.services.find((s) => s.name === 'webhook-delivery')?.close();
  const rx = await startReceiver();
  closeLater(() => rx.close());
  const worker = startWebhookWorker(j.deps, { autoStart: false, random: () => 0.5, timeoutMs: 400 });
  closeLater(() => worker.close());
  const res = await j.app.request('/api/webhooks/crm', { method: 'PUT', headers: j.auth, body: JSON.stringify({ url: rx.url, events }) });
  expect(res.status).toBe(201);
  const { secret } = (await res.json()) as { secret: string };
  const log = async () => (await get(j, '/api/webhooks/crm')).deliveries as LogEntry[];
  /** runs the worker at `at` until nothing more is due then */
  const drain = async (at: number) => {
    let n = 0;
    for (let k = await worker.runOnce(at); k > 0; k = await worker.runOnce(at)) n += k;
    return n;
  };
  return { j, rx, worker, secret, log, drain };
}
const bodies = (rx: Receiver) => rx.requests.map((r) => JSON.parse(r.body) as Delivered);
const moves = (ds: Delivered[]) => ds.map((d) => `${d.data.from}>${d.data.to}`);

describe('the signature, as a receiver that knows only the README checks it', () => {
  test('a fresh node process computes the HMAC of "<t>.<raw body>" with the secret: every delivery verifies, a touched one does not', async () => {
    const { j, rx, secret, drain } = await rig();
    j.clock.now = T0 + HOUR;
    // a Unicode domain and name, so the raw body is not ASCII
    const r = await postEvents(j, { id: 'deal-7', email: 'Zoë@Bücher.example', name: 'closed_won', at: iso(T0 + 30 * MIN), traits: { firstName: 'Zoë' } });
    const leadId = r.events[0].leadId;
    const sentAt = T0 + HOUR + 5000;
    expect(await drain(sentAt)).toBe(2);
    // a lead the CRM made: its first stage from null, then the move the deal made, both at the deal's time
    const got = bodies(rx);
    expect(got.map((d) => [d.type, d.data.leadId, d.data.email, d.data.from, d.data.to, d.data.at, d.data.eventId, d.data.rule])).toEqual([
      ['stage.changed', leadId, 'zoë@bücher.example', null, 'awareness', iso(T0 + 30 * MIN), 'srv:deal-7', 'any_visit'],
      ['stage.changed', leadId, 'zoë@bücher.example', 'awareness', 'purchase', iso(T0 + 30 * MIN), 'srv:deal-7', 'closed_won'],
    ]);
    for (const [i, d] of got.entries()) expect(d).toMatchObject({ id: rx.requests[i].headers['funnelbeam-delivery'], createdAt: expect.any(String) });
    // the receiver's raw bytes, the header and the secret go to a script that imports nothing of the project
    const dir = tempDir('crm-judge-');
    const cases = rx.requests.map((req) => ({ header: String(req.headers['funnelbeam-signature']), body: Buffer.from(req.body, 'utf8').toString('base64') }));
    cases.push({ ...cases[0], body: Buffer.from(rx.requests[0].body.replace('purchase', 'evaluation').replace('awareness', 'interest'), 'utf8').toString('base64') });
    cases.push({ ...cases[1], body: cases[0].body });
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    const script = `
      const { createHmac, timingSafeEqual } = require('node:crypto');
      const cases = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'));
      const secret = process.argv[2], now = Number(process.argv[3]);
      console.log(JSON.stringify(cases.map(({ header, body }) => {
        const raw = Buffer.from(body, 'base64');
        const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));
        const t = Number(parts.t);
        if (Math.abs(now - t) > 300) return 'too_old';
        const mac = createHmac('sha256', secret).update(Buffer.concat([Buffer.from(t + '.'), raw])).digest();
        const sent = Buffer.from(parts.v1, 'hex');
        return sent.length === mac.length && timingSafeEqual(sent, mac) ? 'ok' : 'mismatch';
      })));`;
    const out = execFileSync(process.execPath, ['-e', script, join(dir, 'cases.json'), secret, String(Math.floor(sentAt / 1000))], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['ok', 'ok', 'mismatch', 'mismatch']);
    // the header's t is the attempt's time, in seconds
    expect(rx.requests.map((req) => String(req.headers['funnelbeam-signature']).split(',')[0])).toEqual([`t=${Math.floor(sentAt / 1000)}`, `t=${Math.floor(sentAt / 1000)}`]);
  });
});

describe('a server event sent again', () => {
  test('with the same id, the same or other content, later or at once: the CRM hears each move once', async () => {
    const { j, rx, drain, log } = await rig();
    await j.visit('v_again_dev', [{ path: '/pricing' }, { n: 'identify', em: 'ida@india.test' }], T0);
    j.clock.now = T0 + HOUR;
    await postEvents(j, { id: 'opp-9', email: 'ida@india.test', name: 'demo_completed', at: iso(T0 + 30 * MIN) });
    expect(await drain(T0 + HOUR)).toBe(3);
    expect(moves(bodies(rx))).toEqual(['null>awareness', 'awareness>consideration', 'consideration>evaluation']);
    // the connector retries after a timeout, then a bug reuses the id for a won deal of another person
    const again = await postEvents(j, [
      { id: 'opp-9', email: 'ida@india.test', name: 'demo_completed', at: iso(T0 + 30 * MIN) },
      { id: 'opp-9', email: 'jon@juliet.test', name: 'closed_won' },
    ]);
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    const third = await postEvents(j, { id: 'opp-9', email: 'ida@india.test', name: 'closed_won' });
    expect(third).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await drain(T0 + 2 * HOUR)).toBe(0);
    expect(rx.requests).toHaveLength(3);
    expect((await log()).map((d) => d.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect((await profile(j, 'ida@india.test')).stage).toBe('evaluation');
    expect((await j.app.request('/api/leads/jon@juliet.test', { headers: j.auth })).status).toBe(404);
  });
});

describe('a receiver that is down, then back', () => {
  test('the deliveries fail with the refused connection, wait the backoff, and reach the receiver once it listens again on its port, once each, in queue order', async () => {
    const { j, rx, log, drain } = await rig();
    const port = rx.port;
    await rx.close();
    j.clock.now = T0 + HOUR;
    await postEvents(j, [
      { id: 'down-1', email: 'kim@kilo.test', name: 'demo_completed', at: iso(T0) },
      { id: 'down-2', email: 'kim@kilo.test', name: 'closed_won', at: iso(T0 + 10 * MIN) },
    ]);
    const t1 = T0 + HOUR;
    expect(await drain(t1)).toBe(3);
    const failed = await log();
    expect(failed.map((d) => [d.status, d.attempts, d.lastStatusCode])).toEqual([['pending', 1, null], ['pending', 1, null], ['pending', 1, null]]);
    for (const d of failed) {
      expect(d.lastError).toMatch(/ECONNREFUSED/);
      // 30 s after the first failure, jittered into its upper half (the worker's random is 0.5: 22.5 s)
      expect(Date.parse(d.nextAttemptAt!) - t1).toBe(22_500);
    }
    const back = await startReceiver(port);
    closeLater(() => back.close());
    expect(await drain(t1 + 22_499)).toBe(0);
    expect(back.requests).toHaveLength(0);
    expect(await drain(t1 + 22_500)).toBe(3);
    expect(await drain(t1 + 6 * HOUR)).toBe(0);
    const got = bodies(back);
    // each delivery once, with the id the log shows, in the order the moves happened
    expect(moves(got)).toEqual(['null>awareness', 'awareness>evaluation', 'evaluation>purchase']);
    const after = await log();
    expect(after.map((d) => [d.status, d.attempts, d.lastStatusCode])).toEqual([['delivered', 2, 200], ['delivered', 2, 200], ['delivered', 2, 200]]);
    expect(new Set(got.map((d) => d.id))).toEqual(new Set(after.map((d) => d.deliveryId)));
  });
});

describe('a retry does not hold back what was queued after it', () => {
  test('the receiver gets the later move first; ordered by at, then the from→to chain (README), it ends where the lead stands', async () => {
    const { j, rx, drain, log } = await rig();
    await j.visit('v_order_dev', [{ path: '/' }, { n: 'identify', em: 'lia@lima.test' }], T0);
    expect(await drain(T0 + 1000)).toBe(1);
    // the demo move meets a receiver in trouble; the win, queued a request later, finds it well
    rx.answer((n) => (n === 2 ? 503 : 200));
    j.clock.now = T0 + HOUR;
    await postEvents(j, { id: 'ord-demo', email: 'lia@lima.test', name: 'demo_completed', at: iso(T0 + 30 * MIN) });
    expect(await drain(T0 + HOUR)).toBe(1);
    j.clock.now = T0 + HOUR + 5000;
    await postEvents(j, { id: 'ord-won', email: 'lia@lima.test', name: 'closed_won', at: iso(T0 + 50 * MIN) });
    expect(await drain(T0 + HOUR + 5000)).toBe(1);
    expect(await drain(T0 + HOUR + 22_500)).toBe(1);
    expect(moves(bodies(rx))).toEqual(['null>awareness', 'awareness>evaluation', 'evaluation>purchase', 'awareness>evaluation']);
    // the retry is the same delivery: same id and body
    expect(rx.requests[3].body).toBe(rx.requests[1].body);
    expect((await log()).every((d) => d.status === 'delivered')).toBe(true);
    // the receiver keeps the deliveries it accepted (2xx) once per id and orders them as the README says
    const accepted = [...new Map(bodies(rx).filter((_, i) => i !== 1).map((d) => [d.id, d])).values()];
    const chain = accepted.sort((a, b) => Date.parse(a.data.at) - Date.parse(b.data.at) || (a.data.to === b.data.from ? -1 : b.data.to === a.data.from ? 1 : 0));
    expect(moves(chain)).toEqual(['null>awareness', 'awareness>evaluation', 'evaluation>purchase']);
    expect(chain.at(-1)!.data.to).toBe((await profile(j, 'lia@lima.test')).stage);
  });
});

describe("another site's webhook", () => {
  test("hears nothing of this site's CRM events, and this site's key cannot read or change it", async () => {
    const { j, rx, drain } = await rig();
    const other = await createSite(j.db, { domain: 'other.example' }, T0);
    const otherAdmin = await createKey(j.db, other.siteId, ['admin'], T0);
    const rxOther = await startReceiver();
    closeLater(() => rxOther.close());
    const otherAuth = { authorization: `Bearer ${otherAdmin.secret}`, 'content-type': 'application/json' };
    const put = await j.app.request('/api/webhooks/crm', { method: 'PUT', headers: otherAuth, body: JSON.stringify({ url: rxOther.url, events: ['stage.changed', 'lead.mql'] }) });
    expect(put.status).toBe(201);
    j.clock.now = T0 + HOUR;
    await postEvents(j, { id: 'site-a-won', email: 'max@mike.test', name: 'closed_won' });
    expect(await drain(T0 + HOUR)).toBe(2);
    expect(rx.requests).toHaveLength(2);
    expect(rxOther.requests).toHaveLength(0);
    // each site's `crm` is its own: this key sees its receiver's url, the other key the other's
    expect((await get(j, '/api/webhooks/crm')).url).toBe(rx.url);
    const theirs = await (await j.app.request('/api/webhooks/crm', { headers: otherAuth })).json();
    expect(theirs.url).toBe(rxOther.url);
    expect(theirs.deliveries).toEqual([]);
    // the other site's lead ids are unknown here, and its key's server events make its own lead, told to its own hook
    const theirLead = (await (await j.app.request('/api/events', { method: 'POST', headers: otherAuth, body: JSON.stringify({ email: 'max@mike.test', name: 'demo_completed' }) })).json()).events[0].leadId;
    expect(theirLead).not.toBe((await profile(j, 'max@mike.test')).leadId);
    const refused = await postEvents(j, { leadId: theirLead, name: 'closed_won' }, 400);
    expect(refused.error).toMatchObject({ code: 'unknown_lead' });
    expect(await drain(T0 + 2 * HOUR)).toBe(2);
    expect(rx.requests).toHaveLength(2);
    expect(moves(bodies(rxOther))).toEqual(['null>awareness', 'awareness>evaluation']);
  });
});

describe('an array with bad rows of every shape', () => {
  test('each is refused alone at its index with a reason naming what is wrong; every good row is stored and told once', async () => {
    const { j, rx, drain } = await rig();
    const known = (await postEvents(j, { email: 'ned@nov.test', name: 'note_added' })).events[0].leadId;
    j.clock.now = T0 + HOUR;
    const body = [
      null, // 0
      { email: 'ned@nov.test', name: 'proposal_sent', id: 'good-1', at: iso(T0 + 40 * MIN) }, // 1 good
      42, // 2
      'closed_won', // 3
      [{ email: 'ned@nov.test', name: 'closed_won' }], // 4
      {}, // 5
      { email: 'ned@nov.test' }, // 6 no name
      { email: 'not an email', name: 'closed_won' }, // 7
      { leadId: 'lead_nobody', name: 'closed_won' }, // 8 unknown lead
      { leadId: known, email: 'ned@nov.test', name: 'closed_won' }, // 9 leadId with email
      { email: 'ned@nov.test', name: 'closed_won', at: 'yesterday' }, // 10
      { email: 'ned@nov.test', name: 'closed_won', at: 1736150400 }, // 11 epoch seconds
      { email: 'ned@nov.test', name: 'closed_won', stage: 'purchase' }, // 12 unknown key
      { email: 'ned@nov.test', name: 'closed_won', props: { deal: { amount: 5 } } }, // 13 nested prop
      { email: 'ned@nov.test', name: 'closed,won' }, // 14 comma in the name
      { email: 'ned@nov.test', name: 'closed_won', at: iso(T0 + 2 * HOUR) }, // 15 future
      { email: 'ned@nov.test', name: 'closed_won', id: 'bad id' }, // 16
      { leadId: known, name: 'closed_won', id: 'good-2', at: iso(T0 + 50 * MIN) }, // 17 good
    ];
    const r = await postEvents(j, body);
    expect(r).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(r.events.map((e: any) => [e.index, e.id, e.leadId])).toEqual([[1, 'good-1', known], [17, 'good-2', known]]);
    const byIndex = new Map<number, { code: string; message: string }>(r.rejected.map((x: any) => [x.index, x]));
    expect([...byIndex.keys()]).toEqual([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(byIndex.get(8)!.code).toBe('unknown_lead');
    for (const [i, x] of byIndex) if (i !== 8) expect(x.code, String(i)).toBe('invalid_event');
    // every message starts with the index, and names the field where there is one
    for (const [i, x] of byIndex) expect(x.message.startsWith(`${i}`), `${i}: ${x.message}`).toBe(true);
    const fields: Record<number, string> = { 6: 'name', 7: 'email', 8: 'leadId', 10: 'at', 11: 'at', 12: 'stage', 13: 'props', 14: 'name', 15: 'at', 16: 'id' };
    for (const [i, field] of Object.entries(fields)) expect(byIndex.get(Number(i))!.message, i).toContain(field);
    // each refused row is in the rejected store, as sent
    const stored = (await get(j, '/api/rejected?limit=500')).items as Array<{ reason: string; raw: string }>;
    expect(stored.filter((x) => x.raw !== undefined).length).toBeGreaterThanOrEqual(16);
    expect(stored.some((x) => x.raw === 'null')).toBe(true);
    expect(stored.some((x) => x.raw === '42')).toBe(true);
    // the good rows did their work: proposal_sent at T0+40min (evaluation), then the win at T0+50min (purchase)
    expect(await profile(j, known)).toMatchObject({ stage: 'purchase' });
    expect(await drain(T0 + HOUR)).toBe(3);
    expect(moves(bodies(rx))).toEqual(['null>awareness', 'awareness>evaluation', 'evaluation>purchase']);
  });
});

describe('the CRM joins an anonymous device to a known lead in one body', () => {
  // README: a visitor named with a known email joins that lead, which is rebuilt from all its events; "a rebuild tells
  // only of stages above the one the lead stood in". The device's demo, told by visitor id in the same body before
  // the email, is the lead's too.
  test('the lead hears each stage above where it stood, once, under its own id; nothing under the merged-away id after the merge', async () => {
    const { j, rx, drain } = await rig();
    await j.visit('v_known_lap', [{ path: '/' }, { n: 'identify', em: 'oli@oscar.test' }], T0);
    await j.visit('v_anon_phone', [{ path: '/pricing' }], T0 + HOUR);
    const oli = (await profile(j, 'oli@oscar.test')).leadId;
    const anon = (await profile(j, 'v_anon_phone')).leadId;
    expect(await drain(j.clock.now)).toBe(3);
    const heard = () => bodies(rx).map((d) => `${d.data.leadId === oli ? 'oli' : d.data.leadId === anon ? 'anon' : d.data.leadId}:${d.data.from}>${d.data.to}:${(Date.parse(d.data.at) - T0) / MIN}`);
    expect(heard()).toEqual(['oli:null>awareness:0', 'anon:null>awareness:60', 'anon:awareness>consideration:60']);
    j.clock.now = T0 + 3 * HOUR;
    const r = await postEvents(j, [
      { id: 'join-demo', visitorId: 'v_anon_phone', name: 'demo_completed', at: iso(T0 + 2 * HOUR) },
      { id: 'join-mail', visitorId: 'v_anon_phone', email: 'OLI@oscar.test', name: 'form_filled', at: iso(T0 + 150 * MIN) },
    ]);
    expect(r.events.map((e: any) => e.leadId)).toEqual([oli, oli]);
    await drain(T0 + 3 * HOUR);
    // the phone's pricing page (T0+1h) is oli's second visit and a pricing view: interest, then consideration, at
    // once (lowest first); the demo: evaluation
    expect(heard().slice(3)).toEqual(['oli:awareness>interest:60', 'oli:interest>consideration:60', 'oli:consideration>evaluation:120']);
    expect(bodies(rx)[5].data.eventId).toBe('srv:join-demo');
    expect((await profile(j, anon)).leadId).toBe(oli);
    expect(await drain(T0 + 4 * HOUR)).toBe(0);
  });
});

describe('the admin moves the webhook to a new receiver while a retry waits', () => {
  test('the retry goes to the new url with the same delivery id and body, signed with the kept secret; the old receiver hears nothing more', async () => {
    const { j, rx, secret, log, drain } = await rig();
    rx.answer(() => 500);
    j.clock.now = T0 + HOUR;
    await postEvents(j, { id: 'move-1', email: 'pia@papa.test', name: 'demo_completed' });
    expect(await drain(T0 + HOUR)).toBe(2);
    expect(rx.requests).toHaveLength(2);
    const moved = await startReceiver();
    closeLater(() => moved.close());
    const put = await j.app.request('/api/webhooks/crm', { method: 'PUT', headers: j.auth, body: JSON.stringify({ url: moved.url, events: ['stage.changed'] }) });
    expect(put.status).toBe(200);
    expect((await put.json()).secret).toBeUndefined();
    expect(await drain(T0 + HOUR + 22_500)).toBe(2);
    expect(rx.requests).toHaveLength(2);
    expect(moved.requests.map((r) => r.body)).toEqual(rx.requests.map((r) => r.body));
    const sec = Math.floor((T0 + HOUR + 22_500) / 1000);
    for (const r of moved.requests) {
      const [t, v1] = String(r.headers['funnelbeam-signature']).split(',').map((p) => p.split('=')[1]);
      expect(Number(t)).toBe(sec);
      expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${r.body}`).digest('hex'));
    }
    expect((await log()).map((d) => [d.status, d.attempts, d.lastStatusCode])).toEqual([['delivered', 2, 200], ['delivered', 2, 200]]);
  });
});

describe('a lead erased while its deliveries wait for a retry', () => {
  // README "Erasure": the webhook payloads that name the lead go with it; its email must not reach the CRM afterwards.
  test('the retry is never sent and the log keeps nothing of it; another lead\'s waiting delivery still goes out', async () => {
    const { j, rx, log, drain } = await rig();
    rx.answer(() => 503);
    j.clock.now = T0 + HOUR;
    await postEvents(j, [
      { id: 'er-1', email: 'quin@quebec.test', name: 'demo_completed' },
      { id: 'er-2', email: 'rae@romeo.test', name: 'demo_completed' },
    ]);
    expect(await drain(T0 + HOUR)).toBe(4);
    const del = await j.app.request('/api/leads/quin@quebec.test', { method: 'DELETE', headers: j.auth });
    expect(del.status).toBeLessThan(300);
    rx.answer(() => 200);
    expect(await drain(T0 + HOUR + 22_500)).toBe(2);
    const retried = rx.requests.slice(4).map((r) => JSON.parse(r.body) as Delivered);
    expect(retried.map((d) => d.data.email)).toEqual(['rae@romeo.test', 'rae@romeo.test']);
    const left = await log();
    expect(left).toHaveLength(2);
    expect(left.every((d) => d.status === 'delivered')).toBe(true);
    expect(JSON.stringify(await get(j, '/api/webhooks/crm'))).not.toContain('quin@quebec.test');
    expect(await drain(T0 + 30 * HOUR)).toBe(0);
  });
});
