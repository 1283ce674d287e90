// Black-box journeys 12 (round 11): the harness of black-box-journeys-11 (the tester's own pages, the collector in
// process on a clock the test moves, a browser context per device, the CRM by POST /api/events, a webhook receiver,
// `npm run admin -- replay`), under the default rules, then rule changes. What earlier rounds did not script:
// - a CRM webinar registration dated two days before the lead's first page, sent two days after it: creation, entries
//   and the report's cohort move back;
// - linear attribution over a campaign tagged `(none)`, a direct visit and an ad: one `(none)` share of two thirds;
// - the MQL bar raised and replayed (the MQL taken away), crossed again: not told again;
// - negative points with a cap (careers pages);
// - a stage removed (intent) with a lead in it: counted nowhere, then placed by the replay;
// - pricing on an anonymous phone two days before a laptop's: the merge enters intent at the laptop's view.
// No bug was found: every figure below is what the rules give.
// Expected values are worked out by hand from contract §6 and README "Funnel engine", never read from the code's output.
import { describe, expect, test } from 'vitest';

import { DAY, MIN, PHONE_UA, evs, stagesOf, type Item } from './clocked-demo.js';
import { DESKTOP_UA, decayed, h, now, received, setUpJourneys, device, advance, visit, go, submit, visitorIdOf, api, profile, timeline, awardsOf, ms, eventsUntil, postEvents, hookUrl, npmAdmin, JOURNEY_PAGES } from './clocked-journeys.js';

const BODIES = { ...JOURNEY_PAGES, '/careers': '<h1>Careers</h1>' };
setUpJourneys('journeys12.db', BODIES);

const DANA = 'dana@initech.test';
const ELI = 'eli@umbrella.test';
const t: Record<string, any> = {};
const stageTimes = (items: Item[]) => items.filter((i) => i.kind === 'stage').map(ms).reverse();
async function funnel(query: string) {
  const r = await api(`/api/funnel?${query}`, h.keys.audiences);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}
const period = (fromDay: number, toDay: number) => `from=${encodeURIComponent(new Date(h.T0 + fromDay * DAY).toISOString())}&to=${encodeURIComponent(new Date(h.T0 + toDay * DAY).toISOString())}`;
const col = (r: any, k: string) => r.stages.map((s: any) => s[k]);
const groups = (b: any, k: string) => Object.fromEntries(b.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => s[k])]));

