// Black-box journeys 3 (the harness of black-box-journeys.test.ts: the collector as its own process, the admin CLI,
// the tester's pages, Chromium as the contract launches it, CRM events by POST /api/events, everything read back
// through the HTTP API): an owner's rules PUT through the API (a download matched by a props glob, a custom event with
// a numeric range and a list of globs, pricing in two sessions across devices, a negative rule cut by its cap, a CRM
// award with a weekly window, no decay), then one person on three Chromium devices joined at different moments: by the
// snippet's identify call, by a newsletter form, and by the CRM naming the third device's visitor id with her email.
// Expected values are worked out by hand from the rules below.
import { describe, expect, test } from 'vitest';
import { bb, useBlackBox, api, profile, timeline, events, names, waitForLead, postEvents, device, open, follow, leave, visitorIdOf, PHONE_UA } from './black-box-harness.js';

useBlackBox('funnelbeam-blackbox-journeys3-');

const RULES = {
  stages: ['visitor', 'reader', 'shopper', 'buyer', 'customer'],
  stageRules: [
    { id: 'seen', stage: 'visitor', when: {} },
    { id: 'whitepaper', stage: 'reader', when: { event: 'download', props: { url: '*whitepaper*' } } },
    { id: 'big_plan', stage: 'shopper', when: { event: 'plan_picked', props: { seats: { gte: 25 } } } },
    { id: 'pricing_twice', stage: 'buyer', when: { event: 'pageview', path: '/pricing', sessions: 2 } },
    { id: 'won', stage: 'customer', when: { event: 'closed_won', source: 'server' } },
  ],
  scoreRules: [
    { id: 'page', points: 1, when: { event: 'pageview' }, window: 'session', cap: 5 },
    { id: 'whitepaper', points: 10, when: { event: 'download', props: { url: '*whitepaper*' } } },
    { id: 'plan', points: 15, when: { event: 'plan_picked', props: { tier: ['pro', 'ent*'] } } },
    { id: 'blog', points: -3, when: { event: 'pageview', path: '/blog/*' }, cap: 3 },
    { id: 'meeting', points: 20, when: { event: 'meeting_booked', source: 'server' }, window: '7d' },
  ],
  halfLifeDays: null,
  mqlThreshold: 40,
  sqlWhen: [{ event: 'sales_accepted', source: 'server' }],
};

