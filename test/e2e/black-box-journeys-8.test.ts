// Black-box journeys 8: the DEMO SITE that `npm start` serves at /demo/ (home, blog post, pricing, case study and its
// PDF, the playbook PDF, the newsletter and demo forms), under the demo's default rules (README: the defaults with their
// page paths also matched under /demo), in one Chromium with a browser context per device, and the CRM by
// POST /api/events. Unlike rounds 1-7 (whose collector kept the real clock, so a device clock jump made sessions while
// every stored time stayed seconds apart), the collector's clock moves with the devices' here (startServer's `now`,
// Playwright's clock on every context): 31 minutes and a whole day really pass, so the report's times in stage, the
// 90-day decay and the pricing view's one-day window are judged on real minutes. Six people over 25 hours:
// - Maya: Google ad, blog, the playbook PDF (a link without `download`), the blog's newsletter form; pricing 31
//   minutes later; pricing on her phone (anonymous) and its demo form with her email in capitals; the next day pricing
//   again from an email campaign (a new pricing award: the window passed); the CRM's closed_won by her laptop's
//   visitor id.
// - Omar: LinkedIn post, blog newsletter; the case study and its PDF 31 minutes later; the next day pricing and a demo
//   request; the CRM's closed_lost by his email.
// - Carl: anonymous phone, pricing in two sessions (intent); the CRM's demo_completed by his visitor id with his email,
//   then sales_accepted by his lead id.
// - Dora: never on the site; the CRM's proposal_sent dated 100 minutes after the start and closed_won now.
// - Eve: organic search, back after 62 minutes (a second session: interest). Fay: one LinkedIn visit.
// Then every profile, timeline (every item kind, in order; paged by 1, 2 and 7), lead list and the funnel report
// (count, entered, reached, conversions, times in stage; first-, last-touch and linear channel breakdowns; periods of
// partial and of whole UTC days, one bounded at the CRM's own millisecond); the CRM naming Maya by her phone's
// merged-away lead id with a back-dated proposal; and 396 days later the retention sweep purging Eve and Fay.
// Expected values are worked out by hand from contract §6 and README "Funnel engine" (stage table, Scores: visit 2 once
// per session cap 10, return_visit 5 at the second session cap 5, pricing_view 10 window 1d cap 30, case_study_view 5
// window 1d, content_download 10 per download cap 30, newsletter_signup 10, demo_request 30, demo_completed 20,
// proposal_sent 10; MQL at 50; SQL on sales_accepted or a demo request; half-life 90 days; Funnel report: count,
// entered, reached, conversionNext, conversionCumulative, nearest-rank p50/p90), never read from the code's output.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { type Item, MIN, DAY, PHONE_UA, STAGES, decayed, evs, stagesOf, awardsOf, segsOf, useClockedDemo } from './clocked-demo.js';

const { h, device, advance, nowMin, visit, go, submit, download, visitorIdOf, api, profile, timeline, eventsUntil, minOf, postEvents } = useClockedDemo('journeys8.db', { RETENTION_SWEEP_MS: '200' });

const who: Record<string, { visitor?: string; phone?: string; leadId?: string }> = { maya: {}, omar: {}, carl: {}, eve: {}, fay: {}, dora: {} };
const MAYA = 'maya@northwind.example';
const OMAR = 'omar@contoso.example';
const CARL = 'carl@fabrikam.example';
const DORA = 'dora@initech.example';
const tabs: Record<string, Page> = {};
/** the lead id Maya's phone had while anonymous (merged into hers by the demo form) */
let anonPhoneLead = '';

