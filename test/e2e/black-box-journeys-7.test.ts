// Black-box journeys 7 (the harness of black-box-journeys.test.ts: the collector as its own process, the admin CLI,
// the tester's pages, Chromium as the contract launches it, CRM events by POST /api/events, everything read back
// through the HTTP API), under the default rules: two anonymous devices joined by ONE CRM body naming both visitor ids
// with a new email, then a third device joined by the newsletter form; a demo requested on two devices (SQL once, one
// award) and a `closed_lost` from the CRM; pricing in two sessions split by a new campaign seconds apart (the same ad
// clicked again splits nothing); an unsubscribe from the CRM, then more web visits, a page's own `resubscribed`, a
// back-dated resubscribe and a later opt-in; the MQL crossed by the first view past the 30-minute session window (a
// view at exactly 30:00 crosses nothing); then the funnel report for the period against the leads' own stages. A
// Two bugs this judge found are fixed: a page's own `closed_lost` ended demo_no_close (segments/presets.ts), and a view
// placed late by the device-clock correction was not remembered as the device's latest activity, so a visit split at
// exactly 30:00 on the device's clock (ingest/enrich.ts).
// Expected values are worked out by hand from the default rules (README "Funnel engine": stage table, "Scores",
// "Funnel report", "Audience exports"; the default score rules: visit 2 once per session cap 10, return_visit 5 at
// the second session cap 5, pricing_view 10 once a day, case_study_view 5 once a day, content_download 10,
// newsletter_signup 10 cap 10, sales_form 20 cap 40, demo_request 30 cap 30; MQL at 50), never read from the output.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { bb, useBlackBox, api, profile, timeline, events, names, waitForLead, postEvents, device, open, follow, leave, visitorIdOf, PHONE_UA, type Item, type Profile } from './black-box-harness.js';

useBlackBox('funnelbeam-blackbox-journeys7-');

const stagesOf = (items: Item[]) => items.filter((i) => i.kind === 'stage').map((i) => [i.from ?? null, i.to]);
const awards = (items: Item[]) => items.filter((i) => i.kind === 'score' && i.points !== 0).map((i) => [i.rule, i.points]);
const segmentsOf = async (visitor: string) => ((await api(`/api/visitors/${visitor}/segments?site=${bb.siteKey}`, '')).body.segments as string[]).slice().sort();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];

/** the leads of this file, for the funnel report at the end */
const leads: Record<string, string> = {};
/** Kai's devices and his phone's open tab, from the demo test to the closed_lost tests */
let kaiLaptop: string;
let kaiPhone: string;
let kaiTab: import('playwright-core').Page;

