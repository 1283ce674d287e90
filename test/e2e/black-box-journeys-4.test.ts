// Black-box journeys 4 (the harness of black-box-journeys.test.ts: the collector as its own process, the admin CLI,
// the tester's pages, Chromium as the contract launches it, CRM events by POST /api/events, everything read back
// through the HTTP API), under the default rules: one person on two browser profiles (a newsletter form on one, a demo
// form with her email in another case on the other), a whitepaper and a case-study PDF, pricing in two sessions 31
// minutes apart by the device's clock, a CRM closed_won by email; a webinar form and a single-page app's comparison
// route closed by CRM events; a CRM-made MQL from 90 days back (one half-life) joined by a browser; one person on two
// devices at the same time; then the funnel report of them all. Expected values are worked out by hand from the
// default rules (GET /api/config/funnel), never read from the code's output.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { bb, useBlackBox, api, profile, timeline, events, names, waitForLead, postEvents, device, open, follow, leave, visitorIdOf, PHONE_UA, type Item } from './black-box-harness.js';

useBlackBox('funnelbeam-blackbox-journeys4-');

/** adds markup the harness's pages lack to the open page, as a site's own script would (a page answered by a
 * Playwright route cannot load the snippet: Chromium counts it as public and refuses it the loopback collector) */
async function inject(tab: Page, markup: string) {
  await tab.evaluate((m) => document.body.insertAdjacentHTML('beforeend', m), markup);
}
/** clicks a link to a file served as an attachment; the page stays */
async function download(tab: Page, selector: string) {
  const [file] = await Promise.all([tab.waitForEvent('download'), tab.click(selector)]);
  await file.cancel().catch(() => {});
}
const stagesOf = (items: Item[]) => items.filter((i) => i.kind === 'stage').map((i) => [i.from ?? null, i.to]);
const newestFirst = (items: Item[]) => items.every((i, n) => n === 0 || Date.parse(items[n - 1].at) >= Date.parse(i.at));