describe('black-box journeys 8: the demo site over 25 hours on the collector\'s own clock', () => {
  test('minute 0 and 31: Maya (ad, playbook PDF, newsletter, pricing), Omar (LinkedIn, newsletter, case study and its PDF), Eve, Fay, Carl', async () => {
    // ---- minute 0 ----
    // Maya, laptop, from a Google ad: home (visit +2: awareness), the blog (same visit: nothing), the playbook PDF linked
    // from the post without a `download` attribute (a .pdf: a download; "playbook" is content: content_download +10 →
    // interest), the blog's newsletter form (newsletter_signup +10): 22, identified, interest
    // (the people's devices are made in a fixed order, then browse at the same time)
    const [mayaLaptop, omarLaptop, eveLaptop] = [await device(), await device(), await device()];
    const maya0 = async () => {
      const tab = await visit(mayaLaptop, '/demo/?utm_source=google&utm_medium=cpc&utm_campaign=brand');
      who.maya.visitor = await visitorIdOf(tab);
      await go(tab, 'nav a[href="/demo/blog/first-party-tracking"]', '/demo/blog/first-party-tracking');
      // Chromium shows the PDF in its viewer (a navigation): the click's download event leaves with the page; back to
      // the post (a pageview: a load, or a back/forward cache restore, both pageviews by contract §3)
      await go(tab, 'p a[href="/demo/files/funnel-playbook.pdf"]', '/demo/files/funnel-playbook.pdf');
      await Promise.all([tab.waitForURL(h.server.url + '/demo/blog/first-party-tracking'), tab.goBack()]);
      await tab.waitForLoadState('load');
      await submit(tab, 'newsletter', MAYA);
      return eventsUntil(MAYA, ['pageview /demo/', 'pageview /demo/blog/first-party-tracking', 'download /demo/blog/first-party-tracking', 'pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking']);
    };
    // Omar, laptop, from a LinkedIn post (utm_medium social: organic_social), lands on the blog: visit +2, awareness;
    // the newsletter form: +10 → 12, interest
    const omar0 = async () => {
      const tab = await visit(omarLaptop, '/demo/blog/first-party-tracking?utm_source=linkedin&utm_medium=social');
      who.omar.visitor = await visitorIdOf(tab);
      await submit(tab, 'newsletter', OMAR);
      return eventsUntil(OMAR, ['pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking']);
    };
    // Eve, from Google search (utm_medium organic): home only: visit +2, awareness, anonymous
    const eve0 = async () => {
      const tab = await visit(eveLaptop, '/demo/?utm_source=google&utm_medium=organic');
      who.eve.visitor = await visitorIdOf(tab);
      return eventsUntil(who.eve.visitor, ['pageview /demo/']);
    };
    let [maya] = await Promise.all([maya0(), omar0(), eve0()]);
    expect(evs(maya).find((i) => i.name === 'download')!.props).toEqual({ url: h.server.url + '/demo/files/funnel-playbook.pdf' });
    expect(stagesOf(maya)).toEqual(['null>awareness', 'awareness>interest']);

    // ---- minute 31: a second visit for Maya and Omar (31 minutes without activity, on both clocks) ----
    await advance(31);
    const [fay, carlPhone] = [await device(), await device(PHONE_UA)];
    await Promise.all([
      // Maya, laptop, types the pricing address (direct): visit +2, return_visit +5 (second session), pricing_view +10;
      // second_session reaches interest (already there), pricing_page consideration: 22 + 17 = 39 (less 31 minutes of
      // decay)
      (async () => {
        tabs.maya = await visit(mayaLaptop, '/demo/pricing');
      })(),
      // Omar: the case study (visit +2, return_visit +5, case_study_view +5: consideration) and its PDF (a `download`
      // link; "case-stud" in its address: case_study_download, consideration already; content_download +10): 12 + 22 = 34
      (async () => {
        tabs.omar = await visit(omarLaptop, '/demo/case-studies/acme');
        await download(tabs.omar, 'a[href="/demo/files/acme-case-study.pdf"]');
      })(),
      // Fay, from a LinkedIn post: home only: visit +2, awareness
      (async () => {
        const tab = await visit(fay, '/demo/?utm_source=linkedin&utm_medium=social');
        who.fay.visitor = await visitorIdOf(tab);
      })(),
      // Carl, a phone, direct: home (visit +2: awareness), pricing (pricing_view +10: consideration): anonymous, 12
      (async () => {
        tabs.carl = await visit(carlPhone, '/demo/');
        who.carl.visitor = await visitorIdOf(tabs.carl);
        await go(tabs.carl, 'nav a[href="/demo/pricing"]', '/demo/pricing');
      })(),
    ]);

    maya = await eventsUntil(MAYA, ['pageview /demo/', 'pageview /demo/blog/first-party-tracking', 'download /demo/blog/first-party-tracking', 'pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking', 'pageview /demo/pricing']);
    expect(stagesOf(maya)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration']);
    // two web sessions, 31 minutes apart on the collector's clock
    const mv = evs(maya);
    expect(new Set(mv.slice(0, 5).map((i: any) => i.sessionId)).size).toBe(1);
    expect((mv[5] as any).sessionId).not.toBe((mv[0] as any).sessionId);
    expect(minOf(mv[5]) - minOf(mv[4])).toBeGreaterThanOrEqual(31);
    let p = await profile(MAYA);
    expect(p).toMatchObject({ stage: 'consideration', mql: false, sql: false, visitorIds: [who.maya.visitor] });
    expect(p.score).toBeCloseTo(decayed([[22, 0], [17, 31]], nowMin()), 2);

    await eventsUntil(OMAR, ['pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking', 'pageview /demo/case-studies/acme', 'download /demo/case-studies/acme']);
    p = await profile(OMAR);
    expect(p).toMatchObject({ stage: 'consideration', mql: false, sql: false });
    expect(p.score).toBeCloseTo(decayed([[12, 0], [22, 31]], nowMin()), 2);
    await eventsUntil(who.fay.visitor!, ['pageview /demo/']);
    await eventsUntil(who.carl.visitor!, ['pageview /demo/', 'pageview /demo/pricing']);
    p = await profile(who.carl.visitor!);
    expect(p).toMatchObject({ email: null, stage: 'consideration', mql: false, sql: false });
    expect(p.score).toBeCloseTo(12, 2);
    who.carl.leadId = p.leadId;
  });

  test('minute 62: Maya\'s anonymous phone sees pricing and books a demo with her email in capitals; Carl sees pricing again; Eve returns', async () => {
    await advance(31);
    // Maya's phone, anonymous: pricing (visit +2, pricing_view +10): its own lead, awareness then consideration, 12
    const mayaPhone = await device(PHONE_UA);
    tabs.mayaPhone = await visit(mayaPhone, '/demo/pricing');
    who.maya.phone = await visitorIdOf(tabs.mayaPhone);
    const anon = await eventsUntil(who.maya.phone, ['pageview /demo/pricing']);
    expect(stagesOf(anon)).toEqual(['null>awareness', 'awareness>consideration']);
    const anonLead = await profile(who.maya.phone);
    expect(anonLead).toMatchObject({ email: null, stage: 'consideration' });
    expect(anonLead.score).toBeCloseTo(12, 2);
    // the pricing page's "Request a demo" link, the demo form with MAYA@… and every marked field: the phone joins Maya.
    // On Maya, in time order: the phone's visit is her third session (visit +2; return_visit capped at 5; pricing_view
    // awarded at minute 31, its one-day window still open: nothing); pricing seen in two sessions (the laptop's at 31,
    // the phone's at 62): intent. The demo request: +30, evaluation, SQL. Score 22 + 17 + 2 = 41 before it, 71 after:
    // the MQL crossed by the demo request
    await go(tabs.mayaPhone, 'p a[href="/demo/demo"]', '/demo/demo');
    await submit(tabs.mayaPhone, 'demo', MAYA.toUpperCase(), { company: 'Northwind', jobTitle: 'CMO', country: 'GB' });
    // Carl's phone, 31 minutes later: pricing in a new tab (visit +2, return_visit +5; pricing_view's window: nothing):
    // pricing in two sessions, intent (interest, below consideration, is not entered): 19
    tabs.carl2 = await visit(h.devices[4], '/demo/pricing');
    // Eve comes back, typing the blog's address: a second session (visit +2, return_visit +5): interest, 9
    tabs.eve = await visit(h.devices[2], '/demo/blog/first-party-tracking');

    const maya = await eventsUntil(MAYA, [
      'pageview /demo/', 'pageview /demo/blog/first-party-tracking', 'download /demo/blog/first-party-tracking', 'pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking',
      'pageview /demo/pricing', 'pageview /demo/pricing', 'pageview /demo/demo', 'demo_request /demo/demo',
    ]);
    expect(stagesOf(maya)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration', 'consideration>intent', 'intent>evaluation']);
    const p = await profile(MAYA);
    expect(p).toMatchObject({ email: MAYA, stage: 'evaluation', mql: true, sql: true, traits: { company: 'Northwind', jobTitle: 'CMO', country: 'GB' } });
    expect(new Set(p.visitorIds)).toEqual(new Set([who.maya.visitor, who.maya.phone]));
    expect(p.score).toBeCloseTo(decayed([[22, 0], [17, 31], [32, 62]], nowMin()), 2);
    // the phone's anonymous lead id now names Maya
    expect((await profile(anonLead.leadId)).leadId).toBe(p.leadId);
    anonPhoneLead = anonLead.leadId;
    who.maya.leadId = p.leadId;

    const carl = await eventsUntil(who.carl.visitor!, ['pageview /demo/', 'pageview /demo/pricing', 'pageview /demo/pricing']);
    expect(stagesOf(carl)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>intent']);
    const c = await profile(who.carl.visitor!);
    expect(c).toMatchObject({ email: null, stage: 'intent', mql: false, sql: false, segments: expect.arrayContaining(['pricing_no_demo']) });
    expect(c.score).toBeCloseTo(decayed([[12, 31], [7, 62]], nowMin()), 2);
    const eve = await eventsUntil(who.eve.visitor!, ['pageview /demo/', 'pageview /demo/blog/first-party-tracking']);
    expect(stagesOf(eve)).toEqual(['null>awareness', 'awareness>interest']);
    const e = await profile(who.eve.visitor!);
    expect(e).toMatchObject({ stage: 'interest' });
    expect(e.score).toBeCloseTo(decayed([[2, 0], [7, 62]], nowMin()), 2);
    who.eve.leadId = e.leadId;
    who.fay.leadId = (await profile(who.fay.visitor!)).leadId;
  });

  test('minute 1502, the next day: Maya sees pricing from an email campaign (a new pricing award), Omar pricing and a demo request', async () => {
    await advance(1440);
    // Maya's laptop, from the newsletter's link: a fourth session (visit +2; 4 visits = 8, under the cap of 10); the
    // pricing view's window (one day from its award at minute 31) has passed: pricing_view +10 (20 of its cap of 30).
    // No stage change (evaluation)
    tabs.maya2 = await visit(h.devices[0], '/demo/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=nov');
    // Omar's laptop, direct: pricing, a third session (visit +2, pricing_view +10; pricing in one session only: no intent),
    // then the pricing page's demo link and the demo form: demo_request +30, evaluation (intent skipped), SQL.
    // Score before the request: 12·d + 22·d + 12 ≈ 45.7 (under 50); after it ≈ 75.7: the MQL crossed by the request
    tabs.omar2 = await visit(h.devices[1], '/demo/pricing');
    // (read back before the demo: segments are decided once per write, and his pricing_no_demo entry is judged below)
    await eventsUntil(OMAR, [
      'pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking', 'pageview /demo/case-studies/acme', 'download /demo/case-studies/acme',
      'pageview /demo/pricing',
    ]);
    await go(tabs.omar2, 'p a[href="/demo/demo"]', '/demo/demo');
    await submit(tabs.omar2, 'demo', OMAR);

    const maya = await eventsUntil(MAYA, [
      'pageview /demo/', 'pageview /demo/blog/first-party-tracking', 'download /demo/blog/first-party-tracking', 'pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking',
      'pageview /demo/pricing', 'pageview /demo/pricing', 'pageview /demo/demo', 'demo_request /demo/demo', 'pageview /demo/pricing',
    ]);
    expect(awardsOf(maya)).toEqual([
      'visit 2', 'content_download 10', 'newsletter_signup 10', // minute 0
      'visit 2', 'return_visit 5', 'pricing_view 10', // minute 31
      'visit 2', 'demo_request 30', // minute 62 (the phone)
      'visit 2', 'pricing_view 10', // minute 1502
    ]);
    const p = await profile(MAYA);
    expect(p.stage).toBe('evaluation');
    expect(p.score).toBeCloseTo(decayed([[22, 0], [17, 31], [32, 62], [12, 1502]], nowMin()), 2);
    const omar = await eventsUntil(OMAR, [
      'pageview /demo/blog/first-party-tracking', 'newsletter_signup /demo/blog/first-party-tracking', 'pageview /demo/case-studies/acme', 'download /demo/case-studies/acme',
      'pageview /demo/pricing', 'pageview /demo/demo', 'demo_request /demo/demo',
    ]);
    expect(stagesOf(omar)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration', 'consideration>evaluation']);
    const o = await profile(OMAR);
    expect(o).toMatchObject({ stage: 'evaluation', mql: true, sql: true });
    expect(o.score).toBeCloseTo(decayed([[12, 0], [22, 31], [42, 1502]], nowMin()), 2);
    who.omar.leadId = o.leadId;
  });

  test('minute 1510: the CRM: closed_won by a visitor id, closed_lost by email, demo_completed naming an anonymous phone with an email, sales_accepted by lead id, an unknown email', async () => {
    await advance(8);
    const dated = new Date(h.T0 + 100 * MIN).toISOString();
    const r = await postEvents([
      // Maya by her laptop's visitor id: purchase, no points
      { visitorId: who.maya.visitor, name: 'closed_won', props: { amount: 12000 } },
      // Omar by his email as the CRM writes it: no stage, no points
      { email: 'Omar@Contoso.example', name: 'closed_lost' },
      // Carl's phone by its visitor id (a hidden form field) with his email: the anonymous lead becomes Carl's;
      // demo_completed +20: evaluation
      { visitorId: who.carl.visitor, email: CARL, name: 'demo_completed' },
      // Dora, never on the site: created at minute 100 by a proposal (awareness, then evaluation at once; +10)
      { email: DORA, name: 'proposal_sent', at: dated },
    ]);
    expect(r.accepted).toBe(4);
    // then the deal and the acceptance, by email and by lead id
    await postEvents([{ email: DORA, name: 'closed_won' }, { leadId: who.carl.leadId, name: 'sales_accepted' }]);

    const maya = await profile(MAYA);
    expect(maya).toMatchObject({ stage: 'purchase', mql: true, sql: true });
    expect(maya.score).toBeCloseTo(decayed([[22, 0], [17, 31], [32, 62], [12, 1502]], nowMin()), 2);
    expect(maya.firstTouch).toMatchObject({ channel: 'paid_search', utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand' });
    expect(maya.lastTouch).toMatchObject({ channel: 'email', utm_source: 'newsletter', utm_campaign: 'nov' });
    const omar = await profile(OMAR);
    expect(omar).toMatchObject({ stage: 'evaluation', mql: true, sql: true });
    expect(omar.score).toBeCloseTo(decayed([[12, 0], [22, 31], [42, 1502]], nowMin()), 2);
    expect(omar.segments).not.toContain('demo_no_close');
    const carl = await profile(CARL);
    // the same lead as the anonymous phone's: an anonymous lead that identifies with a new email becomes that lead
    expect(carl).toMatchObject({ leadId: who.carl.leadId, email: CARL, stage: 'evaluation', mql: false, sql: true, visitorIds: [who.carl.visitor] });
    expect(carl.score).toBeCloseTo(decayed([[12, 31], [7, 62], [20, 1510]], nowMin()), 2);
    const dora = await profile(DORA);
    expect(dora).toMatchObject({ email: DORA, stage: 'purchase', mql: false, sql: false, visitorIds: [], firstTouch: {}, lastTouch: {} });
    expect(dora.score).toBeCloseTo(decayed([[10, 100]], nowMin()), 2);
    who.dora.leadId = dora.leadId;
  });

  test('every timeline, every item kind in order, explains the profile', async () => {
    const maya = await timeline(MAYA);
    // newest first: items of later minutes above earlier ones
    expect(maya.every((i, n) => n === 0 || Date.parse(maya[n - 1].at) >= Date.parse(i.at))).toBe(true);
    expect(stagesOf(maya)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration', 'consideration>intent', 'intent>evaluation', 'evaluation>purchase']);
    const st = maya.filter((i) => i.kind === 'stage').reverse();
    // entered at the minute of the step that caused it
    expect(st.map((i) => Math.floor(minOf(i)))).toEqual([0, 0, 31, 62, 62, 1510]);
    // the score items add up to the raw awards (83) and the newest shows the score at its time
    const scores = maya.filter((i) => i.kind === 'score');
    expect(scores.reduce((s, i) => s + i.points!, 0)).toBe(83);
    expect(scores[0].scoreAfter).toBeCloseTo(decayed([[22, 0], [17, 31], [32, 62], [12, 1502]], minOf(scores[0])), 2);
    // one identity item per device
    expect(new Set(maya.filter((i) => i.kind === 'identity').map((i) => i.visitorId))).toEqual(new Set([who.maya.visitor, who.maya.phone]));
    // segments: content_downloaders at the PDF, pricing_no_demo at pricing (31), left at the demo request, which enters
    // demo_no_close; the won deal ends both and enters customers
    const mayaSegs = segsOf(maya);
    expect(mayaSegs.slice(0, 2)).toEqual(['entered content_downloaders', 'entered pricing_no_demo']);
    // the demo request's two changes share its millisecond
    expect(mayaSegs.slice(2, 4).sort()).toEqual(['entered demo_no_close', 'exited pricing_no_demo']);
    // the three changes of the won deal share its millisecond
    expect(mayaSegs.slice(4).sort()).toEqual(['entered customers', 'exited content_downloaders', 'exited demo_no_close']);
    // the CRM event is the newest event, with its props, on a server "visitor"
    expect(evs(maya).at(-1)).toMatchObject({ name: 'closed_won', props: { amount: 12000 } });
    // the phone's events are on the phone, the rest on the laptop
    expect(evs(maya).filter((i) => i.visitorId === who.maya.phone).map((i) => `${i.name} ${i.path}`)).toEqual(['pageview /demo/pricing', 'pageview /demo/demo', 'demo_request /demo/demo']);
    expect(evs(maya).find((i) => i.name === 'demo_request')).toMatchObject({ form: 'demo' });

    const omar = await timeline(OMAR);
    expect(awardsOf(omar)).toEqual([
      'visit 2', 'newsletter_signup 10',
      'visit 2', 'return_visit 5', 'case_study_view 5', 'content_download 10',
      'visit 2', 'pricing_view 10', 'demo_request 30',
    ]);
    expect(evs(omar).at(-1)).toMatchObject({ name: 'closed_lost' });
    const omarSegs = segsOf(omar);
    expect(omarSegs.slice(0, 2)).toEqual(['entered content_downloaders', 'entered pricing_no_demo']);
    // the demo request's two changes share its millisecond; the CRM's closed_lost ends demo_no_close
    expect(omarSegs.slice(2, 4).sort()).toEqual(['entered demo_no_close', 'exited pricing_no_demo']);
    expect(omarSegs.slice(4)).toEqual(['exited demo_no_close']);

    const carl = await timeline(CARL);
    expect(stagesOf(carl)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>intent', 'intent>evaluation']);
    expect(awardsOf(carl)).toEqual(['visit 2', 'pricing_view 10', 'visit 2', 'return_visit 5', 'demo_completed 20']);
    expect(evs(carl).map((i) => i.name)).toEqual(['pageview', 'pageview', 'pageview', 'demo_completed', 'sales_accepted']);
    // the phone, anonymous from its first page, is tied to Carl by the CRM's event (at its time); the device never
    // changes lead (one anonymous lead that became Carl's)
    const ids = carl.filter((i) => i.kind === 'identity') as any[];
    expect(new Set(ids.map((i) => i.visitorId))).toEqual(new Set([who.carl.visitor]));
    expect(ids.at(-1)).toMatchObject({ name: 'identity_linked', email: null, at: evs(carl)[0].at });
    expect(ids[0]).toMatchObject({ name: 'identity_linked', email: CARL, at: evs(carl)[3].at });
    expect(segsOf(carl)).toEqual(['entered pricing_no_demo']);

    // the profiles' moments, from the timelines: Maya created by her first page, identified by the newsletter form
    // (minute 0), an MQL by the demo request (62); Omar an MQL by his (1502); Carl identified by the CRM (1510)
    const mayaP = await profile(MAYA);
    const mv = evs(maya);
    expect(mayaP.createdAt).toBe(mv[0].at);
    expect(mayaP.identifiedAt).toBe(mv.find((i) => i.name === 'newsletter_signup')!.at);
    expect(mayaP.mqlAt).toBe(mv.find((i) => i.name === 'demo_request')!.at);
    expect((await profile(OMAR)).mqlAt).toBe(evs(omar).find((i) => i.name === 'demo_request')!.at);
    const carlP = await profile(CARL);
    expect(carlP).toMatchObject({ mqlAt: null, createdAt: evs(carl)[0].at, identifiedAt: evs(carl)[3].at });

    const dora = await timeline(DORA);
    expect(evs(dora).map((i) => [i.name, Math.floor(minOf(i))])).toEqual([['proposal_sent', 100], ['closed_won', 1510]]);
    // created at her proposal's own `at`; the CRM's events stand on `srv:<leadId>`, which names her too
    const doraP = await profile(DORA);
    expect(doraP.createdAt).toBe(new Date(h.T0 + 100 * MIN).toISOString());
    expect(evs(dora).map((i) => i.visitorId)).toEqual([`srv:${doraP.leadId}`, `srv:${doraP.leadId}`]);
    expect((await profile(`srv:${doraP.leadId}`)).leadId).toBe(doraP.leadId);
    expect(stagesOf(dora)).toEqual(['null>awareness', 'awareness>evaluation', 'evaluation>purchase']);
    expect(dora.filter((i) => i.kind === 'stage').map((i) => Math.floor(minOf(i))).reverse()).toEqual([100, 100, 1510]);
    expect(awardsOf(dora)).toEqual(['proposal_sent 10']);
    expect(segsOf(dora)).toEqual(['entered customers']);
  });

  // the period as tight as the journeys (partial UTC days only: counted in the indexes) and one of whole UTC days around
  // them (summed from the day counts on SQLite): the same figures
  test.each([
    ['the journeys\' own minutes', () => [h.T0 - MIN, h.T0 + h.offset + 10 * MIN]],
    ['whole UTC days around them', () => [h.T0 - 2 * DAY, h.T0 + 4 * DAY]],
  ])('the funnel report over %s: counts, entries, conversions, times in stage, by channel of the first and the last touch', async (_, period) => {
    const [from, to] = period().map((t) => new Date(t).toISOString());
    const r = await api(`/api/funnel?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, h.keys.audiences);
    expect(r.status).toBe(200);
    const col = (rows: any[], k: string) => rows.map((s) => s[k]);
    const stages = r.body.stages;
    expect(col(stages, 'stage')).toEqual(STAGES);
    // now: Fay awareness, Eve interest, Omar and Carl evaluation, Maya and Dora purchase (the phone's lead merged away)
    expect(col(stages, 'count')).toEqual([1, 1, 0, 0, 2, 2]);
    // entries: awareness 6; interest Maya, Omar, Eve; consideration Maya, Omar, Carl; intent Maya, Carl;
    // evaluation Maya, Omar, Carl, Dora; purchase Maya, Dora
    expect(col(stages, 'entered')).toEqual([6, 3, 3, 2, 4, 2]);
    // reached (the cohort, 6 leads, now in the stage or later): 6, 5, 4, 4, 4, 2
    [5 / 6, 4 / 5, 1, 1, 2 / 4].forEach((v, n) => expect(stages[n].conversionNext).toBeCloseTo(v, 4));
    [1, 5 / 6, 4 / 6, 4 / 6, 4 / 6, 2 / 6].forEach((v, n) => expect(stages[n].conversionCumulative).toBeCloseTo(v, 4));
    // times in stage (entering it to entering the next), nearest rank over the entries that moved on:
    // awareness: Maya, Omar, Carl seconds (same visit), Dora 0 (one event), Eve 62 min → sorted [0, s, s, s, 62m]:
    //   p50 = 3rd (seconds), p90 = 5th (62 min)
    // interest: Maya 31 min (PDF at 0 → pricing at 31), Omar 31 min (newsletter → case study): p50 = p90 ≈ 31 min
    // consideration: Maya 31 (pricing 31 → phone's pricing at 62), Carl 31 (31 → 62), Omar 1471 (31 → 1502):
    //   p50 ≈ 31 min, p90 ≈ 1471 min
    // intent: Maya seconds (the phone's pricing → its demo request), Carl 1448 (62 → 1510): p50 seconds, p90 ≈ 1448
    // evaluation: Maya 1448 (62 → 1510), Dora ≈ 1410 (100 → 1510): p50 ≈ 1410, p90 ≈ 1448; purchase: none moved on
    const t = stages.map((s: any) => s.timeInStage);
    const near = (ms: number | null, minutes: number) => {
      expect(ms).not.toBeNull();
      // the steps' own seconds (the test runs for some) come on top of the minutes the clock was moved
      expect(ms! / MIN).toBeGreaterThanOrEqual(minutes - 1);
      expect(ms! / MIN).toBeLessThan(minutes + 1.5);
    };
    near(t[0].p50, 0);
    near(t[0].p90, 62);
    near(t[1].p50, 31);
    near(t[1].p90, 31);
    near(t[2].p50, 31);
    near(t[2].p90, 1471);
    near(t[3].p50, 0);
    near(t[3].p90, 1448);
    near(t[4].p50, 1410);
    near(t[4].p90, 1448);
    expect(t[5]).toMatchObject({ p50: null, p90: null });

    // by channel of the first touch: paid_search Maya; organic_social Omar and Fay; direct Carl; organic_search Eve;
    // Dora (no web visit) under "(none)"
    const byFirst = await api(`/api/funnel?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&breakdown=channel`, h.keys.audiences);
    expect(byFirst.status).toBe(200);
    const group = (body: any, key: string) => {
      const g = body.breakdown.find((b: any) => b.key === key);
      expect(g, key).toBeTruthy();
      return { count: col(g.stages, 'count'), entered: col(g.stages, 'entered') };
    };
    expect(byFirst.body.breakdown.map((b: any) => b.key).sort()).toEqual(['(none)', 'direct', 'organic_search', 'organic_social', 'paid_search']);
    expect(group(byFirst.body, 'paid_search')).toEqual({ count: [0, 0, 0, 0, 0, 1], entered: [1, 1, 1, 1, 1, 1] });
    expect(group(byFirst.body, 'organic_social')).toEqual({ count: [1, 0, 0, 0, 1, 0], entered: [2, 1, 1, 0, 1, 0] });
    expect(group(byFirst.body, 'direct')).toEqual({ count: [0, 0, 0, 0, 1, 0], entered: [1, 0, 1, 1, 1, 0] });
    expect(group(byFirst.body, 'organic_search')).toEqual({ count: [0, 1, 0, 0, 0, 0], entered: [1, 1, 0, 0, 0, 0] });
    expect(group(byFirst.body, '(none)')).toEqual({ count: [0, 0, 0, 0, 0, 1], entered: [1, 0, 0, 0, 1, 1] });
    // organic_social: reached 2, 1, 1, 1, 1, 0 → next 1/2, 1, 1, 1, 0; cumulative 1, 1/2, 1/2, 1/2, 1/2, 0
    const social = byFirst.body.breakdown.find((b: any) => b.key === 'organic_social').stages;
    [0.5, 1, 1, 1, 0].forEach((v, n) => expect(social[n].conversionNext).toBeCloseTo(v, 4));
    [1, 0.5, 0.5, 0.5, 0.5, 0].forEach((v, n) => expect(social[n].conversionCumulative).toBeCloseTo(v, 4));
    // its times in stage (Fay never moved on): awareness Omar's seconds, interest 31 min, consideration 1471 min
    near(social[0].timeInStage.p90, 0);
    near(social[1].timeInStage.p50, 31);
    near(social[2].timeInStage.p50, 1471);
    near(social[2].timeInStage.p90, 1471);
    expect(social[4].timeInStage).toMatchObject({ p50: null, p90: null });

    // by channel of the last touch (the visit that began last): Maya's next-day email campaign; Omar's, Carl's and
    // Eve's typed addresses (direct); Fay organic_social; Dora (none)
    const byLast = await api(`/api/funnel?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&breakdown=channel&attribution=last`, h.keys.audiences);
    expect(byLast.status).toBe(200);
    expect(byLast.body.breakdown.map((b: any) => b.key).sort()).toEqual(['(none)', 'direct', 'email', 'organic_social']);
    expect(group(byLast.body, 'email')).toEqual({ count: [0, 0, 0, 0, 0, 1], entered: [1, 1, 1, 1, 1, 1] });
    expect(group(byLast.body, 'direct')).toEqual({ count: [0, 1, 0, 0, 2, 0], entered: [3, 2, 2, 1, 2, 0] });
    expect(group(byLast.body, 'organic_social')).toEqual({ count: [1, 0, 0, 0, 0, 0], entered: [1, 0, 0, 0, 0, 0] });

    // linear: each lead split equally over its web sessions' touches. Maya's four visits: the ad (paid_search), the
    // typed pricing address and the phone's (direct, twice), the email campaign: 1/4, 1/2, 1/4. Omar: LinkedIn, then
    // two typed addresses: organic_social 1/3, direct 2/3. Carl: direct twice. Eve: organic_search 1/2, direct 1/2. Fay:
    // organic_social. Dora, no web session: whole to her first touch's key, (none). Shares are floored to 0.0001 and the
    // lost units go to the largest remainders, so each stage's groups add up to its total: direct's 1.66666… (Omar's
    // 2/3 + Carl) takes the unit that organic_social's 0.33333… (Omar's 1/3) loses
    const linear = await api(`/api/funnel?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&breakdown=channel&attribution=linear`, h.keys.audiences);
    expect(linear.status).toBe(200);
    const shares = (key: string) => {
      const g = linear.body.breakdown.find((b: any) => b.key === key);
      expect(g, key).toBeTruthy();
      return { count: col(g.stages, 'count'), entered: col(g.stages, 'entered') };
    };
    const close = (got: number[], want: number[]) => want.forEach((v, n) => expect(got[n], `${n}`).toBeCloseTo(v, 4));
    // count now: Omar (evaluation) 2/3 + Carl (evaluation) 1 = 1.6667; Eve (interest) 1/2; Maya (purchase) 1/2
    // entered: awareness Maya 1/2 + Omar 2/3 + Carl 1 + Eve 1/2 = 2.6667; interest Maya 1/2 + Omar 2/3 + Eve 1/2 = 1.6667;
    // consideration Maya 1/2 + Omar 2/3 + Carl 1 = 2.1667; intent Maya 1/2 + Carl 1 = 1.5; evaluation as consideration;
    // purchase Maya 1/2
    const direct = shares('direct');
    close(direct.count, [0, 0.5, 0, 0, 1.6667, 0.5]);
    close(direct.entered, [2.6667, 1.6667, 2.1667, 1.5, 2.1667, 0.5]);
    const socialShares = shares('organic_social');
    close(socialShares.count, [1, 0, 0, 0, 0.3333, 0]);
    close(socialShares.entered, [1.3333, 0.3333, 0.3333, 0, 0.3333, 0]);
    close(shares('paid_search').entered, [0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    close(shares('email').entered, [0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    close(shares('email').count, [0, 0, 0, 0, 0, 0.25]);
    close(shares('organic_search').entered, [0.5, 0.5, 0, 0, 0, 0]);
    close(shares('(none)').entered, [1, 0, 0, 0, 1, 1]);
    // a time in stage counts whole under every key of its lead: email (a quarter of Maya) has all of Maya's times:
    // seconds, 31 min, 31 min, seconds, 1448 min
    const email = linear.body.breakdown.find((b: any) => b.key === 'email').stages.map((x: any) => x.timeInStage);
    [0, 31, 31, 0, 1448].forEach((m, n) => {
      near(email[n].p50, m);
      near(email[n].p90, m);
    });
    expect(email[5]).toMatchObject({ p50: null, p90: null });
  });
  test('the funnel report from minute 61 to 1600: the cohort is Dora alone; entries and times of that span only', async () => {
    const from = new Date(h.T0 + 61 * MIN).toISOString();
    const to = new Date(h.T0 + 1600 * MIN).toISOString();
    const r = await api(`/api/funnel?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, h.keys.audiences);
    expect(r.status).toBe(200);
    const stages = r.body.stages;
    const col = (k: string) => stages.map((s: any) => s[k]);
    // count is the leads in each stage now, whatever the period (contract §5 "count now")
    expect(col('count')).toEqual([1, 1, 0, 0, 2, 2]);
    // entries in [61, 1600): awareness Dora (100; the phone's own entry at 62 went with its lead); interest Eve (62);
    // consideration none (all at 0-31); intent Maya and Carl (62); evaluation Maya (62), Dora (100), Omar (1502),
    // Carl (1510); purchase Maya and Dora (1510)
    expect(col('entered')).toEqual([1, 1, 0, 2, 4, 2]);
    // the cohort (created in the period): Dora alone (created at 100 by her dated proposal), in purchase: reached 1 at
    // every stage
    expect(col('reached')).toEqual([1, 1, 1, 1, 1, 1]);
    [1, 1, 1, 1, 1].forEach((v, n) => expect(stages[n].conversionNext).toBeCloseTo(v, 4));
    [1, 1, 1, 1, 1, 1].forEach((v, n) => expect(stages[n].conversionCumulative).toBeCloseTo(v, 4));
    // times in stage of the entries in the period that moved on: awareness Dora 0; interest Eve has not moved on;
    // intent Maya (seconds), Carl (1448); evaluation Dora (≈1410), Maya (1448)
    const t = stages.map((s: any) => s.timeInStage);
    expect(t[0]).toMatchObject({ p50: 0, p90: 0 });
    expect(t[1]).toMatchObject({ p50: null, p90: null });
    expect(t[2]).toMatchObject({ p50: null, p90: null });
    expect(t[3].p50 / MIN).toBeLessThan(1.5);
    expect(t[3].p90 / MIN).toBeGreaterThanOrEqual(1447);
    expect(t[3].p90 / MIN).toBeLessThan(1449.5);
    expect(t[4].p50 / MIN).toBeGreaterThanOrEqual(1409);
    expect(t[4].p50 / MIN).toBeLessThan(1411.5);
    expect(t[4].p90 / MIN).toBeGreaterThanOrEqual(1447);
    expect(t[4].p90 / MIN).toBeLessThan(1449.5);
  });
  test('periods bounded at the CRM\'s own millisecond: [from, to) takes Dora\'s dated entries at `from` and leaves them at `to`', async () => {
    // Dora's proposal is dated exactly minute 100 (the CRM's `at`): her creation, awareness and evaluation entries are
    // at that millisecond; nothing else happened between minute 62 and 1502
    const at = h.T0 + 100 * MIN;
    const report = async (a: number, b: number) => {
      const r = await api(`/api/funnel?from=${encodeURIComponent(new Date(a).toISOString())}&to=${encodeURIComponent(new Date(b).toISOString())}`, h.keys.audiences);
      expect(r.status).toBe(200);
      return r.body.stages as any[];
    };
    // [100, 100.001): Dora's two entries; the cohort is Dora (purchase now): reached 1 everywhere
    let stages = await report(at, at + 1);
    expect(stages.map((s) => s.count)).toEqual([1, 1, 0, 0, 2, 2]);
    expect(stages.map((s) => s.entered)).toEqual([1, 0, 0, 0, 1, 0]);
    expect(stages.map((s) => s.reached)).toEqual([1, 1, 1, 1, 1, 1]);
    // awareness → evaluation in the same millisecond: 0; evaluation → purchase (minute 1510): ≈ 1410 minutes
    expect(stages[0].timeInStage).toMatchObject({ p50: 0, p90: 0 });
    expect(stages[4].timeInStage.p50 / MIN).toBeGreaterThanOrEqual(1409);
    expect(stages[4].timeInStage.p50 / MIN).toBeLessThan(1411.5);
    // [99, 100): `to` is exclusive: nothing entered, no lead created
    stages = await report(at - MIN, at);
    expect(stages.map((s) => s.count)).toEqual([1, 1, 0, 0, 2, 2]);
    expect(stages.map((s) => s.entered)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(stages.map((s) => s.reached)).toEqual([0, 0, 0, 0, 0, 0]);
    for (const s of stages) expect(s.timeInStage).toMatchObject({ p50: null, p90: null });
  });

  test('lead lists by stage, MQL, SQL and identification; a timeline filtered by kind and time', async () => {
    const emails = async (q: string) => {
      const r = await api(`/api/leads?${q}&order=id&limit=500`, h.keys.leads);
      expect(r.status).toBe(200);
      return r.body.items.map((l: any) => l.email ?? l.leadId).sort();
    };
    expect(await emails('stage=purchase')).toEqual([DORA, MAYA].sort());
    expect(await emails('stage=evaluation')).toEqual([CARL, OMAR].sort());
    // MQL: Maya (71 at her demo request) and Omar (≈75.7 at his); SQL without MQL: Carl (sales_accepted, 39 points)
    expect(await emails('mql=true')).toEqual([MAYA, OMAR].sort());
    expect(await emails('sql=true&mql=false')).toEqual([CARL]);
    // anonymous: Eve and Fay (the phone that became Maya's is no lead of its own)
    expect(await emails('identified=false')).toEqual([who.eve.leadId, who.fay.leadId].sort());
    // Maya's stage items from minute 31 (inclusive) to 1502 (exclusive): consideration (31), intent and evaluation (62)
    const from = new Date(h.T0 + 31 * MIN).toISOString();
    const to = new Date(h.T0 + 1502 * MIN).toISOString();
    const r = await api(`/api/leads/${encodeURIComponent(MAYA)}/timeline?types=stage&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, h.keys.leads);
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: Item) => `${i.kind} ${i.to}`)).toEqual(['stage evaluation', 'stage intent', 'stage consideration']);
    // the pricing views of every device of hers, by event name: minute 31 (laptop), 62 (phone), 1502 (laptop)
    const views = await api(`/api/leads/${encodeURIComponent(MAYA)}/timeline?types=pageview`, h.keys.leads);
    const pricing = views.body.items.filter((i: Item) => i.path === '/demo/pricing').reverse();
    expect(pricing.map((i: Item) => [i.visitorId, Math.floor(minOf(i))])).toEqual([[who.maya.visitor, 31], [who.maya.phone, 62], [who.maya.visitor, 1502]]);
  });
  test('every timeline paged one, two and seven items at a time is the whole timeline, in the same order (items of one millisecond included)', async () => {
    for (const ref of [MAYA, OMAR, CARL, DORA]) {
      const whole = (await timeline(ref)).map((i: any) => `${i.kind} ${i.id}`);
      for (const limit of [1, 2, 7]) {
        const paged: string[] = [];
        let cursor: string | null = null;
        do {
          const r = await api(`/api/leads/${encodeURIComponent(ref)}/timeline?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, h.keys.leads);
          expect(r.status).toBe(200);
          expect(r.body.items.length).toBeLessThanOrEqual(limit);
          paged.push(...r.body.items.map((i: any) => `${i.kind} ${i.id}`));
          cursor = r.body.nextCursor;
        } while (cursor && paged.length <= whole.length);
        expect(paged, `${ref} by ${limit}`).toEqual(whole);
      }
    }
  });

  test('the CRM names Maya by her phone\'s merged-away lead id (a proposal dated minute 1505, between her last visit and the deal) and by the phone\'s visitor id', async () => {
    const before = await profile(MAYA);
    await postEvents([
      { leadId: anonPhoneLead, name: 'proposal_sent', at: new Date(h.T0 + 1505 * MIN).toISOString() },
      { visitorId: who.maya.phone, name: 'sales_accepted' },
    ]);
    // both are Maya's: proposal_sent +10 at minute 1505 (evaluation is below purchase: no stage change), sales_accepted
    // nothing (she is an SQL already)
    let items: Item[] = [];
    await expect.poll(async () => evs((items = await timeline(MAYA))).map((i) => i.name).slice(-3), { timeout: 10_000 }).toEqual(['proposal_sent', 'closed_won', 'sales_accepted']);
    expect(evs(items).find((i) => i.name === 'proposal_sent')!.at).toBe(new Date(h.T0 + 1505 * MIN).toISOString());
    const p = await profile(MAYA);
    expect(p).toMatchObject({ leadId: before.leadId, stage: 'purchase', mql: true, sql: true });
    expect(p.score).toBeCloseTo(decayed([[22, 0], [17, 31], [32, 62], [12, 1502], [10, 1505]], nowMin()), 2);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration', 'consideration>intent', 'intent>evaluation', 'evaluation>purchase']);
    // the back-dated award sits in time order and the score items still explain the score: the newest (minute 1505)
    // shows the decayed sum at its time
    const scores = items.filter((i) => i.kind === 'score');
    expect(scores.map((i) => i.rule).slice(0, 3)).toEqual(['proposal_sent', 'pricing_view', 'visit']);
    expect(scores[0].scoreAfter).toBeCloseTo(decayed([[22, 0], [17, 31], [32, 62], [12, 1502], [10, 1505]], 1505), 1);
    expect(scores.reduce((sum, i) => sum + i.points!, 0)).toBe(93);
  });

  test('396 days later: the retention sweep purges Eve and Fay (anonymous, unseen for 395 days); the report counts the four known leads', async () => {
    // only the collector's clock moves (no page is opened again)
    h.offset += 396 * DAY;
    await expect.poll(async () => [await profile(who.eve.visitor!), await profile(who.fay.visitor!)], { timeout: 10_000, interval: 100 }).toEqual([null, null]);
    expect(await profile(who.eve.leadId!)).toBeNull();
    // identified leads stay, with every device (Carl's phone was anonymous for its first two visits)
    for (const email of [MAYA, OMAR, CARL, DORA]) expect(await profile(email)).not.toBeNull();
    expect((await profile(who.carl.visitor!)).email).toBe(CARL);
    expect(new Set((await profile(MAYA)).visitorIds)).toEqual(new Set([who.maya.visitor, who.maya.phone]));
    // 396 days of decay: Maya's 93 points ≈ 93 · 2^(-396/90) ≈ 4.4
    expect((await profile(MAYA)).score).toBeCloseTo(decayed([[22, 0], [17, 31], [32, 62], [12, 1502], [10, 1505]], nowMin()), 2);

    // the report over the journeys' period, from the indexes (partial days) and from whole UTC days (the day counts):
    // count Omar and Carl (evaluation), Maya and Dora (purchase). entered: awareness Maya, Omar, Carl, Dora; interest
    // Maya, Omar; consideration Maya, Omar, Carl; intent Maya, Carl; evaluation 4; purchase 2. Cohort: the four, all
    // past intent: reached 4, 4, 4, 4, 4, 2
    for (const [a, b] of [[h.T0 - MIN, h.T0 + 1600 * MIN], [h.T0 - 2 * DAY, h.T0 + 4 * DAY]]) {
      const r = await api(`/api/funnel?from=${encodeURIComponent(new Date(a).toISOString())}&to=${encodeURIComponent(new Date(b).toISOString())}&breakdown=channel`, h.keys.audiences);
      expect(r.status).toBe(200);
      const stages = r.body.stages as any[];
      expect(stages.map((x) => x.count)).toEqual([0, 0, 0, 0, 2, 2]);
      expect(stages.map((x) => x.entered)).toEqual([4, 2, 3, 2, 4, 2]);
      expect(stages.map((x) => x.reached)).toEqual([4, 4, 4, 4, 4, 2]);
      [1, 1, 1, 1, 0.5].forEach((v, n) => expect(stages[n].conversionNext).toBeCloseTo(v, 4));
      [1, 1, 1, 1, 1, 0.5].forEach((v, n) => expect(stages[n].conversionCumulative).toBeCloseTo(v, 4));
      // awareness: Dora 0, Maya, Omar and Carl seconds (Eve's 62 minutes are gone): p90 under a minute and a half
      expect(stages[0].timeInStage.p90 / MIN).toBeLessThan(1.5);
      // by the first touch: Eve's organic_search is gone, and Fay's share of organic_social
      expect(r.body.breakdown.map((g: any) => g.key).sort()).toEqual(['(none)', 'direct', 'organic_social', 'paid_search']);
      const social = r.body.breakdown.find((g: any) => g.key === 'organic_social').stages;
      expect(social.map((x: any) => x.count)).toEqual([0, 0, 0, 0, 1, 0]);
      expect(social.map((x: any) => x.entered)).toEqual([1, 1, 1, 0, 1, 0]);
    }
    expect(await api(`/api/leads?identified=false`, h.keys.leads).then((r) => r.body.items)).toEqual([]);
  });
});
