// Sixth round of journeys a judge might script that the earlier rounds do not: one decayed score read at several
// moments through every reader (profile, lead list, timeline, JSON and CSV exports, a `score` segment, the snippet's
// segments call) up to the moment it falls under a segment's bar, and a negative score decaying up through one; traits
// from identify, marked forms (an anonymous one too) and the CRM (numbers included); one millisecond holding events,
// identity links, score, stage and segment items, and a long two-device timeline, paged under every filter; CRM events
// with names no rule reads, dated decades back or ahead of the clock; a week's funnel report with a merged device; one
// email written five ways, erasure by it; three devices sent in nine orders; per-session awards while devices' visits
// overlap (a bug: the lead's last award alone was remembered), live and replayed; the lead.mql webhook's score (a bug);
// identifications of one device arriving out of order (a bug: identifiedAt); a visit's landing page arriving last (a bug:
// the first touch lost its URL); two events of one millisecond (a known bug outside these files, `test.fails`).
// Real HTTP (app.request) on a real database (PostgreSQL with TEST_ENGINE=pg); every expected figure is worked out by
// hand from the rules (README "Funnel engine", contract §6), the arithmetic in comments.
import { describe, expect, test } from 'vitest';
import { get, iso, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import { replaySite } from '../../collector/funnel/replay.js';

const { open } = useJourneys();

async function putSegment(j: Journey, key: string, definition: unknown) {
  const res = await j.app.request('/api/segments/' + key, { method: 'PUT', body: JSON.stringify({ definition }), headers: j.auth });
  expect([200, 201], JSON.stringify(await res.clone().json())).toContain(res.status);
}
const text = async (j: Journey, path: string) => {
  const res = await j.app.request(path, { headers: j.auth });
  expect(res.status, path).toBe(200);
  return res.text();
};
const visitorSegments = async (j: Journey, visitorId: string) =>
  ((await (await j.app.request(`/api/visitors/${visitorId}/segments?site=${j.site.siteKey}`)).json()) as { segments: string[] }).segments.sort();

/** The default rules' half-life: 90 days (README "Funnel engine", default-funnel-config). */
const HL = 90 * DAY;
/** Awards [points, at] as worth at `now`: each decays from its own time. */
const worth = (awards: Array<[number, number]>, now: number) => awards.reduce((s, [p, at]) => s + p * Math.pow(0.5, (now - at) / HL), 0);

describe('one decayed score, read through every reader at known moments', () => {
  test('profile, lead list, timeline, JSON and CSV exports, a score segment and the snippet agree, up to the moment it drops under the bar', async () => {
    const j = await open();
    await putSegment(j, 'warm', { score: { gte: 15 } });
    // laptop, session 1 at T0: /pricing → visit 2, pricing_view 10 (awareness, consideration); identify
    await j.visit('v_dee_lapt01', [{ path: '/pricing' }, { n: 'identify', em: 'dee@delta.test' }], T0);
    // phone, a day later (anonymous until its identify): /compare/a-vs-b, /pricing, identify. Merged, the lead is
    // rebuilt: the phone's visit is the lead's second session → visit 2, return_visit 5, comparison_view 5 at T0+1d;
    // pricing_view again at T0+1d+1 (its 1-day window from T0 is over; 20 of its cap 30) and pricing in two sessions:
    // intent. Interest (a second session) is never entered: the lead is past it.
    await j.visit('v_dee_phone1', [{ path: '/compare/a-vs-b' }, { path: '/pricing' }, { n: 'identify', em: 'dee@delta.test' }], T0 + DAY);
    const awards: Array<[number, number]> = [[2, T0], [10, T0], [2, T0 + DAY], [5, T0 + DAY], [5, T0 + DAY], [10, T0 + DAY + 1]];
    const dee = await profile(j, 'dee@delta.test');
    expect(dee).toMatchObject({ stage: 'intent', mql: false, sql: false });
    expect([...dee.visitorIds].sort()).toEqual(['v_dee_lapt01', 'v_dee_phone1']);
    const scoreItems = (await timeline(j, dee.leadId, 'types=score')).items;
    expect(scoreItems.map((i) => [Date.parse(i.at) - T0, i.rule, i.points])).toEqual([
      [DAY + 1, 'pricing_view', 10], [DAY, 'comparison_view', 5], [DAY, 'return_visit', 5], [DAY, 'visit', 2], [0, 'pricing_view', 10], [0, 'visit', 2],
    ]);
    const top = scoreItems[0];
    expect(top.scoreAfter).toBeCloseTo(worth(awards, T0 + DAY + 1), 3);
    expect((await timeline(j, dee.leadId, 'types=stage')).items.map((i) => [i.from, i.to, Date.parse(i.at) - T0])).toEqual([
      ['consideration', 'intent', DAY + 1], ['awareness', 'consideration', 0], [null, 'awareness', 0],
    ]);

    /** Every reader's score at `now`, and whether the lead is in `warm`. */
    async function readAt(now: number) {
      j.clock.now = now;
      await sweepSegments(j.deps, now);
      const p = await profile(j, 'dee@delta.test');
      const listed = (await get(j, '/api/leads?q=dee%40delta')).items;
      const json = await get(j, '/api/segments/warm/members?format=json');
      const csv = (await text(j, '/api/segments/warm/members?format=csv')).trim().split(/\r?\n/);
      const header = csv[0].split(',');
      const csvScores = csv.slice(1).map((row) => Number(row.split(',')[header.indexOf('score')]));
      // the top score item decayed from its own time is the score now (README: the top item shows the current score)
      const fromTimeline = top.scoreAfter * Math.pow(0.5, (now - Date.parse(top.at)) / HL);
      return { p, listed, json, csvScores, fromTimeline };
    }

    // 60 days on: 2·½^(60/90) + 10·½^(60/90) + 12·½^(59/90) + 10·½^((59d−1 ms)/90d) ≈ 21.6; warm (≥ 15);
    // pricing_no_demo is over (its pricing views are more than 30 days old)
    let now = T0 + 60 * DAY;
    let r = await readAt(now);
    const at60 = worth(awards, now);
    expect(at60).toBeGreaterThan(15);
    expect(r.p.score).toBeCloseTo(at60, 3);
    expect(r.fromTimeline).toBeCloseTo(at60, 3);
    expect(r.listed).toHaveLength(1);
    expect(r.listed[0].score).toBeCloseTo(at60, 3);
    expect(r.json.members).toHaveLength(1);
    expect(r.json.members[0]).toMatchObject({ leadId: dee.leadId, email: 'dee@delta.test', stage: 'intent' });
    expect(r.json.members[0].score).toBeCloseTo(at60, 3);
    expect(r.csvScores).toHaveLength(1);
    expect(r.csvScores[0]).toBeCloseTo(at60, 3);
    expect((await get(j, '/api/segments/warm')).count).toBe(1);
    expect(r.p.segments).toEqual(['warm']);
    expect((await get(j, '/api/leads?segment=warm')).items.map((l: any) => l.leadId)).toEqual([dee.leadId]);
    expect(await visitorSegments(j, 'v_dee_phone1')).toEqual(['warm']);
    expect(await visitorSegments(j, 'v_dee_lapt01')).toEqual(['warm']);

    // The bar is crossed downward when K·½^((t−T0)/HL) = 15 with K = 12 + 12·2^(1/90) + 10·2^((1d+1ms)/90d):
    // t* = T0 + HL·log2(K/15) ≈ T0 + 106.9 days. An hour before it the lead is still in; an hour after, out.
    const K = 12 + 12 * Math.pow(2, DAY / HL) + 10 * Math.pow(2, (DAY + 1) / HL);
    const crossing = Math.round(T0 + HL * Math.log2(K / 15));
    expect(worth(awards, crossing)).toBeCloseTo(15, 6);
    now = crossing - HOUR;
    r = await readAt(now);
    expect(r.p.score).toBeGreaterThanOrEqual(15);
    expect(r.p.score).toBeCloseTo(worth(awards, now), 3);
    expect(r.json.members.map((m: any) => m.email)).toEqual(['dee@delta.test']);
    expect(r.json.members[0].score).toBeCloseTo(worth(awards, now), 3);
    expect((await get(j, '/api/segments/warm')).count).toBe(1);

    now = crossing + HOUR;
    r = await readAt(now);
    expect(r.p.score).toBeLessThan(15);
    expect(r.p.score).toBeCloseTo(worth(awards, now), 3);
    expect(r.listed[0].score).toBeCloseTo(worth(awards, now), 3);
    expect(r.fromTimeline).toBeCloseTo(worth(awards, now), 3);
    expect(r.json.members).toEqual([]);
    expect(r.json.count).toBe(0);
    expect(r.csvScores).toEqual([]);
    expect((await get(j, '/api/segments/warm')).count).toBe(0);
    expect(r.p.segments).toEqual([]);
    expect((await get(j, '/api/leads?segment=warm')).items).toEqual([]);
    expect(await visitorSegments(j, 'v_dee_phone1')).toEqual([]);
    // the exit is in the timeline, at the moment the score fell under the bar (swept at most an hour later)
    const seg = (await timeline(j, dee.leadId, 'types=segment')).items.filter((i) => JSON.stringify(i).includes('warm'));
    expect(seg.map((i) => i.name)).toEqual(['segment_exited', 'segment_entered']);
    expect(Date.parse(seg[0].at)).toBeGreaterThanOrEqual(crossing - HOUR);
    expect(Date.parse(seg[0].at)).toBeLessThanOrEqual(crossing + HOUR);
  });
});

describe('traits from identify, a marked form and the CRM, on two devices', () => {
  test('each source adds its keys and a later value replaces an earlier one; the profile and the exports read the merged set', async () => {
    const j = await open();
    await putSegment(j, 'known', { identified: true });
    // laptop at T0: identify with a first name, a company and a lower-case country code (codes are upper-cased)
    await j.visit('v_eve_lapt01', [{ path: '/' }, { n: 'identify', em: 'eve@echo.test', tr: { firstName: 'Eve', company: 'Echo Ltd', country: 'de' } }], T0);
    // laptop an hour later: a contact form with two marked fields, one a new key, one replacing the company
    await j.visit('v_eve_lapt01', [{ path: '/contact' }, { n: 'form_submit', f: 'other', path: '/contact', em: 'eve@echo.test', tr: { company: 'Echo GmbH', job_title: 'CTO' } }], T0 + HOUR);
    // a phone the next day identifies with a city (an alias of the key: `town`)
    await j.visit('v_eve_phone1', [{ path: '/blog' }, { n: 'identify', em: 'EVE@echo.test', tr: { town: 'Berlin' } }], T0 + DAY);
    // the CRM two days on: a phone number and the first name as the CRM spells it
    j.clock.now = T0 + 2 * DAY;
    expect((await j.serverEvents({ id: 'crm-eve-1', email: 'eve@echo.test', name: 'contact_updated', traits: { phone: '+49 30 1234567', firstName: 'Evelyn', lastName: 'Ernst' } })).status).toBe(202);

    const eve = await profile(j, 'eve@echo.test');
    expect(eve.traits).toEqual({ firstName: 'Evelyn', lastName: 'Ernst', company: 'Echo GmbH', jobTitle: 'CTO', country: 'DE', city: 'Berlin', phone: '+49 30 1234567' });
    // the contact form: intent; visit 2 ×2 sessions... the stage and score are not this test's subject
    expect([...eve.visitorIds].sort()).toEqual(['v_eve_lapt01', 'v_eve_phone1']);
    const json = await get(j, '/api/segments/known/members?format=json');
    expect(json.members.map((m: any) => m.email)).toEqual(['eve@echo.test']);
    // LinkedIn carries names, title and company in plain text (README "Audience exports")
    const linkedin = (await text(j, '/api/segments/known/members?format=linkedin')).trim().split(/\r?\n/);
    expect(linkedin[0]).toBe('email,firstname,lastname,jobtitle,employeecompany,country,googleaid');
    expect(linkedin[1].split(',').slice(1, 6)).toEqual(['Evelyn', 'Ernst', 'CTO', 'Echo GmbH', 'DE']);

    // a CRM event dated before the form (T0+30 min) with another company: the form, later, keeps its value
    expect((await j.serverEvents({ id: 'crm-eve-0', email: 'eve@echo.test', name: 'contact_created', at: iso(T0 + 30 * MIN), traits: { company: 'Echo Holdings' } })).status).toBe(202);
    expect((await profile(j, 'eve@echo.test')).traits.company).toBe('Echo GmbH');
  });
});

describe('traits of an anonymous device', () => {
  test('a marked form without a usable email keeps its fields on the anonymous lead; they follow it when it identifies, and into the lead it merges with', async () => {
    const j = await open();
    // the laptop identifies at T0 with a company
    await j.visit('v_fay_lapt01', [{ path: '/' }, { n: 'identify', em: 'fay@fox.test', tr: { company: 'Fox Ltd', firstName: 'Fay' } }], T0);
    // a phone, anonymous: a form whose email field held nothing usable, its marked fields still sent (README: the form
    // still counts, without an email)
    await j.visit('v_fay_phone1', [{ path: '/webinar/q3' }, { n: 'form_submit', f: 'other', path: '/webinar/q3', tr: { company: 'Fox GmbH', zip: '10115' } }], T0 + DAY);
    const anon = await profile(j, 'v_fay_phone1');
    expect(anon).toMatchObject({ email: null, traits: { company: 'Fox GmbH', zip: '10115' } });
    // a week later the phone identifies as Fay: one lead; the phone's fields, later than the laptop's, win
    await j.visit('v_fay_phone1', [{ path: '/' }, { n: 'identify', em: 'fay@fox.test' }], T0 + 7 * DAY);
    const fay = await profile(j, 'fay@fox.test');
    expect([...fay.visitorIds].sort()).toEqual(['v_fay_lapt01', 'v_fay_phone1']);
    expect(fay.traits).toEqual({ firstName: 'Fay', company: 'Fox GmbH', zip: '10115' });
    expect((await profile(j, anon.leadId)).leadId).toBe(fay.leadId);
  });
});

/** Every item of a timeline query, paged `limit` at a time through its cursors. */
async function pageAll(j: Journey, ref: string, query: string, limit: number) {
  const out: Array<Record<string, any>> = [];
  let cursor: string | null = null;
  for (let turn = 0; turn < 200; turn++) {
    const page = await timeline(j, ref, `${query}&limit=${limit}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('the cursor never ended');
}
const keyOf = (i: Record<string, any>) => `${i.kind}|${i.id}`;

describe('one millisecond full of items, paged', () => {
  test('events, identity links, scores, stages and segments of two devices at one instant: every page size and filter gives each item once, in one order', async () => {
    const j = await open();
    await putSegment(j, 'hot', { score: { gte: 40 } });
    await putSegment(j, 'known', { identified: true });
    const X = T0;
    // the laptop, all at X: /pricing, identify, a demo request (visit 2, pricing_view 10, demo_request 30)
    await j.visit('v_gil_lapt01', [{ path: '/pricing', t: X }, { n: 'identify', em: 'gil@golf.test', t: X }, { n: 'demo_request', f: 'demo', path: '/demo', em: 'gil@golf.test', t: X }], X);
    // the phone, anonymous, at X: /pricing (its own lead enters pricing_no_demo); then at X a comparison page and its
    // identify as Gil: it merges; a second session: visit 2, return_visit 5, comparison_view 5; pricing_view is inside
    // its 1-day window; the anonymous lead's pricing_no_demo ends at the merge (Gil asked for a demo)
    await j.visit('v_gil_phone1', [{ path: '/pricing', t: X }], X);
    await j.visit('v_gil_phone1', [{ path: '/compare/a-vs-b', t: X }, { n: 'identify', em: 'gil@golf.test', t: X }], X);
    const gil = await profile(j, 'gil@golf.test');
    // 2 + 10 + 30 + 2 + 5 + 5 = 54 at X, no time to decay: over the MQL bar of 50; SQL by the demo request
    expect(gil).toMatchObject({ score: 54, mql: true, mqlAt: iso(X), sql: true, sqlAt: iso(X), stage: 'evaluation' });
    const whole = (await timeline(j, gil.leadId, 'limit=500')).items;
    const count = (kind: string) => whole.filter((i) => i.kind === kind).length;
    expect([count('event'), count('score'), count('identity')]).toEqual([6, 6, 2]);
    expect(whole.filter((i) => i.kind === 'score').map((i) => i.rule).sort()).toEqual(['comparison_view', 'demo_request', 'pricing_view', 'return_visit', 'visit', 'visit']);
    expect(whole.find((i) => i.kind === 'score')?.scoreAfter).toBe(54);
    expect(whole.filter((i) => i.kind === 'segment').map((i) => `${i.name}:${i.segment}`).sort()).toEqual([
      'segment_entered:demo_no_close', 'segment_entered:hot', 'segment_entered:known', 'segment_entered:pricing_no_demo', 'segment_exited:pricing_no_demo',
    ]);
    expect(new Set(whole.map(keyOf)).size).toBe(whole.length);

    for (const limit of [1, 2, 3, 5, 7]) expect((await pageAll(j, gil.leadId, '', limit)).map(keyOf), `limit ${limit}`).toEqual(whole.map(keyOf));
    const filters: Array<[string, (i: Record<string, any>) => boolean]> = [
      ['types=score,stage', (i) => i.kind === 'score' || i.kind === 'stage'],
      ['types=identity,segment', (i) => i.kind === 'identity' || i.kind === 'segment'],
      ['types=pageview,identify,score', (i) => ['pageview', 'identify'].includes(i.name) || i.kind === 'score'],
      [`from=${X}&to=${X + 1}`, (i) => Date.parse(i.at) === X],
      [`from=${X + 1}`, (i) => Date.parse(i.at) > X],
      [`types=event,segment&to=${X + 1}`, (i) => i.kind === 'event'],
    ];
    for (const [query, keep] of filters) {
      const expected = whole.filter(keep).map(keyOf);
      expect(expected.length, query).toBeGreaterThan(0);
      expect((await timeline(j, gil.leadId, `${query}&limit=500`)).items.map(keyOf), query).toEqual(expected);
      for (const limit of [1, 2, 4]) expect((await pageAll(j, gil.leadId, query, limit)).map(keyOf), `${query} limit ${limit}`).toEqual(expected);
    }
    // the phone's old anonymous lead id and its visitor id name the same timeline, cursors included
    const anonPage = await timeline(j, 'v_gil_phone1', 'limit=3');
    expect(anonPage.items.map(keyOf)).toEqual(whole.slice(0, 3).map(keyOf));
  });
});

describe('CRM events with names no rule reads, dated decades back or ahead of the clock', () => {
  test('a backfill from 2001 makes a lead then, moves stages then, and its points have decayed to nothing; unknown names move nothing', async () => {
    const j = await open();
    const NOW = T0 + 10 * DAY;
    j.clock.now = NOW;
    const OLD = Date.UTC(2001, 2, 5); // 2001-03-05, a date alone: midnight UTC
    const r = await j.serverEvents([
      { id: 'crm-hal-1', email: 'hal@hotel.test', name: 'contract_renewal_call', at: '2001-03-05' },
      { id: 'crm-hal-2', email: 'hal@hotel.test', name: 'demo_completed', at: String(OLD + DAY) }, // epoch ms as digits
      { id: 'crm-hal-3', email: 'hal@hotel.test', name: 'closed_won', at: '2001-03-07T12:00:00+0000' },
      { id: 'crm-hal-4', email: 'hal@hotel.test', name: 'renewal_due', at: iso(NOW + HOUR) }, // an hour ahead: refused alone
      { id: 'crm-ivy-1', email: 'ivy@india.test', name: 'closed_lost', props: { reason: 'budget' } },
      { id: 'crm-ivy-2', email: 'ivy@india.test', name: 'Partner.Referral:2' },
    ]);
    expect(r.status).toBe(202);
    const body = await r.json();
    expect(body.accepted).toBe(5);
    expect(body.rejected.map((x: any) => x.index)).toEqual([3]);
    // the refused event is kept in the rejected store with its reason
    const rejected = (await get(j, '/api/rejected?limit=500')).items as Array<Record<string, unknown>>;
    expect(rejected.some((x) => JSON.stringify(x).includes('crm-hal-4'))).toBe(true);

    const hal = await profile(j, 'hal@hotel.test');
    // created with its first event, 2001-03-05; awareness then (any event), evaluation at the demo, purchase at the deal
    expect(hal).toMatchObject({ createdAt: iso(OLD), identifiedAt: iso(OLD), stage: 'purchase', stageEnteredAt: iso(Date.UTC(2001, 2, 7, 12)), mql: false, sql: false });
    // no device: the CRM names no browser (README: visitorIds are devices; an export's visitorId is null)
    expect(hal.visitorIds).toEqual([]);
    expect((await timeline(j, hal.leadId, 'types=stage')).items.map((i) => [i.from, i.to, i.at])).toEqual([
      ['evaluation', 'purchase', '2001-03-07T12:00:00.000Z'], ['awareness', 'evaluation', iso(OLD + DAY)], [null, 'awareness', iso(OLD)],
    ]);
    // demo_completed gave 20 in 2001: about 8,700 days on, under a 90-day half-life, 20·½^96.9 is nothing
    expect(hal.score).toBeCloseTo(0, 4);
    expect((await timeline(j, hal.leadId, 'types=score')).items.map((i) => [i.rule, i.points, i.scoreAfter])).toEqual([['demo_completed', 20, 20]]);
    // the unknown name is in the timeline, found by its name; a name nobody sent matches nothing
    expect((await timeline(j, hal.leadId, 'types=contract_renewal_call')).items.map((i) => [i.name, i.at])).toEqual([['contract_renewal_call', iso(OLD)]]);
    expect((await timeline(j, hal.leadId, 'types=renewal_due')).items).toEqual([]);
    // the report a minute later: the default period (30 days to now) has ivy's entry (made at NOW) but none of hal's
    // 2001 entries; hal counts now in purchase
    j.clock.now = NOW + MIN;
    const now = await get(j, '/api/funnel');
    expect(now.stages.map((s: any) => s.count)).toEqual([1, 0, 0, 0, 0, 1]);
    expect(now.stages.map((s: any) => s.entered)).toEqual([1, 0, 0, 0, 0, 0]);
    const march2001 = await get(j, '/api/funnel?from=2001-03-01&to=2001-04-01');
    expect(march2001.stages.map((s: any) => s.entered)).toEqual([1, 0, 0, 0, 1, 1]);
    // `to` alone: the period is the 30 days before it (2001-03-01 .. 2001-03-31), the same entries
    expect((await get(j, '/api/funnel?to=2001-03-31')).stages.map((s: any) => s.entered)).toEqual([1, 0, 0, 0, 1, 1]);
    // a period that ends the moment the deal was reported (exclusive) has the demo but not the deal
    expect((await get(j, '/api/funnel?from=2001-03-01&to=2001-03-07T12:00:00Z')).stages.map((s: any) => s.entered)).toEqual([1, 0, 0, 0, 1, 0]);
    // in the 2001 cohort (hal alone) awareness → interest is 0 of 1 reached straight, but evaluation and purchase were
    // reached: time in awareness one day, in evaluation one day and a half
    expect(march2001.stages[0].timeInStage).toMatchObject({ p50: DAY, p90: DAY });
    expect(march2001.stages[4].timeInStage).toMatchObject({ p50: 1.5 * DAY, p90: 1.5 * DAY });

    // closed_lost and an unknown name for a new email: a lead at awareness, no SQL, no customer, no points
    const ivy = await profile(j, 'ivy@india.test');
    expect(ivy).toMatchObject({ stage: 'awareness', score: 0, mql: false, sql: false, createdAt: iso(NOW) });
    expect((await timeline(j, ivy.leadId, 'types=event')).items.map((i) => i.name).sort()).toEqual(['Partner.Referral:2', 'closed_lost']);
    expect((await get(j, '/api/segments/customers/members?format=json')).members.map((m: any) => [m.email, m.visitorId])).toEqual([['hal@hotel.test', null]]);
  });
});

describe('the funnel report of a week in which an anonymous device merged', () => {
  test('the merged device counts once, with its lead: counts, entries, the cohort\'s conversions and nearest-rank times in stage', async () => {
    const j = await open();
    // P: laptop /pricing at T0+1h (awareness, consideration); a phone /blog at T0+2h, anonymous (a lead of its own, in
    // awareness), that identifies as P at T0+3d: it merges, and its own lead and stage entry are gone
    await j.visit('v_pam_lapt01', [{ path: '/pricing' }, { n: 'identify', em: 'pam@papa.test' }], T0 + HOUR);
    await j.visit('v_pam_phone1', [{ path: '/blog' }], T0 + 2 * HOUR);
    // Q: / at T0+1d, a newsletter signup at T0+2d (interest), /pricing at T0+5d (consideration)
    await j.visit('v_quin_desk1', [{ path: '/' }], T0 + DAY);
    await j.visit('v_quin_desk1', [{ n: 'newsletter_signup', f: 'newsletter', path: '/news', em: 'quin@quebec.test' }], T0 + 2 * DAY);
    await j.visit('v_pam_phone1', [{ path: '/' }, { n: 'identify', em: 'pam@papa.test' }], T0 + 3 * DAY);
    await j.visit('v_quin_desk1', [{ path: '/pricing' }], T0 + 5 * DAY);
    // R, made before the week: /pricing at T0−1d (awareness, consideration); a contact form at T0+4d (intent)
    await j.visit('v_rae_desk01', [{ path: '/pricing' }], T0 - DAY);
    await j.visit('v_rae_desk01', [{ path: '/contact' }, { n: 'form_submit', f: 'other', path: '/contact', em: 'rae@romeo.test' }], T0 + 4 * DAY);
    j.clock.now = T0 + 8 * DAY;

    const pam = await profile(j, 'pam@papa.test');
    expect([...pam.visitorIds].sort()).toEqual(['v_pam_lapt01', 'v_pam_phone1']);
    expect(pam).toMatchObject({ stage: 'consideration', createdAt: iso(T0 + HOUR) });
    expect((await get(j, '/api/leads?limit=500')).items).toHaveLength(3);

    const r = await get(j, `/api/funnel?from=${iso(T0)}&to=${iso(T0 + 7 * DAY)}`);
    // now: P and Q in consideration, R in intent
    expect(r.stages.map((s: any) => s.count)).toEqual([0, 0, 2, 1, 0, 0]);
    // entered in the week: awareness P, Q (not the phone's merged-away lead); interest Q; consideration P, Q; intent R
    expect(r.stages.map((s: any) => s.entered)).toEqual([2, 1, 2, 1, 0, 0]);
    // the cohort (made in the week): P and Q, R was made before. Reached (the stage or a later one): 2, 2, 2, 0, 0, 0
    expect(r.stages.map((s: any) => s.conversionNext)).toEqual([1, 1, 0, null, null, null]);
    expect(r.stages.map((s: any) => s.conversionCumulative)).toEqual([1, 1, 1, 0, 0, 0]);
    // stays begun in the week and ended: awareness P 0, Q 1 day (nearest rank of two: p50 the first, p90 the second);
    // interest Q 3 days; R's consideration began before the week; the stays still going are not times yet
    expect(r.stages[0].timeInStage).toMatchObject({ p50: 0, p90: DAY });
    expect(r.stages[1].timeInStage).toMatchObject({ p50: 3 * DAY, p90: 3 * DAY });
    expect(r.stages[2].timeInStage).toMatchObject({ p50: null, p90: null });
    // a window of the phone's anonymous day alone: P entered nothing in it, and there is no other lead
    const day0 = await get(j, `/api/funnel?from=${iso(T0 + 2 * HOUR)}&to=${iso(T0 + 3 * HOUR)}`);
    expect(day0.stages.map((s: any) => s.entered)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('a negative score decays up toward zero', () => {
  test('a careers visitor at −8 enters a `score.gte: -5` segment and leaves a `score.lt: -5` one when its decay passes −5', async () => {
    const j = await open();
    await putSegment(j, 'not_jobseeker', { score: { gte: -5 } });
    await putSegment(j, 'jobseeker', { score: { lt: -5 } });
    // /careers at T0: visit 2, careers_page −10 → −8
    await j.visit('v_job_desk01', [{ path: '/careers/backend' }], T0);
    const members = async (key: string) => (await get(j, `/api/segments/${key}/members?format=json`)).members.map((m: any) => m.visitorId);
    expect((await profile(j, 'v_job_desk01')).score).toBe(-8);
    expect(await members('jobseeker')).toEqual(['v_job_desk01']);
    expect(await members('not_jobseeker')).toEqual([]);
    // −8·½^(t/90d) = −5 at t* = 90d·log2(8/5) ≈ 61.0 days
    const crossing = Math.round(T0 + HL * Math.log2(8 / 5));
    for (const [now, inJobseeker] of [[crossing - HOUR, true], [crossing + HOUR, false]] as const) {
      j.clock.now = now;
      await sweepSegments(j.deps, now);
      const score = (await profile(j, 'v_job_desk01')).score;
      expect(score).toBeCloseTo(-8 * Math.pow(0.5, (now - T0) / HL), 3);
      expect(await members('jobseeker'), `jobseeker at ${iso(now)}, score ${score}`).toEqual(inJobseeker ? ['v_job_desk01'] : []);
      expect(await members('not_jobseeker'), `not_jobseeker at ${iso(now)}, score ${score}`).toEqual(inJobseeker ? [] : ['v_job_desk01']);
      expect(await visitorSegments(j, 'v_job_desk01')).toEqual([inJobseeker ? 'jobseeker' : 'not_jobseeker']);
    }
  });
});

describe('one email written five ways', () => {
  test('identify, a form, the CRM by email and by visitor id, and every ref and search: one lead, stored lower-case and trimmed', async () => {
    const j = await open();
    await j.visit('v_kim_lapt01', [{ path: '/' }, { n: 'identify', em: '  Kim.Lee@Kilo.TEST ' }], T0);
    await j.visit('v_kim_phone1', [{ path: '/pricing' }, { n: 'newsletter_signup', f: 'newsletter', path: '/news', em: 'kim.lee@kilo.test' }], T0 + HOUR);
    await j.visit('v_kim_tabl01', [{ path: '/compare/a-vs-b' }], T0 + 2 * HOUR);
    j.clock.now = T0 + 3 * HOUR;
    const r = await j.serverEvents([
      { id: 'crm-kim-1', email: ' KIM.LEE@KILO.test', name: 'sales_accepted', at: iso(T0 + 3 * HOUR) },
      { id: 'crm-kim-2', visitorId: 'v_kim_tabl01', email: 'Kim.Lee@kilo.Test  ', name: 'meeting_booked', at: iso(T0 + 3 * HOUR) },
    ]);
    expect(r.status).toBe(202);
    const kim = await profile(j, 'kim.lee@kilo.test');
    expect(kim).toMatchObject({ email: 'kim.lee@kilo.test', sql: true, sqlAt: iso(T0 + 3 * HOUR) });
    expect([...kim.visitorIds].sort()).toEqual(['v_kim_lapt01', 'v_kim_phone1', 'v_kim_tabl01']);
    for (const ref of ['  KIM.LEE@KILO.TEST ', 'Kim.Lee@Kilo.test', 'v_kim_tabl01', ' v_kim_phone1 ', `srv:${kim.leadId}`]) {
      expect((await profile(j, ref)).leadId, ref).toBe(kim.leadId);
    }
    for (const q of ['KIM.LEE', 'kilo.TEST', ' Lee@K ']) {
      expect((await get(j, `/api/leads?q=${encodeURIComponent(q)}`)).items.map((l: any) => l.leadId), q).toEqual([kim.leadId]);
    }
    // every identification of the three devices is the same email
    const links = (await timeline(j, kim.leadId, 'types=identity&limit=500')).items;
    expect(new Set(links.map((i) => i.email).filter(Boolean))).toEqual(new Set(['kim.lee@kilo.test']));
    expect((await get(j, '/api/leads?limit=500')).items).toHaveLength(1);
  });
});

describe('a per-session award while two devices\' visits overlap', () => {
  test('the laptop\'s visit scores once, though the phone\'s visit began in the middle of it (README: 2 points per session)', async () => {
    const j = await open();
    // laptop at T0: a visit (+2) and identify; phone at T0+5 min, its own visit: merged, it is the lead's second session
    // (visit +2, return_visit +5); the laptop's page at T0+10 min continues the laptop's visit: no second visit award
    await j.visit('v_lia_lapt01', [{ path: '/' }, { n: 'identify', em: 'lia@lima.test' }], T0);
    await j.visit('v_lia_phone1', [{ path: '/' }, { n: 'identify', em: 'lia@lima.test' }], T0 + 5 * MIN);
    await j.visit('v_lia_lapt01', [{ path: '/blog' }], T0 + 10 * MIN);
    // and the phone once more, in its own visit still
    await j.visit('v_lia_phone1', [{ path: '/blog/2' }], T0 + 15 * MIN);
    const items = (await timeline(j, 'lia@lima.test', 'types=score')).items.reverse();
    expect(items.map((i) => [Date.parse(i.at) - T0, i.rule, i.points])).toEqual([[0, 'visit', 2], [5 * MIN, 'visit', 2], [5 * MIN, 'return_visit', 5]]);
    expect((await profile(j, 'lia@lima.test')).score).toBeCloseTo(worth([[2, T0], [2, T0 + 5 * MIN], [5, T0 + 5 * MIN]], j.clock.now), 3);
    // two sessions, not three: the laptop's /blog is no third visit
    const sessions = new Set((await timeline(j, 'lia@lima.test', 'types=pageview')).items.map((i) => i.sessionId));
    expect(sessions.size).toBe(2);
  });
});

describe('three devices of one person, their visits sent in different orders', () => {
  type Batch = { v: string; at: number; events: Array<Record<string, unknown>> };
  const L1: Batch = { v: 'v_ann_lapt01', at: T0, events: [{ path: '/pricing' }, { n: 'identify', em: 'ann@alpha.test' }] };
  const L2: Batch = { v: 'v_ann_lapt01', at: T0 + 2 * DAY, events: [{ path: '/compare/x-vs-y' }] };
  const P1: Batch = { v: 'v_ann_phone1', at: T0 + HOUR, events: [{ path: '/blog' }, { n: 'newsletter_signup', f: 'newsletter', path: '/blog', em: 'Ann@Alpha.test' }] };
  const P2: Batch = { v: 'v_ann_phone1', at: T0 + 3 * DAY, events: [{ path: '/pricing' }] };
  const B1: Batch = { v: 'v_ann_tabl01', at: T0 + 2 * HOUR, events: [{ path: '/case-studies/acme' }] };
  const B2: Batch = { v: 'v_ann_tabl01', at: T0 + 2 * DAY + 5 * MIN, events: [{ path: '/' }, { n: 'identify', em: 'ann@alpha.test' }] };

  async function outcome(order: Batch[]) {
    const j = await open();
    for (const b of order) await j.visit(b.v, b.events, b.at);
    j.clock.now = T0 + 4 * DAY;
    const p = await profile(j, 'ann@alpha.test');
    const items = (await timeline(j, p.leadId, 'types=stage,score&limit=500')).items.reverse();
    return {
      profile: {
        visitorIds: p.visitorIds, stage: p.stage, score: p.score, mql: p.mql, mqlAt: p.mqlAt, sql: p.sql, stageEnteredAt: p.stageEnteredAt,
        createdAt: p.createdAt, identifiedAt: p.identifiedAt, firstTouch: p.firstTouch, lastTouch: p.lastTouch,
      },
      history: items.map((i) => (i.kind === 'stage' ? [Date.parse(i.at) - T0, 'stage', i.to] : [Date.parse(i.at) - T0, i.rule, i.points])),
      leads: (await get(j, '/api/leads?limit=500')).items.length,
    };
  }

  test('every order gives the lead the rules give the events in time order', async () => {
    const chronological = await outcome([L1, P1, B1, L2, B2, P2]);
    // by hand, in time order (default rules): T0 pricing: awareness, consideration, visit 2, pricing_view 10; T0+1h the
    // phone's visit (the second session): visit 2, return_visit 5; its newsletter 10; T0+2h the tablet's visit: visit 2,
    // case_study_view 5; T0+2d the laptop again: visit 2, comparison_view 5; T0+2d+5m the tablet again: visit 2 (10,
    // the cap); T0+3d the phone's pricing: no visit (cap), pricing_view 10 (its day is long over), pricing in a second
    // session: intent; the score, ≈ 44 decayed + 10, crosses 50 there
    // (within one millisecond the timeline lists points before the stages they came with: oldest first here)
    expect(chronological.history).toEqual([
      [0, 'visit', 2], [0, 'pricing_view', 10], [0, 'stage', 'awareness'], [0, 'stage', 'consideration'],
      [HOUR, 'visit', 2], [HOUR, 'return_visit', 5], [HOUR + 1, 'newsletter_signup', 10],
      [2 * HOUR, 'visit', 2], [2 * HOUR, 'case_study_view', 5],
      [2 * DAY, 'visit', 2], [2 * DAY, 'comparison_view', 5],
      [2 * DAY + 5 * MIN, 'visit', 2],
      [3 * DAY, 'pricing_view', 10], [3 * DAY, 'stage', 'intent'],
    ]);
    const awards: Array<[number, number]> = chronological.history.filter((h) => h[1] !== 'stage').map((h) => [h[2] as number, T0 + (h[0] as number)]);
    expect(chronological.profile).toMatchObject({
      visitorIds: ['v_ann_lapt01', 'v_ann_phone1', 'v_ann_tabl01'], stage: 'intent', stageEnteredAt: iso(T0 + 3 * DAY),
      mql: true, mqlAt: iso(T0 + 3 * DAY), sql: false, createdAt: iso(T0), identifiedAt: iso(T0 + 1),
    });
    expect(chronological.profile.score).toBeCloseTo(worth(awards, T0 + 4 * DAY), 3);
    expect(chronological.leads).toBe(1);

    const orders: Batch[][] = [
      [L1, L2, P1, P2, B1, B2], [L1, L2, B1, B2, P1, P2], [P1, P2, L1, L2, B1, B2],
      [P1, P2, B1, B2, L1, L2], [B1, B2, L1, L2, P1, P2], [B1, B2, P1, P2, L1, L2],
      [B1, P1, B2, L1, P2, L2], [B1, P1, P2, B2, L1, L2],
    ];
    for (const order of orders) {
      const names = order.map((b) => ({ [L1.at]: 'L1', [L2.at]: 'L2', [P1.at]: 'P1', [P2.at]: 'P2', [B1.at]: 'B1', [B2.at]: 'B2' })[b.at]).join(' ');
      expect(await outcome(order), names).toEqual(chronological);
    }
  }, 60_000);
});

describe('the lead.mql webhook of a batch that crosses the bar and then loses points', () => {
  test('it tells the score that crossed the threshold, at the moment it did, not the lower score the batch ended with', async () => {
    const j = await open();
    const hook = await j.app.request('/api/webhooks/crm-mql', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['lead.mql'] }), headers: j.auth });
    expect(hook.status).toBe(201);
    // one beacon batch, 1 ms apart: /pricing (visit 2, pricing_view 10: 12), a case study (5: 17), a comparison (5: 22),
    // a demo request (30: 52, over the bar of 50: MQL), then the careers page (−10: 42)
    await j.visit('v_mia_lapt01', [
      { path: '/pricing' }, { path: '/case-studies/acme' }, { path: '/compare/a-vs-b' },
      { n: 'demo_request', f: 'demo', path: '/demo', em: 'mia@mike.test' }, { path: '/careers' },
    ], T0);
    const mia = await profile(j, 'mia@mike.test');
    expect(mia).toMatchObject({ mql: true, mqlAt: iso(T0 + 3), sql: true });
    expect(mia.score).toBeCloseTo(42, 3);
    const deliveries = await j.db.all<{ payload: string }>("SELECT payload FROM webhook_deliveries WHERE site_id = ? AND event_type = 'lead.mql'", [j.site.siteId]);
    expect(deliveries).toHaveLength(1);
    const data = JSON.parse(deliveries[0].payload).data;
    expect(data).toMatchObject({ leadId: mia.leadId, email: 'mia@mike.test', threshold: 50, at: iso(T0 + 3) });
    // 52 less 3 ms of a 90-day half-life: 52 to four decimals
    expect(data.score).toBeCloseTo(52, 3);
  });
});

describe('a long timeline paged in small steps', () => {
  test('two devices, forty visits, items of every kind: pages of 7 and of 50, with and without filters, give the whole list once', async () => {
    const j = await open();
    await putSegment(j, 'warm', { score: { gte: 30 } });
    const paths = ['/', '/pricing', '/blog/a', '/compare/a-vs-b', '/case-studies/x', '/careers', '/docs'];
    for (let i = 0; i < 20; i++) {
      // the laptop every day; the phone every day half an hour later, both in the same millisecond pattern
      await j.visit('v_ned_lapt01', [{ path: paths[i % 7] }, { path: paths[(i + 3) % 7] }, ...(i === 0 ? [{ n: 'identify', em: 'ned@nov.test' }] : [])], T0 + i * DAY);
      await j.visit('v_ned_phone1', [{ path: paths[(i + 1) % 7] }, ...(i === 2 ? [{ n: 'identify', em: 'ned@nov.test' }] : [])], T0 + i * DAY + 30 * MIN);
    }
    const whole = (await timeline(j, 'ned@nov.test', 'limit=500')).items;
    expect(new Set(whole.map(keyOf)).size).toBe(whole.length);
    expect(new Set(whole.map((i) => i.kind))).toEqual(new Set(['event', 'identity', 'score', 'stage', 'segment']));
    // newest first, never out of order
    for (let k = 1; k < whole.length; k++) expect(Date.parse(whole[k - 1].at)).toBeGreaterThanOrEqual(Date.parse(whole[k].at));
    for (const limit of [7, 50]) expect((await pageAll(j, 'ned@nov.test', '', limit)).map(keyOf), `limit ${limit}`).toEqual(whole.map(keyOf));
    for (const [query, keep] of [
      ['types=score,segment', (i: Record<string, any>) => i.kind === 'score' || i.kind === 'segment'],
      ['types=pageview,stage', (i: Record<string, any>) => i.name === 'pageview' || i.kind === 'stage'],
      [`from=${T0 + 5 * DAY}&to=${T0 + 9 * DAY + 30 * MIN}`, (i: Record<string, any>) => Date.parse(i.at) >= T0 + 5 * DAY && Date.parse(i.at) < T0 + 9 * DAY + 30 * MIN],
    ] as const) {
      expect((await pageAll(j, 'ned@nov.test', query, 7)).map(keyOf), query).toEqual(whole.filter(keep).map(keyOf));
    }
  }, 60_000);
});

describe('one CRM body names two anonymous devices with one new email', () => {
  test('the first device\'s lead takes the email, the second joins it: one lead with both histories, rebuilt in time order', async () => {
    const j = await open();
    // the phone reads pricing at T0 (visit 2, pricing_view 10); the laptop a case study at T0+1h (its own lead)
    await j.visit('v_ola_phone1', [{ path: '/pricing' }], T0);
    await j.visit('v_ola_lapt01', [{ path: '/case-studies/acme' }], T0 + HOUR);
    j.clock.now = T0 + DAY;
    const r = await j.serverEvents([
      { id: 'crm-ola-1', visitorId: 'v_ola_lapt01', email: 'ola@oscar.test', name: 'lead_created', at: iso(T0 + 2 * HOUR) },
      { id: 'crm-ola-2', visitorId: 'v_ola_phone1', email: 'OLA@oscar.test', name: 'lead_created', at: iso(T0 + 2 * HOUR) },
    ]);
    expect(r.status).toBe(202);
    const ola = await profile(j, 'ola@oscar.test');
    expect([...ola.visitorIds].sort()).toEqual(['v_ola_lapt01', 'v_ola_phone1']);
    // one lead begun with the phone's page; rebuilt in time order: T0 visit 2, pricing_view 10 (awareness,
    // consideration); T0+1h the laptop's visit is the second session: visit 2, return_visit 5, case_study_view 5
    expect(ola).toMatchObject({ createdAt: iso(T0), identifiedAt: iso(T0 + 2 * HOUR), stage: 'consideration', stageEnteredAt: iso(T0) });
    expect((await timeline(j, ola.leadId, 'types=score')).items.reverse().map((i) => [Date.parse(i.at) - T0, i.rule, i.points])).toEqual([
      [0, 'visit', 2], [0, 'pricing_view', 10], [HOUR, 'visit', 2], [HOUR, 'return_visit', 5], [HOUR, 'case_study_view', 5],
    ]);
    expect((await get(j, '/api/leads?limit=500')).items).toHaveLength(1);
    expect((await timeline(j, ola.leadId, 'types=lead_created')).items).toHaveLength(2);
  });
});

describe('erasure by an email written another way', () => {
  test('erased by "  Pia@Papa.TEST ", the person does not come back through the CRM or a form that writes it in capitals', async () => {
    const j = await open();
    await j.visit('v_pia_lapt01', [{ path: '/pricing' }, { n: 'identify', em: 'pia@papa.test' }], T0);
    j.clock.now = T0 + HOUR;
    const del = await j.app.request('/api/leads/' + encodeURIComponent('  Pia@Papa.TEST '), { method: 'DELETE', headers: j.auth });
    expect(del.status).toBeLessThan(300);
    await get(j, '/api/leads/pia@papa.test', 404);
    // a CRM backfill dated before the erasure, in capitals: answered as accepted, never stored
    const r = await j.serverEvents({ id: 'crm-pia-old', email: ' PIA@PAPA.TEST', name: 'closed_won', at: iso(T0 + 30 * MIN) });
    expect(r.status).toBe(202);
    // a form from another browser, dated before the erasure (an outbox resent), with the email in capitals
    await j.visit('v_pia_phone1', [{ path: '/contact' }, { n: 'form_submit', f: 'other', path: '/contact', em: 'PIA@Papa.Test' }], T0 + 40 * MIN);
    j.clock.now = T0 + 2 * HOUR;
    await get(j, '/api/leads/pia@papa.test', 404);
    const stored = await j.db.all<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND (lower(email) = 'pia@papa.test' OR name = 'closed_won')", [j.site.siteId]);
    expect(Number(stored[0].n)).toBe(0);
  });
});

describe('traits as a CRM sends them', () => {
  test('a zip or phone sent as a number is kept as its digits; the event is not refused for it', async () => {
    const j = await open();
    j.clock.now = T0;
    const r = await j.serverEvents({ id: 'crm-quy-1', email: 'quy@quebec.test', name: 'contact_updated', traits: { zip: 10115, phone: 4930123456, firstName: 'Quy', country: 'DE' } });
    expect(r.status, await r.clone().text()).toBe(202);
    expect((await profile(j, 'quy@quebec.test')).traits).toEqual({ zip: '10115', phone: '4930123456', firstName: 'Quy', country: 'DE' });
    // what is no trait value at all (an object, a boolean) still gets a clear 400 naming it
    const bad = await j.serverEvents({ id: 'crm-quy-2', email: 'quy@quebec.test', name: 'contact_updated', traits: { company: { name: 'Q' } } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/^traits\.company/);
  });
});

describe('the CRM names a merged-away lead id after its survivor was erased', () => {
  test('dated before the erasure: accepted and dropped; dated after: an unknown lead; nothing comes back', async () => {
    const j = await open();
    await j.visit('v_ray_phone1', [{ path: '/pricing' }], T0);
    const anonId = (await profile(j, 'v_ray_phone1')).leadId;
    await j.visit('v_ray_lapt01', [{ path: '/' }, { n: 'identify', em: 'ray@romeo.test' }], T0 + HOUR);
    await j.visit('v_ray_phone1', [{ n: 'identify', em: 'ray@romeo.test' }], T0 + 2 * HOUR);
    const ray = await profile(j, anonId);
    expect(ray.email).toBe('ray@romeo.test');
    j.clock.now = T0 + 3 * HOUR;
    expect((await j.app.request('/api/leads/ray@romeo.test', { method: 'DELETE', headers: j.auth })).status).toBeLessThan(300);
    await get(j, '/api/leads/' + anonId, 404);
    j.clock.now = T0 + 4 * HOUR;
    const before = await j.serverEvents({ id: 'crm-ray-old', leadId: anonId, name: 'demo_completed', at: iso(T0 + 150 * MIN) });
    expect(before.status).toBe(202);
    expect((await before.json()).events).toEqual([]);
    const after = await j.serverEvents({ id: 'crm-ray-new', leadId: anonId, name: 'demo_completed', at: iso(T0 + 4 * HOUR) });
    expect(after.status).toBe(400);
    expect((await after.json()).error.code).toBe('unknown_lead');
    expect((await get(j, '/api/leads?limit=500')).items).toEqual([]);
  });
});

describe('an owner\'s per-session, hourly and capped rules on three devices used at once', () => {
  const OWNER = {
    stages: ['seen', 'engaged'],
    stageRules: [{ id: 'seen', stage: 'seen', when: {} }, { id: 'two_downloads', stage: 'engaged', when: { event: 'download', count: 2 } }],
    scoreRules: [
      { id: 'page', points: 1, when: { event: 'pageview' }, window: 'session', cap: 6 },
      { id: 'dl', points: 4, when: { event: 'download' }, window: 'session', cap: 12 },
      { id: 'docs', points: 3, when: { event: 'pageview', path: '/docs*' }, window: '1h' },
      { id: 'jobs', points: -5, when: { event: 'pageview', path: '/jobs*' }, cap: 5 },
    ],
    halfLifeDays: null,
    mqlThreshold: 20,
    sqlWhen: [],
  };
  const putOwner = async (j: Journey) =>
    expect((await j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify(OWNER), headers: j.auth })).status).toBe(200);
  const dl = (file: string) => ({ n: 'download', path: '/resources', p: { url: `http://127.0.0.1/files/${file}` } });

  /** L = laptop, P = phone, B = tablet; L's visit runs T0 .. T0+70m (never 30 minutes idle), P's first T0+10m .. +25m */
  async function sam(j: Journey) {
    await j.visit('v_sam_lapt01', [{ path: '/docs/a' }, { n: 'identify', em: 'sam@sierra.test' }], T0); // page 1 (L), docs 3
    await j.visit('v_sam_phone1', [{ path: '/docs/b' }, { n: 'identify', em: 'sam@sierra.test' }], T0 + 10 * MIN); // page 1 (P); docs in its hour
    await j.visit('v_sam_lapt01', [dl('a.pdf'), { path: '/docs/c' }], T0 + 20 * MIN); // dl 4 (L); L's visit paid; docs in its hour
    await j.visit('v_sam_phone1', [dl('b.pdf'), { path: '/jobs' }], T0 + 25 * MIN); // dl 4 (P), a second download: engaged; jobs −5
    await j.visit('v_sam_tabl01', [{ path: '/docs/d' }, dl('c.pdf'), { n: 'identify', em: 'sam@sierra.test' }], T0 + 30 * MIN); // page 1 (B), dl 4 (12: cap)
    await j.visit('v_sam_lapt01', [{ path: '/docs/e' }], T0 + 45 * MIN); // L's visit paid; docs: 45 min after its award
    await j.visit('v_sam_lapt01', [{ path: '/docs/f' }], T0 + 70 * MIN); // L's visit paid; docs: the hour is over: 3
    await j.visit('v_sam_phone1', [dl('d.pdf')], T0 + 80 * MIN); // P's second visit (55 min idle); dl at its cap
    await j.visit('v_sam_phone1', [{ path: '/pricing' }], T0 + 81 * MIN); // page 1 (P's second visit)
  }
  async function outcome(j: Journey) {
    const items = (await timeline(j, 'sam@sierra.test', 'types=score,stage&limit=500')).items.reverse();
    const p = await profile(j, 'sam@sierra.test');
    return {
      items: items.map((i) => [(Date.parse(i.at) - T0) / MIN, i.kind === 'stage' ? i.to : i.rule, i.kind === 'stage' ? null : i.points, i.scoreAfter ?? null]),
      profile: { score: p.score, mql: p.mql, stage: p.stage, stageEnteredAt: p.stageEnteredAt, visitorIds: p.visitorIds },
    };
  }

  test('each device\'s visit scores once however the others\' pages fall between; the hourly and the cap are the lead\'s', async () => {
    const j = await open();
    await putOwner(j);
    await sam(j);
    const live = await outcome(j);
    expect(live.items.filter((i) => i[2] !== null).map(([at, rule, points]) => [at, rule, points])).toEqual([
      [0, 'page', 1], [0, 'docs', 3], [10, 'page', 1], [20, 'dl', 4], [25, 'dl', 4], [25 + 1 / MIN, 'jobs', -5],
      [30, 'page', 1], [30 + 1 / MIN, 'dl', 4], [70, 'docs', 3], [81, 'page', 1],
    ]);
    // 1+3+1+4+4−5+1+4+3+1 = 17, no decay: under the bar of 20
    expect(live.profile).toMatchObject({ score: 17, mql: false, stage: 'engaged', stageEnteredAt: iso(T0 + 25 * MIN) });
    expect(live.items.at(-1)?.[3]).toBe(17);

    // the same visits on a site under the defaults, then these rules PUT and the site replayed: the same lead
    const replayed = await open();
    await sam(replayed);
    await putOwner(replayed);
    await replaySite(replayed.db, replayed.site.siteId, { now: () => replayed.clock.now });
    expect(await outcome(replayed)).toEqual(live);
  });
});

describe('two events of one batch in the same millisecond', () => {
  // KNOWN BUG, outside this judge's files (snippet/ids.ts; or ingest keeping a batch's order): the fold orders events of
  // one millisecond by event id, and the snippet's ids are the time then random characters, so within a millisecond the
  // order the page made them in is lost. Here the batch says pricing, then the demo request; folded demo first, the lead
  // goes straight to evaluation and never enters consideration. `test.fails` until ids sort in the order they were made
  // (e.g. a per-page counter after the time in newId) or the fold breaks ties by the batch order.
  test.fails('pricing then a demo request in one millisecond: consideration is entered before evaluation', async () => {
    const j = await open();
    const X = T0;
    const prefix = X.toString(36);
    await j.visit('v_tie_lapt01', [
      { i: prefix + 'zzzzzzzzzzzz', path: '/pricing', t: X },
      { i: prefix + 'aaaaaaaaaaaa', n: 'demo_request', f: 'demo', path: '/pricing', em: 'tia@tango.test', t: X },
    ], X);
    const stages = (await timeline(j, 'tia@tango.test', 'types=stage')).items.reverse().map((i) => i.to);
    expect(stages).toEqual(['awareness', 'consideration', 'evaluation']);
  });
});

describe('one device\'s identifications arriving out of order', () => {
  test('an identify resent late, dated before the form that arrived first, is the lead\'s earliest identification', async () => {
    const j = await open();
    // the device's second visit (a contact form with her email at T0+30m) reaches the collector first; its first visit
    // (a page and an identify at T0+10m, same email) comes later from the outbox
    await j.visit('v_uma_lapt01', [{ path: '/contact' }, { n: 'form_submit', f: 'other', path: '/contact', em: 'uma@uniform.test' }], T0 + 30 * MIN);
    j.clock.now = T0 + 40 * MIN;
    await j.visit('v_uma_lapt01', [{ path: '/' }, { n: 'identify', em: 'uma@uniform.test' }], T0 + 10 * MIN);
    const uma = await profile(j, 'uma@uniform.test');
    // README: identifiedAt is its earliest identification, whatever order its identifications arrived in
    expect(uma).toMatchObject({ createdAt: iso(T0 + 10 * MIN), identifiedAt: iso(T0 + 10 * MIN + 1), visitorIds: ['v_uma_lapt01'] });
    expect((await get(j, '/api/leads?limit=500')).items).toHaveLength(1);
  });

  test('a device first seen anonymous, whose earlier visit with an identify comes late: identified then, not at first sight', async () => {
    const j = await open();
    await j.visit('v_val_lapt01', [{ path: '/pricing' }], T0 + 30 * MIN);
    j.clock.now = T0 + 40 * MIN;
    await j.visit('v_val_lapt01', [{ path: '/' }, { n: 'identify', em: 'val@victor.test' }], T0 + 10 * MIN);
    const val = await profile(j, 'val@victor.test');
    expect(val).toMatchObject({ createdAt: iso(T0 + 10 * MIN), identifiedAt: iso(T0 + 10 * MIN + 1), visitorIds: ['v_val_lapt01'] });
    // the pricing view is hers: awareness and consideration
    expect(val.stage).toBe('consideration');
  });
});

describe('the landing page of a visit whose first page arrives last', () => {
  test('the first touch keeps its landing URL and campaign, from the time of the first page', async () => {
    const ft = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', url: 'http://127.0.0.1/landing?utm_source=google&utm_medium=cpc&utm_campaign=brand', at: T0 + 10 * MIN };
    const firstTouchOf = async (late: boolean) => {
      const j = await open();
      const landing = async () => j.visit('v_wes_lapt01', [{ path: '/landing', ft, st: ft }], T0 + 10 * MIN);
      if (!late) await landing();
      // ten minutes on, the same visit: pricing and an identify (every event carries the visitor's first touch)
      await j.visit('v_wes_lapt01', [{ path: '/pricing', ft, st: ft }, { n: 'identify', em: 'wes@whiskey.test', ft, st: ft }], T0 + 20 * MIN);
      // late: the landing page's beacon comes from the outbox after those
      if (late) await landing();
      const p = await profile(j, 'wes@whiskey.test');
      return { firstTouch: p.firstTouch, createdAt: p.createdAt };
    };
    const expected = { firstTouch: { channel: 'paid_search', utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', url: ft.url, at: iso(T0 + 10 * MIN) }, createdAt: iso(T0 + 10 * MIN) };
    expect(await firstTouchOf(false)).toEqual(expected);
    expect(await firstTouchOf(true)).toEqual(expected);
  });
});
