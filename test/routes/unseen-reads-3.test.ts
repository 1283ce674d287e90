// GET /api/funnel judged as a marketer reads it, from contract §5/§6 and the README ("HTTP API", "Funnel report"), on
// what earlier read tests leave out: one population of six leads whose every figure is worked out by hand for four
// periods (a period ending on the very millisecond a lead is created, one starting at UTC midnight as a date alone,
// one whose cohort reaches no third stage, and one given by `to` alone); nearest-rank p50/p90 over 1, 2, 3, 5 and 6
// times; times in stage of entries in the period that moved on after it, and none of an entry before it; a stage
// skipped on the way; conversions of a stage nobody reached (null, not 0 or NaN); `from`/`to` inverted, equal, a
// `from` past now with `to` defaulted, and in every notation a client writes (offsets with and without the colon,
// hours alone as PostgreSQL prints them, epoch ms); linear attribution of a lead of three sessions under two
// campaigns, with times in stage counted whole under each key, and a late page that bridges two of its visits; and the
// report over 60 seeded periods against what GET /api/leads and each timeline say (the README's definitions applied to
// the other read routes). Every report, refusals included, is validated against the served /openapi.json.
// Populations go through POST /e and POST /api/events (TEST_ENGINE=pg: PostgreSQL).
import { describe, expect, test } from 'vitest';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents, useJourneys, type Journey } from '../helpers/journey-api.js';
import { validate } from '../helpers/openapi-schema.js';

const { open } = useJourneys();

type Stage = { stage: string; count: number; entered: number; reached: number; conversionNext: number | null; conversionCumulative: number | null; timeInStage: { p50: number | null; p90: number | null; n: number } };
type Report = { from: string; to: string; stages: Stage[]; breakdownBy: string | null; attribution: string | null; breakdown: Array<{ key: string; stages: Stage[] }> | null };

/** Reads /api/funnel and holds the answer (200 or a refusal) to the served document's schema for that status. */
const docs = new WeakMap<Journey, any>();
async function funnelAnswer(j: Journey, qs: string) {
  const doc = docs.get(j) ?? docs.set(j, await (await j.app.request('/openapi.json')).json()).get(j);
  const res = await j.app.request(`/api/funnel?${qs}`, { headers: j.auth });
  const body = await res.json();
  const schema = doc.paths['/api/funnel'].get.responses[String(res.status)]?.content?.['application/json']?.schema;
  expect(schema, `${qs}: status ${res.status} is documented`).toBeDefined();
  expect(validate(doc, schema, body), qs).toEqual([]);
  return { status: res.status, body };
}
async function funnel(j: Journey, qs: string): Promise<Report> {
  const r = await funnelAnswer(j, qs);
  expect(r.status, `${qs}: ${JSON.stringify(r.body).slice(0, 200)}`).toBe(200);
  return r.body;
}
const col = (r: { stages: Stage[] }, f: 'count' | 'entered' | 'reached' | 'conversionNext' | 'conversionCumulative') => r.stages.map((s) => s[f]);
const times = (r: { stages: Stage[] }) => r.stages.map((s) => [s.timeInStage.n, s.timeInStage.p50, s.timeInStage.p90]);

const A = 'alpha@rd3.test';
const C = 'charlie@rd3.test';
const D = 'delta@rd3.test';

/**
 * Six leads (T0 = Mon 2025-01-06 09:00Z). Stage entries, by the default rules of the README's table:
 *   E v_rd3_echo:  '/' T0−1d (awareness); '/' T0+1h30m, a second session (interest).                     now: interest
 *   A v_rd3_alfa:  '/' T0 (awareness); '/pricing' T0+10m, same session (consideration; interest skipped).   now: consideration
 *   B v_rd3_brav:  '/' T0+1h (awareness); '/' T0+3h, a second session (interest).                         now: interest
 *   C v_rd3_char:  '/' T0+2h (awareness), identifies; '/pricing' T0+2h20m (consideration); '/pricing' T0+5h, pricing
 *                  in a second session (intent; interest is below it: no entry); demo_completed T0+6h (evaluation);
 *                  closed_won T0+2d+1h (purchase).                                                        now: purchase
 *   D (CRM only):  crm_note T0+4h (awareness: the first server event of a lead never seen on the web);
 *                  demo_completed T0+4h30m (evaluation, three stages skipped); closed_won T0+2d (purchase). now: purchase
 *   F v_rd3_foxt:  '/' T0+20h (awareness); '/' T0+1d+1h, a second session (interest).                     now: interest
 * Times in stage (entering a stage to entering the next one entered), by the stage left and when it was entered:
 *   awareness: E 25h30m (entered T0−1d), A 10m (T0), B 2h (T0+1h), C 20m (T0+2h), D 30m (T0+4h), F 5h (T0+20h)
 *   consideration: C 2h40m (entered T0+2h20m)       intent: C 1h (T0+5h)
 *   evaluation: D 43h30m (T0+4h30m → T0+48h), C 43h (T0+6h → T0+49h)
 * The clock stands at T0+3d afterwards.
 */
