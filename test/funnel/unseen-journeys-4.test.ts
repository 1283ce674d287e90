// Journeys on a site whose owner rewrote the rules (PUT /api/config/funnel): stages of its own, stage rules on props,
// page patterns and counts across sessions, score rules with caps, frequency windows, negative points, a 14-day
// half-life and an MQL bar of 40; then the same history replayed after a rule change, refused configs, and segments
// on score, stage, inStage and touch; a late event. Real HTTP (app.request) on a real database; every expected figure is worked out
// by hand from the rules below (README "Funnel engine", contract §6), the comment next to it naming the rule.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engine, get, iso, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { freshPgUrl, tempDir } from '../helpers/test-db.js';
import { DAY, HOUR, T0 } from '../helpers/funnel-factories.js';
import { openDb } from '../../collector/storage/open-db.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import { reevaluateSiteSegments } from '../../collector/segments/recompute-segments.js';

const { open, closeLater } = useJourneys();

async function putConfig(j: Journey, config: unknown) {
  const res = await j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify(config), headers: j.auth });
  return { status: res.status, body: await res.json() };
}
async function putSegment(j: Journey, key: string, definition: unknown) {
  const res = await j.app.request('/api/segments/' + key, { method: 'PUT', body: JSON.stringify({ definition }), headers: j.auth });
  expect([200, 201], JSON.stringify(await res.clone().json())).toContain(res.status);
}
const members = async (j: Journey, key: string) =>
  ((await get(j, `/api/segments/${key}/members?format=json`)).members as Array<{ email: string | null; visitorId: string }>).map((m) => m.email ?? m.visitorId).sort();

const HALF_LIFE = 14 * DAY;
/** Awards [points, at] as worth at `now`: each decays from its own time (README: half-life decay). */
const worth = (awards: Array<[number, number]>, now: number) => awards.reduce((s, [p, at]) => s + p * Math.pow(0.5, (now - at) / HALF_LIFE), 0);

/** Score awards [at − T0, rule, points] in the order they were applied. */
const scoreRules = async (j: Journey, leadId: string) =>
  (await j.db.all<{ rule: string; points: number; at: number }>('SELECT rule, points, at FROM score_changes WHERE site_id = ? AND lead_id = ? ORDER BY at, change_id', [j.site.siteId, leadId]))
    .map((r) => [Number(r.at) - T0, r.rule, Number(r.points)]);

const STAGES = ['visitor', 'reader', 'shopper', 'buyer', 'opportunity', 'customer'];
/** [from, to, at − T0, rule] in time order, then funnel order within one millisecond. */
const stageHistory = async (j: Journey, leadId: string) =>
  (await j.db.all<{ to_stage: string; from_stage: string | null; at: number; rule: string }>('SELECT to_stage, from_stage, at, rule FROM stage_changes WHERE site_id = ? AND lead_id = ?', [j.site.siteId, leadId]))
    .sort((a, b) => Number(a.at) - Number(b.at) || STAGES.indexOf(a.to_stage) - STAGES.indexOf(b.to_stage))
    .map((r) => [r.from_stage, r.to_stage, Number(r.at) - T0, r.rule]);

/**
 * The owner's rules. Stages: visitor → reader (three docs pages, or a second session) → shopper (a team or enterprise
 * plan picked, or pricing in two sessions) → buyer (a seat calculator at 50 seats or more) → opportunity (the CRM's
 * opportunity) → customer (closed_won). Scores: any page 1 (once per 30 minutes, cap 5), docs 4 (once a day, cap 12),
 * pricing 10 (once per session, cap 30), the enterprise plan 15, 50+ seats 20 (cap 20), careers −15 (cap 30), a third
 * session 8 (cap 8), the CRM's opportunity 25, closed_lost −40. Half-life 14 days, MQL at 40, SQL on the opportunity or
 * a form marked contact.
 */
