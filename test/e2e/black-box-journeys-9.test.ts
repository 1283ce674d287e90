// Black-box journeys 9: the DEMO SITE of `npm start` (/demo/, the demo's default rules) over two months on the
// collector's own clock (startServer's `now`, moved with every device's Playwright clock, as in black-box-journeys-8):
// what only real days show. Lena reads a case study and pricing from a Bing ad and subscribes; 21 days in consideration
// make her `stalled_consideration` and 30 days without a visit `newsletter_cold` while her pricing view leaves
// `pricing_no_demo`'s 30-day window, all moved by the collector's sweep, not by an event; she comes back on day 31 from
// the newsletter: her day-0 points have decayed by 2^(-31/90), so the playbook and a pricing view leave her under the MQL
// bar although her raw points pass it; her demo request crosses it. Ben, new that day, asks for a demo from a LinkedIn
// ad. Then the funnel report for the default period (the last 30 days by the collector's clock: Lena's day-0 entries and
// Lena herself are outside it) and for the whole two months (31 days in consideration as a time in stage).
// Expected values are worked out by hand from contract §6, README "Funnel engine" (Scores: visit 2 once per session,
// return_visit 5, pricing_view 10 window 1d, case_study_view 5, content_download 10, newsletter_signup 10,
// demo_request 30; MQL at 50; half-life 90 days; Funnel report) and "Segments" (the presets: pricing_no_demo,
// newsletter_cold, content_downloaders, demo_no_close, stalled_consideration), never read from the code's output.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { MIN, DAY, PHONE_UA, decayed, stagesOf, awardsOf, useClockedDemo } from './clocked-demo.js';

const { h, device, reopen, advance, nowMin, visit, go, submit, download, visitorIdOf, api, profile, timeline, eventsUntil, minOf } = useClockedDemo('journeys9.db', { SEGMENT_SWEEP_MS: '100' });


const LENA = 'lena@globex.example';
const BEN = 'ben@umbrella.example';
const who: Record<string, string> = {};
const tabs: Record<string, Page> = {};
const segmentsOfLead = async (ref: string) => ((await profile(ref)).segments as string[]).slice().sort();
/** polls until the lead's segments are `want` (the sweep runs every 100 ms of real time) */
async function segmentsUntil(ref: string, want: string[]) {
  await expect.poll(() => segmentsOfLead(ref), { timeout: 10_000, interval: 100 }).toEqual(want.slice().sort());
}
/** what the snippet's `segments` call reads for a device (contract §5: the site key, no bearer key) */
async function visitorSegments(visitorId: string) {
  const res = await fetch(`${h.server.url}/api/visitors/${visitorId}/segments?site=${h.server.demoSite!.siteKey}`);
  expect(res.status).toBe(200);
  return ((await res.json()).segments as string[]).slice().sort();
}
// the day-0 awards of Lena (minute 0): visit 2, case_study_view 5, pricing_view 10, newsletter_signup 10 = 27
const LENA_DAY0: Array<[number, number]> = [[27, 0]];