async function sixLeads(): Promise<Journey> {
  const j = await open();
  await j.visit('v_rd3_echo', [{ path: '/' }], T0 - DAY);
  await j.visit('v_rd3_alfa', [{ path: '/' }], T0);
  await j.visit('v_rd3_alfa', [{ path: '/pricing' }, { n: 'identify', em: A }], T0 + 10 * MIN);
  await j.visit('v_rd3_brav', [{ path: '/' }], T0 + HOUR);
  await j.visit('v_rd3_echo', [{ path: '/' }], T0 + HOUR + 30 * MIN);
  await j.visit('v_rd3_char', [{ path: '/' }, { n: 'identify', em: C }], T0 + 2 * HOUR);
  await j.visit('v_rd3_char', [{ path: '/pricing' }], T0 + 2 * HOUR + 20 * MIN);
  await j.visit('v_rd3_brav', [{ path: '/' }], T0 + 3 * HOUR);
  j.clock.now = T0 + 4 * HOUR + 30 * MIN;
  await postEvents(j, [{ email: D, name: 'crm_note', at: iso(T0 + 4 * HOUR) }, { email: D, name: 'demo_completed', at: iso(T0 + 4 * HOUR + 30 * MIN) }]);
  await j.visit('v_rd3_char', [{ path: '/pricing' }], T0 + 5 * HOUR);
  j.clock.now = T0 + 6 * HOUR;
  await postEvents(j, { email: C, name: 'demo_completed', at: iso(T0 + 6 * HOUR) });
  await j.visit('v_rd3_foxt', [{ path: '/' }], T0 + 20 * HOUR);
  await j.visit('v_rd3_foxt', [{ path: '/' }], T0 + DAY + HOUR);
  j.clock.now = T0 + 2 * DAY + HOUR;
  await postEvents(j, [{ email: D, name: 'closed_won', at: iso(T0 + 2 * DAY) }, { email: C, name: 'closed_won', at: iso(T0 + 2 * DAY + HOUR) }]);
  j.clock.now = T0 + 3 * DAY;
  return j;
}

// every period's `count` is the leads in each stage now: E, B, F interest; A consideration; C, D purchase
const COUNT_NOW = [0, 3, 1, 0, 0, 2];