const CUSTOM = {
  stages: STAGES,
  stageRules: [
    { id: 'seen', stage: 'visitor', when: {} },
    { id: 'docs_three', stage: 'reader', when: { event: 'pageview', path: '/docs*', count: 3 } },
    { id: 'second_session', stage: 'reader', when: { source: 'web', sessions: 2 } },
    { id: 'plan_picked', stage: 'shopper', when: { event: 'plan_selected', props: { plan: ['team', 'enterprise'] } } },
    { id: 'pricing_twice', stage: 'shopper', when: { event: 'pageview', path: ['/pricing*', '/plans*'], sessions: 2 } },
    { id: 'many_seats', stage: 'buyer', when: { event: 'calculator', props: { seats: { gte: 50 } } } },
    { id: 'opportunity', stage: 'opportunity', when: { event: 'opportunity_created', source: 'server' } },
    { id: 'won', stage: 'customer', when: { event: 'closed_won', source: 'server' } },
  ],
  scoreRules: [
    { id: 'page', points: 1, when: { event: 'pageview' }, window: '30m', cap: 5 },
    { id: 'docs', points: 4, when: { event: 'pageview', path: '/docs*' }, window: '1d', cap: 12 },
    { id: 'pricing', points: 10, when: { event: 'pageview', path: '/pricing*' }, window: 'session', cap: 30 },
    { id: 'enterprise', points: 15, when: { event: 'plan_selected', props: { plan: 'enterprise' } } },
    { id: 'seats', points: 20, when: { event: 'calculator', props: { seats: { gte: 50 } } }, cap: 20 },
    { id: 'careers', points: -15, when: { event: 'pageview', path: '/careers*' }, cap: 30 },
    { id: 'third_session', points: 8, when: { source: 'web', sessions: 3 }, cap: 8 },
    { id: 'opportunity', points: 25, when: { event: 'opportunity_created', source: 'server' } },
    { id: 'lost', points: -40, when: { event: 'closed_lost', source: 'server' } },
  ],
  halfLifeDays: 14,
  mqlThreshold: 40,
  sqlWhen: [{ event: 'opportunity_created', source: 'server' }, { event: 'form_submit', props: { form: 'contact*' } }],
};

/**
 * Alice: a laptop reads docs and pricing (T0), comes back (T0+2h) for more docs, identifies, looks at careers; her phone
 * (T0+1d) views pricing and picks the enterprise plan anonymously, then identifies as her; the laptop (T0+2d) runs the
 * seat calculator at 20 then 80 seats; the CRM reports an opportunity (T0+3d) and, later, a lost deal (T0+10d).
 */
async function alice(j: Journey) {
  await j.visit('v_al_laptop1', [{ path: '/docs/a' }, { path: '/docs/b' }, { path: '/pricing' }], T0);
  await j.visit('v_al_laptop1', [{ path: '/docs/c' }, { n: 'identify', em: 'alice@alpha.test' }, { path: '/careers' }], T0 + 2 * HOUR);
  await j.visit('v_al_phone01', [{ path: '/pricing' }, { n: 'plan_selected', path: '/pricing', p: { plan: 'enterprise' } }, { n: 'identify', em: 'Alice@Alpha.test' }], T0 + DAY);
  await j.visit('v_al_laptop1', [{ n: 'calculator', path: '/pricing', p: { seats: 20 } }, { n: 'calculator', path: '/pricing', p: { seats: '80' } }], T0 + 2 * DAY);
  j.clock.now = T0 + 10 * DAY + HOUR;
  const r = await j.serverEvents([
    { id: 'crm-al-opp', email: 'alice@alpha.test', name: 'opportunity_created', at: iso(T0 + 3 * DAY) },
    { id: 'crm-al-lost', email: 'alice@alpha.test', name: 'closed_lost', at: iso(T0 + 10 * DAY) },
  ]);
  expect(r.status).toBe(202);
}

/** Alice's awards by hand, [at, rule, points], in the order applied. */
const ALICE_AWARDS: Array<[number, string, number]> = [
  // laptop session 1: page 1, docs 4 (T0); /docs/b in both windows; /pricing: pricing 10 (page still in its 30 min)
  [0, 'page', 1], [0, 'docs', 4], [2, 'pricing', 10],
  // laptop session 2: page 1 (30 min passed; docs still in its day); the identify gives nothing; careers −15
  [2 * HOUR, 'page', 1], [2 * HOUR + 2, 'careers', -15],
  // the phone, merged into Alice: her third session: page 1, pricing 10 (a new session), third_session 8
  [DAY, 'page', 1], [DAY, 'pricing', 10], [DAY, 'third_session', 8],
  // the enterprise plan 15; third_session is capped at 8
  [DAY + 1, 'enterprise', 15],
  // the calculator at 80 seats (a string prop, read as a number): seats 20
  [2 * DAY + 1, 'seats', 20],
  // the CRM
  [3 * DAY, 'opportunity', 25], [10 * DAY, 'lost', -40],
];
const worthOfAwards = (awards: Array<[number, string, number]>, now: number) => worth(awards.map(([at, , p]) => [p, T0 + at]), now);

