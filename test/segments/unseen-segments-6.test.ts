// Segments judged from outside, sixth round, over real HTTP (app.request) with a real webhook receiver on 127.0.0.1
// and a real SQLite file; every expected value is derived by hand from contract §5/§6 and the README (Segments,
// Audience exports, Webhooks, Identity):
// - "inactive for 14 days" (`not did … within 14d`): entered by the sweep alone once the window has passed, with the
//   webhook a receiver verifies by the README's recipe, carrying the sweep's moment and the score the lead API shows
//   then; left live at the next visit; entered again 14 days after that;
// - a CRM deal dated weeks back: time in stage counts from that date, so `inStage` decides at once;
// - two devices of one person merging: each membership change told once (the anonymous lead's exit with
//   `mergedInto`, the survivor's entry only if it was not in already), the survivor's timeline alternating
//   entered/exited (also when the laptop's own membership began and ended inside the phone's, or a first touch moved
//   back by the merge), and the sweep telling the survivor's exit once;
// - a members export read while the segment's definition is replaced: every lead that is a member throughout is
//   written exactly once, in lead id order, `count` equals the rows written;
// - a segment renamed by PUT: nobody moves, later webhooks carry the new name;
// - a receiver that fails an entry and gets the exit first: the `at` (and time-ordered id) order them.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { T0, useUnthrottledApps } from '../hardening/hardening-app.js';
import { randomId } from '../helpers/factories.js';
import { judgeCalls } from './judge-calls.js';
import { createKey } from '../../collector/admin.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import { redundantChanges } from '../../collector/segments/close-merged.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { startReceiver, type Received } from '../webhooks/receiver.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const ORIGIN = 'http://127.0.0.1';
const iso = (t: number) => new Date(t).toISOString();
const { open, closeLater } = useUnthrottledApps();

type Payload = { id: string; type: string; createdAt: string; data: Record<string, unknown> };