describe('black-box journeys 3: an owner\'s rules, three devices, the CRM', () => {
  // runs first, under the default rules (the next test replaces them)
  test('an anonymous phone in pricing_no_demo joins a lead who booked a demo: the snippet\'s segments follow, her timeline agrees', async () => {
    const phone = await device(PHONE_UA);
    let tab = await open(phone, '/pricing');
    const phoneVisitor = await visitorIdOf(tab);
    await waitForLead(phoneVisitor, (l) => l.stage === 'consideration');
    const segmentsOf = (t: typeof tab) => t.evaluate(() => new Promise<string[]>((resolve) => (window as any).funnelbeam('segments', resolve)));
    await expect.poll(async () => (await segmentsOf(tab)).sort(), { timeout: 20_000 }).toEqual(['pricing_no_demo']);
    await leave(phone, tab);

    // the laptop books a demo as Gia: visit 2, demo_request 30 (evaluation, SQL)
    const laptop = await device();
    tab = await open(laptop, '/demo');
    await tab.fill('input[name=name]', 'Gia');
    await tab.fill('input[type=email]', 'gia@golf.test');
    await follow(tab, '#book', '/thanks');
    const gia = await waitForLead('gia@golf.test', (l) => l.stage === 'evaluation');
    expect(gia.sql).toBe(true);
    await tab.close();

    // the phone, 31 minutes later by its clock, signs up to the newsletter as Gia: it joins her
    tab = await open(phone, '/newsletter');
    await tab.fill('input[type=email]', 'GIA@golf.test');
    await follow(tab, '#join', '/thanks');
    await waitForLead('gia@golf.test', (l) => l.visitorIds.length === 2);
    expect((await profile(phoneVisitor))!.leadId).toBe(gia.leadId);
    // she asked for a demo: the phone is no longer in pricing_no_demo (what an ad pixel on the page reads)
    await expect.poll(async () => (await segmentsOf(tab)).sort(), { timeout: 20_000 }).toEqual(['demo_no_close']);
    const pushed = await tab.evaluate(() => ((window as any).dataLayer || []).filter((x: any) => x.event === 'funnelbeam_segments').map((x: any) => x.segments));
    expect(pushed.at(-1).slice().sort()).toEqual(['demo_no_close']);
    const count = await api('/api/segments/pricing_no_demo', bb.keys.audiences);
    expect(count.body.count).toBe(0);
    // her timeline's segment items agree with what she is in
    const items = await timeline('gia@golf.test');
    const last = new Map<string, string>();
    for (const i of items.filter((x) => x.kind === 'segment').reverse()) last.set((i as any).segment, (i as any).change);
    expect([...last].filter(([, c]) => c === 'entered').map(([k]) => k).sort()).toEqual(['demo_no_close']);
    await tab.close();
  });

  test('whitepaper, plans and pricing on a laptop, a phone and a tablet joined by identify, a form and the CRM', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const put = await api('/api/config/funnel', bb.keys.admin, { method: 'PUT', body: JSON.stringify(RULES) });
    expect(put.status, JSON.stringify(put.body)).toBe(200);

    // the laptop: resources (page +1), the whitepaper PDF (+10: reader), a "pro" plan at 10 seats (+15; under 25
    // seats: no shopper), then the page identifies her: 26
    const laptop = await device();
    let tab = await open(laptop, '/resources');
    const laptopVisitor = await visitorIdOf(tab);
    await tab.click('#pdf');
    await tab.evaluate(() => (window as any).funnelbeam('track', 'plan_picked', { seats: 10, tier: 'pro' }));
    await tab.evaluate(() => (window as any).funnelbeam('identify', 'Pia@Pilot.test'));
    let pia = await waitForLead('pia@pilot.test', (l) => l.score >= 26);
    expect(pia).toMatchObject({ stage: 'reader', visitorIds: [laptopVisitor], mql: false, sql: false });
    expect(pia.score).toBeCloseTo(26, 4);
    await leave(laptop, tab);

    // the phone: pricing anonymously (page +1 for its own lead), then the newsletter form with her email: it joins her.
    // On her: the phone's visit is a new session (page +1: 27); pricing seen in one session so far
    const phone = await device(PHONE_UA);
    tab = await open(phone, '/pricing');
    const phoneVisitor = await visitorIdOf(tab);
    const anonPhone = await waitForLead(phoneVisitor, (l) => l.score >= 1);
    expect(anonPhone).toMatchObject({ email: null, stage: 'visitor' });
    await follow(tab, '#news', '/newsletter');
    await tab.fill('input[type=email]', 'pia@pilot.test');
    await follow(tab, '#join', '/thanks');
    pia = await waitForLead('pia@pilot.test', (l) => l.visitorIds.length === 2 && l.score >= 27);
    expect(new Set(pia.visitorIds)).toEqual(new Set([laptopVisitor, phoneVisitor]));
    expect(pia.score).toBeCloseTo(27, 4);
    expect(pia.stage).toBe('reader');
    expect((await profile(anonPhone.leadId))!.leadId).toBe(pia.leadId);
    await leave(phone, tab);

    // the laptop again, 31 minutes later by its clock: a new session, pricing (page +1: 28), pricing in a second session:
    // buyer (shopper skipped); an "Enterprise" plan at 40 seats (+15: 43 ≥ 40: MQL; shopper is behind her now); a blog
    // post (−3: 40; still an MQL)
    tab = await open(laptop, '/pricing');
    pia = await waitForLead('pia@pilot.test', (l) => l.stage === 'buyer');
    await tab.evaluate(() => (window as any).funnelbeam('track', 'plan_picked', { seats: 40, tier: 'Enterprise' }));
    await follow(tab, '#blog', '/blog/funnels');
    pia = await waitForLead('pia@pilot.test', (l) => l.mql && Math.abs(l.score - 40) < 1e-6);
    expect(pia.stage).toBe('buyer');
    await leave(laptop, tab);

    // the tablet, anonymous, reads the home page; the CRM books a meeting, naming the tablet's visitor id (a hidden form
    // field) with her email: the tablet joins her (page +1, a third session), meeting +20: 61. Then a second meeting in
    // the same week (nothing), acceptance (SQL), the deal (customer)
    const tablet = await device();
    tab = await open(tablet, '/');
    const tabletVisitor = await visitorIdOf(tab);
    await waitForLead(tabletVisitor, (l) => l.score >= 1);
    await postEvents({ visitorId: tabletVisitor, email: 'PIA@pilot.test', name: 'meeting_booked' });
    await postEvents({ email: 'pia@pilot.test', name: 'meeting_booked', id: 'crm-pia-meeting-2' });
    await postEvents({ email: 'pia@pilot.test', name: 'sales_accepted' });
    await postEvents({ leadId: pia.leadId, name: 'closed_won' });
    pia = await waitForLead('pia@pilot.test', (l) => l.stage === 'customer');
    expect(new Set(pia.visitorIds)).toEqual(new Set([laptopVisitor, phoneVisitor, tabletVisitor]));
    expect(pia).toMatchObject({ mql: true, sql: true });
    expect(pia.score).toBeCloseTo(61, 4);
    expect((await profile(tabletVisitor))!.leadId).toBe(pia.leadId);

    const items = await timeline('pia@pilot.test');
    // stages, newest first: customer, buyer, reader, visitor (shopper skipped)
    expect(items.filter((i) => i.kind === 'stage').map((i) => [i.from ?? null, i.to])).toEqual([
      ['buyer', 'customer'], ['reader', 'buyer'], ['visitor', 'reader'], [null, 'visitor'],
    ]);
    // every award, and the score items add up to the profile's score
    const scores = items.filter((i) => i.kind === 'score');
    expect(scores.map((i) => i.rule).sort()).toEqual(['blog', 'meeting', 'page', 'page', 'page', 'page', 'plan', 'plan', 'whitepaper']);
    expect(scores.reduce((s, i) => s + (i.points ?? 0), 0)).toBeCloseTo(61, 4);
    expect((scores[0] as any).scoreAfter).toBeCloseTo(61, 4);
    // the download and both custom events, with their devices and props
    const ev = events(items);
    expect(ev.filter((i) => i.name === 'download').map((i) => i.visitorId)).toEqual([laptopVisitor]);
    expect(ev.filter((i) => i.name === 'plan_picked').map((i) => i.props)).toEqual([{ seats: 40, tier: 'Enterprise' }, { seats: 10, tier: 'pro' }]);
    expect(ev.filter((i) => i.name === 'newsletter_signup').map((i) => [i.visitorId, i.form])).toEqual([[phoneVisitor, 'newsletter']]);
    expect(ev.filter((i) => i.name === 'meeting_booked').length).toBe(2);
    // the three devices' identity items are in line
    expect(new Set(items.filter((i) => i.kind === 'identity').map((i) => i.visitorId))).toEqual(new Set([laptopVisitor, phoneVisitor, tabletVisitor]));

    // the funnel report since this test began: one lead (the phone's and tablet's anonymous leads merged into her)
    const f = await api(`/api/funnel?from=${encodeURIComponent(since)}`, bb.keys.audiences);
    expect(f.status).toBe(200);
    expect(f.body.stages.map((s: any) => s.stage)).toEqual(RULES.stages);
    // counts now are of every lead (the previous test's Gia counts once an event of hers rebuilds her under these rules)
    expect(f.body.stages[4].count).toBe(1);
    expect(f.body.stages.map((s: any) => s.entered)).toEqual([1, 1, 0, 1, 1]);
    expect(f.body.stages.map((s: any) => s.conversionCumulative)).toEqual([1, 1, 1, 1, 1]);
    // the leads list reads the owner's stages
    const list = await api('/api/leads?stage=customer', bb.keys.leads);
    expect(list.body.items.map((l: any) => l.email)).toEqual(['pia@pilot.test']);
    await tab.close();
  });

  test('the CRM names a browser with another email for a time before the browser identified: that person gets the event, the browser stays', async () => {
    const ctx = await device();
    const tab = await open(ctx, '/newsletter');
    const visitor = await visitorIdOf(tab);
    await tab.fill('input[type=email]', 'ari@alpha.test');
    await follow(tab, '#join', '/thanks');
    // under the owner's rules above: the newsletter page, page +1
    const ari = await waitForLead('ari@alpha.test', (l) => l.score >= 1);
    const identifiedAt = Date.parse((ari as any).identifiedAt);
    // the CRM: a meeting booked by Bo an hour before, with the visitor id its form kept (a shared computer)
    await postEvents({ visitorId: visitor, email: 'bo@beta.test', name: 'meeting_booked', at: new Date(identifiedAt - 3_600_000).toISOString() });
    const bo = await waitForLead('bo@beta.test', (l) => l.score >= 20);
    expect(bo.leadId).not.toBe(ari.leadId);
    expect(bo.score).toBeCloseTo(20, 4);
    expect(names(await timeline('bo@beta.test'))).toEqual(['meeting_booked']);
    // the browser is still Ari's, and so is its next page
    expect((await profile(visitor))!.leadId).toBe(ari.leadId);
    await follow(tab, '#pricing', '/pricing');
    await expect.poll(async () => events(await timeline('ari@alpha.test')).some((i) => i.url?.endsWith('/pricing')), { timeout: 20_000 }).toBe(true);
    expect(names(await timeline('bo@beta.test'))).toEqual(['meeting_booked']);
    expect((await profile('ari@alpha.test'))!.score).toBeCloseTo(1, 4);
    await tab.close();
  });
});