describe('a site with rules of its own, live', () => {
  test('two devices, forms, props, pricing across sessions and the CRM: stage, score with decay, MQL/SQL as the rules say', async () => {
    const j = await open();
    expect((await putConfig(j, CUSTOM)).status).toBe(200);
    await alice(j);
    const p = await profile(j, 'alice@alpha.test');
    expect(p.visitorIds).toEqual(['v_al_laptop1', 'v_al_phone01']);
    expect(await scoreRules(j, p.leadId)).toEqual(ALICE_AWARDS);
    expect(await stageHistory(j, p.leadId)).toEqual([
      [null, 'visitor', 0, 'seen'],
      // /docs/c is the third docs page and opens the second session: both rules hold; the first listed names it
      ['visitor', 'reader', 2 * HOUR, 'docs_three'],
      // the phone's pricing view is pricing in a second session (T0 on the laptop, T0+1d on the phone)
      ['reader', 'shopper', DAY, 'pricing_twice'],
      ['shopper', 'buyer', 2 * DAY + 1, 'many_seats'],
      ['buyer', 'opportunity', 3 * DAY, 'opportunity'],
    ]);
    // MQL: 35 (less decay) before the calculator, about 54 after it: crossed at T0+2d+1 and kept after the lost deal
    expect(worthOfAwards(ALICE_AWARDS.slice(0, 9), T0 + 2 * DAY)).toBeLessThan(40);
    expect(worthOfAwards(ALICE_AWARDS.slice(0, 10), T0 + 2 * DAY + 1)).toBeGreaterThan(40);
    expect(p).toMatchObject({ stage: 'opportunity', mql: true, mqlAt: iso(T0 + 2 * DAY + 1), sql: true, sqlAt: iso(T0 + 3 * DAY), stageEnteredAt: iso(T0 + 3 * DAY) });
    expect(p.score).toBeCloseTo(worthOfAwards(ALICE_AWARDS, T0 + 10 * DAY + HOUR), 3);
    // read 28 days later: the same awards, two half-lives older
    j.clock.now = T0 + 38 * DAY;
    const later = await profile(j, 'alice@alpha.test');
    expect(later.score).toBeCloseTo(worthOfAwards(ALICE_AWARDS, T0 + 38 * DAY), 3);
    expect(later).toMatchObject({ mql: true, sql: true, stage: 'opportunity' });

    // the timeline explains it: score items newest first, each with the score after it; the stage items in line
    const items = (await timeline(j, p.leadId, 'types=score,stage&limit=500')).items;
    const scores = items.filter((i) => i.kind === 'score');
    expect(scores.map((i) => [Date.parse(i.at) - T0, i.rule, i.points])).toEqual([...ALICE_AWARDS].reverse());
    for (let k = 0; k < ALICE_AWARDS.length; k++) {
      const upTo = ALICE_AWARDS.slice(0, ALICE_AWARDS.length - k);
      expect(scores[k].scoreAfter).toBeCloseTo(worthOfAwards(upTo, T0 + upTo[upTo.length - 1][0]), 3);
    }
    const stages = items.filter((i) => i.kind === 'stage');
    expect(stages.map((i) => [i.from, i.to])).toEqual([['buyer', 'opportunity'], ['shopper', 'buyer'], ['reader', 'shopper'], ['visitor', 'reader'], [null, 'visitor']]);
    // identity in line: the laptop's anonymous lead became Alice at the identify, the phone's merged into her
    const ids = (await timeline(j, p.leadId, 'types=identity')).items.map((i) => [i.name, i.reason, i.visitorId, Date.parse(i.at) - T0]);
    expect(ids[0]).toEqual(['identity_linked', 'merged', 'v_al_phone01', DAY + 2]);
    // paged one item at a time, the whole timeline comes back once, in the same order
    const whole = (await timeline(j, p.leadId, 'limit=500')).items;
    const paged: Array<Record<string, any>> = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof timeline>> = await timeline(j, p.leadId, `limit=3${cursor ? '&cursor=' + cursor : ''}`);
      paged.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && paged.length < 1000);
    expect(paged.map((i) => i.kind + ' ' + i.id)).toEqual(whole.map((i) => i.kind + ' ' + i.id));
    for (let k = 1; k < whole.length; k++) expect(Date.parse(whole[k - 1].at)).toBeGreaterThanOrEqual(Date.parse(whole[k].at));
    // a window and a type: the day of the phone only
    const phoneDay = (await timeline(j, p.leadId, `types=stage,score&from=${T0 + DAY}&to=${iso(T0 + 2 * DAY)}`)).items;
    // (within one millisecond the stage it moved sits above the points: consequences above their cause)
    expect(phoneDay.map((i) => [i.kind, i.rule])).toEqual([['score', 'enterprise'], ['stage', 'pricing_twice'], ['score', 'third_session'], ['score', 'pricing'], ['score', 'page']]);
  });
});

const GOOGLE = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'spring' };
const LINKEDIN = { utm_source: 'linkedin', utm_medium: 'paid_social', utm_campaign: 'autumn' };

/**
 * Bob (Google ad, T0+1h): three careers pages, then a day later a contact form (marked `contact`) and pricing. Cara
 * (LinkedIn ad, T0+2h): pricing and the team plan; the CRM reports her closed_won by visitor id at T0+5d.
 */