describe('black-box journeys 12 (default rules; the collector\'s clock moved with the devices\')', () => {
  test('day 3: Dana sees pricing and subscribes; day 5 the CRM reports her webinar registration of day 1: she was created on day 1', async () => {
    await advance(3 * DAY);
    // day 3: /pricing (visit +2, pricing_view +10: awareness and consideration at once), the newsletter (+10) → 22
    const laptop = await device({ ua: DESKTOP_UA });
    const tab = await visit(laptop, '/pricing');
    await go(tab, 'news', '/newsletter');
    await submit(tab, 'join', DANA);
    let items = await eventsUntil(DANA, ['pageview /pricing', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks']);
    t.dLand = ms(evs(items)[0]);
    t.dSignup = ms(evs(items)[2]);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration']);
    expect(Date.parse((await profile(DANA)).createdAt)).toBe(t.dLand);
    await tab.close();
    let r = await funnel(period(2, 4));
    expect(col(r, 'count')).toEqual([0, 0, 1, 0, 0, 0]);
    expect(col(r, 'entered')).toEqual([1, 0, 1, 0, 0, 0]);
    expect(col(r, 'reached')).toEqual([1, 1, 1, 0, 0, 0]);

    await advance(2 * DAY);
    t.dWebinar = h.T0 + DAY;
    await postEvents({ email: DANA, name: 'webinar_registration', at: new Date(t.dWebinar).toISOString() });
    // in time order: day 1 the webinar (the first event of a lead not yet seen on the web: awareness; interest;
    // +15), day 3 pricing (consideration; +2 +10; one web session: no return_visit), the newsletter +10
    items = await timeline(DANA);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration']);
    expect(stageTimes(items)).toEqual([t.dWebinar, t.dWebinar, t.dLand]);
    expect(awardsOf(items)).toEqual(['webinar_registration 15', 'visit 2', 'pricing_view 10', 'newsletter_signup 10']);
    const p = await profile(DANA);
    expect(Date.parse(p.createdAt)).toBe(t.dWebinar);
    expect(p.score).toBeCloseTo(decayed([[15, t.dWebinar], [22, t.dSignup]], now()), 2);
    // days 2-4: no longer her cohort; only her consideration entry is in it
    r = await funnel(period(2, 4));
    expect(col(r, 'count')).toEqual([0, 0, 1, 0, 0, 0]);
    expect(col(r, 'entered')).toEqual([0, 0, 1, 0, 0, 0]);
    expect(col(r, 'reached')).toEqual([0, 0, 0, 0, 0, 0]);
    // days 0-2: her cohort; awareness and interest entered at the webinar; awareness 0 ms, interest day 1 → day 3
    r = await funnel(period(0, 2));
    expect(col(r, 'entered')).toEqual([1, 1, 0, 0, 0, 0]);
    expect(col(r, 'reached')).toEqual([1, 1, 1, 0, 0, 0]);
    expect(r.stages[0].timeInStage).toMatchObject({ p50: 0, p90: 0 });
    expect(r.stages[1].timeInStage).toMatchObject({ p50: t.dLand - t.dWebinar, p90: t.dLand - t.dWebinar });
    for (const model of ['first', 'last', 'linear']) {
      const b = await funnel(`${period(0, 2)}&breakdown=channel&attribution=${model}`);
      expect(groups(b, 'entered'), model).toEqual({ direct: [1, 1, 0, 0, 0, 0] });
      expect(groups(b, 'reached'), model).toEqual({ direct: [1, 1, 1, 0, 0, 0] });
    }
  });

  test('day 6: Eli: a newsletter link tagged utm_campaign=(none), pricing direct, a Google ad and a demo: linear (none) ⅔, spring ⅓', async () => {
    const w = await api('/api/webhooks/crm', h.keys.admin, { method: 'PUT', body: JSON.stringify({ url: hookUrl(), events: ['lead.mql'] }) });
    expect(w.status).toBe(201);
    await advance(DAY);
    // S1 / from the newsletter (visit +2: awareness); S2 31 min later /pricing direct (visit +2, return_visit +5,
    // pricing_view +10: interest and consideration at once); S3 31 min later the ad to /demo and the form
    // (visit +2, demo_request +30: evaluation, SQL) → 53: MQL at the demo
    const laptop = await device({ ua: DESKTOP_UA });
    let tab = await visit(laptop, '/?utm_source=newsletter&utm_medium=email&utm_campaign=(none)');
    await tab.close();
    await advance(31 * MIN);
    tab = await visit(laptop, '/pricing');
    await tab.close();
    await advance(31 * MIN);
    tab = await visit(laptop, '/demo?utm_source=google&utm_medium=cpc&utm_campaign=spring');
    await submit(tab, 'book', ELI);
    const items = await eventsUntil(ELI, ['pageview /', 'pageview /pricing', 'pageview /demo', 'demo_request /demo', 'pageview /thanks']);
    const e = evs(items);
    t.eLand = ms(e[0]);
    t.ePricing = ms(e[1]);
    t.eDemo = ms(e[3]);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration', 'consideration>evaluation']);
    expect(stageTimes(items)).toEqual([t.eLand, t.ePricing, t.ePricing, t.eDemo]);
    const p = await profile(ELI);
    expect(p).toMatchObject({ stage: 'evaluation', mql: true, sql: true });
    expect(p.score).toBeCloseTo(decayed([[2, t.eLand], [17, t.ePricing], [32, t.eDemo]], now()), 2);
    await tab.close();

    const q = `${period(6, 7)}&breakdown=campaign`;
    // linear: S1 "(none)" as tagged and S2 without a campaign are one key: ⅔; spring ⅓ (.6667/.3333: the largest
    // remainder, ⅔'s, takes the unit)
    const lin = await funnel(`${q}&attribution=linear`);
    // count now is every lead of the site: Dana (consideration, one direct session) is (none) whole
    expect(groups(lin, 'count')).toEqual({ '(none)': [0, 0, 1, 0, 0.6667, 0], spring: [0, 0, 0, 0, 0.3333, 0] });
    expect(groups(lin, 'entered')).toEqual({ '(none)': [0.6667, 0.6667, 0.6667, 0, 0.6667, 0], spring: [0.3333, 0.3333, 0.3333, 0, 0.3333, 0] });
    expect(groups(lin, 'reached')).toEqual({ '(none)': [0.6667, 0.6667, 0.6667, 0.6667, 0.6667, 0], spring: [0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0] });
    // a time in stage counts whole under each key, once: awareness landing → pricing; consideration pricing → demo
    for (const g of lin.breakdown) {
      expect(g.stages[0].timeInStage, g.key).toMatchObject({ p50: t.ePricing - t.eLand, p90: t.ePricing - t.eLand, n: 1 });
      expect(g.stages[2].timeInStage, g.key).toMatchObject({ p50: t.eDemo - t.ePricing, p90: t.eDemo - t.ePricing, n: 1 });
    }
    expect(groups(await funnel(`${q}&attribution=first`), 'entered')).toEqual({ '(none)': [1, 1, 1, 0, 1, 0] });
    expect(groups(await funnel(`${q}&attribution=last`), 'entered')).toEqual({ '(none)': [0, 0, 0, 0, 0, 0], spring: [1, 1, 1, 0, 1, 0] }); // (none): Dana, now
    // by channel: email, direct, paid_search a third each; .3334 to the key that sorts first; Dana direct
    const ch = await funnel(`${period(6, 7)}&breakdown=channel&attribution=linear`);
    expect(groups(ch, 'count')).toEqual({ direct: [0, 0, 1, 0, 0.3334, 0], email: [0, 0, 0, 0, 0.3333, 0], paid_search: [0, 0, 0, 0, 0.3333, 0] });
  });
  test('day 7: the MQL bar raised to 60 and replayed: Eli (53) is no MQL; crossing it again the next day is not told again', async () => {
    await expect.poll(() => received.filter((r) => r.type === 'lead.mql').map((r) => r.data.email), { timeout: 10_000 }).toEqual([ELI]);
    const cfg = (await api('/api/config/funnel', h.keys.admin)).body;
    cfg.mqlThreshold = 60;
    expect((await api('/api/config/funnel', h.keys.admin, { method: 'PUT', body: JSON.stringify(cfg) })).status).toBe(200);
    // saved rules rebuild nothing: still the MQL the old bar gave
    expect(await profile(ELI)).toMatchObject({ mql: true });
    await npmAdmin('replay', '--site', h.siteId);
    expect(await profile(ELI)).toMatchObject({ mql: false, mqlAt: null, sql: true, stage: 'evaluation' });
    // the next day, a fourth session: /pricing (visit +2, pricing_view +10; return_visit's cap used; pricing in two
    // sessions is intent, below evaluation) → 53·2^(-1d/90d) + 12 ≈ 64.6 ≥ 60: MQL at that view
    await advance(DAY);
    const tab = await visit(h.devices[1], '/pricing');
    const items = await eventsUntil(ELI, ['pageview /', 'pageview /pricing', 'pageview /demo', 'demo_request /demo', 'pageview /thanks', 'pageview /pricing']);
    const again = ms(evs(items)[5]);
    await tab.close();
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration', 'consideration>evaluation']);
    const p = await profile(ELI);
    expect(p).toMatchObject({ mql: true, stage: 'evaluation' });
    expect(Date.parse(p.mqlAt)).toBe(again);
    expect(p.score).toBeCloseTo(decayed([[2, t.eLand], [17, t.ePricing], [32, t.eDemo], [12, again]], now()), 2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(received.filter((r) => r.type === 'lead.mql').map((r) => r.data.email)).toEqual([ELI]);
  });

  test('day 8: three careers views in one visit: -10, -10, then the cap of 20 is used up: 2 - 20 = -18', async () => {
    const laptop = await device({ ua: DESKTOP_UA });
    for (let n = 0; n < 3; n++) await (await visit(laptop, '/careers')).close();
    let items: Item[] = [];
    const vid = await visitorIdOf(await visit(laptop, '/about'));
    await expect.poll(async () => {
      items = (await profile(vid)) ? await timeline(vid) : [];
      return evs(items).map((i) => `${i.name} ${i.path}`);
    }, { timeout: 15_000 }).toEqual(['pageview /careers', 'pageview /careers', 'pageview /careers', 'pageview /about']);
    expect(awardsOf(items)).toEqual(['visit 2', 'careers_page -10', 'careers_page -10']);
    const p = await profile(vid);
    expect(p.score).toBeCloseTo(-18, 2);
    expect(p).toMatchObject({ stage: 'awareness', mql: false });
  });
  test('day 9: a CRM trial for Frank (intent), then the intent stage removed: he counts nowhere until the replay puts him in awareness', async () => {
    await advance(2 * DAY);
    const FRANK = 'frank@hooli.test';
    await postEvents({ email: FRANK, name: 'trial_started' });
    // a lead never seen on the web: awareness at its first server event, intent by sales_form_event, +20
    let f = await profile(FRANK);
    expect(f).toMatchObject({ stage: 'intent', sql: false });
    expect(f.score).toBeCloseTo(20, 2);
    const q = period(9, 10);
    let r = await funnel(q);
    // now: the careers visitor awareness, Dana consideration, Frank intent, Eli evaluation
    expect(col(r, 'count')).toEqual([1, 0, 1, 1, 1, 0]);
    expect(col(r, 'entered')).toEqual([1, 0, 0, 1, 0, 0]);

    const cfg = (await api('/api/config/funnel', h.keys.admin)).body;
    t.savedConfig = JSON.stringify(cfg);
    cfg.stages = cfg.stages.filter((st: string) => st !== 'intent');
    cfg.stageRules = cfg.stageRules.filter((x: any) => x.stage !== 'intent');
    const put = await api('/api/config/funnel', h.keys.admin, { method: 'PUT', body: JSON.stringify(cfg) });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    r = await funnel(q);
    expect(col(r, 'stage')).toEqual(['awareness', 'interest', 'consideration', 'evaluation', 'purchase']);
    // Frank, still in `intent`, counts nowhere; his awareness entry of this period is kept where the old rules left it
    expect(col(r, 'count')).toEqual([1, 0, 1, 1, 0]);
    expect(col(r, 'entered')).toEqual([1, 0, 0, 0, 0]);
    expect((await api('/api/leads?stage=intent', h.keys.leads)).status).toBe(400);

    await npmAdmin('replay', '--site', h.siteId);
    f = await profile(FRANK);
    expect(f).toMatchObject({ stage: 'awareness' });
    expect(f.score).toBeCloseTo(20, 2);
    expect(stagesOf(await timeline(FRANK))).toEqual(['null>awareness']);
    r = await funnel(q);
    expect(col(r, 'count')).toEqual([2, 0, 1, 1, 0]);
    expect(col(r, 'entered')).toEqual([1, 0, 0, 0, 0]);
    expect(col(r, 'reached')).toEqual([1, 0, 0, 0, 0]);
    const b = await funnel(`${q}&breakdown=channel&attribution=first`);
    expect(groups(b, 'count')).toMatchObject({ '(none)': [1, 0, 0, 0, 0] });
    expect(groups(b, 'entered')).toMatchObject({ '(none)': [1, 0, 0, 0, 0] });
  });
  test('days 9-12: pricing on an anonymous phone, two days later on a laptop that subscribes as Gus, the phone joins him: intent at the laptop\'s view', async () => {
    const GUS = 'gus@stark.test';
    // the six stages back (the rules of the Eli test: MQL at 60)
    expect((await api('/api/config/funnel', h.keys.admin, { method: 'PUT', body: t.savedConfig })).status).toBe(200);
    const phone = await device({ ua: PHONE_UA });
    let tab = await visit(phone, '/pricing');
    const phoneId = await visitorIdOf(tab);
    await expect.poll(async () => evs(await timeline(phoneId)).map((i) => i.name), { timeout: 10_000 }).toEqual(['pageview']);
    const phoneView = ms(evs(await timeline(phoneId))[0]);
    await tab.close();
    await advance(2 * DAY);
    const laptop = await device({ ua: DESKTOP_UA });
    tab = await visit(laptop, '/pricing');
    await go(tab, 'news', '/newsletter');
    await submit(tab, 'join', GUS);
    let items = await eventsUntil(GUS, ['pageview /pricing', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks']);
    const laptopView = ms(evs(items)[0]);
    const signup = ms(evs(items)[2]);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration']);
    await tab.close();
    await advance(DAY);
    tab = await visit(phone, '/newsletter');
    await submit(tab, 'join', GUS);
    items = await eventsUntil(GUS, ['pageview /pricing', 'pageview /pricing', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks']);
    const phoneAgain = ms(evs(items)[5]);
    // in time order: day 9 the phone's pricing (visit +2, pricing_view +10: awareness, consideration); day 11 the
    // laptop's pricing, the lead's second session (visit +2, return_visit +5, pricing_view +10; pricing in two
    // sessions: intent), the newsletter +10; day 12 the phone (visit +2; the newsletter's cap of 10 is used up)
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>intent']);
    expect(stageTimes(items)).toEqual([phoneView, phoneView, laptopView]);
    const p = await profile(GUS);
    expect(p).toMatchObject({ stage: 'intent', mql: false, sql: false });
    expect(Date.parse(p.createdAt)).toBe(phoneView);
    expect(p.score).toBeCloseTo(decayed([[12, phoneView], [17, laptopView], [10, signup], [2, phoneAgain]], now()), 2);
    // days 9-12: cohort Frank (awareness, as the replay left him) and Gus; entries: awareness both, consideration and
    // intent Gus; awareness times [0 (Gus)], Frank has not moved on; consideration: Gus phone view → laptop view
    const r = await funnel(period(9, 12));
    expect(col(r, 'stage')).toEqual(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase']);
    expect(col(r, 'entered')).toEqual([2, 0, 1, 1, 0, 0]);
    expect(col(r, 'reached')).toEqual([2, 1, 1, 1, 0, 0]);
    expect(r.stages[0].timeInStage).toMatchObject({ p50: 0, p90: 0 });
    expect(r.stages[2].timeInStage).toMatchObject({ p50: laptopView - phoneView, p90: laptopView - phoneView });
  });
});
