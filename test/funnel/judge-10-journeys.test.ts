// Judge 10: journeys the earlier rounds do not script, every figure worked out by hand from README "Funnel engine" and
// contract §5/§6 (the arithmetic is in the comments). Real HTTP (app.request) on a real database (PostgreSQL with
// TEST_ENGINE=pg); beacons shaped as the snippet sends them (shared/wire.ts: `n`, `t`, `u`, `p`, `f`, `em`).
//  1. three devices, two people: a tablet merges into Ann, then switches to Bob in its next visit; the laptop follows
//     to Bob through a demo form; the CRM names the tablet by visitor id for a time in each person's period; the report
//     over the two leads, one window cut at both ends; replay agrees;
//  2. an owner's funnel with a one-day half-life read at whole half-lives: negative points decaying toward zero, an MQL
//     reached at a score exactly equal to the bar, a merged phone that takes a capped award earlier and so takes the
//     MQL away, a later crossing, a count with a weekly window and an SQL by count; replay agrees;
//  3. the report by campaign (first, last, linear; times in stage under every key) when a phone merges into a lead and
//     a laptop leaves it in the middle of a visit;
//  4. a tablet that goes from Ann to Bob: a late page of Ann's period, CRM events by visitor id on both sides of the
//     switch's millisecond;
//  5. the CRM before the browser (a visitor id never seen, an unknown email), the deal by the merged-away lead id, a
//     demo request after the deal; the report of that one lead;
//  6. twelve visits over two devices under rules that count visits and pricing views (awards from the Nth visit on
//     under a cap, a 3-hour window met exactly), then late pages that add a visit and a pricing view;
//  7. a late page that bridges a campaign visit and a direct one: last touch, report by last touch and linear split;
//  8. late pages into visits long past on a device with ten visits, and a late campaign page that opens a visit of its
//     own inside one;
//  9. rules changed, then a device of A identifies as B: A gets no event and keeps what the old rules gave it until replay.
// No engine bug was found: every figure below is what the rules give. Replay equals live in every journey.
import { describe, expect, test } from 'vitest';
import { get, hookStages, iso, postEvents, profile, putConfig, scoreItems, stageItems, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { replaySite } from '../../collector/funnel/replay.js';

const { open } = useJourneys();
const replay = (j: Journey) => replaySite(j.db, j.site.siteId, { now: () => j.clock.now });

/** The score of awards `[points, at]` read at `now`, each decayed on its own (README: halves every half-life). */
const worth = (list: Array<[number, number]>, now: number, halfLifeMs: number) => list.reduce((s, [p, at]) => s + p * Math.pow(0.5, (now - at) / halfLifeMs), 0);

/** Webhook deliveries of one kind queued so far (to a closed port: only queued). */
async function hook(j: Journey, id: string, events: string[]) {
  const res = await j.app.request(`/api/webhooks/${id}`, { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events }), headers: j.auth });
  expect(res.status).toBe(201);
}
const deliveries = async (j: Journey, type: string) =>
  (await j.db.all<{ payload: string }>('SELECT payload FROM webhook_deliveries WHERE site_id = ? AND event_type = ? ORDER BY created_at, delivery_id', [j.site.siteId, type]))
    .map((d) => JSON.parse(d.payload).data ?? JSON.parse(d.payload));

const SERVER_NAMES = new Set(['proposal_sent', 'sales_accepted', 'closed_won', 'meeting_held', 'demo_completed']);
/** Event items of a lead, oldest first: [name, visitorId, ms after T0], server events as [name, 'server', ms]; identify calls left out. */
async function eventsOf(j: Journey, ref: string) {
  const items = (await timeline(j, ref, 'types=event&limit=500')).items;
  return items
    .filter((i) => i.name !== 'identify')
    .map((i) => [i.name, SERVER_NAMES.has(i.name) ? 'server' : i.visitorId, Date.parse(i.at) - T0])
    .reverse();
}

const L = 'v_j10_laptop01';
const P = 'v_j10_phone001';
const TB = 'v_j10_tablet01';
const ANN = 'ann@ann10.test';
const BOB = 'bob@bob10.test';