async function bobAndCara(j: Journey) {
  await j.visit('v_bob_laptop', [{ path: '/careers', ft: GOOGLE, st: GOOGLE }, { path: '/careers/eng', ft: GOOGLE, st: GOOGLE }, { path: '/careers/ops', ft: GOOGLE, st: GOOGLE }], T0 + HOUR);
  await j.visit('v_bob_laptop', [{ n: 'form_submit', path: '/talk', f: 'contact' as any, em: 'bob@bravo.test', ft: GOOGLE }, { path: '/pricing', ft: GOOGLE }], T0 + DAY);
  await j.visit('v_cara_phone', [{ path: '/pricing', ft: LINKEDIN, st: LINKEDIN }, { n: 'plan_selected', path: '/pricing', p: { plan: 'team' }, ft: LINKEDIN, st: LINKEDIN }], T0 + 2 * HOUR);
  j.clock.now = T0 + 5 * DAY;
  expect((await j.serverEvents({ id: 'crm-cara-won', visitorId: 'v_cara_phone', name: 'closed_won' })).status).toBe(202);
}

const BOB_AWARDS: Array<[number, string, number]> = [
  // page 1, careers −15 twice; the third careers page finds the cap of 30 used
  [HOUR, 'page', 1], [HOUR, 'careers', -15], [HOUR + 1, 'careers', -15],
  // a day later: the form scores nothing; pricing: page 1, pricing 10
  [DAY + 1, 'page', 1], [DAY + 1, 'pricing', 10],
];
const CARA_AWARDS: Array<[number, string, number]> = [[2 * HOUR, 'page', 1], [2 * HOUR, 'pricing', 10]];

