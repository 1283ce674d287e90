// Black-box journeys 11 (round 11): the tester's own pages, the collector in process on a clock the test moves (as in
// black-box-journeys-10), a browser context per device, the CRM by POST /api/events, a webhook receiver of our own,
// `npm run admin -- replay` as an operator types it, and everything read back over HTTP. What rounds 1-10 did not script:
// - a case-study PDF download (consideration, interest skipped) from a Google ad; pricing three days later from a new
//   (retargeting) campaign; a demo on a phone with the email in another case: linear attribution over three sessions
//   of two devices, three campaigns;
// - three colleagues of one company: Ann and Bob on one shared laptop 31 minutes apart, Carl on his phone,
//   unsubscribed by the CRM;
// - the CRM's sales_accepted, then closed_lost, then five months later closed_won;
// - custom scores PUT mid-journey (newsletter 40 points, MQL at 45), a lead's next event, then the replay;
// - the funnel report of a period that cuts the journeys in half, by campaign under first, last and linear attribution.
// No bug was found: every figure below is what the rules give.
// Expected values are worked out by hand from contract §6 and README "Funnel engine", never read from the code's output.
import { describe, expect, test } from 'vitest';

import { DAY, MIN, PHONE_UA, evs, stagesOf, type Item } from './clocked-demo.js';
import { DESKTOP_UA, sha, decayed, h, now, received, setUpJourneys, device, advance, visit, go, submit, visitorIdOf, api, profile, timeline, awardsOf, ms, eventsUntil, postEvents, hookUrl, npmAdmin, JOURNEY_PAGES, expectScoresAddUp } from './clocked-journeys.js';

setUpJourneys('journeys11.db', JOURNEY_PAGES);