describe('three devices, two people: a tablet and a laptop that go over from Ann to Bob (default rules)', () => {
  test('every event stays with the person who had the device then; stages, scores, MQL/SQL, timelines, the report; replay agrees', async () => {
    const j = await open();
    const moves = await hookStages(j);

    // 1. the laptop at T0: / (awareness; visit +2), /pricing at T0+1 (consideration; pricing_view +10), identify as Ann
    //    at T0+2: the anonymous lead becomes Ann's, keeping its events. Ann: 12
    await j.visit(L, [{ path: '/' }, { path: '/pricing' }, { n: 'identify', em: ANN }], T0);
    // 2. the phone at T0+1h: /blog (awareness; visit +2), the newsletter form as Bob at T0+1h+1 (interest; newsletter
    //    +10). Bob: 12
    await j.visit(P, [{ path: '/blog' }, { n: 'newsletter_signup', f: 'newsletter', path: '/blog', em: BOB }], T0 + HOUR);
    // 3. the tablet at T0+2h, anonymous: /compare/x-vs-y, then identify as Ann at T0+2h+1: an anonymous lead with a
    //    known email merges into Ann. Ann in time order: her second session (any device) at T0+2h: interest is below
    //    consideration (skipped); visit +2, return_visit +5, comparison_view +5 → 24
    await j.visit(TB, [{ path: '/compare/x-vs-y' }], T0 + 2 * HOUR);
    const tabletLead = (await profile(j, TB)).leadId;
    await j.visit(TB, [{ n: 'identify', em: ANN }], T0 + 2 * HOUR + 1);
    expect((await profile(j, tabletLead)).email).toBe(ANN);
    // 4. the tablet at T0+3h (59:59.999 after its last event: a new visit). /docs at T0+3h is still Ann's: her third
    //    session, visit +2 → 26. At T0+3h+1 the newsletter form as Bob: two identified leads are never merged: the tablet
    //    goes to Bob from that millisecond (the form is Bob's), nothing of Ann moves. Bob: newsletter again (cap 10 used:
    //    nothing), his second session (the phone's, the tablet's) → return_visit +5 (17); /pricing at T0+3h+2 is Bob's:
    //    consideration; visit +2 (Ann's award for this visit is hers: the window is per lead), pricing_view +10 → 29
    await j.visit(TB, [{ path: '/docs' }, { n: 'newsletter_signup', f: 'newsletter', path: '/docs', em: BOB }, { path: '/pricing' }], T0 + 3 * HOUR);
    // 5. the laptop at T0+4h (a new visit): /pricing is Ann's: her pricing in two sessions (the laptop's two visits) →
    //    intent; visit +2 (her visits: 2+2+2+2 = 8 ≤ 10), pricing_view inside its day: nothing → 28. At T0+4h+1 the demo
    //    form as Bob: the laptop goes to Bob: evaluation (intent skipped); demo_request +30 → 59 (≥ 50: MQL then), SQL
    //    then (a demo request)
    await j.visit(L, [{ path: '/pricing' }, { n: 'demo_request', f: 'demo', path: '/pricing', em: BOB }], T0 + 4 * HOUR);

    const ann = await profile(j, ANN);
    const bob = await profile(j, BOB);
    expect(ann.leadId).not.toBe(bob.leadId);
    expect(ann).toMatchObject({ stage: 'intent', stageEnteredAt: iso(T0 + 4 * HOUR), mql: false, sql: false, createdAt: iso(T0) });
    expect(bob).toMatchObject({ stage: 'evaluation', stageEnteredAt: iso(T0 + 4 * HOUR + 1), mql: true, mqlAt: iso(T0 + 4 * HOUR + 1), sql: true, sqlAt: iso(T0 + 4 * HOUR + 1) });
    // the devices now name Bob
    for (const v of [L, P, TB]) expect((await profile(j, v)).leadId).toBe(bob.leadId);

    // 6. the CRM, at T0+5h: a proposal by the tablet's visitor id dated T0+2h30m, when the tablet was Ann's: Ann's
    //    (evaluation at T0+2h30m; proposal_sent +10). Rebuilt in time order, her intent of T0+4h is below evaluation
    //    and goes. A deal by the tablet's visitor id at T0+5h, when it is Bob's: purchase. Ann accepted by sales (email)
    //    at T0+5h: SQL then
    j.clock.now = T0 + 5 * HOUR;
    await postEvents(j, [
      { visitorId: TB, name: 'proposal_sent', at: iso(T0 + 2 * HOUR + 30 * MIN) },
      { visitorId: TB, name: 'closed_won', at: iso(T0 + 5 * HOUR) },
      { email: ANN, name: 'sales_accepted', at: iso(T0 + 5 * HOUR) },
    ]);
    // 7. after the deal, the phone at T0+6h: /pricing: Bob's third visit (visit +2 → 61), pricing_view inside its day
    //    (last award T0+3h+2): nothing; pricing in two sessions (tablet, phone) is intent, below purchase: nothing
    await j.visit(P, [{ path: '/pricing' }], T0 + 6 * HOUR);
    // 8. the CRM names the tablet's old anonymous lead id at T0+6h30m: an alias of Ann's lead (it merged into hers),
    //    though the tablet itself is Bob's now: Ann's demo_completed, +20 → about 58 ≥ 50: her MQL then
    j.clock.now = T0 + 6 * HOUR + 30 * MIN;
    await postEvents(j, { leadId: tabletLead, name: 'demo_completed', at: iso(T0 + 6 * HOUR + 30 * MIN) });
    expect((await profile(j, tabletLead)).email).toBe(ANN);

    const now = j.clock.now;
    const annAwards: Array<[string, number, number]> = [
      ['demo_completed', 20, 6 * HOUR + 30 * MIN],
      ['visit', 2, 4 * HOUR], ['visit', 2, 3 * HOUR], ['proposal_sent', 10, 2 * HOUR + 30 * MIN],
      ['comparison_view', 5, 2 * HOUR], ['return_visit', 5, 2 * HOUR], ['visit', 2, 2 * HOUR], ['pricing_view', 10, 1], ['visit', 2, 0],
    ];
    const bobAwards: Array<[string, number, number]> = [
      ['visit', 2, 6 * HOUR], ['demo_request', 30, 4 * HOUR + 1], ['pricing_view', 10, 3 * HOUR + 2], ['visit', 2, 3 * HOUR + 2],
      ['return_visit', 5, 3 * HOUR + 1], ['newsletter_signup', 10, HOUR + 1], ['visit', 2, HOUR],
    ];
    const decayed = (a: Array<[string, number, number]>) => worth(a.map(([, p, at]) => [p, T0 + at]), now, 90 * DAY);

    const a = await profile(j, ANN);
    expect(a).toMatchObject({ stage: 'evaluation', stageEnteredAt: iso(T0 + 2 * HOUR + 30 * MIN), mql: true, mqlAt: iso(T0 + 6 * HOUR + 30 * MIN), sql: true, sqlAt: iso(T0 + 5 * HOUR), createdAt: iso(T0) });
    expect(a.score).toBeCloseTo(decayed(annAwards), 2);
    expect(a.score).toBeCloseTo(58, 0);
    // devices whose events are Ann's: the laptop (until T0+4h+1) and the tablet (T0+2h until T0+3h+1)
    expect([...a.visitorIds].sort()).toEqual([L, TB].sort());
    expect(await stageItems(j, ANN)).toEqual([['consideration', 'evaluation', 2 * HOUR + 30 * MIN], ['awareness', 'consideration', 1], [null, 'awareness', 0]]);
    expect(await scoreItems(j, ANN)).toEqual(annAwards);
    expect((await eventsOf(j, ANN)).filter((e) => e[1] !== 'server')).toEqual([
      ['pageview', L, 0], ['pageview', L, 1], ['pageview', TB, 2 * HOUR], ['pageview', TB, 3 * HOUR], ['pageview', L, 4 * HOUR],
    ]);
    expect((await eventsOf(j, ANN)).filter((e) => e[1] === 'server').map((e) => [e[0], e[2]])).toEqual([['proposal_sent', 2 * HOUR + 30 * MIN], ['sales_accepted', 5 * HOUR], ['demo_completed', 6 * HOUR + 30 * MIN]]);

    const b = await profile(j, BOB);
    expect(b).toMatchObject({ stage: 'purchase', stageEnteredAt: iso(T0 + 5 * HOUR), mql: true, mqlAt: iso(T0 + 4 * HOUR + 1), sql: true, sqlAt: iso(T0 + 4 * HOUR + 1), createdAt: iso(T0 + HOUR) });
    expect(b.score).toBeCloseTo(decayed(bobAwards), 2);
    expect(b.score).toBeCloseTo(61, 0);
    expect([...b.visitorIds].sort()).toEqual([L, P, TB].sort());
    expect(await stageItems(j, BOB)).toEqual([
      ['evaluation', 'purchase', 5 * HOUR], ['consideration', 'evaluation', 4 * HOUR + 1], ['interest', 'consideration', 3 * HOUR + 2], ['awareness', 'interest', HOUR + 1], [null, 'awareness', HOUR],
    ]);
    expect(await scoreItems(j, BOB)).toEqual(bobAwards);
    expect((await eventsOf(j, BOB)).filter((e) => e[1] !== 'server')).toEqual([
      ['pageview', P, HOUR], ['newsletter_signup', P, HOUR + 1], ['newsletter_signup', TB, 3 * HOUR + 1], ['pageview', TB, 3 * HOUR + 2], ['demo_request', L, 4 * HOUR + 1], ['pageview', P, 6 * HOUR],
    ]);
    expect((await eventsOf(j, BOB)).filter((e) => e[1] === 'server').map((e) => [e[0], e[2]])).toEqual([['closed_won', 5 * HOUR]]);

    // stage.changed as each entry was made: Ann's intent (T0+4h) was told before the proposal came; the rebuild then
    // put her in evaluation, above intent, which is told from intent and dated no earlier than it (the timeline keeps
    // T0+2h30m), so a CRM ordering by `at`, then the from→to chain, ends on evaluation; Bob's five moves forward
    expect((await moves(a.leadId)).map(([from, to, at]) => [from, to, at])).toEqual([[null, 'awareness', 0], ['awareness', 'consideration', 1], ['consideration', 'intent', 4 * HOUR], ['intent', 'evaluation', 4 * HOUR]]);
    expect((await moves(b.leadId)).map(([, to, at]) => [to, at])).toEqual([['awareness', HOUR], ['interest', HOUR + 1], ['consideration', 3 * HOUR + 2], ['evaluation', 4 * HOUR + 1], ['purchase', 5 * HOUR]]);

    // two leads on the site, no other (the tablet's anonymous lead merged into Ann)
    const list = await get(j, '/api/leads?limit=50');
    expect(list.items.map((l: any) => l.email).sort()).toEqual([ANN, BOB]);
    expect((await get(j, '/api/leads?sql=true')).items.length).toBe(2);
    expect((await get(j, '/api/leads?mql=true')).items.map((l: any) => l.email).sort()).toEqual([ANN, BOB]);
    expect((await get(j, '/api/leads?stage=evaluation')).items.map((l: any) => l.email)).toEqual([ANN]);

    // the report of [T0, T0+1d): cohort Ann (T0) and Bob (T0+1h). Now: evaluation Ann, purchase Bob.
    // Entered: awareness 2, interest 1 (Bob), consideration 2, intent 0 (Ann's went with the rebuild), evaluation 2,
    // purchase 1. Reached (now in it or later): 2, 2, 2, 2, 2, 1 → next 1, 1, 1, 1, 0.5, null; cumulative 1 … 1, 0.5.
    // Times in stage (entries that moved on): awareness 1 ms (Ann), 1 ms (Bob); interest Bob 1h+1 → 3h+2 = 2h+1;
    // consideration Ann 1 → 2h30m (2h30m − 1), Bob 3h+2 → 4h+1 (1h − 1): p50 1h − 1, p90 2h30m − 1; evaluation Bob
    // 4h+1 → 5h (1h − 1), Ann not moved on
    const r = await get(j, `/api/funnel?from=${iso(T0)}&to=${iso(T0 + DAY)}`);
    expect(r.stages.map((s: any) => [s.stage, s.count, s.entered, s.conversionNext, s.conversionCumulative])).toEqual([
      ['awareness', 0, 2, 1, 1], ['interest', 0, 1, 1, 1], ['consideration', 0, 2, 1, 1], ['intent', 0, 0, 1, 1], ['evaluation', 1, 2, 0.5, 1], ['purchase', 1, 1, null, 0.5],
    ]);
    expect(r.stages.map((s: any) => [s.timeInStage.p50, s.timeInStage.p90])).toEqual([
      [1, 1], [2 * HOUR + 1, 2 * HOUR + 1], [HOUR - 1, 2 * HOUR + 30 * MIN - 1], [null, null], [HOUR - 1, HOUR - 1], [null, null],
    ]);
    // [T0+1h, T0+4h+1): `from` inclusive (Bob created at it: the cohort), `to` exclusive (Bob's evaluation at it: out).
    // Count is now, for every lead. Entered: awareness, interest, consideration Bob; evaluation Ann (2h30m). Reached by
    // Bob (purchase): 1 everywhere. Times: awareness 1 ms, interest 2h+1, consideration 1h − 1 (Bob's entry is in the
    // window; it ended after it); evaluation: Ann's entry has not moved on, Bob's is out: none
    const w = await get(j, `/api/funnel?from=${iso(T0 + HOUR)}&to=${iso(T0 + 4 * HOUR + 1)}`);
    expect(w.stages.map((s: any) => [s.stage, s.count, s.entered, s.conversionNext, s.conversionCumulative])).toEqual([
      ['awareness', 0, 1, 1, 1], ['interest', 0, 1, 1, 1], ['consideration', 0, 1, 1, 1], ['intent', 0, 0, 1, 1], ['evaluation', 1, 1, 1, 1], ['purchase', 1, 0, null, 1],
    ]);
    expect(w.stages.map((s: any) => [s.timeInStage.p50, s.timeInStage.p90])).toEqual([
      [1, 1], [2 * HOUR + 1, 2 * HOUR + 1], [HOUR - 1, HOUR - 1], [null, null], [null, null], [null, null],
    ]);

    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

/**
 * An owner's funnel with a one-day half-life, so scores are read at whole half-lives: four stages, docs pages in three
 * visits (any device), a big enterprise trial by props (a range with an exclusive bound, a glob in any case), the deal.
 * Points: docs once a visit (cap 12), the enterprise trial, a complaint form's negative points (cap 15), pricing, CRM
 * meetings from the second on at most weekly. The bar at 21.5; SQL at the third meeting.
 */
const SIGNALS = {
  stages: ['lurker', 'reader', 'evaluator', 'buyer'],
  stageRules: [
    { id: 'seen', stage: 'lurker', when: {} },
    { id: 'docs_three_visits', stage: 'reader', when: { event: 'pageview', path: '/docs/*', sessions: 3 } },
    { id: 'big_trial', stage: 'evaluator', when: { event: 'trial_started', props: { seats: { gt: 10, lte: 500 }, plan: ['team', 'Enterprise*'] } } },
    { id: 'won', stage: 'buyer', when: { event: 'closed_won', source: 'server' } },
  ],
  scoreRules: [
    { id: 'docs', points: 4, when: { event: 'pageview', path: '/docs/*' }, window: 'session', cap: 12 },
    { id: 'trial', points: 24, when: { event: 'trial_started', props: { plan: 'Enterprise*' } }, cap: 24 },
    { id: 'complaint', points: -6, when: { event: 'form_submit', props: { form: 'complaint' } }, cap: 15 },
    { id: 'pricing', points: 6, when: { event: 'pageview', path: '/pricing' } },
    { id: 'meeting', points: 16, when: { event: 'meeting_held', source: 'server', count: 2 }, window: '7d' },
  ],
  halfLifeDays: 1,
  mqlThreshold: 21.5,
  sqlWhen: [{ event: 'meeting_held', source: 'server', count: 3 }],
};

/** README: each award's scoreAfter is kept to 4 decimals and later decay runs from it. `[points, at]` in time order. */
function chain(awards: Array<[number, number]>, halfLifeMs: number) {
  let s = 0;
  let last = 0;
  return awards.map(([p, at]) => {
    s = Math.round((s * Math.pow(0.5, (at - last) / halfLifeMs) + p) * 10000) / 10000 || 0; // −0 is 0
    last = at;
    return s;
  });
}

describe('an owner\'s funnel read at whole half-lives', () => {
  test('negative points decay toward zero, an MQL at a score equal to the bar, taken away by a merged phone and met again later; replay agrees', async () => {
    const j = await open();
    expect((await putConfig(j, SIGNALS)).status).toBe(200);
    await hook(j, 'mql', ['lead.mql']);
    const KIM = 'kim@kim10.test';
    const KL = 'v_j10_kimlapt1';
    const KP = 'v_j10_kimphon1';

    // the laptop at T0: /docs/a (seen; docs +4: 4), /docs/b (same visit: nothing)
    await j.visit(KL, [{ path: '/docs/a' }, { path: '/docs/b' }], T0);
    // T0+1d (a new visit): /docs/c: docs +4 on 4·½ = 2 → 6. T0+1d+1 the complaint form (its marker as `f`, as the
    // snippet sends it; identifies Kim): −6 → 6·½^(1 ms/1 d) − 6 ≈ −5e-8, kept as 0
    await j.visit(KL, [{ path: '/docs/c' }, { n: 'form_submit', f: 'complaint' as never, path: '/docs/c', em: KIM }], T0 + DAY);
    // the phone at T0+1d+2, anonymous: /docs/x. Its own lead: seen, docs +4
    await j.visit(KP, [{ path: '/docs/x' }], T0 + DAY + 2);
    // the laptop at T0+2d: /docs/d: Kim's third docs visit → reader; docs +4 (cap 12 reached): 0 + 4 = 4. Two more
    // complaints: −6 (4 − 6 = −2), −3 (the cap of 15 leaves 3 after 6 + 6: −5). A trial of exactly 10 seats on the team plan: no
    // stage (10 is not > 10), no points (not Enterprise*)
    await j.visit(KL, [
      { path: '/docs/d' }, { n: 'form_submit', f: 'complaint' as never, path: '/docs/d', em: KIM }, { n: 'form_submit', f: 'complaint' as never, path: '/docs/d', em: KIM },
      { n: 'trial_started', path: '/trial', p: { seats: 10, plan: 'team' } },
    ], T0 + 2 * DAY);
    // T0+3d+2 (one half-life after the −3 of T0+2d+2): an enterprise trial of 11 seats: evaluator; trial +24 on
    // −5·½ = −2.5 → 21.5, exactly the bar: an MQL then (the raw sum of points is 21; decay lifted the negative part)
    await j.visit(KL, [{ n: 'trial_started', path: '/trial', p: { seats: 11, plan: 'enterprise-annual' } }], T0 + 3 * DAY + 2);

    let kim = await profile(j, KIM);
    expect(kim).toMatchObject({ stage: 'evaluator', mql: true, mqlAt: iso(T0 + 3 * DAY + 2), sql: false });
    expect(kim.score).toBeCloseTo(21.5, 3);
    expect(await stageItems(j, KIM)).toEqual([['reader', 'evaluator', 3 * DAY + 2], ['lurker', 'reader', 2 * DAY], [null, 'lurker', 0]]);
    expect((await scoreItems(j, KIM)).map((i) => [i[0], i[1], i[2]])).toEqual([
      ['trial', 24, 3 * DAY + 2], ['complaint', -3, 2 * DAY + 2], ['complaint', -6, 2 * DAY + 1], ['docs', 4, 2 * DAY], ['complaint', -6, DAY + 1], ['docs', 4, DAY], ['docs', 4, 0],
    ]);
    expect((await deliveries(j, 'lead.mql')).length).toBe(1);

    // the phone identifies as Kim at T0+4d: its anonymous lead merges into hers, rebuilt in time order:
    //   T0 docs +4 → 4; T0+1d docs +4 → 6; T0+1d+1 complaint −6 → 0; T0+1d+2 the phone's /docs/x: the third docs
    //   visit (reader now) and docs +4 → 4 (cap 12 reached); T0+2d /docs/d: no docs points (cap); T0+2d+1 −6 →
    //   4·½^(1 d − 1 ms) − 6 ≈ −4; T0+2d+2 −3 → −7; T0+3d+2 trial: −7·½ + 24 = 20.5 < 21.5: no MQL any more
    await j.visit(KP, [{ n: 'identify', em: KIM }], T0 + 4 * DAY);
    kim = await profile(j, KIM);
    expect(kim).toMatchObject({ stage: 'evaluator', mql: false, mqlAt: null, createdAt: iso(T0) });
    expect([...kim.visitorIds].sort()).toEqual([KL, KP].sort());
    expect(kim.score).toBeCloseTo(20.5 * Math.pow(0.5, (DAY - 2) / DAY), 3);
    expect(await stageItems(j, KIM)).toEqual([['reader', 'evaluator', 3 * DAY + 2], ['lurker', 'reader', DAY + 2], [null, 'lurker', 0]]);

    // the CRM: meetings at T0+4d+2 (the first: nothing), T0+5d+2 (+16 on 20.5·¼ = 5.125 → 21.125 < 21.5), T0+6d+2
    // (inside the week: nothing; the third: SQL then), T0+12d+2 (exactly 7 days after the last award: allowed; +16 on
    // 21.125/128 → 16.1650); the deal at T0+13d: buyer
    j.clock.now = T0 + 13 * DAY;
    await postEvents(j, [4, 5, 6, 12].map((d) => ({ id: `kim-meeting-${d}`, email: KIM, name: 'meeting_held', at: iso(T0 + d * DAY + 2) })));
    await postEvents(j, { id: 'kim-won', email: KIM, name: 'closed_won', at: iso(T0 + 13 * DAY) });
    // a late pricing page of the laptop dated T0+12d+3 (its outbox): +6 on 16.1650 → 22.1650 ≥ 21.5: the MQL now
    await j.visit(KL, [{ path: '/pricing' }], T0 + 12 * DAY + 3);

    const awards: Array<[string, number, number]> = [
      ['docs', 4, 0], ['docs', 4, DAY], ['complaint', -6, DAY + 1], ['docs', 4, DAY + 2], ['complaint', -6, 2 * DAY + 1], ['complaint', -3, 2 * DAY + 2],
      ['trial', 24, 3 * DAY + 2], ['meeting', 16, 5 * DAY + 2], ['meeting', 16, 12 * DAY + 2], ['pricing', 6, 12 * DAY + 3],
    ];
    const after = chain(awards.map(([, p, at]) => [p, T0 + at]), DAY);
    // the chain worked by hand above: 4, 6, 0, 4, −4, −7, 20.5, 21.125, 16.165, 22.165
    expect(after).toEqual([4, 6, 0, 4, -4, -7, 20.5, 21.125, 16.165, 22.165]);

    j.clock.now = T0 + 14 * DAY;
    kim = await profile(j, KIM);
    expect(kim).toMatchObject({
      stage: 'buyer', stageEnteredAt: iso(T0 + 13 * DAY), mql: true, mqlAt: iso(T0 + 12 * DAY + 3), sql: true, sqlAt: iso(T0 + 6 * DAY + 2), createdAt: iso(T0),
    });
    // read at T0+14d: 22.165·½^((2 d − 3 ms)/1 d)
    expect(kim.score).toBeCloseTo(22.165 * Math.pow(0.5, (2 * DAY - 3) / DAY), 3);
    const items = (await timeline(j, KIM, 'types=score&limit=100')).items;
    expect(items.map((i) => [i.rule, i.points, Date.parse(i.at) - T0])).toEqual([...awards].reverse());
    expect(items.map((i) => Number(i.scoreAfter) || 0)).toEqual([...after].reverse());
    expect(await stageItems(j, KIM)).toEqual([['evaluator', 'buyer', 13 * DAY], ['reader', 'evaluator', 3 * DAY + 2], ['lurker', 'reader', DAY + 2], [null, 'lurker', 0]]);
    // lead.mql was told once, for the first crossing; the crossing met again is not told again
    expect((await deliveries(j, 'lead.mql')).length).toBe(1);

    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

describe('the report by touch when a device merges into a lead and another device leaves it in the middle of a visit', () => {
  const alpha = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'alpha' };
  const beta = { utm_source: 'linkedin', utm_medium: 'paid', utm_campaign: 'beta' };
  const gamma = { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'gamma' };
  const delta = { utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'delta' };

  test('linear splits Cat over the four visits opened under her (the merged phone\'s two, the laptop\'s last before it left); Dan over his own', async () => {
    const j = await open();
    const X = 'v_j10_catlapt1';
    const Y = 'v_j10_catphon1';
    const CAT = 'cat@cat10.test';
    const DAN = 'dan@dan10.test';
    // the laptop at T0 from alpha: / (awareness), identify as Cat: her visit X1 (alpha)
    await j.visit(X, [{ path: '/', ft: alpha, st: alpha }, { n: 'identify', em: CAT, ft: alpha, st: alpha }], T0);
    // the phone at T0+1h from beta, anonymous: /pricing (its visit Y1). At T0+2h from gamma (a new visit, Y2): /blog,
    // identify as Cat: the phone's anonymous lead merges into hers. Cat in time order: X1 at T0 (awareness); Y1 at
    // T0+1h: her second visit (interest) and pricing (consideration); Y2 at T0+2h
    await j.visit(Y, [{ path: '/pricing', ft: beta, st: beta }], T0 + HOUR);
    await j.visit(Y, [{ path: '/blog', ft: beta, st: gamma }, { n: 'identify', em: CAT, ft: beta, st: gamma }], T0 + 2 * HOUR);
    // the laptop at T0+3h from gamma (visit X3, opened under Cat): /pricing: pricing in two visits (Y1, X3): intent.
    // At T0+3h+1 the demo form as Dan: the laptop goes to Dan from there (awareness and evaluation at T0+3h+1); Dan has
    // no visit opened under him yet
    await j.visit(X, [{ path: '/pricing', ft: alpha, st: gamma }, { n: 'demo_request', f: 'demo', path: '/pricing', em: DAN, ft: alpha, st: gamma }], T0 + 3 * HOUR);
    // the laptop at T0+5h from delta: /about, Dan's own visit X4
    await j.visit(X, [{ path: '/about', ft: alpha, st: delta }], T0 + 5 * HOUR);

    const cat = await profile(j, CAT);
    const dan = await profile(j, DAN);
    expect(cat).toMatchObject({ stage: 'intent', stageEnteredAt: iso(T0 + 3 * HOUR), createdAt: iso(T0), firstTouch: { utm_campaign: 'alpha' } });
    // Cat's last touch: the visit that began last among hers, X3 (gamma), at its start
    expect(cat.lastTouch).toMatchObject({ utm_campaign: 'gamma', at: iso(T0 + 3 * HOUR) });
    expect(await stageItems(j, CAT)).toEqual([['consideration', 'intent', 3 * HOUR], ['interest', 'consideration', HOUR], ['awareness', 'interest', HOUR], [null, 'awareness', 0]]);
    expect(dan).toMatchObject({ stage: 'evaluation', stageEnteredAt: iso(T0 + 3 * HOUR + 1), createdAt: iso(T0 + 3 * HOUR + 1), sql: true });
    expect(dan.lastTouch).toMatchObject({ utm_campaign: 'delta', at: iso(T0 + 5 * HOUR) });

    // the report of [T0, T0+1d): cohort Cat and Dan (the phone's lead merged). Now: intent Cat, evaluation Dan.
    // Entered: awareness 2, interest 1, consideration 1, intent 1, evaluation 1. Reached: 2, 2, 2, 2, 1, 0
    const q = `from=${iso(T0)}&to=${iso(T0 + DAY)}`;
    const r = await get(j, `/api/funnel?${q}`);
    expect(r.stages.map((s: any) => [s.count, s.entered, s.reached])).toEqual([[0, 2, 2], [0, 1, 2], [0, 1, 2], [1, 1, 2], [1, 1, 1], [0, 0, 0]]);
    // linear: Cat over X1 alpha, Y1 beta, Y2 gamma, X3 gamma: ¼, ¼, ½; Dan over X4 delta alone (the visit he entered in
    // the middle, X3, is Cat's: it was opened under her)
    const lin = await get(j, `/api/funnel?${q}&breakdown=campaign&attribution=linear`);
    const by = (x: any) => Object.fromEntries(x.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => [s.count, s.entered, s.reached])]));
    const cat4 = (f: number) => [[0, f, f], [0, f, f], [0, f, f], [f, f, f], [0, 0, 0], [0, 0, 0]];
    expect(by(lin)).toEqual({
      alpha: cat4(0.25), beta: cat4(0.25), gamma: cat4(0.5),
      delta: [[0, 1, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0]],
    });
    // a time in stage counts whole under every key of its lead: Cat's awareness 1h (T0 → T0+1h), interest 0 (entered
    // with consideration), consideration 2h (T0+1h → T0+3h) under alpha, beta and gamma; Dan's awareness 0 under delta
    const times = Object.fromEntries(lin.breakdown.map((g: any) => [g.key, g.stages.slice(0, 3).map((s: any) => s.timeInStage.p50)]));
    expect(times).toEqual({ alpha: [HOUR, 0, 2 * HOUR], beta: [HOUR, 0, 2 * HOUR], gamma: [HOUR, 0, 2 * HOUR], delta: [0, null, null] });
    // last touch: Cat whole under gamma, Dan under delta
    const last = await get(j, `/api/funnel?${q}&breakdown=campaign&attribution=last`);
    expect(by(last)).toEqual({ gamma: cat4(1), delta: [[0, 1, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0]] });
    // first touch: Cat whole under alpha
    const first = await get(j, `/api/funnel?${q}&breakdown=campaign&attribution=first`);
    expect(by(first).alpha).toEqual(cat4(1));

    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

describe('a tablet that goes from Ann to Bob: late pages and CRM events by visitor id at the edges of the switch', () => {
  test('a late page in Ann\'s period is hers (it moves her second visit\'s awards and interest back); the switch\'s own millisecond is Bob\'s', async () => {
    const j = await open();
    const T = 'v_j10_edgetab1';
    const A = 'ann@edge10.test';
    const B = 'bob@edge10.test';
    // T0: / (Ann's awareness; visit +2), identify as Ann
    await j.visit(T, [{ path: '/' }, { n: 'identify', em: A }], T0);
    // T0+1h, a new visit: /docs is Ann's (her second visit: interest; visit +2, return_visit +5 → 9); identify as Bob at
    // T0+1h+1 (the tablet is Bob's from that millisecond: a new lead, awareness); /pricing at T0+1h+2 is Bob's
    // (consideration; visit +2, pricing_view +10 → 12)
    await j.visit(T, [{ path: '/docs' }, { n: 'identify', em: B }, { path: '/pricing' }], T0 + HOUR);
    let ann = await profile(j, A);
    expect(await stageItems(j, A)).toEqual([['awareness', 'interest', HOUR], [null, 'awareness', 0]]);
    expect(await scoreItems(j, A)).toEqual([['return_visit', 5, HOUR], ['visit', 2, HOUR], ['visit', 2, 0]]);

    // the outbox sends /blog dated T0+50m late: 10 minutes before the second visit's first page, so it opens that visit
    // (README, late events). It is Ann's (the tablet was hers then): her second visit now begins at T0+50m, so its
    // visit and return_visit awards and her interest entry move there
    j.clock.now = T0 + 2 * HOUR;
    await j.visit(T, [{ path: '/blog' }], T0 + 50 * MIN);
    expect(await stageItems(j, A)).toEqual([['awareness', 'interest', 50 * MIN], [null, 'awareness', 0]]);
    expect(await scoreItems(j, A)).toEqual([['return_visit', 5, 50 * MIN], ['visit', 2, 50 * MIN], ['visit', 2, 0]]);

    // the CRM names the tablet by visitor id: demo_completed at T0+1h (Ann's: evaluation then; +20 → 29), and
    // proposal_sent at T0+1h+1, the millisecond of the switch (Bob's: evaluation; +10)
    j.clock.now = T0 + 3 * HOUR;
    await postEvents(j, [
      { id: 'edge-demo', visitorId: T, name: 'demo_completed', at: iso(T0 + HOUR) },
      { id: 'edge-proposal', visitorId: T, name: 'proposal_sent', at: iso(T0 + HOUR + 1) },
    ]);
    ann = await profile(j, A);
    const bob = await profile(j, B);
    expect(ann).toMatchObject({ stage: 'evaluation', stageEnteredAt: iso(T0 + HOUR), createdAt: iso(T0), visitorIds: [T] });
    expect(ann.score).toBeCloseTo(worth([[2, T0], [2, T0 + 50 * MIN], [5, T0 + 50 * MIN], [20, T0 + HOUR]], j.clock.now, 90 * DAY), 2);
    expect(await stageItems(j, A)).toEqual([['interest', 'evaluation', HOUR], ['awareness', 'interest', 50 * MIN], [null, 'awareness', 0]]);
    // (two events of T0+1h: the timeline's order within a millisecond is its own; compared by time, then name)
    const byTime = (x: unknown[][]) => x.map((e) => [e[0], e[2]] as [string, number]).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
    expect(byTime(await eventsOf(j, A))).toEqual([['pageview', 0], ['pageview', 50 * MIN], ['demo_completed', HOUR], ['pageview', HOUR]]);
    // Bob: awareness and evaluation at T0+1h+1 (consideration at the pricing page after is below: skipped); proposal
    // +10, visit +2, pricing_view +10 → 22
    expect(bob).toMatchObject({ stage: 'evaluation', stageEnteredAt: iso(T0 + HOUR + 1), createdAt: iso(T0 + HOUR + 1), visitorIds: [T] });
    expect(bob.score).toBeCloseTo(worth([[10, T0 + HOUR + 1], [2, T0 + HOUR + 2], [10, T0 + HOUR + 2]], j.clock.now, 90 * DAY), 2);
    expect(await stageItems(j, B)).toEqual([['awareness', 'evaluation', HOUR + 1], [null, 'awareness', HOUR + 1]]);
    expect((await eventsOf(j, B)).map((e) => [e[0], e[2]])).toEqual([['proposal_sent', HOUR + 1], ['pageview', HOUR + 2]]);

    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

describe('the CRM before the browser, then the browser after the deal', () => {
  test('sales_accepted by a visitor id never seen, demo_completed for an unknown email; the device joins her; the deal by the merged-away id; a demo after the deal', async () => {
    const j = await open();
    const V = 'v_j10_evelapt1';
    const EVE = 'eve@eve10.test';
    await hookStages(j);
    j.clock.now = T0 + HOUR;
    // T0: accepted by sales, naming a device never seen: an anonymous lead, awareness (a lead's first server event) and
    // SQL then. T0+1h: demo_completed for an email never seen: Eve's lead, awareness and evaluation; +20
    await postEvents(j, { id: 'eve-acc', visitorId: V, name: 'sales_accepted', at: iso(T0) });
    const anon = await profile(j, V);
    expect(anon).toMatchObject({ email: null, stage: 'awareness', sql: true, sqlAt: iso(T0), createdAt: iso(T0) });
    await postEvents(j, { id: 'eve-demo', email: EVE, name: 'demo_completed', at: iso(T0 + HOUR) });
    // the device's first pages at T0+2h: /pricing (its lead: consideration; visit +2, pricing_view +10), then identify
    // as Eve at T0+2h+1: an anonymous lead with a known email merges into hers, rebuilt in time order: awareness at T0
    // (the acceptance), SQL at T0, evaluation at T0+1h (+20), the pricing view below evaluation (+2, +10 → 32)
    await j.visit(V, [{ path: '/pricing' }, { n: 'identify', em: EVE }], T0 + 2 * HOUR);
    let eve = await profile(j, EVE);
    expect(eve).toMatchObject({ stage: 'evaluation', stageEnteredAt: iso(T0 + HOUR), sql: true, sqlAt: iso(T0), mql: false, createdAt: iso(T0), visitorIds: [V] });
    // the deal at T0+3h names the anonymous lead's id, an alias of Eve now: purchase
    j.clock.now = T0 + 3 * HOUR;
    await postEvents(j, { id: 'eve-won', leadId: anon.leadId, name: 'closed_won', at: iso(T0 + 3 * HOUR) });
    // the next day, a new visit: /pricing (visit +2, return_visit +5 (her second visit), pricing_view: 22 h after the
    // last: nothing; pricing in two visits is intent, below purchase) → 39; a demo request at T0+1d+1: +30 → 69 ≥ 50:
    // MQL then; SQL stays at T0; the stage stays purchase
    await j.visit(V, [{ path: '/pricing' }, { n: 'demo_request', f: 'demo', path: '/pricing', em: EVE }], T0 + DAY);
    eve = await profile(j, EVE);
    expect(eve).toMatchObject({ leadId: (await profile(j, anon.leadId)).leadId, stage: 'purchase', stageEnteredAt: iso(T0 + 3 * HOUR), sql: true, sqlAt: iso(T0), mql: true, mqlAt: iso(T0 + DAY + 1), createdAt: iso(T0) });
    expect(eve.score).toBeCloseTo(worth([[20, T0 + HOUR], [2, T0 + 2 * HOUR], [10, T0 + 2 * HOUR], [2, T0 + DAY], [5, T0 + DAY], [30, T0 + DAY + 1]], j.clock.now, 90 * DAY), 2);
    expect(await stageItems(j, EVE)).toEqual([['evaluation', 'purchase', 3 * HOUR], ['awareness', 'evaluation', HOUR], [null, 'awareness', 0]]);
    expect(await scoreItems(j, EVE)).toEqual([
      ['demo_request', 30, DAY + 1], ['return_visit', 5, DAY], ['visit', 2, DAY], ['pricing_view', 10, 2 * HOUR], ['visit', 2, 2 * HOUR], ['demo_completed', 20, HOUR],
    ]);
    // one lead on the site; the report of [T0, T0+2d): Eve alone. Entered awareness, evaluation, purchase; reached 1
    // everywhere; awareness T0 → T0+1h, evaluation T0+1h → T0+3h
    expect((await get(j, '/api/leads')).items).toHaveLength(1);
    const r = await get(j, `/api/funnel?from=${iso(T0)}&to=${iso(T0 + 2 * DAY)}`);
    expect(r.stages.map((s: any) => [s.count, s.entered, s.reached, s.conversionNext, s.conversionCumulative])).toEqual([
      [0, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 1, 1, 1, 1], [1, 1, 1, null, 1],
    ]);
    expect(r.stages.map((s: any) => s.timeInStage.p50)).toEqual([HOUR, null, null, null, 2 * HOUR, null]);

    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

/**
 * Twelve visits of one person, alternating a laptop and a phone hourly, under rules that count visits: a point per
 * visit (no cap), 3 points per visit from the third on (cap 12), pricing at most every 3 hours; regular at the third
 * visit, fan at the sixth pricing view once pricing was seen in four visits. No half-life: the score is the sum.
 */
const VISITS = {
  stages: ['new', 'regular', 'fan'],
  stageRules: [
    { id: 'seen', stage: 'new', when: {} },
    { id: 'third_visit', stage: 'regular', when: { source: 'web', sessions: 3 } },
    { id: 'pricing_fan', stage: 'fan', when: { event: 'pageview', path: '/pricing', sessions: 4, count: 6 } },
  ],
  scoreRules: [
    { id: 'visit', points: 1, when: { event: 'pageview' }, window: 'session' },
    { id: 'loyal', points: 3, when: { source: 'web', sessions: 3 }, window: 'session', cap: 12 },
    { id: 'pricing', points: 5, when: { event: 'pageview', path: '/pricing' }, window: '3h' },
  ],
  halfLifeDays: null,
  mqlThreshold: 30,
  sqlWhen: [],
};

describe('twelve visits on two devices, then two late pages that change the count of visits and of pricing views', () => {
  test('awards per visit from the Nth on under a cap, a 3-hour window met exactly, stage entries that move back; replay agrees', async () => {
    const j = await open();
    expect((await putConfig(j, VISITS)).status).toBe(200);
    const LAP = 'v_j10_ivylapt1';
    const PHO = 'v_j10_ivyphon1';
    const IVY = 'ivy@ivy10.test';
    // visit k (k = 0…11) at T0+k·h, the laptop when k is even, the phone when odd: /pricing, / (and identify as Ivy in
    // the first visit of each device: the phone's anonymous lead merges into hers at T0+1h+2)
    for (let k = 0; k < 12; k++) {
      const events = [{ path: '/pricing' }, { path: '/' }, ...(k < 2 ? [{ n: 'identify', em: IVY }] : [])];
      await j.visit(k % 2 ? PHO : LAP, events, T0 + k * HOUR);
    }
    // awards in time order (visit k at T0+k·h): visit +1 in each (12); loyal +3 in visits 2, 3, 4, 5 (cap 12);
    // pricing +5 at 0h, 3h (exactly 3 hours after: allowed), 6h, 9h (20) → 44. Running: 6, 7, 11, 20, 24, 28, then
    // visit 6: 29 (visit), 34 (pricing): MQL at T0+6h. Stages: new 0, regular at visit 2 (T0+2h), fan at the sixth
    // pricing view, visit 5 (T0+5h; pricing in six visits by then)
    let ivy = await profile(j, IVY);
    expect(ivy).toMatchObject({ stage: 'fan', stageEnteredAt: iso(T0 + 5 * HOUR), score: 44, mql: true, mqlAt: iso(T0 + 6 * HOUR), sql: false, createdAt: iso(T0) });
    expect(await stageItems(j, IVY)).toEqual([['regular', 'fan', 5 * HOUR], ['new', 'regular', 2 * HOUR], [null, 'new', 0]]);

    // the laptop's outbox: /pricing dated T0+10m joins visit 0 (at most 30 minutes after its last event): no new visit,
    // no visit award, pricing inside its 3 hours. But it is a pricing view: the sixth now comes at visit 4 (T0+4h),
    // pricing seen in five visits by then: fan at T0+4h. Score 44
    await j.visit(LAP, [{ path: '/pricing' }], T0 + 10 * MIN);
    ivy = await profile(j, IVY);
    expect(ivy).toMatchObject({ stage: 'fan', stageEnteredAt: iso(T0 + 4 * HOUR), score: 44, mqlAt: iso(T0 + 6 * HOUR) });
    expect(await stageItems(j, IVY)).toEqual([['regular', 'fan', 4 * HOUR], ['new', 'regular', 2 * HOUR], [null, 'new', 0]]);

    // the phone's outbox: /about dated T0+1h45m: 44:59.998 after the phone's visit 1 ended, 1h15m before its visit 3:
    // a past visit of its own (X). Visits in time order: 0, 1, X, 2, 3, …: regular at X (T0+1h45m); visit +1 at X (13);
    // loyal +3 at X, 2, 3, 4 (cap reached; none at 5). Score 45. Running: 0h 6, 1h 7, X 8 → 11, 2h 12 → 15, 3h 16 →
    // 19 → 24, 4h 25 → 28, 5h 29, 6h: visit 30 = the bar (MQL at T0+6h, as before), pricing 35
    await j.visit(PHO, [{ path: '/about' }], T0 + HOUR + 45 * MIN);
    ivy = await profile(j, IVY);
    expect(ivy).toMatchObject({ stage: 'fan', stageEnteredAt: iso(T0 + 4 * HOUR), score: 45, mql: true, mqlAt: iso(T0 + 6 * HOUR) });
    expect(await stageItems(j, IVY)).toEqual([['regular', 'fan', 4 * HOUR], ['new', 'regular', HOUR + 45 * MIN], [null, 'new', 0]]);
    const items = (await timeline(j, IVY, 'types=score&limit=100')).items.map((i) => [i.rule, i.points, Date.parse(i.at) - T0, Number(i.scoreAfter)]);
    const X = HOUR + 45 * MIN;
    expect(items.reverse()).toEqual([
      ['visit', 1, 0, 1], ['pricing', 5, 0, 6], ['visit', 1, HOUR, 7], ['visit', 1, X, 8], ['loyal', 3, X, 11],
      ['visit', 1, 2 * HOUR, 12], ['loyal', 3, 2 * HOUR, 15], ['visit', 1, 3 * HOUR, 16], ['loyal', 3, 3 * HOUR, 19], ['pricing', 5, 3 * HOUR, 24],
      ['visit', 1, 4 * HOUR, 25], ['loyal', 3, 4 * HOUR, 28], ['visit', 1, 5 * HOUR, 29], ['visit', 1, 6 * HOUR, 30], ['pricing', 5, 6 * HOUR, 35],
      ['visit', 1, 7 * HOUR, 36], ['visit', 1, 8 * HOUR, 37], ['visit', 1, 9 * HOUR, 38], ['pricing', 5, 9 * HOUR, 43], ['visit', 1, 10 * HOUR, 44], ['visit', 1, 11 * HOUR, 45],
    ]);

    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

describe('a late page bridges a campaign visit and a direct visit 40 minutes later', () => {
  const alpha = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'alpha' };

  test('one visit again: the last touch, the report by last touch and the linear split follow it; replay agrees', async () => {
    const j = await open();
    const V = 'v_j10_zedlapt1';
    const ZED = 'zed@zed10.test';
    // T0 from alpha: / (awareness; visit +2). T0+40m, direct (no campaign), a second visit: /pricing: interest (second
    // visit) and consideration; visit +2, return_visit +5, pricing_view +10 → 19; identify as Zed
    await j.visit(V, [{ path: '/', ft: alpha, st: alpha }], T0);
    await j.visit(V, [{ path: '/pricing', ft: alpha, st: { url: 'http://127.0.0.1/pricing', at: T0 + 40 * MIN } }, { n: 'identify', em: ZED, ft: alpha, st: { url: 'http://127.0.0.1/pricing', at: T0 + 40 * MIN } }], T0 + 40 * MIN);
    let zed = await profile(j, ZED);
    expect(zed).toMatchObject({ stage: 'consideration', firstTouch: { utm_campaign: 'alpha' } });
    expect(zed.lastTouch.at).toBe(iso(T0 + 40 * MIN));
    expect(zed.lastTouch.utm_campaign).toBeUndefined();
    const q = `from=${iso(T0)}&to=${iso(T0 + DAY)}&breakdown=campaign`;
    const keyed = async (attribution: string) =>
      Object.fromEntries((await get(j, `/api/funnel?${q}&attribution=${attribution}`)).breakdown.map((g: any) => [g.key, g.stages.map((s: any) => [s.count, s.entered, s.reached])]));
    const whole = (f: number) => [[0, f, f], [0, f, f], [f, f, f], [0, 0, 0], [0, 0, 0], [0, 0, 0]];
    expect(await keyed('last')).toEqual({ '(none)': whole(1) });
    expect(await keyed('linear')).toEqual({ alpha: whole(0.5), '(none)': whole(0.5) });

    // the outbox: /blog at T0+20m from alpha joins the first visit (20 minutes after its page), which now ends 20
    // minutes before the direct visit, which started no new campaign: the two are one visit (README, late events).
    // Zed in time order: awareness T0, consideration T0+40m (no second visit: interest goes); visit +2, pricing +10 → 12;
    // her last touch is the one visit, from alpha, at T0
    j.clock.now = T0 + HOUR;
    await j.visit(V, [{ path: '/blog', ft: alpha, st: alpha }], T0 + 20 * MIN);
    zed = await profile(j, ZED);
    expect(zed).toMatchObject({ stage: 'consideration', stageEnteredAt: iso(T0 + 40 * MIN), lastTouch: { utm_campaign: 'alpha', at: iso(T0) } });
    expect(zed.score).toBeCloseTo(worth([[2, T0], [10, T0 + 40 * MIN]], j.clock.now, 90 * DAY), 2);
    expect(await stageItems(j, ZED)).toEqual([['awareness', 'consideration', 40 * MIN], [null, 'awareness', 0]]);
    expect(await scoreItems(j, ZED)).toEqual([['pricing_view', 10, 40 * MIN], ['visit', 2, 0]]);
    const one = [[0, 1, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0]];
    expect(await keyed('last')).toEqual({ alpha: one });
    expect(await keyed('linear')).toEqual({ alpha: one });
    expect(await keyed('first')).toEqual({ alpha: one });

    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

describe('a late page of a visit long past, on a device with many visits since', () => {
  test('ten visits awarded once each; late pages inside them add nothing; a late page from a campaign inside a visit is a visit of its own', async () => {
    const j = await open();
    expect((await putConfig(j, { ...VISITS, scoreRules: [VISITS.scoreRules[0]] })).status).toBe(200);
    const D = 'v_j10_manyvis1';
    // visits k = 0…9 at T0+k·h: / (visit +1 each) → 10; identify in the first
    // (visit 1 has a second page at T0+1h20m)
    for (let k = 0; k < 10; k++) {
      await j.visit(D, [{ path: '/' }, ...(k === 0 ? [{ n: 'identify', em: 'max@max10.test' }] : [])], T0 + k * HOUR);
      if (k === 1) await j.visit(D, [{ path: '/b' }], T0 + HOUR + 20 * MIN);
    }
    expect((await profile(j, 'max@max10.test')).score).toBe(10);
    // late pages at T0+10m (visit 0: 10 minutes after its page) and T0+4h+10m (visit 4): in visits already awarded
    j.clock.now = T0 + 10 * HOUR;
    await j.visit(D, [{ path: '/late-a' }], T0 + 10 * MIN);
    await j.visit(D, [{ path: '/late-b' }], T0 + 4 * HOUR + 10 * MIN);
    expect((await profile(j, 'max@max10.test')).score).toBe(10);
    // a late page at T0+2h45m: 45 minutes after visit 2's page, 15 before visit 3's: it joins visit 3 (a run ending at
    // most 30 minutes before a visit's first page), already awarded: still 10, and visit 3's award moves to it
    await j.visit(D, [{ path: '/late-c' }], T0 + 2 * HOUR + 45 * MIN);
    expect((await profile(j, 'max@max10.test')).score).toBe(10);
    const items = (await timeline(j, 'max@max10.test', 'types=score&limit=100')).items.map((i) => Date.parse(i.at) - T0).reverse();
    expect(items).toEqual([0, HOUR, 2 * HOUR, 2 * HOUR + 45 * MIN, 4 * HOUR, 5 * HOUR, 6 * HOUR, 7 * HOUR, 8 * HOUR, 9 * HOUR]);

    // a late page from a campaign at T0+1h10m, inside visit 1 (no campaign): an event with a campaign joins only a visit
    // of that campaign, so it opens a past visit of its own, inside visit 1: a visit award, 11. Then late pages at
    // T0+1h12m from the same campaign (joins that visit) and at T0+1h15m without one (joins visit 1): nothing more
    const zeta = { utm_source: 'zeta', utm_medium: 'email', utm_campaign: 'zeta' };
    await j.visit(D, [{ path: '/z', st: zeta }], T0 + HOUR + 10 * MIN);
    expect((await profile(j, 'max@max10.test')).score).toBe(11);
    await j.visit(D, [{ path: '/z2', st: zeta }], T0 + HOUR + 12 * MIN);
    await j.visit(D, [{ path: '/c' }], T0 + HOUR + 15 * MIN);
    expect((await profile(j, 'max@max10.test')).score).toBe(11);
    const after = (await timeline(j, 'max@max10.test', 'types=score&limit=100')).items.map((i) => Date.parse(i.at) - T0).reverse();
    expect(after).toEqual([0, HOUR, HOUR + 10 * MIN, 2 * HOUR, 2 * HOUR + 45 * MIN, 4 * HOUR, 5 * HOUR, 6 * HOUR, 7 * HOUR, 8 * HOUR, 9 * HOUR]);
    const live = await j.snapshot();
    await replay(j);
    expect(await j.snapshot()).toEqual(live);
  });
});

describe('rules changed, then a device of A identifies as B', () => {
  test('A receives no event, so A keeps what the old rules gave it until replay; B is folded under the new rules', async () => {
    const j = await open();
    const D = 'v_j10_rulesw01';
    // default rules: /pricing at T0 (awareness, consideration; visit +2, pricing_view +10 → 12), identify as Ada
    await j.visit(D, [{ path: '/pricing' }, { n: 'identify', em: 'ada@ada10.test' }], T0);
    const defaults = await get(j, '/api/config/funnel');
    // new rules: pricing_view gives 40
    const changed = { ...defaults, scoreRules: defaults.scoreRules.map((r: any) => (r.id === 'pricing_view' ? { ...r, points: 40, cap: 120 } : r)) };
    expect((await putConfig(j, changed)).status).toBe(200);
    // T0+1h: the device identifies as Ben and opens /pricing: Ben's (awareness, consideration; visit +2, pricing +40)
    await j.visit(D, [{ n: 'identify', em: 'ben@ben10.test' }, { path: '/pricing' }], T0 + HOUR);
    const ben = await profile(j, 'ben@ben10.test');
    expect(ben).toMatchObject({ stage: 'consideration' });
    expect(await scoreItems(j, 'ben@ben10.test')).toEqual([['pricing_view', 40, HOUR + 1], ['visit', 2, HOUR + 1]]);
    // Ada received no event: nothing of hers moves, and her history is not rebuilt under the new rules
    const ada = await profile(j, 'ada@ada10.test');
    expect(ada).toMatchObject({ stage: 'consideration', visitorIds: [D] });
    expect(ada.score).toBeCloseTo(worth([[2, T0], [10, T0]], j.clock.now, 90 * DAY), 2);
    expect(await scoreItems(j, 'ada@ada10.test')).toEqual([['pricing_view', 10, 0], ['visit', 2, 0]]);
    // replay applies the new rules to her history: 2 + 40
    await replay(j);
    expect(await scoreItems(j, 'ada@ada10.test')).toEqual([['pricing_view', 40, 0], ['visit', 2, 0]]);
    expect(await scoreItems(j, 'ben@ben10.test')).toEqual([['pricing_view', 40, HOUR + 1], ['visit', 2, HOUR + 1]]);
  });
});