describe('a site with rules of its own: the report and segments', () => {
  test('negative points, SQL by a form marker, a deal by visitor id; the report per stage, its breakdowns, and segments on score, stage, inStage and touch', async () => {
    const j = await open();
    expect((await putConfig(j, CUSTOM)).status).toBe(200);
    await putSegment(j, 'hot', { score: { gte: 40 } });
    await putSegment(j, 'shopper_plus', { stage: { gte: 'shopper' } });
    await putSegment(j, 'stuck_reader', { all: [{ stage: { eq: 'reader' } }, { inStage: { days: { gte: 3 } } }] });
    await putSegment(j, 'google_first', { touch: { model: 'first', source: 'google' } });
    await putSegment(j, 'cold', { score: { lt: 0 } });
    await bobAndCara(j);
    await alice(j);
    j.clock.now = T0 + 10 * DAY + 2 * HOUR;

    const bob = await profile(j, 'bob@bravo.test');
    expect(await scoreRules(j, bob.leadId)).toEqual(BOB_AWARDS);
    // second session (the form) → reader; pricing in one session only: no shopper
    expect(await stageHistory(j, bob.leadId)).toEqual([[null, 'visitor', HOUR, 'seen'], ['visitor', 'reader', DAY, 'second_session']]);
    expect(bob).toMatchObject({ stage: 'reader', mql: false, sql: true, sqlAt: iso(T0 + DAY), firstTouch: { utm_source: 'google', utm_campaign: 'spring' } });
    expect(bob.score).toBeCloseTo(worthOfAwards(BOB_AWARDS, j.clock.now), 3);
    expect(bob.score).toBeLessThan(0);
    const cara = await profile(j, 'v_cara_phone');
    expect(await scoreRules(j, cara.leadId)).toEqual(CARA_AWARDS);
    // the team plan → shopper (no points: only enterprise scores); closed_won skips buyer and opportunity
    expect(await stageHistory(j, cara.leadId)).toEqual([[null, 'visitor', 2 * HOUR, 'seen'], ['visitor', 'shopper', 2 * HOUR + 1, 'plan_picked'], ['shopper', 'customer', 5 * DAY, 'won']]);
    expect(cara).toMatchObject({ stage: 'customer', mql: false, sql: false, email: null });

    // the report over [T0−1h, T0+11d): all three leads are its cohort
    const window = `from=${iso(T0 - HOUR)}&to=${iso(T0 + 11 * DAY)}`;
    const r = await get(j, `/api/funnel?${window}`);
    expect(r.stages.map((s: any) => s.stage)).toEqual(STAGES);
    expect(r.stages.map((s: any) => s.count)).toEqual([0, 1, 0, 0, 1, 1]);
    expect(r.stages.map((s: any) => s.entered)).toEqual([3, 2, 2, 1, 1, 1]);
    // reached: every lead now at this stage or later (Cara skipped reader, buyer and opportunity but is past them)
    expect(r.stages.map((s: any) => s.reached)).toEqual([3, 3, 2, 2, 2, 1]);
    expect(r.stages.map((s: any) => s.conversionNext)).toEqual([1, 0.6667, 1, 1, 0.5, null]);
    expect(r.stages.map((s: any) => s.conversionCumulative)).toEqual([1, 1, 0.6667, 0.6667, 0.6667, 0.3333]);
    // time in stage, nearest rank: visitor [1 ms (Cara), 2 h (Alice), 23 h (Bob)]; reader [22 h]; shopper
    // [1 d + 1 ms (Alice), 5 d − 2 h − 1 ms (Cara)]; buyer [1 d − 1 ms]; nobody left opportunity
    expect(r.stages.map((s: any) => [s.timeInStage.p50, s.timeInStage.p90])).toEqual([
      [2 * HOUR, 23 * HOUR], [22 * HOUR, 22 * HOUR], [DAY + 1, 5 * DAY - 2 * HOUR - 1], [DAY - 1, DAY - 1], [null, null], [null, null],
    ]);
    // a window after Alice's second day: only her opportunity and Cara's win entered in it; nobody was created in it
    const late = await get(j, `/api/funnel?from=${T0 + 2 * DAY + HOUR}&to=${T0 + 11 * DAY}`);
    expect(late.stages.map((s: any) => s.entered)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(late.stages.map((s: any) => s.reached)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(late.stages.map((s: any) => s.timeInStage.p50)).toEqual([null, null, null, null, null, null]);

    // by first-touch campaign: one lead each
    const byCampaign = await get(j, `/api/funnel?${window}&breakdown=campaign&attribution=first`);
    const groups = Object.fromEntries(byCampaign.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => [s.count, s.entered])]));
    expect(groups).toEqual({
      '(none)': [[0, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 0]],
      spring: [[0, 1], [1, 1], [0, 0], [0, 0], [0, 0], [0, 0]],
      autumn: [[0, 1], [0, 0], [0, 1], [0, 0], [0, 0], [1, 1]],
    });
    // last touch by source: Bob's last session came without a campaign
    const bySourceLast = await get(j, `/api/funnel?${window}&breakdown=source&attribution=last`);
    expect(Object.fromEntries(bySourceLast.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => s.count)]))).toEqual({
      '(none)': [0, 1, 0, 0, 1, 0], linkedin: [0, 0, 0, 0, 0, 1],
    });
    // linear by source: Bob's two sessions split him half Google, half none; Alice's three sessions have no source
    const linear = await get(j, `/api/funnel?${window}&breakdown=source&attribution=linear`);
    const lin = Object.fromEntries(linear.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => [s.count, s.entered])]));
    expect(lin).toEqual({
      '(none)': [[0, 1.5], [0.5, 1.5], [0, 1], [0, 1], [1, 1], [0, 0]],
      google: [[0, 0.5], [0.5, 0.5], [0, 0], [0, 0], [0, 0], [0, 0]],
      linkedin: [[0, 1], [0, 0], [0, 1], [0, 0], [0, 0], [1, 1]],
    });

    // the lead list by the owner's stage names
    const readers = await get(j, '/api/leads?stage=reader');
    expect(readers.items.map((l: any) => [l.email, l.score])).toEqual([['bob@bravo.test', bob.score]]);
    await get(j, '/api/leads?stage=consideration', 400);
    // segments under the owner's rules
    const aliceNow = worthOfAwards(ALICE_AWARDS, j.clock.now);
    expect(await members(j, 'shopper_plus')).toEqual(['alice@alpha.test', 'v_cara_phone']);
    expect(await members(j, 'google_first')).toEqual(['bob@bravo.test']);
    expect(await members(j, 'cold')).toEqual(['bob@bravo.test']);
    // Alice: about 53 at the calculator (in), 75.6 at the opportunity, 53.5 just before the lost deal, 13.4 now (out)
    expect(aliceNow).toBeCloseTo(13.43, 2);
    expect(await members(j, 'hot')).toEqual([]);
    const hot = (await timeline(j, 'alice@alpha.test', 'types=segment')).items.filter((i) => i.segment === 'hot');
    // segments are live: entered when the calculator event arrived (the clock stood at T0+5d), left when the CRM's lost
    // deal arrived (T0+10d+1h)
    expect(hot.map((i) => [i.name, Date.parse(i.at) - T0])).toEqual([['segment_exited', 10 * DAY + HOUR], ['segment_entered', 5 * DAY]]);
    // Bob entered reader at T0+1d: 3 days in it at T0+4d, which the sweep sees without an event of his
    expect(await members(j, 'stuck_reader')).toEqual([]);
    await sweepSegments(j.deps, j.clock.now);
    expect(await members(j, 'stuck_reader')).toEqual(['bob@bravo.test']);
  });
});