describe('black-box journeys 9: two months of the demo site on the collector\'s own clock', () => {
  test('day 0: Lena, from a Bing ad, reads the case study and pricing and subscribes: consideration, 27, pricing_no_demo', async () => {
    // home (visit +2: awareness), the case study (case_study_view +5: consideration), pricing (pricing_view +10),
    // home again and its newsletter form (newsletter_signup +10; interest is below consideration: not entered): 27
    const laptop = await device();
    const tab = await visit(laptop, '/demo/?utm_source=bing&utm_medium=cpc&utm_campaign=q1');
    who.lena = await visitorIdOf(tab);
    await go(tab, 'nav a[href="/demo/case-studies/acme"]', '/demo/case-studies/acme');
    await go(tab, 'nav a[href="/demo/pricing"]', '/demo/pricing');
    await go(tab, 'nav a[href="/demo/"]', '/demo/');
    await submit(tab, 'newsletter', LENA);
    const items = await eventsUntil(LENA, ['pageview /demo/', 'pageview /demo/case-studies/acme', 'pageview /demo/pricing', 'pageview /demo/', 'newsletter_signup /demo/']);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration']);
    const p = await profile(LENA);
    expect(p).toMatchObject({ stage: 'consideration', mql: false, sql: false, firstTouch: { channel: 'paid_search', utm_source: 'bing' } });
    expect(p.score).toBeCloseTo(27, 2);
    // pricing seen, no demo: pricing_no_demo (its path also matched under /demo on the demo site)
    await segmentsUntil(LENA, ['pricing_no_demo']);
    expect(await visitorSegments(who.lena)).toEqual(['pricing_no_demo']);

    // she stays on the home page a moment (an engagement needs a second) and closes the tab: the snippet sends what it
    // holds by beacon, which has no answer, so those events stay in her browser's outbox (README "Transport") until
    // her next visit's first answered send, although the collector stored them
    await tab.waitForTimeout(1100);
    await tab.close();
    const outbox = async () => {
      const state = await h.devices[0].storageState();
      const fb = state.origins.flatMap((o) => o.localStorage).find((e) => e.name === '_fb');
      return ((fb ? JSON.parse(fb.value).q : []) as Array<{ i: string; n: string }>) ?? [];
    };
    const held = await outbox();
    expect(held.map((e) => e.n)).toContain('engagement');
    // every event she still holds is stored
    await expect.poll(async () => {
      const ids = new Set((await timeline(LENA)).filter((i) => i.kind === 'event').map((i: any) => i.id));
      return held.every((e) => ids.has(e.i));
    }, { timeout: 10_000, interval: 100 }).toBe(true);
  });

  test('day 22: 21 days in consideration make her stalled_consideration (the sweep, no event); her score has decayed', async () => {
    await advance(22 * DAY / MIN);
    await segmentsUntil(LENA, ['pricing_no_demo', 'stalled_consideration']);
    const listed = await api('/api/leads?segment=stalled_consideration', h.keys.leads);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((l: any) => l.email)).toEqual([LENA]);
    // 27 · 2^(-22/90) = 27 · 0.84418… ≈ 22.79
    expect((await profile(LENA)).score).toBeCloseTo(decayed(LENA_DAY0, nowMin()), 2);
    expect((await profile(LENA)).score).toBeLessThan(23);
  });

  test('day 31: the pricing view is past pricing_no_demo\'s 30 days and no page was seen in 30 days: newsletter_cold', async () => {
    await advance(9 * DAY / MIN);
    await segmentsUntil(LENA, ['newsletter_cold', 'stalled_consideration']);
    expect(await visitorSegments(who.lena)).toEqual(['newsletter_cold', 'stalled_consideration']);
    const cold = await api('/api/segments/newsletter_cold/members?format=json', h.keys.audiences);
    expect(cold.status).toBe(200);
    expect(cold.body.members.map((m: any) => m.email)).toEqual([LENA]);
  });

  test('day 31: Lena back from the newsletter: the playbook and pricing leave her decayed score under 50 (raw points 54); her demo request crosses it', async () => {
    // a new session from the newsletter's link: home (visit +2, return_visit +5): 27 · 2^(-31/90) + 7 ≈ 21.26 + 7 = 28.26;
    // a page seen: out of newsletter_cold
    // the same browser profile (its storage: visitor id, first touch, outbox) in a context whose clock is installed at
    // day 31: Playwright's fake clock stops firing timers in documents made after a jump of more than 2^31 ms (24.8
    // days) from its install, so the snippet there would never send (the day-0 context stays open, idle)
    const laptop = await reopen(h.devices[0]);
    const tab = await visit(laptop, '/demo/?utm_source=newsletter&utm_medium=email&utm_campaign=digest');
    // the playbook (a .pdf link without `download`: Chromium's viewer opens; content_download +10 → 38.26; interest is
    // below her stage), back to the home page (the same visit)
    await go(tab, 'a[href="/demo/files/funnel-playbook.pdf"]', '/demo/files/funnel-playbook.pdf');
    await Promise.all([tab.waitForURL((u) => u.pathname === '/demo/'), tab.goBack()]);
    await tab.waitForLoadState('load');
    // pricing: pricing_view +10 (its last award 31 days ago) → 48.26, under 50: no MQL, although 27 + 7 + 10 + 10 = 54
    // raw points would be. Pricing seen in two sessions: intent (out of stalled_consideration; pricing_no_demo again)
    await go(tab, 'nav a[href="/demo/pricing"]', '/demo/pricing');
    let items = await eventsUntil(LENA, [
      'pageview /demo/', 'pageview /demo/case-studies/acme', 'pageview /demo/pricing', 'pageview /demo/', 'newsletter_signup /demo/',
      'pageview /demo/', 'download /demo/', 'pageview /demo/', 'pageview /demo/pricing',
    ]);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>intent']);
    let p = await profile(LENA);
    const back = 31 * 24 * 60;
    expect(p).toMatchObject({ stage: 'intent', mql: false, sql: false });
    expect(p.score).toBeCloseTo(decayed([...LENA_DAY0, [27, back]], nowMin()), 2);
    expect(p.score).toBeLessThan(48.5);
    expect(p.score).toBeGreaterThan(48);
    await segmentsUntil(LENA, ['content_downloaders', 'pricing_no_demo']);
    expect((await api('/api/leads?mql=true', h.keys.leads)).body.items).toEqual([]);

    // the pricing page's demo link and the demo form: +30 → 78.26: the MQL crossed by the request; SQL; evaluation
    await go(tab, 'p a[href="/demo/demo"]', '/demo/demo');
    await submit(tab, 'demo', LENA, { company: 'Globex', jobTitle: 'VP Sales', country: 'DE' });
    items = await eventsUntil(LENA, [
      'pageview /demo/', 'pageview /demo/case-studies/acme', 'pageview /demo/pricing', 'pageview /demo/', 'newsletter_signup /demo/',
      'pageview /demo/', 'download /demo/', 'pageview /demo/', 'pageview /demo/pricing', 'pageview /demo/demo', 'demo_request /demo/demo',
    ]);
    p = await profile(LENA);
    expect(p).toMatchObject({ stage: 'evaluation', mql: true, sql: true, lastTouch: { channel: 'email', utm_campaign: 'digest' } });
    expect(p.score).toBeCloseTo(decayed([...LENA_DAY0, [57, back]], nowMin()), 2);
    await segmentsUntil(LENA, ['content_downloaders', 'demo_no_close']);
    // the score items: day 0's four awards, day 31's five; the newest shows the score at the request (≈ 78.26)
    expect(awardsOf(items)).toEqual([
      'visit 2', 'case_study_view 5', 'pricing_view 10', 'newsletter_signup 10',
      'visit 2', 'return_visit 5', 'content_download 10', 'pricing_view 10', 'demo_request 30',
    ]);
    const scores = items.filter((i) => i.kind === 'score');
    expect(scores[0].scoreAfter).toBeCloseTo(decayed([...LENA_DAY0, [57, back]], minOf(scores[0])), 2);
    // 31 days in consideration, then intent and evaluation within the visit
    const st = items.filter((i) => i.kind === 'stage').reverse();
    expect(st.map((i) => Math.floor(minOf(i) / (24 * 60)))).toEqual([0, 0, 31, 31]);
    // her segment history in order: pricing_no_demo (day 0), stalled_consideration (day 21-22), out of pricing_no_demo
    // and into newsletter_cold (day 30-31), then day 31's visit: out of newsletter_cold, out of stalled_consideration,
    // pricing_no_demo and content_downloaders again, the demo request: out of pricing_no_demo, into demo_no_close
    const segs = items.filter((i) => i.kind === 'segment').reverse();
    const named = segs.map((i) => `${i.change} ${i.segment}`);
    expect(named.slice(0, 2)).toEqual(['entered pricing_no_demo', 'entered stalled_consideration']);
    expect(named.slice(2, 4).sort()).toEqual(['entered newsletter_cold', 'exited pricing_no_demo']);
    // (the day-31 pages reach the collector in one or several batches, and segments are decided once per write: the
    // changes of one write share a time, so the four before the demo request are compared as a set)
    expect(named.slice(4, 8).sort()).toEqual(['entered content_downloaders', 'entered pricing_no_demo', 'exited newsletter_cold', 'exited stalled_consideration']);
    expect(named.slice(8).sort()).toEqual(['entered demo_no_close', 'exited pricing_no_demo']);
    // the sweep's changes come between the visits: stalled after 21 days, cold after 30
    expect(minOf(segs[1]) / (24 * 60)).toBeGreaterThanOrEqual(21);
    expect(minOf(segs[2]) / (24 * 60)).toBeGreaterThanOrEqual(30);
    for (const s of segs.slice(4)) expect(minOf(s) / (24 * 60)).toBeGreaterThanOrEqual(31);
  });

  // Found by the journey judge (session 15): the collector refused a stored event resent from an outbox after 7 days as
  // "older than 7 days" and kept it in the rejected store, once per page until an answered send settled it (4 rows for
  // her one engagement here). collector/ingest/pipeline.ts now counts an outbox's too-old events already stored as
  // duplicates.
  test('day 31: her day-0 outbox, resent with the day-31 pages, holds stored events: none is refused or kept in the rejected store', async () => {
    // contract §7: a retried event is stored once; bad input is what goes to the rejected store. Only beacons (`/e`)
    // are judged: the API's own refusals are kept there too, and a poll of a profile that did not exist yet (a 404,
    // as the PostgreSQL run's timing can give) is one
    const rejected = await api('/api/rejected?limit=500', h.keys.admin);
    expect(rejected.status).toBe(200);
    expect(rejected.body.items.filter((r: any) => r.route === '/e').map((r: any) => r.message)).toEqual([]);
  });

  test('day 31: Ben, new, asks for a demo from a LinkedIn ad; the funnel report of the default period (the last 30 days) and of the two months', async () => {
    // Ben's phone: pricing (visit +2, pricing_view +10: awareness, consideration), its demo link and the form (+30:
    // evaluation, SQL): 42, no MQL
    const phone = await device(PHONE_UA);
    const tab = await visit(phone, '/demo/pricing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm');
    await go(tab, 'p a[href="/demo/demo"]', '/demo/demo');
    await submit(tab, 'demo', BEN);
    const items = await eventsUntil(BEN, ['pageview /demo/pricing', 'pageview /demo/demo', 'demo_request /demo/demo']);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>evaluation']);
    const b = await profile(BEN);
    expect(b).toMatchObject({ stage: 'evaluation', mql: false, sql: true });
    expect(b.score).toBeCloseTo(42, 2);

    // the default period: the 30 days before the collector's now (day 31). Its cohort is Ben alone (Lena was created on
    // day 0). count (now): Lena and Ben in evaluation. entered: Ben's awareness, consideration, evaluation; Lena's
    // intent and evaluation of day 31 (her day-0 entries are outside). reached (Ben): 1, 1, 1, 1, 1, 0
    const r = await api('/api/funnel', h.keys.audiences);
    expect(r.status).toBe(200);
    const col = (rows: any[], k: string) => rows.map((s) => s[k]);
    expect(col(r.body.stages, 'count')).toEqual([0, 0, 0, 0, 2, 0]);
    expect(col(r.body.stages, 'entered')).toEqual([1, 0, 1, 1, 2, 0]);
    expect(col(r.body.stages, 'reached')).toEqual([1, 1, 1, 1, 1, 0]);
    [1, 1, 1, 1, 0].forEach((v, n) => expect(r.body.stages[n].conversionNext).toBeCloseTo(v, 4));
    [1, 1, 1, 1, 1, 0].forEach((v, n) => expect(r.body.stages[n].conversionCumulative).toBeCloseTo(v, 4));
    // times in stage of the period's entries that moved on: awareness Ben (seconds), consideration Ben (seconds), intent
    // Lena (seconds: pricing → demo request); evaluation: none moved on
    const t = col(r.body.stages, 'timeInStage');
    for (const n of [0, 2, 3]) expect(t[n].p90 / MIN).toBeLessThan(2);
    expect(t[1]).toMatchObject({ p50: null, p90: null });
    expect(t[4]).toMatchObject({ p50: null, p90: null });

    // the two months (from just before day 0): the cohort is Lena and Ben. entered: awareness 2, consideration 2,
    // intent 1 (Lena), evaluation 2. Times in consideration: Ben seconds, Lena 31 days (day 0 → day 31): p50 Ben's,
    // p90 Lena's. Awareness: both seconds
    // (to: a minute past the collector's now, Date.now() + offset: T0 + offset would be now only if the file reached here
    // within a minute of real time, which a loaded CI machine does not promise)
    const from = new Date(h.T0 - MIN).toISOString();
    const to = new Date(Date.now() + h.offset + MIN).toISOString();
    const all = await api(`/api/funnel?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&breakdown=channel`, h.keys.audiences);
    expect(all.status).toBe(200);
    expect(col(all.body.stages, 'count')).toEqual([0, 0, 0, 0, 2, 0]);
    expect(col(all.body.stages, 'entered')).toEqual([2, 0, 2, 1, 2, 0]);
    expect(col(all.body.stages, 'reached')).toEqual([2, 2, 2, 2, 2, 0]);
    const ct = all.body.stages[2].timeInStage;
    expect(ct.p50 / MIN).toBeLessThan(2);
    expect(ct.p90 / DAY).toBeGreaterThanOrEqual(31);
    expect(ct.p90 / DAY).toBeLessThan(31 + 2 / (24 * 60));
    // by the first touch's channel: paid_search Lena, paid_social Ben
    const g = (key: string) => all.body.breakdown.find((x: any) => x.key === key)?.stages.map((s: any) => s.entered);
    expect(g('paid_search')).toEqual([1, 0, 1, 1, 1, 0]);
    expect(g('paid_social')).toEqual([1, 0, 1, 0, 1, 0]);
  });
});