describe('black-box journeys 7: devices joined by the CRM and a form, a demo asked twice and lost, a campaign split, an opt-out, the MQL at the session boundary', () => {
  test('a laptop and a phone joined by one CRM body naming both visitor ids with a new email; a tablet joins by the newsletter form', async () => {
    // the laptop, anonymous: / (visit +2: awareness), /pricing (pricing_view +10: consideration) → its own lead, 12
    const laptop = await device();
    let tab = await open(laptop, '/');
    await follow(tab, '#pricing', '/pricing');
    const laptopVisitor = await visitorIdOf(tab);
    const laptopLead = await waitForLead(laptopVisitor, (l) => l.stage === 'consideration');
    expect(laptopLead.score).toBeCloseTo(12, 2);
    await leave(laptop, tab);

    // the phone, anonymous: /pricing (visit +2, pricing_view +10) → another lead of its own, 12, consideration
    const phone = await device(PHONE_UA);
    tab = await open(phone, '/pricing');
    const phoneVisitor = await visitorIdOf(tab);
    const phoneLead = await waitForLead(phoneVisitor, (l) => l.stage === 'consideration');
    expect(phoneLead.score).toBeCloseTo(12, 2);
    expect(phoneLead.leadId).not.toBe(laptopLead.leadId);
    await tab.close();

    // the CRM names both devices (hidden form fields kept their visitor ids) with an email it has never sent, in one body.
    // README Identity: the first item's anonymous laptop claims the new email (it becomes that lead); the second item's
    // phone joins the lead "named earlier in the same body", which is rebuilt from all its events in time order:
    //   laptop /         visit +2                                   →  2   awareness
    //   laptop /pricing  pricing_view +10                           → 12   consideration
    //   phone  /pricing  visit +2 (its own session)                 → 14
    //                    return_visit +5 (the lead's 2nd session)   → 19
    //                    pricing_view: within its 1-day window, 0
    //                    pricing_two_sessions: intent (second_session's interest is behind consideration: skipped)
    //   opportunity_created ×2: no rule (the lead was seen on the web, so not even awareness)
    // 19 < 50: no MQL; no sales_accepted and no demo: no SQL
    const r = await postEvents([
      { visitorId: laptopVisitor, email: 'Mae@Mesa.test', name: 'opportunity_created', id: 'crm-mae-1' },
      { visitorId: phoneVisitor, email: 'mae@mesa.TEST', name: 'opportunity_created', id: 'crm-mae-2' },
    ]);
    expect(r.accepted).toBe(2);
    let mae = await waitForLead('mae@mesa.test', (l) => l.visitorIds.length === 2 && l.stage === 'intent');
    expect(mae).toMatchObject({ email: 'mae@mesa.test', mql: false, sql: false });
    expect(new Set(mae.visitorIds)).toEqual(new Set([laptopVisitor, phoneVisitor]));
    expect(mae.score).toBeCloseTo(19, 2);
    // the laptop's lead became hers; the phone's anonymous lead id is an alias of it
    expect(mae.leadId).toBe(laptopLead.leadId);
    leads.mae = mae.leadId;
    expect((await profile(phoneLead.leadId))!.leadId).toBe(mae.leadId);
    expect((await profile(phoneVisitor))!.leadId).toBe(mae.leadId);
    let items = await timeline(mae.leadId);
    expect(stagesOf(items)).toEqual([['consideration', 'intent'], ['awareness', 'consideration'], [null, 'awareness']]);
    // newest first, one event's awards in the order applied (README Scores)
    expect(awards(items)).toEqual([['return_visit', 5], ['visit', 2], ['pricing_view', 10], ['visit', 2]]);
    expect(names(items)).toEqual(['opportunity_created', 'opportunity_created', 'pageview', 'pageview', 'pageview']);
    // each CRM event named a device: it is shown on that device (as an opt event sent by visitor id is)
    expect(events(items).filter((i) => i.name === 'opportunity_created').map((i) => i.visitorId).sort()).toEqual([laptopVisitor, phoneVisitor].sort());

    // the tablet: the newsletter form with her email in another case: it joins her (README: an anonymous lead whose
    // email belongs to a lead merges into it). Its visit: visit +2 (6 of the cap of 10) → 21; return_visit is used up
    // (cap 5); newsletter_signup +10 → 31. interest is behind intent: no stage change. 31 < 50: no MQL
    const tablet = await device();
    tab = await open(tablet, '/newsletter');
    const tabletVisitor = await visitorIdOf(tab);
    await tab.fill('input[type=email]', 'MAE@mesa.test');
    await follow(tab, '#join', '/thanks');
    mae = await waitForLead('mae@mesa.test', (l) => l.visitorIds.length === 3 && l.score > 30);
    expect(new Set(mae.visitorIds)).toEqual(new Set([laptopVisitor, phoneVisitor, tabletVisitor]));
    expect(mae).toMatchObject({ leadId: laptopLead.leadId, stage: 'intent', mql: false, sql: false });
    expect(mae.score).toBeCloseTo(31, 2);
    await expect.poll(async () => names(await timeline(mae.leadId)), { timeout: 10_000 }).toEqual(
      ['newsletter_signup', 'opportunity_created', 'opportunity_created', 'pageview', 'pageview', 'pageview', 'pageview', 'pageview'],
    );
    items = await timeline(mae.leadId);
    expect(stagesOf(items)).toEqual([['consideration', 'intent'], ['awareness', 'consideration'], [null, 'awareness']]);
    expect(awards(items)).toEqual([['newsletter_signup', 10], ['visit', 2], ['return_visit', 5], ['visit', 2], ['pricing_view', 10], ['visit', 2]]);
    expect(items.filter((i) => i.kind === 'score').reduce((s, i) => s + (i.points ?? 0), 0)).toBeCloseTo(31, 4);
    // one identity item per device in line
    expect(new Set(items.filter((i) => i.kind === 'identity').map((i) => i.visitorId))).toEqual(new Set([laptopVisitor, phoneVisitor, tabletVisitor]));
    await tab.close();
  });

  test('a demo requested on a laptop and again on a phone: SQL once, one award; in demo_no_close', async () => {
    // the laptop: /demo (visit +2: awareness), the demo form (demo_request +30 → 32: evaluation, SQL), /thanks
    const laptop = await device();
    let tab = await open(laptop, '/demo');
    kaiLaptop = await visitorIdOf(tab);
    await tab.fill('input[name=name]', 'Kai');
    await tab.fill('input[type=email]', 'kai@kilo.test');
    await follow(tab, '#book', '/thanks');
    let kai = await waitForLead('kai@kilo.test', (l) => l.stage === 'evaluation');
    expect(kai).toMatchObject({ mql: false, sql: true });
    expect(kai.score).toBeCloseTo(32, 2);
    leads.kai = kai.leadId;
    const sqlAt = (kai as any).sqlAt as string;
    const firstDemo = events(await timeline(kai.leadId)).find((i) => i.name === 'demo_request')!;
    expect(Date.parse(sqlAt)).toBe(Date.parse(firstDemo.at));
    await expect.poll(() => segmentsOf(kaiLaptop), { timeout: 10_000 }).toEqual(['demo_no_close']);
    await leave(laptop, tab);

    // the phone, anonymous: /pricing (its own lead: 12, consideration), then the demo page and the form again as Kai:
    // it joins him. On Kai, in time order: the phone's visit +2 → 34, return_visit +5 (his 2nd session) → 39,
    // pricing_view +10 → 49 (pricing in one session only: no intent; consideration is behind evaluation); the second
    // demo_request: demo_request's cap of 30 is used, +0 → 49 < 50: still no MQL. Already an SQL since the first request
    const phone = await device(PHONE_UA);
    tab = await open(phone, '/pricing');
    kaiPhone = await visitorIdOf(tab);
    await waitForLead(kaiPhone, (l) => l.stage === 'consideration');
    await follow(tab, '#demo', '/demo');
    await tab.fill('input[name=name]', 'Kai');
    await tab.fill('input[type=email]', 'kai@kilo.test');
    await follow(tab, '#book', '/thanks');
    await expect.poll(async () => names(await timeline('kai@kilo.test')), { timeout: 10_000 }).toEqual(
      ['demo_request', 'demo_request', 'pageview', 'pageview', 'pageview', 'pageview', 'pageview'],
    );
    kai = (await profile('kai@kilo.test'))!;
    expect(new Set(kai.visitorIds)).toEqual(new Set([kaiLaptop, kaiPhone]));
    expect(kai).toMatchObject({ stage: 'evaluation', mql: false, sql: true });
    expect(kai.score).toBeCloseTo(49, 2);
    expect((kai as any).sqlAt).toBe(sqlAt);
    let items = await timeline(kai.leadId);
    // stage: awareness and evaluation at the laptop's request; the phone's consideration is history below evaluation
    // (README: entries a rebuild adds below the stage are shown): its pricing view came after the request, so nothing
    expect(stagesOf(items)).toEqual([['awareness', 'evaluation'], [null, 'awareness']]);
    expect(awards(items)).toEqual([['pricing_view', 10], ['return_visit', 5], ['visit', 2], ['demo_request', 30], ['visit', 2]]);
    expect(events(items).filter((i) => i.name === 'demo_request').map((i) => [i.visitorId, i.form]).sort()).toEqual([[kaiLaptop, 'demo'], [kaiPhone, 'demo']].sort());
    for (const v of [kaiLaptop, kaiPhone]) await expect.poll(() => segmentsOf(v), { timeout: 10_000 }).toEqual(['demo_no_close']);
    kaiTab = tab;
  });

  // A bug found (fixed): a page's own event named `closed_lost` (a chat widget's or a script's `funnelbeam('track',
  // 'closed_lost')`, or any visitor from the console) ended "Requested a demo, deal not closed": the lead left the
  // demo_no_close retargeting list and its exports though no deal was lost. A deal's outcome is the CRM's: README
  // says a page's own `closed_won` makes no customer and a page's own opt event "counts for nothing"; demo_no_close is
  // now `not did closed_lost source server` (collector/segments/presets.ts).
  test('a page\'s own closed_lost event ends no deal: the lead who asked for a demo stays in demo_no_close', async () => {
    await kaiTab.evaluate(() => (window as any).funnelbeam('track', 'closed_lost', { from: 'page' }));
    // memberships are decided in the transaction that stores the event: once it is on the timeline, they are final
    await expect.poll(async () => names(await timeline('kai@kilo.test')).includes('closed_lost'), { timeout: 10_000 }).toBe(true);
    expect(await segmentsOf(kaiPhone)).toEqual(['demo_no_close']);
    expect(await segmentsOf(kaiLaptop)).toEqual(['demo_no_close']);
  });

  test('the CRM\'s closed_lost moves no stage and no score, and ends demo_no_close; a closed_lost for an email never seen is an awareness lead', async () => {
    const tab = kaiTab;
    // the CRM: the deal is lost. No stage rule names closed_lost (purchase is closed_won only) and no score rule:
    // evaluation, 49, SQL kept. demo_no_close ("Requested a demo, deal not closed") lets him go; no customer either
    await postEvents({ email: 'kai@kilo.test', name: 'closed_lost', props: { reason: 'budget' }, id: 'crm-kai-lost' });
    for (const v of [kaiLaptop, kaiPhone]) await expect.poll(() => segmentsOf(v), { timeout: 10_000 }).toEqual([]);
    const kai = (await profile('kai@kilo.test'))!;
    expect(kai).toMatchObject({ stage: 'evaluation', mql: false, sql: true });
    expect(kai.score).toBeCloseTo(49, 2);
    const items = await timeline(kai.leadId);
    expect(stagesOf(items)).toEqual([['awareness', 'evaluation'], [null, 'awareness']]);
    const lost = events(items).find((i) => i.name === 'closed_lost')!;
    expect(lost).toMatchObject({ visitorId: `srv:${kai.leadId}`, props: { reason: 'budget' } });
    expect(items.filter((i) => i.kind === 'score').some((i) => Date.parse(i.at) === Date.parse(lost.at))).toBe(false);
    const seg = items.filter((i) => i.kind === 'segment' && (i as any).segment === 'demo_no_close');
    expect((seg[0] as any).change).toBe('exited');
    expect((await api('/api/segments/customers/members?format=json', bb.keys.audiences)).body.members.map((m: any) => m.email)).not.toContain('kai@kilo.test');
    expect((await api('/api/leads?stage=purchase', bb.keys.leads)).body.items).toEqual([]);
    await tab.close();

    // a closed_lost for a person never seen on the web: the lead is made by it (README: "an unknown email creates the
    // lead"); awareness is "the first server event of a lead never seen on the web"; no score rule: 0; no device
    await postEvents({ email: 'lou@lima.test', name: 'closed_lost', id: 'crm-lou-lost' });
    const lou = await waitForLead('lou@lima.test', () => true);
    expect(lou).toMatchObject({ stage: 'awareness', score: 0, mql: false, sql: false, visitorIds: [] });
    expect(stagesOf(await timeline(lou.leadId))).toEqual([[null, 'awareness']]);
    leads.lou = lou.leadId;
  });

  test('pricing in two sessions split by a new campaign seconds apart (no 30 minutes): intent; the same ad clicked again splits nothing', async () => {
    // an ad click: /pricing?gclid=… (visit +2, pricing_view +10: 12, consideration; paid_search)
    const ctx = await device();
    const tab = await open(ctx, '/pricing?gclid=ad-click-one');
    const visitor = await visitorIdOf(tab);
    leads.cal = (await waitForLead(visitor, (l) => l.stage === 'consideration')).leadId;
    // the same ad clicked again a moment later (another gclid value, the same kind: README "which click id: the same ad
    // clicked again is the same campaign"): the same session. visit: once per session; pricing_view: once a day → 12
    await tab.goto(bb.origin + '/pricing?gclid=ad-click-two');
    await expect.poll(async () => events(await timeline(visitor)).filter((i) => i.name === 'pageview').length, { timeout: 10_000 }).toBe(2);
    let p = (await profile(visitor))!;
    expect(p).toMatchObject({ stage: 'consideration', mql: false, sql: false });
    expect(p.score).toBeCloseTo(12, 2);
    // seconds later a newsletter link (utm source, medium, campaign): a new campaign opens a new session, however short the
    // gap. visit +2 → 14, return_visit +5 → 19, pricing_view still in its day: 0. pricing_two_sessions: intent
    // (second_session's interest is behind consideration: skipped)
    await tab.goto(bb.origin + '/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=june');
    p = await waitForLead(visitor, (l) => l.stage === 'intent');
    expect(p).toMatchObject({ mql: false, sql: false, email: null });
    expect(p.score).toBeCloseTo(19, 2);
    expect(p.firstTouch).toMatchObject({ channel: 'paid_search' });
    expect(p.lastTouch).toMatchObject({ channel: 'email', utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'june' });
    const items = await timeline(visitor);
    const views = events(items).filter((i) => i.name === 'pageview').reverse();
    const sessions = views.map((i) => (i as any).sessionId as string);
    expect(sessions[0]).toBe(sessions[1]);
    expect(sessions[2]).not.toBe(sessions[0]);
    expect(stagesOf(items)).toEqual([['consideration', 'intent'], ['awareness', 'consideration'], [null, 'awareness']]);
    expect(awards(items)).toEqual([['return_visit', 5], ['visit', 2], ['pricing_view', 10], ['visit', 2]]);
    // a moment later the visitor opens the site again in a new tab, typed in (no campaign, no referrer): no new campaign,
    // and no 30 minutes: the email visit goes on. Nothing is awarded (19), and the view is in the second session
    const again = await ctx.newPage();
    await again.goto(bb.origin + '/about');
    await expect.poll(async () => events(await timeline(visitor)).filter((i) => i.name === 'pageview').length, { timeout: 10_000 }).toBe(4);
    const about = events(await timeline(visitor)).find((i) => i.name === 'pageview' && i.url === bb.origin + '/about')!;
    expect((about as any).sessionId).toBe(sessions[2]);
    p = (await profile(visitor))!;
    expect(p.score).toBeCloseTo(19, 2);
    expect(p.lastTouch).toMatchObject({ utm_campaign: 'june' });
    await again.close();
    await tab.close();
  });

  test('the newsletter, an unsubscribe from the CRM, more web visits: opted out until a later opt-in; a page\'s own resubscribe and a back-dated one change nothing', async () => {
    // /newsletter (visit +2), the form as Oli (newsletter_signup +10) → 12, interest
    const ctx = await device();
    const tab = await open(ctx, '/newsletter');
    const visitor = await visitorIdOf(tab);
    await tab.fill('input[type=email]', 'oli@oscar.test');
    await follow(tab, '#join', '/thanks');
    let oli = await waitForLead('oli@oscar.test', (l) => l.stage === 'interest');
    expect(oli.score).toBeCloseTo(12, 2);
    leads.oli = oli.leadId;
    const signup = events(await timeline('oli@oscar.test')).find((i) => i.name === 'newsletter_signup')!;
    // the email tool reports the unsubscribe (now): opted out; opt events score nothing and move no stage
    await postEvents({ email: 'oli@oscar.test', name: 'unsubscribed', id: 'esp-oli-unsub' });
    await expect.poll(async () => (await api('/api/leads/oli@oscar.test', bb.keys.leads)).body.optedOut, { timeout: 10_000 }).toBe(true);

    // more web visits in the same session: pricing (pricing_view +10 → 22: consideration); the page's own
    // resubscribed event "counts for nothing" (README Audience exports): still opted out
    await follow(tab, '#pricing', '/pricing');
    await tab.evaluate(() => (window as any).funnelbeam('track', 'resubscribed'));
    await expect.poll(async () => names(await timeline('oli@oscar.test')), { timeout: 10_000 }).toEqual(
      ['newsletter_signup', 'pageview', 'pageview', 'pageview', 'resubscribed', 'unsubscribed'],
    );
    oli = (await profile('oli@oscar.test'))!;
    expect(oli).toMatchObject({ stage: 'consideration', mql: false, sql: false });
    expect(oli.score).toBeCloseTo(22, 2);
    expect((oli as any).optedOut).toBe(true);
    // pricing, no demo: a member of pricing_no_demo (the JSON list holds every member), but no platform export holds her
    await expect.poll(() => segmentsOf(visitor), { timeout: 10_000 }).toEqual(['pricing_no_demo']);
    const members = (await api('/api/segments/pricing_no_demo/members?format=json', bb.keys.audiences)).body.members;
    expect(members.map((m: any) => m.email)).toContain('oli@oscar.test');
    const google = async () => String((await api('/api/segments/pricing_no_demo/members?format=google', bb.keys.audiences)).body);
    expect(await google()).not.toContain(sha('oli@oscar.test'));

    // the CRM's resubscribe dated between the signup and the unsubscribe: the latest opt event by `at` is still the
    // unsubscribe. Then an opt-in now: the latest, so she is back in the platform export
    await postEvents({ email: 'oli@oscar.test', name: 'resubscribed', at: new Date(Date.parse(signup.at) + 1).toISOString(), id: 'esp-oli-resub-old' });
    await expect.poll(async () => events(await timeline('oli@oscar.test')).filter((i) => i.name === 'resubscribed').length, { timeout: 10_000 }).toBe(2);
    expect((await profile('oli@oscar.test') as any).optedOut).toBe(true);
    expect(await google()).not.toContain(sha('oli@oscar.test'));
    await postEvents({ email: 'oli@oscar.test', name: 'opted_in', id: 'esp-oli-optin' });
    await expect.poll(async () => (await profile('oli@oscar.test') as any).optedOut, { timeout: 10_000 }).toBe(false);
    expect(await google()).toContain(sha('oli@oscar.test'));
    oli = (await profile('oli@oscar.test'))!;
    expect(oli.stage).toBe('consideration');
    expect(oli.score).toBeCloseTo(22, 2);
    await tab.close();
  });

  test('the MQL is crossed by the first view past the 30-minute window (30:00.001), not by the view at exactly 30:00', async () => {
    // session 1 (the device's clock running): /contact (visit +2: awareness), the contact form as Una (sales_form +20 →
    // 22: intent; interest and consideration skipped), /thanks, the case study (case_study_view +5 → 27), the
    // newsletter form (newsletter_signup +10 → 37), /resources and the whitepaper PDF (content_download +10 → 47)
    const ctx = await device();
    let tab = await open(ctx, '/contact');
    const visitor = await visitorIdOf(tab);
    await tab.fill('input[name=work_email]', 'una@uniform.test');
    await follow(tab, '#send', '/thanks');
    await follow(tab, '#case', '/case-studies/acme');
    await follow(tab, '#news', '/newsletter');
    await tab.fill('input[type=email]', 'una@uniform.test');
    await follow(tab, '#join', '/thanks');
    await follow(tab, '#resources', '/resources');
    const [download] = await Promise.all([tab.waitForEvent('download'), tab.click('#pdf')]);
    await download.cancel().catch(() => {});
    let una = await waitForLead('una@uniform.test', (l) => l.score > 46);
    expect(una).toMatchObject({ stage: 'intent', mql: false, sql: false });
    expect(una.score).toBeCloseTo(47, 2);
    leads.una = una.leadId;
    await tab.close();

    // the device's clock paused 10 minutes on (still the same visit): /about at T1 (no award: same session). Each view
    // below is sent as its tab closes, stamped with the paused clock (the view's own time): the collector moves it to
    // its arrival, after everything before it (a batch timer run on the fake clock would stamp the batch 300 ms after
    // the view and place it before the download the collector stored a moment earlier: see the last describe below)
    const T1 = Date.now() + 10 * 60_000;
    await ctx.clock.pauseAt(T1);
    const viewsOf = async () => events(await timeline('una@uniform.test')).filter((i) => i.name === 'pageview').length;
    const before = await viewsOf();
    tab = await open(ctx, '/about');
    await tab.close();
    await expect.poll(viewsOf, { timeout: 10_000 }).toBe(before + 1);
    // exactly 30:00 after T1: the same visit (README: a gap of exactly 30 minutes stays in the session). Nothing is
    // awarded: 47, under 50, no MQL
    await ctx.clock.fastForward(30 * 60_000);
    tab = await open(ctx, '/blog/funnels');
    await tab.close();
    await expect.poll(viewsOf, { timeout: 10_000 }).toBe(before + 2);
    una = (await profile('una@uniform.test'))!;
    expect(una).toMatchObject({ stage: 'intent', mql: false });
    expect(una.score).toBeCloseTo(47, 2);
    // 30:00.001 after that view: a second session. visit +2 → 49, return_visit +5 → 54 ≥ 50: the MQL, at this view
    await ctx.clock.fastForward(30 * 60_000 + 1);
    tab = await open(ctx, '/');
    await tab.close();
    una = await waitForLead('una@uniform.test', (l) => l.mql);
    expect(una).toMatchObject({ stage: 'intent', sql: false, visitorIds: [visitor] });
    expect(una.score).toBeCloseTo(54, 2);
    const items = await timeline('una@uniform.test');
    const views = events(items).filter((i) => i.name === 'pageview');
    const home = views.find((i) => new URL(i.url!).pathname === '/')!;
    expect(Date.parse((una as any).mqlAt)).toBe(Date.parse(home.at));
    // the views at T1 and T1 + 30:00 are session 1's; the last one opens session 2
    const sessionOf = (path: string) => (views.find((i) => new URL(i.url!).pathname === path) as any).sessionId;
    expect(sessionOf('/blog/funnels')).toBe(sessionOf('/contact'));
    expect(sessionOf('/about')).toBe(sessionOf('/contact'));
    expect(sessionOf('/')).not.toBe(sessionOf('/contact'));
    expect(stagesOf(items)).toEqual([['awareness', 'intent'], [null, 'awareness']]);
    expect(awards(items)).toEqual([
      ['return_visit', 5], ['visit', 2], ['content_download', 10], ['newsletter_signup', 10], ['case_study_view', 5], ['sales_form', 20], ['visit', 2],
    ]);
    // the award that crossed 50 is the return_visit (49 after the visit, 54 after it)
    const top = items.find((i) => i.kind === 'score')! as any;
    expect(top.rule).toBe('return_visit');
    expect(top.scoreAfter).toBeCloseTo(54, 2);
  });

  test('the funnel report for the period agrees with the six leads\' stages (count now) and stage items (entered)', async () => {
    // by hand: Mae intent (awareness, consideration, intent), Kai evaluation (awareness, evaluation), Lou awareness (her
    // closed_lost), the campaign visitor intent (awareness, consideration, intent), Oli consideration (awareness,
    // interest, consideration), Una intent (awareness, intent); the anonymous leads merged into Mae and Kai are no leads.
    //   count now: [1, 0, 1, 3, 1, 0]
    //   entered: awareness 6, interest 1 (Oli), consideration 3 (Mae, campaign, Oli), intent 3 (Mae, campaign, Una),
    //            evaluation 1 (Kai) → [6, 1, 3, 3, 1, 0]
    //   reached (now in the stage or a later one): awareness 6, interest..consideration 5 (all but Lou), intent 4 (not
    //            Lou, Oli), evaluation 1 (Kai), purchase 0
    //   conversionCumulative = reached / 6: [1, 5/6, 5/6, 4/6, 1/6, 0]; conversionNext: [5/6, 5/5, 4/5, 1/4, 0/1]
    const to = new Date(Date.now() + 60_000).toISOString();
    const r = await api(`/api/funnel?from=${encodeURIComponent(bb.periodFrom)}&to=${encodeURIComponent(to)}`, bb.keys.audiences);
    expect(r.status).toBe(200);
    const col = (k: string) => r.body.stages.map((s: any) => s[k]);
    expect(col('stage')).toEqual(STAGES);
    expect(col('count')).toEqual([1, 0, 1, 3, 1, 0]);
    expect(col('entered')).toEqual([6, 1, 3, 3, 1, 0]);
    [1, 5 / 6, 5 / 6, 4 / 6, 1 / 6, 0].forEach((v, n) => expect(r.body.stages[n].conversionCumulative).toBeCloseTo(v, 4));
    [5 / 6, 1, 4 / 5, 1 / 4, 0].forEach((v, n) => expect(r.body.stages[n].conversionNext).toBeCloseTo(v, 4));

    // the same figures from the leads themselves: their profiles' stages, and their timelines' stage items in the period
    const profiles: Profile[] = [];
    for (const id of Object.values(leads)) profiles.push((await profile(id))!);
    expect(profiles.map((p) => p.stage).sort()).toEqual(['awareness', 'consideration', 'evaluation', 'intent', 'intent', 'intent']);
    expect(STAGES.map((s) => profiles.filter((p) => p.stage === s).length)).toEqual(col('count'));
    const entered = Object.fromEntries(STAGES.map((s) => [s, 0]));
    for (const id of Object.values(leads)) {
      for (const i of (await timeline(id)).filter((x) => x.kind === 'stage' && Date.parse(x.at) >= Date.parse(bb.periodFrom))) entered[i.to!]++;
    }
    expect(STAGES.map((s) => entered[s])).toEqual(col('entered'));
    // by campaign: only the campaign visitor has one (june, its second session's; the gclid landing names none). First
    // touch: june holds nothing. Last touch: the whole lead, [count] intent 1, [entered] awareness, consideration,
    // intent 1 each. Linear: split equally over its two sessions' touches, (none) and june: 0.5 each
    const june = async (attribution: string) => {
      const b = await api(`/api/funnel?from=${encodeURIComponent(bb.periodFrom)}&to=${encodeURIComponent(to)}&breakdown=campaign&attribution=${attribution}`, bb.keys.audiences);
      expect(b.status).toBe(200);
      const g = b.body.breakdown.find((x: any) => x.key === 'june');
      return g ? { count: g.stages.map((x: any) => x.count), entered: g.stages.map((x: any) => x.entered) } : null;
    };
    const first = await june('first');
    if (first) expect(first).toEqual({ count: [0, 0, 0, 0, 0, 0], entered: [0, 0, 0, 0, 0, 0] });
    expect(await june('last')).toEqual({ count: [0, 0, 0, 1, 0, 0], entered: [1, 0, 1, 1, 0, 0] });
    expect(await june('linear')).toEqual({ count: [0, 0, 0, 0.5, 0, 0], entered: [0.5, 0, 0.5, 0.5, 0, 0] });
    // the lead list by stage agrees too
    for (const s of STAGES) {
      const list = await api(`/api/leads?stage=${s}&limit=500`, bb.keys.leads);
      expect(list.body.items.length, s).toBe(r.body.stages[STAGES.indexOf(s)].count);
    }
  });
});