const SEGMENTS: Array<[string, unknown]> = [
  ['hot', { score: { gte: 40 } }],
  ['shopper_plus', { stage: { gte: 'shopper' } }],
  ['stuck_reader', { all: [{ stage: { eq: 'reader' } }, { inStage: { days: { gte: 3 } } }] }],
  ['google_first', { touch: { model: 'first', source: 'google' } }],
];

/** What a user of the API sees of the site: every lead's profile and derived timeline items, the report, the segments. */
async function outcome(j: Journey) {
  const leads = await j.db.all<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? ORDER BY lead_id', [j.site.siteId]);
  const out: Record<string, unknown> = {};
  for (const { lead_id } of leads) {
    const { updatedAt: _, segments, ...p } = await profile(j, lead_id);
    const items = (await timeline(j, lead_id, 'types=stage,score&limit=500')).items.map(({ id: _id, eventId: _e, ...i }) => i);
    out[p.email ?? p.visitorIds[0]] = { ...p, leadId: undefined, segments: [...segments].sort(), items };
  }
  const window = `from=${iso(T0 - HOUR)}&to=${iso(T0 + 11 * DAY)}`;
  const reports = [];
  for (const q of ['', '&breakdown=campaign&attribution=first', '&breakdown=source&attribution=last', '&breakdown=channel&attribution=linear']) {
    reports.push(await get(j, `/api/funnel?${window}${q}`));
  }
  const segs: Record<string, string[]> = {};
  for (const [key] of SEGMENTS) segs[key] = await members(j, key);
  return { leads: out, reports, segs };
}

describe('rules changed on a site with history', () => {
  test('PUT changes no lead until replay; replay then gives what live attribution under the new rules gave', async () => {
    // live: the owner's rules from the start
    const live = await open();
    expect((await putConfig(live, CUSTOM)).status).toBe(200);
    for (const [key, d] of SEGMENTS) await putSegment(live, key, d);
    await bobAndCara(live);
    await alice(live);
    live.clock.now = T0 + 10 * DAY + 2 * HOUR;
    await sweepSegments(live.deps, live.clock.now);
    const expected = await outcome(live);

    // history under the defaults, then the owner's rules; a database the admin command can open too
    const env: Record<string, string> = engine === 'pg' ? { DATABASE_URL: await freshPgUrl() } : { DATABASE_PATH: join(tempDir(), 'replay-4.db') };
    const db = await openDb(engine === 'pg' ? { databaseUrl: env.DATABASE_URL, poolSize: 4 } : { databasePath: env.DATABASE_PATH });
    const j = await makeJourneyApp({ db });
    closeLater(j.close);
    await bobAndCara(j);
    await alice(j);
    j.clock.now = T0 + 10 * DAY + 2 * HOUR;
    const aliceBefore = await profile(j, 'alice@alpha.test');
    const itemsBefore = (await timeline(j, 'alice@alpha.test', 'limit=500')).items;
    const defaultsReport = await get(j, `/api/funnel?from=${iso(T0 - HOUR)}&to=${iso(T0 + 11 * DAY)}`);
    // defaults: Alice's pricing twice (T0, T0+1d) → intent (the opportunity and the lost deal are no stage events);
    // Bob's form marked contact → intent; Cara's closed_won → purchase
    expect(aliceBefore.stage).toBe('intent');
    expect(defaultsReport.stages.map((s: any) => s.count)).toEqual([0, 0, 0, 2, 0, 1]);

    expect((await putConfig(j, CUSTOM)).status).toBe(200);
    expect(await get(j, '/api/config/funnel')).toEqual(CUSTOM);
    // nothing rewritten: the stage, MQL/SQL and every item stay as the defaults made them
    const aliceAfter = await profile(j, 'alice@alpha.test');
    expect(aliceAfter).toMatchObject({ stage: 'intent', mql: aliceBefore.mql, sql: aliceBefore.sql, scoreStored: aliceBefore.scoreStored, scoreAt: aliceBefore.scoreAt });
    expect((await timeline(j, 'alice@alpha.test', 'limit=500')).items).toEqual(itemsBefore);
    // … but the stored score decays with the half-life now in force (README: "its profile decays the stored score with
    // the current half-life")
    expect(aliceAfter.score).toBeCloseTo(aliceBefore.scoreStored * Math.pow(0.5, (j.clock.now - Date.parse(aliceBefore.scoreAt)) / HALF_LIFE), 3);

    // the report lists the new stages; every lead is still in a stage of the defaults, which it no longer has, so none
    // is counted until a replay (or the lead's next event)
    const between = await get(j, `/api/funnel?from=${iso(T0 - HOUR)}&to=${iso(T0 + 11 * DAY)}`);
    expect(between.stages.map((s: any) => [s.stage, s.count, s.entered])).toEqual(STAGES.map((s) => [s, 0, 0]));
    for (const [key, d] of SEGMENTS) await putSegment(j, key, d);
    // the replay as a user runs it
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const run = spawnSync('npm', ['run', '-s', 'admin', '--', 'replay', '--site', j.site.siteId], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.slice(run.stdout.indexOf('{')))).toMatchObject({ siteId: j.site.siteId, leads: 3, attributedEvents: 0 });
    // the command decides segments at the machine's clock; the site's journey is in 2025: decide them at its clock
    await reevaluateSiteSegments(j.deps, j.site.siteId);
    const replayed = await outcome(j);
    expect(replayed.leads).toEqual(expected.leads);
    expect(replayed.reports).toEqual(expected.reports);
    expect(replayed.segs).toEqual(expected.segs);
    expect(expected.segs).toEqual({ hot: [], shopper_plus: ['alice@alpha.test', 'v_cara_phone'], stuck_reader: ['bob@bravo.test'], google_first: ['bob@bravo.test'] });
  }, 60_000);
});