async function setup() {
  const h = await open();
  await h.services.find((s) => s.name === 'webhook-delivery')!.close();
  const rx = await startReceiver();
  closeLater(() => rx.close());
  const secret = 'whsec_' + randomId(24);
  // the test's own segments only (t_…): the receiver hears of nothing else
  for (const { key } of (await (await h.api('/api/segments')).json()).segments as Array<{ key: string }>) {
    expect((await h.api(`/api/segments/${key}`, { method: 'DELETE' })).status).toBe(204);
  }
  const hookRes = await h.api('/api/webhooks/crm', {
    method: 'PUT',
    body: JSON.stringify({ url: rx.url, events: ['segment.entered', 'segment.exited'], secret }),
  });
  expect(hookRes.status, await hookRes.clone().text()).toBe(201);
  const worker = startWebhookWorker(h.deps, { autoStart: false, random: () => 0.5, timeoutMs: 2000 });
  closeLater(() => worker.close());
  const writer = (await createKey(h.db, h.site.siteId, ['events:write'], T0)).secret;

  const { put, send, server } = judgeCalls(h, writer, ORIGIN);
  const profile = async (ref: string) => {
    const res = await h.api(`/api/leads/${encodeURIComponent(ref)}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json();
  };
  const segmentsOf = async (v: string) => {
    const res = await h.app.request(`/api/visitors/${v}/segments?site=${h.site.siteKey}`, { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    return ((await res.json()).segments as string[]).filter((k) => k.startsWith('t_')).sort();
  };
  const countOf = async (key: string) => (await (await h.api(`/api/segments/${key}`)).json()).count as number;
  const sweepTo = async (t: number) => {
    h.clock.t = t;
    const { changes } = await sweepSegments(h.deps, t);
    return changes.filter((c) => c.segment.startsWith('t_')).map((c) => `${c.segment}:${c.kind}`).sort();
  };
  let seen = 0;
  /** runs the worker at the clock's time; the receiver's new requests, each verified as the README tells a receiver */
  const deliver = async (): Promise<Payload[]> => {
    await worker.runOnce(h.clock.t);
    const fresh = rx.requests.slice(seen);
    seen = rx.requests.length;
    return fresh.map((r) => verified(r, secret, Math.floor(h.clock.t / 1000))).filter((p) => String(p.data.segment).startsWith('t_'));
  };
  return Object.assign(h, { rx, secret, worker, put, send, server, profile, segmentsOf, countOf, sweepTo, deliver });
}

/** The README's recipe: HMAC-SHA256 of "<t>.<raw body>" with the secret, compared in constant time; t is the send time. */
function verified(req: Received, secret: string, nowSec: number): Payload {
  const header = String(req.headers['funnelbeam-signature']);
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  expect(m, header).not.toBeNull();
  expect(Number(m![1])).toBe(nowSec);
  const mac = createHmac('sha256', secret).update(`${m![1]}.${req.body}`, 'utf8').digest();
  expect(timingSafeEqual(Buffer.from(m![2], 'hex'), mac)).toBe(true);
  const payload = JSON.parse(req.body) as Payload;
  expect(Object.keys(payload).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
  expect(req.headers['funnelbeam-delivery']).toBe(payload.id);
  return payload;
}

/** The score the lead API shows `dt` ms after an award left it at `s0`: halved every 90 days, 4 decimals. */
const decayed = (s0: number, dt: number) => Math.round(s0 * 2 ** (-dt / (90 * DAY)) * 10_000) / 10_000;

describe('an "inactive for 14 days" segment, decided by time alone', () => {
  test('the sweep after the window puts the lead in and tells the CRM, signed, with that moment and score; a visit takes it out; 14 quiet days later it is back', async () => {
    const h = await setup();
    await h.put('t_dormant', { all: [{ identified: true }, { not: { did: { event: 'pageview', within: '14d' } } }] }, 'Dormant 14 days');
    const v = 'v_' + randomId();
    const email = `${v.toLowerCase()}@example.com`;
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/blog/a' }, { n: 'identify', em: email }]);
    const lead = await h.profile(v);
    const s0 = lead.score as number; // read at the award's own moment: not decayed yet
    expect(s0).toBeGreaterThan(0);
    expect(await h.segmentsOf(v)).toEqual([]);
    expect(await h.deliver()).toEqual([]);

    // the window has not passed: a sweep a second before its end changes nothing
    expect(await h.sweepTo(T0 + 14 * DAY - 1000)).toEqual([]);
    expect(await h.segmentsOf(v)).toEqual([]);
    expect(await h.deliver()).toEqual([]);

    // the first sweep after it: in, with no event of the lead's own
    const swept = T0 + 14 * DAY + 3000;
    expect(await h.sweepTo(swept)).toEqual(['t_dormant:entered']);
    expect(await h.segmentsOf(v)).toEqual(['t_dormant']);
    expect(await h.countOf('t_dormant')).toBe(1);
    const entered = await h.deliver();
    const shown = (await h.profile(v)).score;
    expect(shown).toBe(decayed(s0, swept - T0));
    expect(entered).toHaveLength(1);
    expect(entered[0]).toMatchObject({ type: 'segment.entered', createdAt: iso(swept) });
    expect(entered[0].data).toEqual({
      segment: 't_dormant', segmentName: 'Dormant 14 days', leadId: lead.leadId, email, stage: lead.stage, score: shown, at: iso(swept),
    });
    // a second sweep a moment later, and the worker again: nothing more
    expect(await h.sweepTo(swept + 5000)).toEqual([]);
    expect(await h.deliver()).toEqual([]);

    // a visit on day 20: out at once
    const back = T0 + 20 * DAY;
    h.clock.t = back;
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/blog/b' }]);
    expect(await h.segmentsOf(v)).toEqual([]);
    expect(await h.countOf('t_dormant')).toBe(0);
    const exited = await h.deliver();
    const after = await h.profile(v);
    expect(exited.map((p) => [p.type, p.data.at, p.data.score, p.data.leadId])).toEqual([['segment.exited', iso(back), after.score, lead.leadId]]);

    // 14 days after that visit, by the sweep again: one more entry, told once
    expect(await h.sweepTo(back + 14 * DAY - 1000)).toEqual([]);
    expect(await h.sweepTo(back + 14 * DAY + 1000)).toEqual(['t_dormant:entered']);
    expect((await h.deliver()).map((p) => [p.type, p.data.at])).toEqual([['segment.entered', iso(back + 14 * DAY + 1000)]]);
    const items = (await (await h.api(`/api/leads/${v}/timeline?types=segment`)).json()).items as Array<{ segment: string; change: string; at: string }>;
    expect(items.filter((i) => i.segment === 't_dormant').map((i) => `${i.change}@${i.at}`)).toEqual([
      `entered@${iso(back + 14 * DAY + 1000)}`, `exited@${iso(back)}`, `entered@${iso(swept)}`,
    ]);
  });
});

describe('time in stage counted from a CRM deal dated weeks back', () => {
  test('`inStage` decides at once from the deal\'s date, the sweep moves the others at their exact day, and the next stage ends it live', async () => {
    const h = await setup();
    await h.put('t_stuck_eval', { all: [{ stage: { eq: 'evaluation' } }, { inStage: { days: { gte: 21 } } }] }, 'Stuck in evaluation');
    await h.put('t_fresh_eval', { all: [{ stage: { eq: 'evaluation' } }, { inStage: { days: { lte: 7 } } }] }, 'Fresh in evaluation');
    // three CRM contacts never seen on the web, their demos completed 30, 10 and 2 days ago (contract §6: evaluation)
    await h.server([
      { email: 'old@crm.example', name: 'demo_completed', at: iso(T0 - 30 * DAY) },
      { email: 'mid@crm.example', name: 'demo_completed', at: iso(T0 - 10 * DAY) },
      { email: 'new@crm.example', name: 'demo_completed', at: iso(T0 - 2 * DAY) },
    ]);
    for (const e of ['old', 'mid', 'new']) expect((await h.profile(`${e}@crm.example`)).stage, e).toBe('evaluation');
    const members = async (key: string) =>
      ((await (await h.api(`/api/segments/${key}/members?format=json`)).json()).members as Array<{ email: string }>).map((m) => m.email.split('@')[0]).sort();
    // 30 days in evaluation: stuck at once; 2 days: fresh; 10 days: neither
    expect(await members('t_stuck_eval')).toEqual(['old']);
    expect(await members('t_fresh_eval')).toEqual(['new']);
    const atIngest = await h.deliver();
    for (const p of atIngest) expect(p.data.score, String(p.data.email)).toBe((await h.profile(String(p.data.email))).score);
    expect(atIngest.map((p) => [p.type, p.data.segment, p.data.email, p.data.stage, p.data.at]).sort()).toEqual([
      ['segment.entered', 't_fresh_eval', 'new@crm.example', 'evaluation', iso(T0)],
      ['segment.entered', 't_stuck_eval', 'old@crm.example', 'evaluation', iso(T0)],
    ]);
    // new: over 7 days in evaluation at T0 + 5d (+1 ms); mid: 21 days at T0 + 11d
    expect(await h.sweepTo(T0 + 5 * DAY - 1000)).toEqual([]);
    expect(await h.sweepTo(T0 + 5 * DAY + 1000)).toEqual(['t_fresh_eval:exited']);
    expect(await h.sweepTo(T0 + 11 * DAY - 1000)).toEqual([]);
    expect(await h.sweepTo(T0 + 11 * DAY + 1000)).toEqual(['t_stuck_eval:entered']);
    expect(await members('t_stuck_eval')).toEqual(['mid', 'old']);
    expect(await members('t_fresh_eval')).toEqual([]);
    // old closes the deal: purchase, out of evaluation at once
    h.clock.t = T0 + 12 * DAY;
    await h.server({ email: 'old@crm.example', name: 'closed_won' });
    expect(await members('t_stuck_eval')).toEqual(['mid']);
    const later = await h.deliver();
    expect(later.map((p) => [p.type, p.data.segment, p.data.email, p.data.stage, p.data.at])).toEqual([
      ['segment.exited', 't_fresh_eval', 'new@crm.example', 'evaluation', iso(T0 + 5 * DAY + 1000)],
      ['segment.entered', 't_stuck_eval', 'mid@crm.example', 'evaluation', iso(T0 + 11 * DAY + 1000)],
      ['segment.exited', 't_stuck_eval', 'old@crm.example', 'purchase', iso(T0 + 12 * DAY)],
    ]);
  });
});

describe('a segment renamed by PUT', () => {
  test('nobody moves and nothing is told; later moves carry the new name; a PUT without a name keeps it', async () => {
    const h = await setup();
    const definition = { did: { event: 'pageview', path: '/pricing*' } };
    await h.put('t_pricing', definition, 'Pricing');
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: `${v.toLowerCase()}@example.com` }]);
    expect((await h.deliver()).map((p) => [p.type, p.data.segmentName])).toEqual([['segment.entered', 'Pricing']]);
    const renamed = await h.put('t_pricing', definition, 'Saw pricing');
    expect(renamed).toMatchObject({ key: 't_pricing', name: 'Saw pricing', count: 1 });
    expect(await h.deliver()).toEqual([]);
    const items = (await (await h.api(`/api/leads/${v}/timeline?types=segment`)).json()).items as Array<{ segment: string }>;
    expect(items.filter((i) => i.segment === 't_pricing')).toHaveLength(1);
    // a PUT without a name keeps the name; a definition nobody meets any more moves the member out, told by the new name
    h.clock.t = T0 + HOUR;
    expect(await h.put('t_pricing', { did: { event: 'pageview', path: '/pricing/enterprise*' } })).toMatchObject({ name: 'Saw pricing', count: 0 });
    expect((await h.deliver()).map((p) => [p.type, p.data.segmentName, p.data.at])).toEqual([['segment.exited', 'Saw pricing', iso(T0 + HOUR)]]);
  });
});

describe('a receiver that fails the entry, then gets the exit first', () => {
  test('the retried entry arrives after the exit, unchanged; ordered by `at` (then by the time-ordered id) the receiver ends where the lead is', async () => {
    const h = await setup();
    await h.put('t_pricing_no_demo', { all: [{ did: { event: 'pageview', path: '/pricing*' } }, { not: { did: { event: 'demo_request' } } }] });
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: `${v.toLowerCase()}@example.com` }]);
    // the first attempt of the entry fails
    h.rx.answer((n) => (n === 1 ? 500 : 200));
    const failed = await h.deliver();
    expect(failed.map((p) => [p.type, p.data.at])).toEqual([['segment.entered', iso(T0)]]);
    // five seconds later a demo request takes the lead out; the entry's retry is not due yet (15-30 s after a failure)
    h.clock.t = T0 + 5000;
    await h.send(v, [{ n: 'demo_request', f: 'demo', u: ORIGIN + '/demo' }]);
    expect(await h.segmentsOf(v)).toEqual([]);
    const exited = await h.deliver();
    expect(exited.map((p) => [p.type, p.data.at])).toEqual([['segment.exited', iso(T0 + 5000)]]);
    // the retry, once due, with the body of its first attempt
    h.clock.t = T0 + 31_000;
    const retried = await h.deliver();
    expect(retried.map((p) => p.id)).toEqual([failed[0].id]);
    expect(h.rx.requests[2].body).toBe(h.rx.requests[0].body);
    // arrival order was exit, then entry; a receiver that keeps the change with the latest `at` per lead and segment
    // (ids, time-ordered, break a tie) ends with the exit, as the collector does
    const arrived = [...exited, ...retried];
    const latest = [...arrived].sort((x, y) => String(x.data.at).localeCompare(String(y.data.at)) || x.id.localeCompare(y.id)).pop()!;
    expect(latest.type).toBe('segment.exited');
    expect(failed[0].id < exited[0].id).toBe(true);
    // each delivered once; nothing more goes out
    h.clock.t = T0 + DAY;
    expect(await h.deliver()).toEqual([]);
    const log = (await (await h.api('/api/webhooks/crm')).json()).deliveries as Array<{ status: string; attempts: number }>;
    expect(log.map((d) => [d.status, d.attempts]).sort()).toEqual([['delivered', 1], ['delivered', 2]]);
  });
});

describe('two devices of one person merging', () => {
  test('each membership change is told once: the anonymous lead leaves with mergedInto, the survivor enters only what it was not in; the sweep tells its exit once', async () => {
    const h = await setup();
    // pricing seen within 7 days (anyone), twice ever (anyone), and a known person
    await h.put('t_pricing_week', { did: { event: 'pageview', path: '/pricing*', within: '7d' } });
    await h.put('t_pricing_twice', { did: { event: 'pageview', path: '/pricing*', min: 2 } });
    await h.put('t_known', { identified: true });
    const laptop = 'v_' + randomId();
    const phone = 'v_' + randomId();
    const email = `${phone.toLowerCase()}@example.com`;
    // the phone identifies and sees pricing once: pricing_week and known, not twice
    await h.send(phone, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: email }]);
    const survivor = (await h.profile(phone)).leadId as string;
    // the laptop, anonymous, an hour later: pricing once, so pricing_week
    h.clock.t = T0 + HOUR;
    await h.send(laptop, [{ n: 'pageview', u: ORIGIN + '/pricing/teams' }]);
    const anonymous = (await h.profile(laptop)).leadId as string;
    expect(anonymous).not.toBe(survivor);
    expect(await h.segmentsOf(phone)).toEqual(['t_known', 't_pricing_week']);
    expect(await h.segmentsOf(laptop)).toEqual(['t_pricing_week']);
    const before = await h.deliver();
    expect(before.map((p) => `${p.type}:${p.data.segment}:${p.data.leadId === survivor ? 'survivor' : 'anonymous'}`).sort()).toEqual([
      'segment.entered:t_known:survivor', 'segment.entered:t_pricing_week:anonymous', 'segment.entered:t_pricing_week:survivor',
    ]);

    // a day later the laptop identifies as the same person: it merges into the phone's lead
    const merged = T0 + DAY;
    h.clock.t = merged;
    await h.send(laptop, [{ n: 'identify', em: email }]);
    expect((await h.profile(laptop)).leadId).toBe(survivor);
    // two pricing views now: the survivor enters pricing_twice; it was in the other two already
    expect(await h.segmentsOf(laptop)).toEqual(['t_known', 't_pricing_twice', 't_pricing_week']);
    expect(await h.segmentsOf(phone)).toEqual(['t_known', 't_pricing_twice', 't_pricing_week']);
    for (const key of ['t_known', 't_pricing_twice', 't_pricing_week']) expect(await h.countOf(key), key).toBe(1);
    const atMerge = await h.deliver();
    const score = (await h.profile(phone)).score;
    expect(atMerge.map((p) => [p.type, p.data.segment, p.data.leadId, p.data.email, p.data.mergedInto, p.data.at]).sort()).toEqual([
      ['segment.entered', 't_pricing_twice', survivor, email, undefined, iso(merged)],
      ['segment.exited', 't_pricing_week', anonymous, null, survivor, iso(merged)],
    ].sort());
    expect(atMerge.find((p) => p.type === 'segment.entered')!.data.score).toBe(score);

    // more events of the survivor on either device: nothing new to tell
    h.clock.t = merged + HOUR;
    await h.send(laptop, [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    await h.send(phone, [{ n: 'pageview', u: ORIGIN + '/about' }]);
    expect(await h.deliver()).toEqual([]);

    // the newest pricing view (the laptop's, T0 + 1h) is 7 days old at T0 + 7d + 1h: the survivor leaves, told once,
    // and nothing is said of the lead that merged away
    expect(await h.sweepTo(T0 + 7 * DAY + HOUR - 1000)).toEqual([]);
    expect(await h.sweepTo(T0 + 7 * DAY + HOUR + 1000)).toEqual(['t_pricing_week:exited']);
    expect(await h.sweepTo(T0 + 7 * DAY + HOUR + 6000)).toEqual([]);
    const swept = await h.deliver();
    expect(swept.map((p) => [p.type, p.data.segment, p.data.leadId, p.data.email])).toEqual([['segment.exited', 't_pricing_week', survivor, email]]);

    // the survivor's timeline (the laptop's history moved into it) tells the person's membership: in pricing_week
    // from the phone's view at T0 (the laptop's view an hour later was no new entry for this person) until the sweep
    expect(await segmentHistory(h, survivor, 't_pricing_week')).toEqual([`entered@${iso(T0)}`, `exited@${iso(T0 + 7 * DAY + HOUR + 1000)}`]);
    expect(await segmentHistory(h, survivor, 't_pricing_twice')).toEqual([`entered@${iso(merged)}`]);
    expect(await segmentHistory(h, survivor, 't_known')).toEqual([`entered@${iso(T0)}`]);
    await alternates(h, survivor, phone);
  });

  test('a membership the anonymous device had and lost before the merge never makes the survivor\'s timeline say it left', async () => {
    const h = await setup();
    await h.put('t_pricing_week', { did: { event: 'pageview', path: '/pricing*', within: '7d' } });
    const laptop = 'v_' + randomId();
    const phone = 'v_' + randomId();
    const email = `${phone.toLowerCase()}@example.com`;
    // the phone: pricing at T0 and T0 + 5d, a member until T0 + 12d
    await h.send(phone, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: email }]);
    const survivor = (await h.profile(phone)).leadId as string;
    h.clock.t = T0 + DAY;
    // the laptop, anonymous: pricing at T0 + 1d, a member of its own until T0 + 8d
    await h.send(laptop, [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    h.clock.t = T0 + 5 * DAY;
    await h.send(phone, [{ n: 'pageview', u: ORIGIN + '/pricing/teams' }]);
    expect(await h.sweepTo(T0 + 8 * DAY + 1000)).toEqual(['t_pricing_week:exited']);
    expect(await h.segmentsOf(laptop)).toEqual([]);
    expect(await h.segmentsOf(phone)).toEqual(['t_pricing_week']);
    const told = (await h.deliver()).map((p) => `${p.type}:${p.data.leadId === survivor ? 'survivor' : 'anonymous'}`);
    expect(told).toEqual(['segment.entered:survivor', 'segment.entered:anonymous', 'segment.exited:anonymous']);

    // T0 + 9d: the laptop identifies as the phone's person and merges; the survivor is still in, nothing to tell
    h.clock.t = T0 + 9 * DAY;
    await h.send(laptop, [{ n: 'identify', em: email }]);
    expect((await h.profile(laptop)).leadId).toBe(survivor);
    expect(await h.segmentsOf(laptop)).toEqual(['t_pricing_week']);
    expect(await h.countOf('t_pricing_week')).toBe(1);
    expect(await h.deliver()).toEqual([]);
    // a member since T0 without a break: the laptop's own entry and exit, inside that time, are no change of the person's
    expect(await segmentHistory(h, survivor, 't_pricing_week')).toEqual([`entered@${iso(T0)}`]);
    await alternates(h, survivor, phone);
    // and it leaves when the phone's T0 + 5d view is 7 days old
    expect(await h.sweepTo(T0 + 12 * DAY + 1000)).toEqual(['t_pricing_week:exited']);
    expect((await h.deliver()).map((p) => [p.type, p.data.leadId, p.data.email])).toEqual([['segment.exited', survivor, email]]);
    expect(await segmentHistory(h, survivor, 't_pricing_week')).toEqual([`entered@${iso(T0)}`, `exited@${iso(T0 + 12 * DAY + 1000)}`]);
  });
});

describe('two histories made one', () => {
  const row = (id: string, kind: 'entered' | 'exited', at: number, key = 's') => ({ change_id: id, segment_key: key, kind, at });
  test('the person is in while either lead was: entries while in and exits while still in are dropped, entries first at one moment', () => {
    // phone in 1..4, laptop in 2..3: the person in 1..4
    expect(redundantChanges([row('p1', 'entered', 1), row('l2', 'entered', 2), row('l3', 'exited', 3), row('p4', 'exited', 4)], new Set()).sort()).toEqual(['l2', 'l3']);
    // laptop in 2..5 (closed at the merge, 5), the survivor entering at the merge: one membership from 2
    expect(redundantChanges([row('l2', 'entered', 2), row('m5', 'exited', 5), row('s5', 'entered', 5)], new Set(['s'])).sort()).toEqual(['m5', 's5']);
    // two segments apart; nothing to drop in a history that already alternates
    expect(redundantChanges([row('a', 'entered', 1, 'x'), row('b', 'exited', 2, 'x'), row('c', 'entered', 3, 'y')], new Set(['y']))).toEqual([]);
  });
  test('a segment whose history does not end where the lead stands (written before, or deleted) is left as it is', () => {
    // an open entry of the laptop from before this rule, the lead out now: dropping would leave it "in"
    expect(redundantChanges([row('p1', 'entered', 1), row('l2', 'entered', 2), row('p3', 'exited', 3)], new Set())).toEqual([]);
    // a deleted segment's open entry
    expect(redundantChanges([row('p1', 'entered', 1), row('l2', 'entered', 2)], new Set())).toEqual([]);
  });
});

type Rig = Awaited<ReturnType<typeof setup>>;

/** A segment's items of the lead's timeline, oldest first, as `change@at`. */
async function segmentHistory(h: Rig, ref: string, key: string): Promise<string[]> {
  const res = await h.api(`/api/leads/${ref}/timeline?types=segment&limit=500`);
  expect(res.status).toBe(200);
  const items = (await res.json()).items as Array<{ segment: string; change: string; at: string }>;
  return items.filter((i) => i.segment === key).reverse().map((i) => `${i.change}@${i.at}`);
}

/** Every t_ segment's items alternate entered/exited, oldest first from an entry, and end in it exactly when a member. */
async function alternates(h: Rig, ref: string, visitorId: string) {
  const res = await h.api(`/api/leads/${ref}/timeline?types=segment&limit=500`);
  const items = ((await res.json()).items as Array<{ segment: string; change: string }>).filter((i) => i.segment.startsWith('t_'));
  const now = await h.segmentsOf(visitorId);
  for (const key of new Set([...items.map((i) => i.segment), ...now])) {
    const changes = items.filter((i) => i.segment === key).reverse().map((i) => i.change);
    changes.forEach((c, i) => expect(c, `${key}: ${changes.join(',')}`).toBe(i % 2 === 0 ? 'entered' : 'exited'));
    expect(changes.length % 2 === 1, `${key}: ${changes.join(',')}`).toBe(now.includes(key));
  }
}

describe('a second device that identifies in its very first batch', () => {
  test('its pricing view before the identify counts for the person, told once as the survivor\'s entry; no lead that nobody heard of is said to leave', async () => {
    const h = await setup();
    await h.put('t_pricing_twice', { did: { event: 'pageview', path: '/pricing*', min: 2 } });
    await h.put('t_anonymous', { identified: false });
    const phone = 'v_' + randomId();
    const laptop = 'v_' + randomId();
    const email = `${phone.toLowerCase()}@example.com`;
    await h.send(phone, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: email }]);
    const survivor = (await h.profile(phone)).leadId as string;
    expect(await h.deliver()).toEqual([]);
    h.clock.t = T0 + HOUR;
    // the laptop's first batch: a pricing view, then the newsletter form's email
    await h.send(laptop, [{ n: 'pageview', u: ORIGIN + '/pricing/teams' }, { n: 'identify', em: email, t: T0 + HOUR + 1 }]);
    expect((await h.profile(laptop)).leadId).toBe(survivor);
    expect(await h.segmentsOf(laptop)).toEqual(['t_pricing_twice']);
    expect(await h.countOf('t_anonymous')).toBe(0);
    const told = await h.deliver();
    // whatever lead the laptop had for a millisecond was never reported, so nothing is said of it
    expect(told.map((p) => [p.type, p.data.segment, p.data.leadId, p.data.email])).toEqual([['segment.entered', 't_pricing_twice', survivor, email]]);
    await alternates(h, survivor, phone);
  });
});

describe('a person erased right after two devices merged', () => {
  test('no queued segment delivery naming either lead id or the email goes out, and the segments forget both', async () => {
    const h = await setup();
    await h.put('t_pricing', { did: { event: 'pageview', path: '/pricing*' } });
    await h.put('t_twice', { did: { event: 'pageview', path: '/pricing*', min: 2 } });
    const laptop = 'v_' + randomId();
    const phone = 'v_' + randomId();
    const email = `${phone.toLowerCase()}@example.com`;
    await h.send(phone, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: email }]);
    await h.send(laptop, [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    const anonymous = (await h.profile(laptop)).leadId as string;
    h.clock.t = T0 + HOUR;
    await h.send(laptop, [{ n: 'identify', em: email }]);
    const survivor = (await h.profile(phone)).leadId as string;
    expect(await h.countOf('t_twice')).toBe(1);
    // nothing delivered yet (the receiver was not asked): entries of both leads, the anonymous exit, the survivor's entry
    const erase = await h.api(`/api/leads/${encodeURIComponent(email)}`, { method: 'DELETE' });
    expect(erase.status, await erase.clone().text()).toBeLessThan(300);
    expect(await h.deliver()).toEqual([]);
    expect(h.rx.requests.filter((r) => r.body.includes(anonymous) || r.body.includes(survivor) || r.body.includes(email))).toEqual([]);
    for (const key of ['t_pricing', 't_twice']) expect(await h.countOf(key), key).toBe(0);
    expect(await h.segmentsOf(phone)).toEqual([]);
    expect(await h.segmentsOf(laptop)).toEqual([]);
  });
});

describe('first touch moved back by a merge', () => {
  test('the person came first from LinkedIn on the laptop: at the merge it enters the LinkedIn first-touch segment and leaves the Google one, each told once', async () => {
    const h = await setup();
    await h.put('t_first_linkedin', { touch: { model: 'first', source: 'linkedin' } });
    await h.put('t_first_google', { touch: { model: 'first', source: 'google' } });
    await h.put('t_last_google', { touch: { model: 'last', source: 'google' } });
    const laptop = 'v_' + randomId();
    const phone = 'v_' + randomId();
    const email = `${phone.toLowerCase()}@example.com`;
    const linkedin = { utm_source: 'linkedin', utm_medium: 'paid_social', url: ORIGIN + '/?utm_source=linkedin&utm_medium=paid_social', at: T0 };
    await h.send(laptop, [{ n: 'pageview', u: linkedin.url, ft: linkedin, st: linkedin }]);
    // ten minutes later, on the phone, from a Google ad
    const google = { utm_source: 'google', utm_medium: 'cpc', url: ORIGIN + '/pricing?utm_source=google&utm_medium=cpc', at: T0 + 10 * 60_000 };
    h.clock.t = T0 + 10 * 60_000;
    await h.send(phone, [{ n: 'pageview', u: google.url, ft: google, st: google }, { n: 'identify', em: email }]);
    const survivor = (await h.profile(phone)).leadId as string;
    expect(await h.segmentsOf(laptop)).toEqual(['t_first_linkedin']);
    expect(await h.segmentsOf(phone)).toEqual(['t_first_google', 't_last_google']);
    await h.deliver();

    // the laptop identifies in the same visit: the person's first touch is the laptop's LinkedIn visit, the last (the
    // visit that began last) the phone's Google one
    h.clock.t = T0 + 20 * 60_000;
    await h.send(laptop, [{ n: 'identify', em: email }]);
    const lead = await h.profile(laptop);
    expect(lead.leadId).toBe(survivor);
    expect(lead.firstTouch).toMatchObject({ utm_source: 'linkedin' });
    expect(lead.lastTouch).toMatchObject({ utm_source: 'google' });
    expect(await h.segmentsOf(phone)).toEqual(['t_first_linkedin', 't_last_google']);
    expect(await h.segmentsOf(laptop)).toEqual(['t_first_linkedin', 't_last_google']);
    for (const [key, n] of [['t_first_linkedin', 1], ['t_first_google', 0], ['t_last_google', 1]] as const) expect(await h.countOf(key), key).toBe(n);
    const told = await h.deliver();
    expect(told.map((p) => [p.type, p.data.segment, p.data.leadId === survivor ? 'survivor' : 'anonymous', p.data.email]).sort()).toEqual([
      ['segment.entered', 't_first_linkedin', 'survivor', email],
      ['segment.exited', 't_first_google', 'survivor', email],
      ['segment.exited', 't_first_linkedin', 'anonymous', null],
    ]);
    await alternates(h, survivor, phone);
    expect(await segmentHistory(h, survivor, 't_first_linkedin')).toEqual([`entered@${iso(T0)}`]);
  });
});

describe('a members export read while the definition is replaced', () => {
  test('every lead that is a member throughout is written once, in lead id order; pages read after the PUT follow the new definition; count is the rows written', async () => {
    const h = await setup();
    const N = 2100;
    // 2,100 CRM contacts (three export pages of 1,000), alternately in group a and group b (lead ids are random, so the groups interleave)
    for (let start = 0; start < N; start += 700) {
      await h.server(Array.from({ length: 700 }, (_, i) => ({
        email: `c${String(start + i).padStart(5, '0')}@example.com`, name: 'crm_sync', props: { group: (start + i) % 2 === 0 ? 'a' : 'b' },
      })));
    }
    await h.put('t_mid', { did: { event: 'crm_sync' } });
    expect(await h.countOf('t_mid')).toBe(N);
    const groupOf = new Map<string, string>();
    for (let i = 0; i < N; i++) groupOf.set(`c${String(i).padStart(5, '0')}@example.com`, i % 2 === 0 ? 'a' : 'b');
    // every contact's lead id, from an export before anything changes
    const before = (await (await h.api('/api/segments/t_mid/members?format=json')).json()).members as Array<{ leadId: string; email: string }>;
    expect(before).toHaveLength(N);
    const aInOrder = before.filter((m) => groupOf.get(m.email) === 'a').map((m) => m.leadId).sort();

    const json = await h.api('/api/segments/t_mid/members?format=json');
    const google = await h.api('/api/segments/t_mid/members?format=google');
    expect(json.status).toBe(200);
    expect(google.status).toBe(200);
    // the platform count is taken as the export starts
    expect(google.headers.get('funnelbeam-member-count')).toBe(String(N));
    const readers = [json, google].map((res) => ({ reader: res.body!.getReader(), text: '', decoder: new TextDecoder() }));
    const readSome = async (r: (typeof readers)[number], until: (text: string) => boolean) => {
      while (!until(r.text)) {
        const { done, value } = await r.reader.read();
        if (done) return;
        r.text += r.decoder.decode(value, { stream: true });
      }
    };
    // the first export page (1,000 members) of each
    await readSome(readers[0], (t) => t.split('"leadId"').length - 1 >= 1000);
    await readSome(readers[1], (t) => t.split('\n').length - 2 >= 1000);
    // group a leaves while both exports are half read
    await h.put('t_mid', { did: { event: 'crm_sync', props: { group: 'b' } } });
    expect(await h.countOf('t_mid')).toBe(N / 2);
    for (const r of readers) await readSome(r, () => false);

    const body = JSON.parse(readers[0].text) as { segment: string; count: number; members: Array<{ leadId: string; email: string }> };
    expect(body.segment).toBe('t_mid');
    expect(body.count).toBe(body.members.length);
    const ids = body.members.map((m) => m.leadId);
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1], `row ${i}`).toBe(true);
    const written = body.members.map((m) => m.email);
    expect(new Set(written).size).toBe(written.length);
    // every group b lead, a member all along, is there
    const b = [...groupOf].filter(([, g]) => g === 'b').map(([e]) => e);
    const inJson = new Set(written);
    expect(b.filter((e) => !inJson.has(e))).toEqual([]);
    // group a is written only up to where the export was when the PUT landed: no group a lead after an unwritten one
    const aIds = body.members.filter((m) => groupOf.get(m.email) === 'a').map((m) => m.leadId);
    expect(aIds.length).toBeGreaterThanOrEqual(1); // the first page was written before the PUT
    expect(aIds.length).toBeLessThan(N / 2); // the last page was read after it
    expect(aIds).toEqual(aInOrder.slice(0, aIds.length));

    // the Google file: each member's hashed email once, every group b lead among them
    const rows = readers[1].text.trimEnd().split('\r\n');
    expect(rows[0]).toBe('Email,Phone,First Name,Last Name,Country,Zip');
    const hashes = rows.slice(1).map((r) => r.split(',')[0]);
    expect(new Set(hashes).size).toBe(hashes.length);
    const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
    const inGoogle = new Set(hashes);
    expect(b.filter((e) => !inGoogle.has(sha(e)))).toEqual([]);
    expect(hashes.length).toBeLessThan(N);
    expect(await h.countOf('t_mid')).toBe(N / 2);
  }, 60_000); // about 3 s on SQLite; PostgreSQL (TEST_ENGINE=pg) takes 10-15 s
});