// after the funnel report: this visitor is no lead of the report's period
describe('black-box journeys 7: the device clock\'s 30 minutes, measured from a view the collector placed late', () => {
  // (a bug this judge found, fixed in enrich.ts) README Ingest, "a jump of the device's clock past 30 minutes also opens a session ... A gap of
  // exactly 30 minutes, on either clock, stays in the session". A view whose batch leaves the device after its view (here
  // 20 s, as when a device is busy) is moved by the batch's clock difference to before the visit's last event, so the
  // collector treats it as late and never remembers its device time; the next view, 30:00 after it on the device (and
  // seconds after it on the collector's clock), is measured from the older device time and opens a session. The visitor
  // gets a second visit (+2 visit, +5 return_visit, second_session) that never happened. It made the MQL journey
  // of the first describe flaky when its first paused-clock view was sent by the batch timer.
  test('a view 30:00 after the previous one on the device\'s clock, whose predecessor reached the collector late, is the same visit', async () => {
    // /pricing on the running clock (visit +2, pricing_view +10: 12, consideration), at device and collector time p
    const ctx = await device();
    let tab = await open(ctx, '/pricing');
    const visitor = await visitorIdOf(tab);
    await waitForLead(visitor, (l) => l.stage === 'consideration');
    await tab.close();
    const viewsOf = async () => events(await timeline(visitor)).filter((i) => i.name === 'pageview').length;
    // the device's clock 10 minutes on (T1, paused; the same visit: 10 minutes on the device, seconds on the collector):
    // /about, its batch sent 20 s later on the device's clock (the collector moves the view to 20 s before its arrival,
    // which is before p: a late event, placed in the current session)
    const T1 = Date.now() + 10 * 60_000;
    await ctx.clock.pauseAt(T1);
    tab = await open(ctx, '/about');
    await ctx.clock.fastForward(20_000);
    await expect.poll(viewsOf, { timeout: 10_000 }).toBe(2);
    await tab.close();
    // /blog exactly 30:00 after the /about view on the device's clock, sent as its tab closes: the same visit. Nothing
    // is awarded: 12, consideration, one session
    await ctx.clock.fastForward(30 * 60_000 - 20_000);
    tab = await open(ctx, '/blog/funnels');
    await tab.close();
    await expect.poll(viewsOf, { timeout: 10_000 }).toBe(3);
    const views = events(await timeline(visitor)).filter((i) => i.name === 'pageview');
    expect(new Set(views.map((i) => (i as any).sessionId)).size).toBe(1);
    const p = (await profile(visitor))!;
    expect(p.stage).toBe('consideration');
    expect(p.score).toBeCloseTo(12, 2);
  });
});