describe('segments after a rule change, before any replay', () => {
  test('a new half-life moves score segments at once, as it moves the score the lead API shows', async () => {
    const j = await open();
    await putSegment(j, 'warm', { score: { gte: 10 } });
    // defaults: visit 2, pricing_view 10 → 12 at T0, worth 10 only after 90 × log2(1.2) ≈ 23.7 days
    await j.visit('v_hl_change1', [{ path: '/pricing' }], T0);
    expect(await members(j, 'warm')).toEqual(['v_hl_change1']);
    // the owner shortens the half-life to 1 day; three days later the lead API shows 12 / 8 = 1.5
    const c = await get(j, '/api/config/funnel');
    expect((await putConfig(j, { ...c, halfLifeDays: 1 })).status).toBe(200);
    j.clock.now = T0 + 3 * DAY;
    await sweepSegments(j.deps, j.clock.now);
    expect((await profile(j, 'v_hl_change1')).score).toBeCloseTo(1.5, 3);
    expect(await members(j, 'warm')).toEqual([]);
    expect((await get(j, '/api/segments/warm')).count).toBe(0);
    // and back to no decay at all: 12 again, a member again, with no event of its own
    expect((await putConfig(j, { ...c, halfLifeDays: null })).status).toBe(200);
    expect((await profile(j, 'v_hl_change1')).score).toBe(12);
    expect(await members(j, 'warm')).toEqual(['v_hl_change1']);
  });
});

describe('segments after a stage order change, before any replay', () => {
  test('a `stage.gte` segment reads the new order at once', async () => {
    const j = await open();
    await putSegment(j, 'past_interest', { stage: { gte: 'interest' } });
    await j.visit('v_order_chg1', [{ path: '/pricing' }], T0);
    // defaults: pricing_page → consideration, past interest
    expect(await members(j, 'past_interest')).toEqual(['v_order_chg1']);
    // the owner puts interest after consideration: the lead (still in consideration) is no longer past interest
    const c = await get(j, '/api/config/funnel');
    const stages = ['awareness', 'consideration', 'interest', 'intent', 'evaluation', 'purchase'];
    expect((await putConfig(j, { ...c, stages })).status).toBe(200);
    expect((await profile(j, 'v_order_chg1')).stage).toBe('consideration');
    expect(await members(j, 'past_interest')).toEqual([]);
  });
});

describe('counts across sessions', () => {
  test('a CRM event is no session: "a second session" needs a second visit, whatever the rule filters', async () => {
    const j = await open();
    expect((await putConfig(j, {
      stages: ['visitor', 'returning'],
      stageRules: [{ id: 'seen', stage: 'visitor', when: {} }, { id: 'second_visit', stage: 'returning', when: { sessions: 2 } }],
      scoreRules: [{ id: 'regular', points: 5, when: { sessions: 2 }, cap: 5 }, { id: 'demo', points: 20, when: { event: 'demo_completed' } }],
      halfLifeDays: null,
      mqlThreshold: 40,
      sqlWhen: [],
    })).status).toBe(200);
    await j.visit('v_sess_crm01', [{ path: '/' }, { n: 'identify', em: 'sol@sierra.test' }], T0);
    j.clock.now = T0 + HOUR;
    expect((await j.serverEvents([{ id: 'crm-sol-1', email: 'sol@sierra.test', name: 'demo_completed' }, { id: 'crm-sol-2', email: 'sol@sierra.test', name: 'note_added' }])).status).toBe(202);
    let sol = await profile(j, 'sol@sierra.test');
    // one visit so far: the CRM's two events are not a second and third session
    expect(sol).toMatchObject({ stage: 'visitor', score: 20 });
    // the second visit is
    await j.visit('v_sess_crm01', [{ path: '/blog' }], T0 + DAY);
    sol = await profile(j, 'sol@sierra.test');
    expect(sol).toMatchObject({ stage: 'returning', score: 25 });
    expect(await stageHistory(j, sol.leadId)).toEqual([[null, 'visitor', 0, 'seen'], ['visitor', 'returning', DAY, 'second_visit']]);
  });
});