describe('six leads by hand, over four periods', () => {
  test('the stage histories are the ones the figures below are worked out from', async () => {
    const j = await sixLeads();
    const history = async (ref: string) =>
      (await get(j, `/api/leads/${encodeURIComponent(ref)}/timeline?types=stage&limit=500`)).items.map((i: any) => [i.to, Date.parse(i.at) - T0]).reverse();
    expect(await history('v_rd3_echo')).toEqual([['awareness', -DAY], ['interest', HOUR + 30 * MIN]]);
    expect(await history(A)).toEqual([['awareness', 0], ['consideration', 10 * MIN]]);
    expect(await history('v_rd3_brav')).toEqual([['awareness', HOUR], ['interest', 3 * HOUR]]);
    expect(await history(C)).toEqual([['awareness', 2 * HOUR], ['consideration', 2 * HOUR + 20 * MIN], ['intent', 5 * HOUR], ['evaluation', 6 * HOUR], ['purchase', 2 * DAY + HOUR]]);
    expect(await history(D)).toEqual([['awareness', 4 * HOUR], ['evaluation', 4 * HOUR + 30 * MIN], ['purchase', 2 * DAY]]);
    expect(await history('v_rd3_foxt')).toEqual([['awareness', 20 * HOUR], ['interest', DAY + HOUR]]);
  });

  test('[T0, T0+1d): the day of five new leads; times of entries in it, also when they moved on after it', async () => {
    const j = await sixLeads();
    const r = await funnel(j, `from=${iso(T0)}&to=${iso(T0 + DAY)}`);
    expect(r.from).toBe(iso(T0));
    expect(r.to).toBe(iso(T0 + DAY));
    expect(r.breakdownBy).toBeNull();
    expect(r.breakdown).toBeNull();
    expect(col(r, 'count')).toEqual(COUNT_NOW);
    // entered in [T0, T0+1d): awareness A, B, C, D, F (E's was the day before); interest E T0+1h30m, B T0+3h (F's at
    // T0+1d+1h is after); consideration A, C; intent C; evaluation D, C; purchase none (T0+2d, T0+2d+1h)
    expect(col(r, 'entered')).toEqual([5, 2, 2, 1, 2, 0]);
    // cohort = created in the period: A (consideration), B (interest), C, D (purchase), F (interest); E was created
    // the day before. reached (now in the stage or later): purchase 2, evaluation 2, intent 2, consideration 3
    // (A, C, D: D skipped it, a skipped stage counts as reached), interest 5, awareness 5
    expect(col(r, 'reached')).toEqual([5, 5, 3, 2, 2, 2]);
    // next: 5/5, 3/5, 2/3 = 0.66666… shown 0.6667, 2/2, 2/2, none after purchase; cumulative: 5/5, 5/5, 3/5, 2/5, 2/5, 2/5
    expect(col(r, 'conversionNext')).toEqual([1, 0.6, 0.6667, 1, 1, null]);
    expect(col(r, 'conversionCumulative')).toEqual([1, 1, 0.6, 0.4, 0.4, 0.4]);
    // awareness, entered in the period and moved on: A 10m, C 20m, D 30m, B 2h, F 5h (F moved on at T0+1d+1h, after
    // the period: it entered in it, so it counts); E's entry (T0−1d) does not. n = 5: p50 is the ⌈2.5⌉ = 3rd smallest
    // (30m), p90 the ⌈4.5⌉ = 5th (5h). interest: B, E and F have not moved on: none. consideration: C alone (2h40m;
    // A has not moved on). intent: C 1h. evaluation: n = 2, p50 the ⌈1⌉ = 1st (C 43h), p90 the ⌈1.8⌉ = 2nd (D 43h30m).
    // purchase is the last stage: nothing to move on to.
    expect(times(r)).toEqual([
      [5, 30 * MIN, 5 * HOUR],
      [0, null, null],
      [1, 2 * HOUR + 40 * MIN, 2 * HOUR + 40 * MIN],
      [1, HOUR, HOUR],
      [2, 43 * HOUR, 43 * HOUR + 30 * MIN],
      [0, null, null],
    ]);
  });

  test('[T0, T0+4h), ending on the millisecond D is created, and the same period from UTC midnight written as a date alone', async () => {
    const j = await sixLeads();
    // D's first event, its creation and its awareness entry are all at T0+4h = 13:00Z: outside a period that ends there
    const forms = [
      `from=${iso(T0)}&to=${iso(T0 + 4 * HOUR)}`,
      `from=${T0}&to=${T0 + 4 * HOUR}`,
      'from=2025-01-06T10:00:00%2B01:00&to=2025-01-06T08:00:00-05:00', // 09:00Z and 13:00Z
      'from=2025-01-06T10:00:00%2B0100&to=2025-01-06T08:00:00-0500', // the colon left out, as Salesforce writes an offset
      'from=2025-01-06&to=2025-01-06T13:00:00', // midnight UTC (nothing happened between it and T0); no zone is UTC
      'from=2025-01-06 09:00:00Z&to=2025-01-06 13:00:00.000Z', // a space for the T
    ];
    for (const qs of forms) {
      const r = await funnel(j, qs);
      expect(r.to, qs).toBe(iso(T0 + 4 * HOUR));
      expect(col(r, 'count'), qs).toEqual(COUNT_NOW);
      // entered: awareness A T0, B T0+1h, C T0+2h (D's is at `to`: out); interest E T0+1h30m, B T0+3h; consideration
      // A T0+10m, C T0+2h20m; intent (C T0+5h), evaluation (D T0+4h30m, C T0+6h) and purchase after the period
      expect(col(r, 'entered'), qs).toEqual([3, 2, 2, 0, 0, 0]);
      // cohort A (consideration), B (interest), C (purchase): reached 3, 3, 2, 1, 1, 1
      expect(col(r, 'reached'), qs).toEqual([3, 3, 2, 1, 1, 1]);
      // next: 3/3, 2/3 = 0.6667, 1/2, 1/1, 1/1, none; cumulative: 3/3, 3/3, 2/3 = 0.6667, 1/3 = 0.3333 (three times)
      expect(col(r, 'conversionNext'), qs).toEqual([1, 0.6667, 0.5, 1, 1, null]);
      expect(col(r, 'conversionCumulative'), qs).toEqual([1, 1, 0.6667, 0.3333, 0.3333, 0.3333]);
      // awareness: A 10m, C 20m, B 2h (D's entry is at `to`): n = 3, p50 the ⌈1.5⌉ = 2nd (20m), p90 the ⌈2.7⌉ = 3rd
      // (2h). consideration: C entered at T0+2h20m and left at T0+5h, after the period: 2h40m. intent was entered
      // after the period: none.
      expect(times(r), qs).toEqual([
        [3, 20 * MIN, 2 * HOUR],
        [0, null, null],
        [1, 2 * HOUR + 40 * MIN, 2 * HOUR + 40 * MIN],
        [0, null, null],
        [0, null, null],
        [0, null, null],
      ]);
    }
    // one millisecond more takes D in: its awareness entry and its creation; its move on (T0+4h30m) counts as 30m
    const r = await funnel(j, `from=${iso(T0)}&to=${iso(T0 + 4 * HOUR + 1)}`);
    expect(col(r, 'entered')).toEqual([4, 2, 2, 0, 0, 0]);
    // cohort A, B, C, D: awareness 4, interest 4 (A and D skipped it), consideration 3 (A, C, D), intent 2 (C, D: D
    // skipped it), evaluation 2, purchase 2
    expect(col(r, 'reached')).toEqual([4, 4, 3, 2, 2, 2]);
    // awareness times 10m, 20m, 30m, 2h: p50 the 2nd (20m), p90 the ⌈3.6⌉ = 4th (2h)
    expect(times(r)[0]).toEqual([4, 20 * MIN, 2 * HOUR]);
  });

  test('[T0+20h, T0+1d): a cohort of one that reached no third stage: conversions of stages nobody reached are null', async () => {
    const j = await sixLeads();
    const r = await funnel(j, `from=${iso(T0 + 20 * HOUR)}&to=${iso(T0 + DAY)}`);
    expect(col(r, 'count')).toEqual(COUNT_NOW);
    // entered: F's awareness (T0+20h) alone; its interest is at T0+1d+1h
    expect(col(r, 'entered')).toEqual([1, 0, 0, 0, 0, 0]);
    // cohort F (interest now): reached 1, 1, 0, 0, 0, 0
    expect(col(r, 'reached')).toEqual([1, 1, 0, 0, 0, 0]);
    // next: 1/1, 0/1 = 0, then 0/0 (nobody to convert): null, never NaN or 0; cumulative 1, 1, 0/1 = 0 …
    expect(col(r, 'conversionNext')).toEqual([1, 0, null, null, null, null]);
    expect(col(r, 'conversionCumulative')).toEqual([1, 1, 0, 0, 0, 0]);
    // F's awareness, entered in the period, left after it: 5h, n = 1 (p50 = p90 = the one value)
    expect(times(r)).toEqual([[1, 5 * HOUR, 5 * HOUR], [0, null, null], [0, null, null], [0, null, null], [0, null, null], [0, null, null]]);
  });

  test('`to` alone: the period is the 30 days before it; neither given: the 30 days up to now', async () => {
    const j = await sixLeads();
    const r = await funnel(j, `to=${iso(T0 + DAY)}`);
    // 30 days before T0+1d is T0−29d: E (created T0−1d) is in the cohort now
    expect(r.from).toBe(iso(T0 + DAY - 30 * DAY));
    expect(r.to).toBe(iso(T0 + DAY));
    // entered: awareness E, A, B, C, D, F = 6; interest 2, consideration 2, intent 1, evaluation 2, purchase 0
    expect(col(r, 'entered')).toEqual([6, 2, 2, 1, 2, 0]);
    // cohort: all six; reached 6, 6, 3, 2, 2, 2
    expect(col(r, 'reached')).toEqual([6, 6, 3, 2, 2, 2]);
    expect(col(r, 'conversionNext')).toEqual([1, 0.5, 0.6667, 1, 1, null]);
    expect(col(r, 'conversionCumulative')).toEqual([1, 1, 0.5, 0.3333, 0.3333, 0.3333]);
    // awareness: 10m, 20m, 30m, 2h, 5h, 25h30m (E's): p50 the ⌈3⌉ = 3rd (30m), p90 the ⌈5.4⌉ = 6th (25h30m)
    expect(times(r)[0]).toEqual([6, 30 * MIN, 25 * HOUR + 30 * MIN]);

    const now = await funnel(j, '');
    expect(now.to).toBe(iso(T0 + 3 * DAY));
    expect(now.from).toBe(iso(T0 + 3 * DAY - 30 * DAY));
    // everything happened in the last 30 days: every entry counts, purchases (T0+2d, T0+2d+1h) included, and F's interest
    expect(col(now, 'entered')).toEqual([6, 3, 2, 1, 2, 2]);
    // times: the evaluation ones now, and interest still none (nobody left interest)
    expect(times(now)[4]).toEqual([2, 43 * HOUR, 43 * HOUR + 30 * MIN]);
    expect(times(now)[1]).toEqual([0, null, null]);
  });

  test('a period inverted, empty, or starting after now (to defaulted) is a 400 in the documented error shape', async () => {
    const j = await sixLeads();
    for (const qs of [
      `from=${iso(T0 + DAY)}&to=${iso(T0)}`,
      `from=${iso(T0)}&to=${iso(T0)}`,
      `from=${T0}&to=${T0}`,
      'from=2025-01-07&to=2025-01-06',
      `from=${iso(T0 + 4 * DAY)}`, // to is now (T0+3d): the period would end before it begins
      `from=${iso(T0 + 3 * DAY)}`, // from = now: an empty period
    ]) {
      const r = await funnelAnswer(j, qs);
      expect(r.status, qs).toBe(400);
      expect(r.body.error.code, qs).toBe('invalid_request');
    }
    // a `from` one millisecond before now is a period (of one millisecond, in which nothing happened)
    const r = await funnel(j, `from=${T0 + 3 * DAY - 1}`);
    expect(col(r, 'entered')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(col(r, 'conversionNext')).toEqual([null, null, null, null, null, null]);
    expect(col(r, 'count')).toEqual(COUNT_NOW);
  });
});

describe('`from`/`to` with an offset of hours alone, as PostgreSQL prints a timestamptz', () => {
  // README: `from` and `to` are ISO 8601, and POST /api/events takes `…+01` (hours alone) as ISO 8601 too. A sales tool
  // that copies a time out of its database (`2025-01-06 10:00:00+01`) must get the period, not a 400.
  test('`+01` and `-05`, encoded or with the `+` a query string turns into a space, bound the same instants as `+01:00`', async () => {
    const j = await sixLeads();
    const expected = await funnel(j, `from=${iso(T0)}&to=${iso(T0 + 4 * HOUR)}`);
    for (const qs of [
      'from=2025-01-06T10:00:00%2B01&to=2025-01-06T08:00:00-05',
      'from=2025-01-06 10:00:00%2B01&to=2025-01-06 14:00:00%2B01',
      'from=2025-01-06T10:00:00+01&to=2025-01-06T14:00:00+01', // a raw + arrives as a space
      'from=2025-01-06 10:00:00.000000%2B01&to=2025-01-06 14:00:00.000000%2B01', // PostgreSQL's text, microseconds and all
    ]) {
      const r = await funnel(j, qs);
      expect([r.from, r.to], qs).toEqual([iso(T0), iso(T0 + 4 * HOUR)]);
      expect(r.stages, qs).toEqual(expected.stages);
    }
    // the timeline reads its `from`/`to` the same way: C's two pages of T0+2h and T0+2h20m, its identification and
    // the awareness and consideration entries lie in [T0+2h, T0+2h20m] = [11:00+01, 11:20:00.001+01)
    const tl = await get(j, `/api/leads/${encodeURIComponent(C)}/timeline?types=event&from=2025-01-06T12:00:00%2B01&to=2025-01-06T12:20:00.001%2B01`);
    expect(tl.items.map((i: any) => [i.name, Date.parse(i.at) - T0])).toEqual([
      ['pageview', 2 * HOUR + 20 * MIN],
      ['identify', 2 * HOUR + 1],
      ['pageview', 2 * HOUR],
    ]);
  });
});

/** A landing pageview as the snippet sends it: the visitor's first touch and this session's touch. */
const touch = (campaign: string) => ({ utm_source: 'news', utm_medium: 'email', utm_campaign: campaign, url: `http://127.0.0.1/?utm_source=news&utm_medium=email&utm_campaign=${campaign}` });
const landing = (first: string | null, session: string | null, path = '/') => ({
  path: session ? `${path}?utm_source=news&utm_medium=email&utm_campaign=${session}` : path,
  ...(first ? { ft: touch(first) } : {}),
  ...(session ? { st: touch(session) } : {}),
});

describe('linear attribution of a lead of three sessions under two campaigns', () => {
  /**
   *   L v_lin_three: T0 `alpha` (awareness), T0+1d `alpha` (a second session: interest), T0+2d `Beta` (nothing new).
   *       Sessions: alpha ×2, Beta ×1 → linear shares alpha 2/3, Beta 1/3; first touch alpha, last touch Beta.
   *   M v_lin_price: T0+3h `Beta` on /pricing: awareness and consideration at one millisecond (0 ms in awareness).
   *   N v_lin_direc: T0+5h, no campaign: awareness; its key is (none).
   * Awareness times: L 1d (credited whole to alpha and to Beta under linear), M 0.
   */
  async function three(): Promise<Journey> {
    const j = await open();
    await j.visit('v_lin_three', [landing('alpha', 'alpha')], T0);
    await j.visit('v_lin_price', [landing('Beta', 'Beta', '/pricing')], T0 + 3 * HOUR);
    await j.visit('v_lin_direc', [landing(null, null)], T0 + 5 * HOUR);
    await j.visit('v_lin_three', [landing('alpha', 'alpha')], T0 + DAY);
    await j.visit('v_lin_three', [landing('alpha', 'Beta')], T0 + 2 * DAY);
    j.clock.now = T0 + 3 * DAY;
    return j;
  }
  const PERIOD = `from=${iso(T0 - HOUR)}&to=${iso(T0 + 3 * DAY)}`;
  const byKey = (r: Report) => Object.fromEntries(r.breakdown!.map((g) => [g.key, g]));

  test('alpha gets ⅔ and Beta ⅓ of it; the shares add up to the totals; each key counts the whole time in stage', async () => {
    const j = await three();
    const totals = await funnel(j, PERIOD);
    // now: N awareness, L interest, M consideration; entries: awareness 3, interest L, consideration M
    expect(col(totals, 'count')).toEqual([1, 1, 1, 0, 0, 0]);
    expect(col(totals, 'entered')).toEqual([3, 1, 1, 0, 0, 0]);
    expect(col(totals, 'reached')).toEqual([3, 2, 1, 0, 0, 0]);
    // awareness: M 0 ms (entered and left at T0+3h), L 1d: p50 the 1st (0), p90 the 2nd (1d); L has not left interest
    expect(times(totals)[0]).toEqual([2, 0, DAY]);

    const r = await funnel(j, `${PERIOD}&breakdown=campaign&attribution=linear`);
    expect(r.breakdownBy).toBe('campaign');
    expect(r.attribution).toBe('linear');
    const g = byKey(r);
    expect(Object.keys(g).sort()).toEqual(['(none)', 'Beta', 'alpha']);
    // count: interest L split alpha 6666.67 / Beta 3333.33 ten-thousandths → floors 6666 and 3333, the unit left goes
    // to the larger remainder (alpha's .67): 0.6667 and 0.3333; consideration M whole to Beta; awareness N to (none)
    expect(col(g.alpha, 'count')).toEqual([0, 0.6667, 0, 0, 0, 0]);
    expect(col(g.Beta, 'count')).toEqual([0, 0.3333, 1, 0, 0, 0]);
    expect(col(g['(none)'], 'count')).toEqual([1, 0, 0, 0, 0, 0]);
    // entered awareness: L ⅔ alpha + ⅓ Beta, M 1 Beta, N 1 (none) → alpha 0.6667, Beta 1.3333 (13333.33 → 13333; the
    // one unit left goes to alpha's .67), (none) 1; interest L: 0.6667 / 0.3333; consideration M: Beta 1
    expect(col(g.alpha, 'entered')).toEqual([0.6667, 0.6667, 0, 0, 0, 0]);
    expect(col(g.Beta, 'entered')).toEqual([1.3333, 0.3333, 1, 0, 0, 0]);
    expect(col(g['(none)'], 'entered')).toEqual([1, 0, 0, 0, 0, 0]);
    // reached (all three are in the cohort): alpha ⅔ to interest; Beta ⅓ + 1 to interest, 1 to consideration
    expect(col(g.alpha, 'reached')).toEqual([0.6667, 0.6667, 0, 0, 0, 0]);
    expect(col(g.Beta, 'reached')).toEqual([1.3333, 1.3333, 1, 0, 0, 0]);
    // conversions are the exact ratios of the unrounded shares: Beta (4/3)/(4/3) = 1, 1/(4/3) = 0.75, 0/1 = 0, then
    // 0/0 null; alpha 1, 0/(2/3) = 0, then null
    expect(col(g.Beta, 'conversionNext')).toEqual([1, 0.75, 0, null, null, null]);
    expect(col(g.Beta, 'conversionCumulative')).toEqual([1, 1, 0.75, 0, 0, 0]);
    expect(col(g.alpha, 'conversionNext')).toEqual([1, 0, null, null, null, null]);
    // a time in stage counts whole under every key of its lead: L's 1d under alpha and under Beta; M's 0 under Beta
    expect(times(g.alpha)[0]).toEqual([1, DAY, DAY]);
    expect(times(g.Beta)[0]).toEqual([2, 0, DAY]);
    expect(times(g['(none)'])[0]).toEqual([0, null, null]);
    // groups in order of reached (first stage) descending: Beta 1.3333, (none) 1, alpha 0.6667
    expect(r.breakdown!.map((x) => x.key)).toEqual(['Beta', '(none)', 'alpha']);

    // first touch: L alpha, M Beta, N (none), each whole; last touch: L's last visit was Beta
    const first = byKey(await funnel(j, `${PERIOD}&breakdown=campaign&attribution=first`));
    expect(col(first.alpha, 'count')).toEqual([0, 1, 0, 0, 0, 0]);
    expect(times(first.alpha)[0]).toEqual([1, DAY, DAY]);
    expect(times(first.Beta)[0]).toEqual([1, 0, 0]);
    const last = byKey(await funnel(j, `${PERIOD}&breakdown=campaign&attribution=last`));
    expect(Object.keys(last).sort()).toEqual(['(none)', 'Beta']);
    expect(col(last.Beta, 'count')).toEqual([0, 1, 1, 0, 0, 0]);
    expect(col(last.Beta, 'entered')).toEqual([2, 1, 1, 0, 0, 0]);
    expect(times(last.Beta)[0]).toEqual([2, 0, DAY]);

    // by medium every session of L and M is `email`: linear gives it L and M whole; N has no medium
    const medium = byKey(await funnel(j, `${PERIOD}&breakdown=medium&attribution=linear`));
    expect(Object.keys(medium).sort()).toEqual(['(none)', 'email']);
    expect(col(medium.email, 'count')).toEqual([0, 1, 1, 0, 0, 0]);
    expect(col(medium.email, 'entered')).toEqual([2, 1, 1, 0, 0, 0]);
  });

  test('a late page that bridges two visits of one campaign leaves two sessions to split over: ½ and ½, no longer ⅔ and ⅓', async () => {
    const j = await open();
    // W: T0 `alpha` '/', T0+50m `alpha` '/' (50 minutes idle: a second session, interest), T0+1d `Beta` '/'
    await j.visit('v_lin_bridge', [landing('alpha', 'alpha')], T0);
    await j.visit('v_lin_bridge', [landing('alpha', 'alpha')], T0 + 50 * MIN);
    await j.visit('v_lin_bridge', [landing('alpha', 'Beta')], T0 + DAY);
    j.clock.now = T0 + DAY + HOUR;
    const P = `from=${iso(T0)}&to=${iso(T0 + 2 * DAY)}`;
    const shares = async () =>
      Object.fromEntries((await funnel(j, `${P}&breakdown=campaign&attribution=linear`)).breakdown!.map((g) => [g.key, [col(g, 'count')[1], col(g, 'entered')[0], col(g, 'entered')[1], g.stages[0].timeInStage.p50]]));
    // three sessions, alpha ×2 and Beta ×1: interest (now), awareness and interest entries split ⅔ / ⅓; awareness
    // lasted T0 → T0+50m under both keys
    expect(await shares()).toEqual({ alpha: [0.6667, 0.6667, 0.6667, 50 * MIN], Beta: [0.3333, 0.3333, 0.3333, 50 * MIN] });
    // the outbox sends a page of T0+25m late: within 30 minutes of the first visit's page it joins that visit, which
    // now ends 25 minutes before the second (same campaign): README, the two merge, and linear attribution sees one
    // visit. Sessions: alpha ×1, Beta ×1 → ½ each; the second session is now Beta's (T0+1d): interest moves there, and
    // awareness lasted T0 → T0+1d
    await j.visit('v_lin_bridge', [{ path: '/late' }], T0 + 25 * MIN);
    j.clock.now = T0 + DAY + 2 * HOUR;
    expect((await funnel(j, P)).stages.map((s) => [s.entered, s.timeInStage.p50])).toEqual([[1, DAY], [1, null], [0, null], [0, null], [0, null], [0, null]]);
    expect(await shares()).toEqual({ alpha: [0.5, 0.5, 0.5, DAY], Beta: [0.5, 0.5, 0.5, DAY] });
  });

  test('an attribution without a breakdown is a 400; an unknown breakdown or attribution too', async () => {
    const j = await three();
    for (const qs of [`${PERIOD}&attribution=linear`, `${PERIOD}&breakdown=Campaign`, `${PERIOD}&breakdown=campaign&attribution=Linear`, `${PERIOD}&breakdown=`]) {
      const r = await funnelAnswer(j, qs);
      expect(r.status, qs).toBe(400);
      expect(r.body.error.code, qs).toMatch(/^[a-z_]+$/);
    }
  });
});

describe('the report follows from the other read routes', () => {
  const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];
  /** nearest rank: the ⌈p·n⌉-th smallest (at least the 1st) */
  const rank = (sorted: number[], p: number) => (sorted.length ? sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1] : null);
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);

  test('60 seeded periods: counts from GET /api/leads, entries and times from each timeline, the cohort from createdAt; by first- and last-touch channel too', async () => {
    const j = await sixLeads();
    const leads = (await get(j, '/api/leads?limit=500')).items as any[];
    expect(leads).toHaveLength(6);
    type Facts = { stage: string; created: number; keys: { first: string; last: string }; entries: Array<{ to: string; at: number }>; left: Map<string, number> };
    const facts: Facts[] = [];
    for (const l of leads) {
      const items = (await get(j, `/api/leads/${l.leadId}/timeline?types=stage&limit=500`)).items as any[];
      facts.push({
        stage: l.stage,
        created: Date.parse(l.createdAt),
        keys: { first: l.firstTouch.channel || '(none)', last: l.lastTouch.channel || '(none)' },
        entries: items.map((i) => ({ to: i.to as string, at: Date.parse(i.at) })),
        // the change that left a stage names it in `from`: its time minus the stage's entry is the time in it
        left: new Map(items.filter((i) => i.from).map((i) => [i.from as string, Date.parse(i.at)] as const)),
      });
    }
    const expectFor = (fs: Facts[], f: number, t: number) => {
      const reached = STAGES.map((_, k) => fs.filter((x) => x.created >= f && x.created < t && STAGES.indexOf(x.stage) >= k).length);
      return STAGES.map((s, k) => {
        const times = fs.flatMap((x) => x.entries.filter((e) => e.to === s && e.at >= f && e.at < t && x.left.has(s)).map((e) => x.left.get(s)! - e.at)).sort((a, b) => a - b);
        return {
          stage: s,
          count: fs.filter((x) => x.stage === s).length,
          entered: fs.reduce((n, x) => n + x.entries.filter((e) => e.to === s && e.at >= f && e.at < t).length, 0),
          reached: reached[k],
          conversionNext: k < STAGES.length - 1 ? ratio(reached[k + 1], reached[k]) : null,
          conversionCumulative: ratio(reached[k], reached[0]),
          timeInStage: { p50: rank(times, 0.5), p90: rank(times, 0.9), n: times.length },
        };
      });
    };
    const instants = [...new Set(facts.flatMap((x) => [x.created, ...x.entries.map((e) => e.at)]))];
    // mulberry32, seeded: a failing period can be run again
    const random = (() => {
      let a = 99;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = Math.imul(a ^ (a >>> 15), a | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    })();
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    for (let round = 0; round < 60; round++) {
      let f = pick(instants) + pick([-1, 0, 0, 1, -DAY, HOUR]);
      let t = pick(instants) + pick([-1, 0, 0, 1, DAY, -HOUR]);
      if (f === t) t += 1;
      if (f > t) [f, t] = [t, f];
      const qs = `from=${f}&to=${t}`;
      const r = await funnel(j, qs);
      expect(r.stages, qs).toEqual(expectFor(facts, f, t));
      for (const attribution of ['first', 'last'] as const) {
        const b = await funnel(j, `${qs}&breakdown=channel&attribution=${attribution}`);
        const keys = [...new Set(facts.map((x) => x.keys[attribution]))].sort();
        expect(b.breakdown!.map((g) => g.key).sort(), `${qs} ${attribution}`).toEqual(keys);
        for (const g of b.breakdown!) expect(g.stages, `${qs} ${attribution} ${g.key}`).toEqual(expectFor(facts.filter((x) => x.keys[attribution] === g.key), f, t));
      }
    }
  });
});