describe('black-box journeys 4: two browser profiles, two PDFs, pricing across sessions, the CRM', () => {
  test('newsletter on a laptop, demo on a phone with the email in another case, whitepaper and case-study PDFs, pricing in two sessions, closed_won by email', async () => {
    // the laptop, session 1: resources (visit +2), the whitepaper PDF (content_download +10: interest), the newsletter
    // form as Kim (newsletter_signup +10), then pricing (pricing_view +10: consideration): 32
    const laptop = await device();
    let tab = await open(laptop, '/resources');
    const laptopVisitor = await visitorIdOf(tab);
    await download(tab, '#pdf');
    await follow(tab, '#news', '/newsletter');
    await tab.fill('input[type=email]', 'Kim@Kilo.test');
    await follow(tab, '#join', '/thanks');
    await follow(tab, '#pricing', '/pricing');
    let kim = await waitForLead('kim@kilo.test', (l) => l.stage === 'consideration');
    expect(kim).toMatchObject({ email: 'kim@kilo.test', visitorIds: [laptopVisitor], mql: false, sql: false });
    expect(kim.score).toBeCloseTo(32, 2);
    await leave(laptop, tab);

    // the laptop, 31 minutes later by its clock: pricing again (visit +2, return_visit +5; pricing_view has a 1-day
    // window: nothing). Pricing seen in two sessions: intent. Then the Acme case study (case_study_view +5): 44
    tab = await open(laptop, '/pricing');
    kim = await waitForLead('kim@kilo.test', (l) => l.stage === 'intent');
    await follow(tab, '#case', '/case-studies/acme');
    kim = await waitForLead('kim@kilo.test', (l) => l.score > 43);
    expect(kim.score).toBeCloseTo(44, 2);
    expect(kim.mql).toBe(false);
    await leave(laptop, tab);

    // the phone, another browser profile, anonymous: the Acme case study (visit +2, case_study_view +5) and its PDF
    // (content_download +10, case_study_download): its own lead, consideration, 17
    const phone = await device(PHONE_UA);
    tab = await open(phone, '/case-studies/acme');
    const phoneVisitor = await visitorIdOf(tab);
    expect(phoneVisitor).not.toBe(laptopVisitor);
    await inject(tab, '<a id="cs" href="/files/Acme-Case-Study.PDF">The Acme case study (PDF)</a>');
    await download(tab, '#cs');
    const anonPhone = await waitForLead(phoneVisitor, (l) => l.score > 16);
    expect(anonPhone).toMatchObject({ email: null, stage: 'consideration', mql: false, sql: false });
    expect(anonPhone.score).toBeCloseTo(17, 2);
    expect(anonPhone.leadId).not.toBe(kim.leadId);

    // the demo form with KIM@KILO.TEST: the phone joins Kim. On her: the phone's session (visit +2: 46; return_visit
    // is capped at 5, case_study_view has a 1-day window), the case-study PDF (content_download +10: 56, over the MQL
    // threshold of 50), the demo request (+30: 86): evaluation, SQL
    await follow(tab, '#demo', '/demo');
    await tab.fill('input[name=name]', 'Kim');
    await tab.fill('input[type=email]', 'KIM@KILO.TEST');
    await follow(tab, '#book', '/thanks');
    kim = await waitForLead('kim@kilo.test', (l) => l.stage === 'evaluation' && l.visitorIds.length === 2);
    expect(new Set(kim.visitorIds)).toEqual(new Set([laptopVisitor, phoneVisitor]));
    expect(kim).toMatchObject({ email: 'kim@kilo.test', mql: true, sql: true });
    expect(kim.score).toBeCloseTo(86, 2);
    expect((await profile(anonPhone.leadId))!.leadId).toBe(kim.leadId);
    expect((await profile(phoneVisitor))!.leadId).toBe(kim.leadId);
    await tab.close();

    // the CRM: the deal, by her email as the CRM writes it: purchase, no points
    await postEvents({ email: 'Kim@Kilo.Test', name: 'closed_won', props: { amount: 24000 } });
    kim = await waitForLead('kim@kilo.test', (l) => l.stage === 'purchase');
    expect(kim).toMatchObject({ mql: true, sql: true });
    expect(kim.score).toBeCloseTo(86, 2);

    // one timeline, newest first: both devices' events, stage, score and identity items in line
    let items: Item[] = [];
    const expected = ['closed_won', 'demo_request', 'download', 'download', 'newsletter_signup', ...Array(9).fill('pageview')].sort();
    await expect.poll(async () => names((items = await timeline(kim.leadId))), { timeout: 10_000 }).toEqual(expected);
    expect(newestFirst(items)).toBe(true);
    const ev = events(items);
    expect(ev.filter((i) => i.name === 'pageview' && i.visitorId === laptopVisitor).length).toBe(6);
    expect(ev.filter((i) => i.name === 'pageview' && i.visitorId === phoneVisitor).length).toBe(3);
    expect(ev.filter((i) => i.name === 'download').map((i) => [i.visitorId, (i.props as any)?.url])).toEqual([
      [phoneVisitor, bb.origin + '/files/Acme-Case-Study.PDF'],
      [laptopVisitor, bb.origin + '/files/Whitepaper-2026.PDF?v=2'],
    ]);
    expect(ev.filter((i) => i.name === 'newsletter_signup').map((i) => [i.visitorId, i.form])).toEqual([[laptopVisitor, 'newsletter']]);
    expect(ev.filter((i) => i.name === 'demo_request').map((i) => [i.visitorId, i.form])).toEqual([[phoneVisitor, 'demo']]);
    // the CRM's deal came last
    expect(ev.filter((i) => i.name !== 'engagement')[0]).toMatchObject({ name: 'closed_won', props: { amount: 24000 } });
    // every stage from awareness to purchase, each once, newest first (the phone's own entries ended with its lead)
    expect(stagesOf(items)).toEqual([
      ['evaluation', 'purchase'], ['intent', 'evaluation'], ['consideration', 'intent'], ['interest', 'consideration'], ['awareness', 'interest'], [null, 'awareness'],
    ]);
    // the score items explain the score: every award once, adding up to it, the newest one showing it
    const scores = items.filter((i) => i.kind === 'score');
    expect(scores.map((i) => i.rule).sort()).toEqual(
      ['case_study_view', 'content_download', 'content_download', 'demo_request', 'newsletter_signup', 'pricing_view', 'return_visit', 'visit', 'visit', 'visit'],
    );
    expect(scores.reduce((s, i) => s + (i.points ?? 0), 0)).toBeCloseTo(86, 2);
    expect((scores[0] as any).scoreAfter).toBeCloseTo(86, 2);
    // both devices' identifications are in line
    expect(new Set(items.filter((i) => i.kind === 'identity').map((i) => i.visitorId))).toEqual(new Set([laptopVisitor, phoneVisitor]));
  });

  test('a webinar form and a comparison page of a single-page app, then the CRM accepts and sends a proposal: SQL without a demo, intent skipped, not an MQL', async () => {
    // the laptop: /about (visit +2) with a webinar sign-up form marked "webinar" (form_submit with props.form webinar:
    // interest; webinar_registration +15), then the app's own route to a comparison page by history.pushState
    // (comparison_view +5: consideration): 22
    const laptop = await device();
    const tab = await open(laptop, '/about');
    const visitor = await visitorIdOf(tab);
    await inject(tab, '<form data-funnelbeam="webinar" method="post" action="/thanks"><input type="email" name="email" required><button id="register">Register</button></form>');
    await tab.fill('form[data-funnelbeam=webinar] input[type=email]', 'wes@whiskey.test');
    await follow(tab, '#register', '/thanks');
    await tab.evaluate(() => history.pushState({}, '', '/vs/hubspot'));
    let wes = await waitForLead('wes@whiskey.test', (l) => l.stage === 'consideration');
    expect(wes.score).toBeCloseTo(22, 2);
    expect(wes).toMatchObject({ visitorIds: [visitor], mql: false, sql: false });
    const form = events(await timeline(visitor)).find((i) => i.name === 'form_submit')!;
    // README: a marker of the site's own is the kind `other`, with the marker in props.form
    expect(form).toMatchObject({ visitorId: visitor, form: 'other', props: { form: 'webinar' } });

    // the CRM: accepted (SQL, no points, no stage), a proposal by lead id (+10: 32; evaluation, intent skipped), a
    // closed_lost (nothing)
    await postEvents({ email: 'WES@whiskey.test', name: 'sales_accepted' });
    wes = await waitForLead('wes@whiskey.test', (l) => l.sql);
    expect(wes.stage).toBe('consideration');
    await postEvents({ leadId: wes.leadId, name: 'proposal_sent' });
    await postEvents({ email: 'wes@whiskey.test', name: 'closed_lost' });
    await expect.poll(async () => names(await timeline(visitor)).filter((n) => n === 'closed_lost'), { timeout: 10_000 }).toEqual(['closed_lost']);
    wes = (await profile('wes@whiskey.test'))!;
    expect(wes).toMatchObject({ stage: 'evaluation', mql: false, sql: true });
    expect(wes.score).toBeCloseTo(32, 2);
    const items = await timeline(wes.leadId);
    expect(newestFirst(items)).toBe(true);
    expect(names(items)).toEqual(['closed_lost', 'form_submit', 'pageview', 'pageview', 'pageview', 'proposal_sent', 'sales_accepted']);
    expect(events(items).filter((i) => i.name === 'pageview').map((i) => new URL(i.url!).pathname)).toEqual(['/vs/hubspot', '/thanks', '/about']);
    expect(stagesOf(items)).toEqual([['consideration', 'evaluation'], ['interest', 'consideration'], ['awareness', 'interest'], [null, 'awareness']]);
    expect(items.filter((i) => i.kind === 'score').map((i) => [i.rule, i.points])).toEqual([
      ['proposal_sent', 10], ['comparison_view', 5], ['webinar_registration', 15], ['visit', 2],
    ]);
    await tab.close();
  });

  test('the CRM made an MQL 90 days ago whose score has halved since; a browser then signs up with her email and joins her: the old lead, the old entries', async () => {
    // the CRM, 90 days back (one half-life of the default rules): contact_sales (sales_form +20: awareness, then intent,
    // interest and consideration skipped), demo_completed (+20: evaluation), proposal_sent (+10), quote_request
    // (sales_form +20, within its cap of 40): 70 then, over the threshold of 50: an MQL. Nothing of a demo request or
    // sales_accepted: not an SQL. Now the 70 is worth 35.
    const then = Date.now() - 90 * 86_400_000;
    const at = (minutes: number) => new Date(then + minutes * 60_000).toISOString();
    await postEvents([
      { email: 'Zoe@Zulu.test', name: 'contact_sales', at: at(0) },
      { email: 'zoe@zulu.test', name: 'demo_completed', at: at(0) },
      { email: 'zoe@zulu.test', name: 'proposal_sent', at: at(0) },
      { email: 'ZOE@zulu.test', name: 'quote_request', at: at(0) },
    ]);
    let zoe = await waitForLead('zoe@zulu.test', (l) => l.stage === 'evaluation');
    expect(zoe).toMatchObject({ mql: true, sql: false, visitorIds: [] });
    expect(zoe.score).toBeCloseTo(35, 2);
    expect(Date.parse((zoe as any).createdAt)).toBe(Date.parse(at(0)));

    // a browser, anonymous: pricing (visit +2, pricing_view +10), then the newsletter form as Zoe (+10): it joins her.
    // 35 + 22 = 57; the stage stays evaluation (interest and consideration are behind her); still an MQL, not an SQL
    const ctx = await device();
    const tab = await open(ctx, '/pricing');
    const visitor = await visitorIdOf(tab);
    const anon = await waitForLead(visitor, (l) => l.stage === 'consideration');
    await follow(tab, '#news', '/newsletter');
    await tab.fill('input[type=email]', 'zoe@zulu.test');
    await follow(tab, '#join', '/thanks');
    zoe = await waitForLead('zoe@zulu.test', (l) => l.visitorIds.length === 1 && l.score > 56);
    expect(zoe).toMatchObject({ visitorIds: [visitor], stage: 'evaluation', mql: true, sql: false });
    expect(zoe.score).toBeCloseTo(57, 2);
    expect(Date.parse((zoe as any).createdAt)).toBe(Date.parse(at(0)));
    expect((await profile(anon.leadId))!.leadId).toBe(zoe.leadId);

    const items = await timeline('zoe@zulu.test');
    expect(newestFirst(items)).toBe(true);
    await expect.poll(async () => names(await timeline('zoe@zulu.test')), { timeout: 10_000 }).toEqual(
      ['contact_sales', 'demo_completed', 'newsletter_signup', 'pageview', 'pageview', 'pageview', 'proposal_sent', 'quote_request'],
    );
    // the browser's own consideration entry ended with its anonymous lead
    expect(stagesOf(items)).toEqual([['intent', 'evaluation'], ['awareness', 'intent'], [null, 'awareness']]);
    const scores = items.filter((i) => i.kind === 'score');
    expect(scores.map((i) => i.rule).sort()).toEqual(['demo_completed', 'newsletter_signup', 'pricing_view', 'proposal_sent', 'sales_form', 'sales_form', 'visit']);
    expect((scores[0] as any).scoreAfter).toBeCloseTo(57, 2);
    // the browser's links, newest first: joined to her by the form, its anonymous link ended, first seen
    const identity = items.filter((i) => i.kind === 'identity');
    expect(new Set(identity.map((i) => i.visitorId))).toEqual(new Set([visitor]));
    expect(identity[0]).toMatchObject({ name: 'identity_linked', email: 'zoe@zulu.test' });
    await tab.close();
  });

  test('one person on a laptop and a phone at the same time: pricing in the two devices\' concurrent visits is two sessions, intent; each visit awarded once', async () => {
    const identify = (tab: Page, email: string) => tab.evaluate((e) => (window as any).funnelbeam('identify', e), email);
    // the laptop: home (visit +2: awareness), identifies as Ivy
    const laptop = await device();
    const lt = await open(laptop, '/');
    const laptopVisitor = await visitorIdOf(lt);
    await identify(lt, 'ivy@india.test');
    let ivy = await waitForLead('ivy@india.test', (l) => l.score > 1);
    // the phone, while the laptop's visit goes on: home (its own visit +2, a second session: interest, return_visit
    // +5), identifies as Ivy in another case: it joins her, 9
    const phone = await device(PHONE_UA);
    const pt = await open(phone, '/');
    const phoneVisitor = await visitorIdOf(pt);
    await identify(pt, 'IVY@India.test');
    ivy = await waitForLead('ivy@india.test', (l) => l.visitorIds.length === 2 && l.stage === 'interest');
    expect(ivy.score).toBeCloseTo(9, 2);
    // pages interleave: laptop pricing (pricing_view +10: 19, consideration), phone pricing (the 1-day window: nothing;
    // pricing in a second session: intent), laptop about, phone blog (same visits: nothing)
    await follow(lt, '#pricing', '/pricing');
    await waitForLead('ivy@india.test', (l) => l.stage === 'consideration');
    await follow(pt, '#pricing', '/pricing');
    await waitForLead('ivy@india.test', (l) => l.stage === 'intent');
    await follow(lt, '#about', '/about');
    await follow(pt, '#blog', '/blog/funnels');
    // the snippet's identify calls are events of their own
    await expect.poll(async () => names(await timeline('ivy@india.test')), { timeout: 10_000 }).toEqual(['identify', 'identify', ...Array(6).fill('pageview')]);
    ivy = (await profile('ivy@india.test'))!;
    expect(ivy).toMatchObject({ stage: 'intent', mql: false, sql: false });
    expect(new Set(ivy.visitorIds)).toEqual(new Set([laptopVisitor, phoneVisitor]));
    expect(ivy.score).toBeCloseTo(19, 2);
    const items = await timeline('ivy@india.test');
    expect(newestFirst(items)).toBe(true);
    expect(items.filter((i) => i.kind === 'stage').map((i) => [i.to, i.rule])).toEqual([
      ['intent', 'pricing_two_sessions'], ['consideration', 'pricing_page'], ['interest', 'second_session'], ['awareness', 'any_visit'],
    ]);
    expect(items.filter((i) => i.kind === 'score').map((i) => [i.rule, i.points])).toEqual([
      ['pricing_view', 10], ['return_visit', 5], ['visit', 2], ['visit', 2],
    ]);
    expect(new Set(events(items).filter((i) => i.url?.endsWith('/pricing')).map((i) => i.visitorId))).toEqual(new Set([laptopVisitor, phoneVisitor]));
    await lt.close();
    await pt.close();
  });

  test('the funnel report counts the journeys as the rules placed them', async () => {
    // leads created in the period: Kim (purchase) and Wes (evaluation); the phone's anonymous lead merged into Kim's.
    // Zoe (evaluation) was created 90 days before it: she counts now, and the browser's lead that joined her is no lead.
    // Ivy (intent), created in it, skipped nothing
    const to = new Date(Date.now() + 60_000).toISOString();
    const r = await api(`/api/funnel?from=${encodeURIComponent(bb.periodFrom)}&to=${encodeURIComponent(to)}`, bb.keys.audiences);
    expect(r.status).toBe(200);
    const pick = (k: string) => r.body.stages.map((s: any) => s[k]);
    expect(pick('stage')).toEqual(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase']);
    expect(pick('count')).toEqual([0, 0, 0, 1, 2, 1]);
    // Wes skipped intent; the phone's own awareness and consideration entries went with its lead
    expect(pick('entered')).toEqual([3, 3, 3, 2, 2, 1]);
    expect(pick('reached')).toEqual([3, 3, 3, 3, 2, 1]);
    [1, 1, 1, 1, 2 / 3, 1 / 3].forEach((v, n) => expect(pick('conversionCumulative')[n]).toBeCloseTo(v, 3));
    [1, 1, 1, 2 / 3, 1 / 2].forEach((v, n) => expect(pick('conversionNext')[n]).toBeCloseTo(v, 3));
    const leads = await api('/api/leads?stage=purchase', bb.keys.leads);
    expect(leads.body.items.map((l: any) => l.email)).toEqual(['kim@kilo.test']);
  });
});