const CLEO = 'cleo@acme.test';
const ANN = 'ann@globex.test';
const BOB = 'bob@globex.test';
const CARL = 'carl@globex.test';
/** collector times (ms) read from the journeys' own event items, and ids */
const t: Record<string, number> = {};
const who: Record<string, string> = {};
const stageTimes = (items: Item[]) => items.filter((i) => i.kind === 'stage').map(ms).reverse();
async function funnel(query: string) {
  const r = await api(`/api/funnel?${query}`, h.keys.audiences);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

describe('black-box journeys 11 (default rules, then custom scores; the collector\'s clock moved with the devices\')', () => {
  test('setup: a lead.mql and stage.changed webhook to our receiver', async () => {
    const w = await api('/api/webhooks/crm', h.keys.admin, { method: 'PUT', body: JSON.stringify({ url: hookUrl(), events: ['lead.mql', 'stage.changed'] }) });
    expect(w.status).toBe(201);
  });

  test('day 0: Cleo, from a Google ad, downloads the Acme case study PDF and subscribes: consideration (interest skipped), 22', async () => {
    // / (visit +2: awareness), /resources, the case-study PDF (case_study_download: consideration; content_download
    // +10: any download), /newsletter, the form (newsletter_signup +10; interest is below consideration: no entry) → 22
    const laptop = await device({ ua: DESKTOP_UA });
    const tab = await visit(laptop, '/?utm_source=google&utm_medium=cpc&utm_campaign=q3');
    who.cleoLaptop = await visitorIdOf(tab);
    await go(tab, 'resources', '/resources');
    await tab.click('#cs');
    await go(tab, 'news', '/newsletter');
    await submit(tab, 'join', CLEO);
    const items = await eventsUntil(CLEO, ['pageview /', 'pageview /resources', 'download /resources', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks']);
    const e = evs(items);
    t.cLand = ms(e[0]);
    t.cDownload = ms(e[2]);
    t.cSignup = ms(e[4]);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration']);
    expect(stageTimes(items)).toEqual([t.cLand, t.cDownload]);
    expect(awardsOf(items)).toEqual(['visit 2', 'content_download 10', 'newsletter_signup 10']);
    const p = await profile(CLEO);
    expect(p).toMatchObject({ stage: 'consideration', mql: false, sql: false });
    expect(p.score).toBeCloseTo(22, 2);
    await tab.close();
  });

  test('day 3: Cleo back from a LinkedIn retargeting ad to pricing (a new campaign); an hour later a demo on her phone as Cleo@ACME.Test', async () => {
    await advance(3 * DAY);
    // laptop, second session (campaign retarget): visit +2, return_visit +5, pricing_view +10; interest (second
    // session) and consideration are not above consideration; pricing in one session only: no intent
    const laptop = h.devices[0];
    const tab = await visit(laptop, '/pricing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=retarget');
    let items = await eventsUntil(CLEO, ['pageview /', 'pageview /resources', 'download /resources', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks', 'pageview /pricing']);
    t.cPricing = ms(evs(items)[6]);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration']);
    expect(awardsOf(items).slice(3).sort()).toEqual(['pricing_view 10', 'return_visit 5', 'visit 2']);
    await tab.close();
    await advance(60 * MIN);
    // the phone, anonymous: /demo (its own lead), the demo form with her email in other case → merged into Cleo.
    // In time order the phone's visit is her third session: visit +2 (return_visit's cap of 5 is used up),
    // demo_request +30: evaluation and SQL. Score before the demo: 22·2^(-3d/90d)+17+2 ≈ 40.5; after: ≈ 70.5: MQL there
    const phone = await device({ ua: PHONE_UA });
    const pt = await visit(phone, '/demo');
    who.cleoPhone = await visitorIdOf(pt);
    await submit(pt, 'book', 'Cleo@ACME.Test');
    items = await eventsUntil(CLEO, ['pageview /', 'pageview /resources', 'download /resources', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks', 'pageview /pricing', 'pageview /demo', 'demo_request /demo', 'pageview /thanks']);
    const e = evs(items);
    t.cPhone = ms(e[7]);
    t.cDemo = ms(e[8]);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>evaluation']);
    expect(stageTimes(items)).toEqual([t.cLand, t.cDownload, t.cDemo]);
    expect(awardsOf(items)).toEqual(['visit 2', 'content_download 10', 'newsletter_signup 10', ...awardsOf(items).slice(3, 6), 'visit 2', 'demo_request 30']);
    const p = await profile(CLEO);
    expect(p).toMatchObject({ email: CLEO, stage: 'evaluation', mql: true, sql: true });
    expect(p.visitorIds.slice().sort()).toEqual([who.cleoLaptop, who.cleoPhone].sort());
    expect(Date.parse(p.mqlAt)).toBe(t.cDemo);
    expect(Date.parse(p.sqlAt)).toBe(t.cDemo);
    expect(Date.parse(p.createdAt)).toBe(t.cLand);
    expect(p.score).toBeCloseTo(decayed([[22, t.cSignup], [17, t.cPricing], [2, t.cPhone], [30, t.cDemo]], now()), 2);
    expect(p.firstTouch).toMatchObject({ utm_campaign: 'q3' });
    await pt.close();
  });

  test('day 3: Globex: Ann subscribes on the shared laptop, Bob sends the contact form on it 31 minutes later, Carl reads the case study on his phone', async () => {
    // Ann: / from the November newsletter (visit +2: awareness), the newsletter form (+10: interest) → 12.
    const shared = await device({ ua: DESKTOP_UA });
    const a = await visit(shared, '/?utm_source=newsletter&utm_medium=email&utm_campaign=nov');
    who.shared = await visitorIdOf(a);
    await go(a, 'news', '/newsletter');
    await submit(a, 'join', ANN);
    let ai = await eventsUntil(ANN, ['pageview /', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks']);
    t.aLand = ms(evs(ai)[0]);
    t.aSignup = ms(evs(ai)[2]);
    await a.close();
    // Carl, at the same time, on his phone from a LinkedIn ABM ad: the case study (visit +2, case_study_view +5:
    // awareness and consideration at one view), the newsletter form (+10, interest below: no entry) → 17
    const carlPhone = await device({ ua: PHONE_UA });
    const c = await visit(carlPhone, '/case-studies/acme?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm');
    await go(c, 'news', '/newsletter');
    await submit(c, 'join', CARL);
    const ci = await eventsUntil(CARL, ['pageview /case-studies/acme', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks']);
    t.carlLand = ms(evs(ci)[0]);
    t.carlSignup = ms(evs(ci)[2]);
    expect(stagesOf(ci)).toEqual(['null>awareness', 'awareness>consideration']);
    expect(awardsOf(ci)).toEqual(['visit 2', 'case_study_view 5', 'newsletter_signup 10']);
    await c.close();

    await advance(31 * MIN);
    // Bob on the shared laptop (still Ann's device): /pricing and /contact are Ann's (her second session: visit +2,
    // return_visit +5, pricing_view +10 → consideration; 12 + 17 = 29); the contact form identifies the laptop as Bob
    // (never merged into Ann): the form is Bob's (sales_form +20: awareness and intent at once), and /thanks (visit +2)
    const b = await visit(shared, '/pricing');
    await go(b, 'contact', '/contact');
    await submit(b, 'send', BOB);
    const bi = await eventsUntil(BOB, ['form_submit /contact', 'pageview /thanks']);
    t.bForm = ms(evs(bi)[0]);
    expect(stagesOf(bi)).toEqual(['null>awareness', 'awareness>intent']);
    expect(stageTimes(bi)).toEqual([t.bForm, t.bForm]);
    ai = await eventsUntil(ANN, ['pageview /', 'pageview /newsletter', 'newsletter_signup /newsletter', 'pageview /thanks', 'pageview /pricing', 'pageview /contact']);
    t.aPricing = ms(evs(ai)[4]);
    expect(stagesOf(ai)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration']);
    expect(stageTimes(ai)).toEqual([t.aLand, t.aSignup, t.aPricing]);
    const ap = await profile(ANN);
    expect(ap).toMatchObject({ stage: 'consideration', mql: false, sql: false, visitorIds: [who.shared] });
    expect(ap.score).toBeCloseTo(decayed([[12, t.aSignup], [17, t.aPricing]], now()), 2);
    const bp = await profile(BOB);
    expect(bp.score).toBeCloseTo(22, 2);
    expect(bp).toMatchObject({ stage: 'intent', mql: false, sql: false, visitorIds: [who.shared] });
    await b.close();

    // the email tool tells the CRM Carl unsubscribed
    await postEvents({ email: CARL, name: 'unsubscribed' });
    await expect.poll(async () => (await profile(CARL)).optedOut, { timeout: 10_000 }).toBe(true);
  });
  test('days 4-5: the CRM accepts Cleo (already an SQL by her demo) and closes her deal as lost: no stage, no points', async () => {
    await advance(DAY); // day 4
    await postEvents({ email: CLEO, name: 'sales_accepted' });
    await advance(DAY); // day 5
    await postEvents({ email: CLEO, name: 'closed_lost' });
    const items = await timeline(CLEO);
    expect(evs(items).slice(-2).map((i) => i.name)).toEqual(['sales_accepted', 'closed_lost']);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>evaluation']);
    const p = await profile(CLEO);
    expect(p).toMatchObject({ stage: 'evaluation', mql: true, sql: true });
    // the SQL is the demo request's (day 3), not the later acceptance's
    expect(Date.parse(p.sqlAt)).toBe(t.cDemo);
    expect(p.score).toBeCloseTo(decayed([[22, t.cSignup], [17, t.cPricing], [2, t.cPhone], [30, t.cDemo]], now()), 2);
  });

  test('day 5: custom scores (newsletter 40 points, MQL at 45); Ann\'s next event rebuilds her, Carl waits for the replay', async () => {
    const cfg = await api('/api/config/funnel', h.keys.admin);
    expect(cfg.status).toBe(200);
    const rules = cfg.body;
    rules.scoreRules = rules.scoreRules.map((r: any) => (r.id === 'newsletter_signup' ? { ...r, points: 40, cap: 40 } : r));
    rules.mqlThreshold = 45;
    const put = await api('/api/config/funnel', h.keys.admin, { method: 'PUT', body: JSON.stringify(rules) });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    // nothing rebuilt by the PUT: Carl 17 (decayed), no MQL
    let carl = await profile(CARL);
    expect(carl).toMatchObject({ stage: 'consideration', mql: false, optedOut: true });
    expect(carl.score).toBeCloseTo(decayed([[17, t.carlSignup]], now()), 2);

    // Ann registers for a webinar (the CRM, now). Her rebuild under the new rules, in time order:
    // landing visit +2, newsletter +40 → 42 (under 45); pricing (31 min later): visit +2 → ≈44.0, return_visit +5 →
    // ≈49.0 ≥ 45: MQL at the pricing view; pricing_view +10; webinar_registration +15 (interest: below, no entry)
    // by lead id: her landing's stage.changed was told before she gave her email (email null)
    const annId = (await profile(ANN)).leadId;
    const annStageHooks = () => received.filter((r) => r.type === 'stage.changed' && r.data.leadId === annId).length;
    await expect.poll(annStageHooks, { timeout: 10_000 }).toBe(3);
    t.aWebinar = now();
    await postEvents({ email: ANN, name: 'webinar_registration' });
    const ai = await timeline(ANN);
    expect(stagesOf(ai)).toEqual(['null>awareness', 'awareness>interest', 'interest>consideration']);
    expect(awardsOf(ai)).toEqual(['visit 2', 'newsletter_signup 40', 'visit 2', 'return_visit 5', 'pricing_view 10', 'webinar_registration 15']);
    const ann = await profile(ANN);
    expect(ann).toMatchObject({ stage: 'consideration', mql: true });
    expect(Date.parse(ann.mqlAt)).toBe(t.aPricing);
    expect(ann.score).toBeCloseTo(decayed([[42, t.aSignup], [17, t.aPricing], [15, t.aWebinar]], now()), 2);
    await expect.poll(() => received.filter((r) => r.type === 'lead.mql').map((r) => r.data.email).sort(), { timeout: 10_000 }).toEqual([ANN, CLEO]);
    expect(Date.parse(received.find((r) => r.type === 'lead.mql' && r.data.email === ANN)!.data.at)).toBe(t.aPricing);
    carl = await profile(CARL);
    expect(carl.mql).toBe(false);
    // her stage did not change (consideration before and after): no stage.changed
    await new Promise((r) => setTimeout(r, 1000));
    expect(annStageHooks()).toBe(3);
  });

  test('day 5: `npm run admin -- replay`: Carl 47 and an MQL at his signup, Cleo an MQL from day 0; no lead.mql is told', async () => {
    await npmAdmin('replay', '--site', h.siteId);
    // Carl: visit +2, case_study_view +5, newsletter +40 = 47 ≥ 45 at the signup; still opted out
    const carl = await profile(CARL);
    expect(carl).toMatchObject({ stage: 'consideration', mql: true, optedOut: true });
    expect(Date.parse(carl.mqlAt)).toBe(t.carlSignup);
    expect(carl.score).toBeCloseTo(decayed([[47, t.carlSignup]], now()), 2);
    // Cleo: day 0 visit +2, download +10, newsletter +40 = 52 ≥ 45: MQL at her day-0 signup
    const cleo = await profile(CLEO);
    expect(cleo).toMatchObject({ stage: 'evaluation', mql: true, sql: true });
    expect(Date.parse(cleo.mqlAt)).toBe(t.cSignup);
    expect(cleo.score).toBeCloseTo(decayed([[52, t.cSignup], [17, t.cPricing], [2, t.cPhone], [30, t.cDemo]], now()), 2);
    const ci = await timeline(CLEO);
    expect(awardsOf(ci).slice(0, 3)).toEqual(['visit 2', 'content_download 10', 'newsletter_signup 40']);
    // Bob: no newsletter, unchanged; Ann: as her rebuild left her
    expect((await profile(BOB)).score).toBeCloseTo(decayed([[22, t.bForm]], now()), 2);
    expect(Date.parse((await profile(ANN)).mqlAt)).toBe(t.aPricing);
    await new Promise((r) => setTimeout(r, 1500));
    expect(received.filter((r) => r.type === 'lead.mql').map((r) => r.data.email).sort()).toEqual([ANN, CLEO]);
  });

  test('day 150: the CRM wins Cleo\'s deal five months after losing it: purchase', async () => {
    await advance(145 * DAY);
    await postEvents({ email: CLEO, name: 'closed_won' });
    const items = await timeline(CLEO);
    t.cWon = ms(evs(items).find((i) => i.name === 'closed_won')!);
    expect(Math.abs(t.cWon - now())).toBeLessThan(5000);
    expect(stagesOf(items)).toEqual(['null>awareness', 'awareness>consideration', 'consideration>evaluation', 'evaluation>purchase']);
    expect(stageTimes(items)).toEqual([t.cLand, t.cDownload, t.cDemo, t.cWon]);
    const p = await profile(CLEO);
    expect(p).toMatchObject({ stage: 'purchase', mql: true, sql: true });
    expect(Date.parse(p.mqlAt)).toBe(t.cSignup);
    await expect.poll(() => received.some((r) => r.type === 'stage.changed' && r.data.email === CLEO && r.data.to === 'purchase'), { timeout: 10_000 }).toBe(true);
  });

  test('the funnel report of days 2-4 (cuts every journey): entered in the period, counts now, times in stage', async () => {
    // cohort (created in [day 2, day 4)): Ann, Bob, Carl; not Cleo (day 0; her phone's lead merged into her).
    // count now: Ann, Carl consideration; Bob intent; Cleo purchase.
    // entered in the period: awareness Ann, Bob, Carl; interest Ann; consideration Ann, Carl; intent Bob; evaluation
    // Cleo (day 3); purchase none (day 150). reached: 3, 3, 3 (Carl skipped interest), 1 (Bob), 0, 0.
    const from = new Date(h.T0 + 2 * DAY).toISOString();
    const to = new Date(h.T0 + 4 * DAY).toISOString();
    const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const r = await funnel(q);
    const col = (k: string) => r.stages.map((s: any) => s[k]);
    expect(col('stage')).toEqual(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase']);
    expect(col('count')).toEqual([0, 0, 2, 1, 0, 1]);
    expect(col('entered')).toEqual([3, 1, 2, 1, 1, 0]);
    expect(col('reached')).toEqual([3, 3, 3, 1, 0, 0]);
    [1, 1, 1 / 3, 0].forEach((v, n) => expect(r.stages[n].conversionNext).toBeCloseTo(v, 4));
    [1, 1, 1, 1 / 3, 0, 0].forEach((v, n) => expect(r.stages[n].conversionCumulative).toBeCloseTo(v, 4));
    // awareness: Bob 0 and Carl 0 (entered with the next stage), Ann landing → signup: [0, 0, x]: p50 rank 2, p90 rank 3
    expect(r.stages[0].timeInStage).toMatchObject({ p50: 0, p90: t.aSignup - t.aLand });
    expect(r.stages[1].timeInStage).toMatchObject({ p50: t.aPricing - t.aSignup, p90: t.aPricing - t.aSignup });
    expect(r.stages[2].timeInStage).toMatchObject({ p50: null, p90: null });
    expect(r.stages[3].timeInStage).toMatchObject({ p50: null, p90: null });
    // evaluation: Cleo entered in the period, moved on at day 150
    expect(r.stages[4].timeInStage).toMatchObject({ p50: t.cWon - t.cDemo, p90: t.cWon - t.cDemo });
  });

  test('the same period by campaign, first, last and linear touch', async () => {
    const from = new Date(h.T0 + 2 * DAY).toISOString();
    const to = new Date(h.T0 + 4 * DAY).toISOString();
    const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&breakdown=campaign`;
    const groups = async (attribution: string) => {
      const b = await funnel(`${q}&attribution=${attribution}`);
      return Object.fromEntries(b.breakdown.map((g: any) => [g.key, { count: g.stages.map((s: any) => s.count), entered: g.stages.map((s: any) => s.entered), reached: g.stages.map((s: any) => s.reached) }]));
    };
    // first touch: Cleo q3, Ann nov, Carl abm; Bob's first event (the form, in a session Ann opened) carries no
    // campaign: (none)
    expect(await groups('first')).toEqual({
      '(none)': { count: [0, 0, 0, 1, 0, 0], entered: [1, 0, 0, 1, 0, 0], reached: [1, 1, 1, 1, 0, 0] },
      abm: { count: [0, 0, 1, 0, 0, 0], entered: [1, 0, 1, 0, 0, 0], reached: [1, 1, 1, 0, 0, 0] },
      nov: { count: [0, 0, 1, 0, 0, 0], entered: [1, 1, 1, 0, 0, 0], reached: [1, 1, 1, 0, 0, 0] },
      q3: { count: [0, 0, 0, 0, 0, 1], entered: [0, 0, 0, 0, 1, 0], reached: [0, 0, 0, 0, 0, 0] },
    });
    // last touch: Cleo's last visit (the phone) direct, Ann's (pricing, 31 min after her landing) direct, Bob (none),
    // Carl abm
    expect(await groups('last')).toEqual({
      '(none)': { count: [0, 0, 1, 1, 0, 1], entered: [2, 1, 1, 1, 1, 0], reached: [2, 2, 2, 1, 0, 0] },
      abm: { count: [0, 0, 1, 0, 0, 0], entered: [1, 0, 1, 0, 0, 0], reached: [1, 1, 1, 0, 0, 0] },
    });
    // linear: Cleo ⅓ q3, ⅓ retarget, ⅓ (none) (the phone); Ann ½ nov, ½ (none); Bob whole to (none) (no session
    // opened under him); Carl abm. Cleo's thirds: .3334 to the key that sorts first, (none)
    expect(await groups('linear')).toEqual({
      '(none)': { count: [0, 0, 0.5, 1, 0, 0.3334], entered: [1.5, 0.5, 0.5, 1, 0.3334, 0], reached: [1.5, 1.5, 1.5, 1, 0, 0] },
      abm: { count: [0, 0, 1, 0, 0, 0], entered: [1, 0, 1, 0, 0, 0], reached: [1, 1, 1, 0, 0, 0] },
      nov: { count: [0, 0, 0.5, 0, 0, 0], entered: [0.5, 0.5, 0.5, 0, 0, 0], reached: [0.5, 0.5, 0.5, 0, 0, 0] },
      q3: { count: [0, 0, 0, 0, 0, 0.3333], entered: [0, 0, 0, 0, 0.3333, 0], reached: [0, 0, 0, 0, 0, 0] },
      retarget: { count: [0, 0, 0, 0, 0, 0.3333], entered: [0, 0, 0, 0, 0.3333, 0], reached: [0, 0, 0, 0, 0, 0] },
    });
  });
  test('day 150: lists by MQL, SQL and stage; a platform export leaves out the customer (Cleo) and the unsubscribed (Carl)', async () => {
    const list = async (q: string) => {
      const r = await api(`/api/leads?${q}&limit=100`, h.keys.leads);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.items ?? r.body.leads).map((l: any) => l.email).sort();
    };
    expect(await list('mql=true')).toEqual([ANN, CARL, CLEO]);
    expect(await list('sql=true')).toEqual([CLEO]);
    expect(await list('stage=consideration')).toEqual([ANN, CARL]);
    expect(await list('stage=intent')).toEqual([BOB]);
    expect(await list('stage=purchase')).toEqual([CLEO]);
    const s = await api('/api/segments/known', h.keys.admin, { method: 'PUT', body: JSON.stringify({ name: 'Known', definition: { identified: true } }) });
    expect([200, 201]).toContain(s.status);
    const json = await api('/api/segments/known/members?format=json', h.keys.audiences);
    expect(json.body.members.map((m: any) => m.email).sort()).toEqual([ANN, BOB, CARL, CLEO]);
    const google = await api('/api/segments/known/members?format=google', h.keys.audiences);
    const rows = String(google.body).trim().split(/\r?\n/).slice(1);
    expect(rows.map((r) => r.split(',')[0]).sort()).toEqual([sha(ANN), sha(BOB)].sort());
  });

  test('day 150: the last stage renamed in place (purchase → customer): the report lists the new name, Cleo counts nowhere until the replay', async () => {
    const cfg = (await api('/api/config/funnel', h.keys.admin)).body;
    cfg.stages = cfg.stages.map((st: string) => (st === 'purchase' ? 'customer' : st));
    cfg.stageRules = cfg.stageRules.map((r: any) => (r.stage === 'purchase' ? { ...r, stage: 'customer' } : r));
    const put = await api('/api/config/funnel', h.keys.admin, { method: 'PUT', body: JSON.stringify(cfg) });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const stageHooks = received.filter((r) => r.type === 'stage.changed').length;
    // period [day 149, day 151): no lead created; Cleo's deal (day 150) entered `purchase`, a stage no longer listed
    const q = `from=${encodeURIComponent(new Date(h.T0 + 149 * DAY).toISOString())}&to=${encodeURIComponent(new Date(h.T0 + 151 * DAY).toISOString())}`;
    let r = await funnel(q);
    expect(r.stages.map((x: any) => x.stage)).toEqual(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'customer']);
    expect(r.stages.map((x: any) => x.count)).toEqual([0, 0, 2, 1, 0, 0]);
    expect(r.stages.map((x: any) => x.entered)).toEqual([0, 0, 0, 0, 0, 0]);
    expect((await api('/api/leads?stage=purchase', h.keys.leads)).status).toBe(400);

    await npmAdmin('replay', '--site', h.siteId);
    expect((await profile(CLEO)).stage).toBe('customer');
    r = await funnel(q);
    expect(r.stages.map((x: any) => x.count)).toEqual([0, 0, 2, 1, 0, 1]);
    expect(r.stages.map((x: any) => x.entered)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(r.stages.map((x: any) => x.reached)).toEqual([0, 0, 0, 0, 0, 0]);
    // evaluation → customer: Cleo's entry into evaluation was day 3, outside this period: no time in stage here
    expect(r.stages[4].timeInStage).toMatchObject({ p50: null, p90: null });
    const b = await funnel(`${q}&breakdown=campaign&attribution=first`);
    expect(Object.fromEntries(b.breakdown.map((g: any) => [g.key, g.stages.map((x: any) => x.entered)]))).toMatchObject({ q3: [0, 0, 0, 0, 0, 1] });
    const lin = await funnel(`${q}&breakdown=campaign&attribution=linear`);
    const linEntered = Object.fromEntries(lin.breakdown.map((g: any) => [g.key, g.stages[5].entered]));
    expect(linEntered).toMatchObject({ '(none)': 0.3334, q3: 0.3333, retarget: 0.3333 });
    // the days 2-4 report as before, the last stage under its new name
    const d = await funnel(`from=${encodeURIComponent(new Date(h.T0 + 2 * DAY).toISOString())}&to=${encodeURIComponent(new Date(h.T0 + 4 * DAY).toISOString())}`);
    expect(d.stages.map((x: any) => x.count)).toEqual([0, 0, 2, 1, 0, 1]);
    expect(d.stages.map((x: any) => x.entered)).toEqual([3, 1, 2, 1, 1, 0]);
    expect(d.stages[4].timeInStage).toMatchObject({ p50: t.cWon - t.cDemo, p90: t.cWon - t.cDemo });
    expect((await api('/api/leads?stage=customer', h.keys.leads)).status).toBe(200);
    // a replay tells no stage
    await new Promise((res) => setTimeout(res, 1000));
    expect(received.filter((x) => x.type === 'stage.changed').length).toBe(stageHooks);
  });
  test('every lead\'s score items add up to the score shown (five months of decay), and a second replay changes no item', async () => {
    const all = [CLEO, ANN, BOB, CARL];
    const before: Record<string, Item[]> = {};
    for (const ref of all) {
      const items = await timeline(ref);
      before[ref] = items;
      await expectScoresAddUp(ref, items);
    }
    await npmAdmin('replay', '--site', h.siteId);
    // stage, score and event items; segment items are left out: the replay runs in its own process on the real clock,
    // 150 days behind the collector's moved one, so `within 30d` conditions are decided at another moment
    const kept = (items: Item[]) => items.filter((i) => i.kind !== 'segment');
    for (const ref of all) expect(kept(await timeline(ref)), ref).toEqual(kept(before[ref]));
  });
});