describe('configs refused', () => {
  test('a rule that could never hold, or a form marker where a kind belongs, gets a 400 naming it and changes nothing', async () => {
    const j = await open();
    expect((await putConfig(j, CUSTOM)).status).toBe(200);
    const bad: Array<[unknown, RegExp]> = [
      // server events are no sessions (visits): this rule would never hold
      [{ ...CUSTOM, stageRules: [...CUSTOM.stageRules, { id: 'two_calls', stage: 'opportunity', when: { event: 'call', source: 'server', sessions: 2 } }] }, /^stageRules\.8\.when\.sessions: .*count/],
      // `form` takes the kinds the collector stores; the marker is props.form
      [{ ...CUSTOM, scoreRules: [...CUSTOM.scoreRules, { id: 'contact', points: 5, when: { form: 'contact' } }] }, /^scoreRules\.9\.when\.form: .*newsletter, demo, other.*props\.form/],
      [{ ...CUSTOM, scoreRules: [{ ...CUSTOM.scoreRules[0], window: '1 day' }] }, /^scoreRules\.0\.window: /],
      [{ ...CUSTOM, scoreRules: [{ ...CUSTOM.scoreRules[5], cap: -30 }] }, /^scoreRules\.0\.cap: /],
      [{ ...CUSTOM, stageRules: [{ id: 'x', stage: 'interest', when: {} }] }, /^stageRules\.0\.stage: unknown stage "interest"/],
      [{ ...CUSTOM, mqlThreshold: 0 }, /^mqlThreshold: /],
      [{ ...CUSTOM, extra: true }, /Unrecognized key: "extra"/],
      [[CUSTOM], /^config: /],
    ];
    for (const [config, message] of bad) {
      const r = await putConfig(j, config);
      expect(r.status, JSON.stringify(config).slice(0, 100)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_config', message: expect.stringMatching(message) });
    }
    expect(await get(j, '/api/config/funnel')).toEqual(CUSTOM);
  });
});

describe('a late event under the owner\'s rules', () => {
  test('a docs view sent late takes the daily docs award and the second session from the view that had them', async () => {
    const j = await open();
    expect((await putConfig(j, CUSTOM)).status).toBe(200);
    await j.visit('v_late_docs1', [{ path: '/' }], T0);
    await j.visit('v_late_docs1', [{ path: '/docs/x' }], T0 + 2 * HOUR);
    const leadId = await j.leadOfVisitor('v_late_docs1');
    // page 1 (T0); page 1, docs 4 (T0+2h, the second session → reader)
    expect(await scoreRules(j, leadId)).toEqual([[0, 'page', 1], [2 * HOUR, 'page', 1], [2 * HOUR, 'docs', 4]]);
    expect(await stageHistory(j, leadId)).toEqual([[null, 'visitor', 0, 'seen'], ['visitor', 'reader', 2 * HOUR, 'second_session']]);
    // the outbox sends a view of T0+1h only now: a session of its own between the two
    await j.visit('v_late_docs1', [{ path: '/docs/y' }], T0 + HOUR);
    // page 1, docs 4 at T0+1h; at T0+2h page 1, docs within its day, and the third session 8
    expect(await scoreRules(j, leadId)).toEqual([[0, 'page', 1], [HOUR, 'page', 1], [HOUR, 'docs', 4], [2 * HOUR, 'page', 1], [2 * HOUR, 'third_session', 8]]);
    expect(await stageHistory(j, leadId)).toEqual([[null, 'visitor', 0, 'seen'], ['visitor', 'reader', HOUR, 'second_session']]);
    const items = (await timeline(j, leadId, 'types=score')).items;
    expect(items.map((i) => [i.rule, i.scoreAfter])).toEqual([
      ['third_session', expect.closeTo(worth([[1, T0], [1, T0 + HOUR], [4, T0 + HOUR], [1, T0 + 2 * HOUR], [8, T0 + 2 * HOUR]], T0 + 2 * HOUR), 3)],
      ['page', expect.closeTo(worth([[1, T0], [1, T0 + HOUR], [4, T0 + HOUR], [1, T0 + 2 * HOUR]], T0 + 2 * HOUR), 3)],
      ['docs', expect.closeTo(worth([[1, T0], [1, T0 + HOUR], [4, T0 + HOUR]], T0 + HOUR), 3)],
      ['page', expect.closeTo(worth([[1, T0], [1, T0 + HOUR]], T0 + HOUR), 3)],
      ['page', 1],
    ]);
    expect((await profile(j, leadId)).stage).toBe('reader');
  });
});
