// GET /api/funnel and GET /api/leads judged from contract §5/§6 and the README ("HTTP API", "Funnel report", "Bots",
// "Erasure", "Replay") on one hand-made week, on both engines (TEST_ENGINE=pg): leads entering and leaving stages at
// known times over three campaigns, several touches per lead, a lead made before the period and one exactly at its
// end, a lead skipping stages, two leads of two devices from different campaigns (one whose merged device was seen
// before the period, which moves the lead's creation out of the cohort), a CRM-only lead, an erased lead, a bot, and a
// funnel config change (a stage renamed, a rule dropped) read before and after a replay. Everything goes through
// POST /e (snippet-shaped bodies) and POST /api/events; every expected number is worked out by hand in the comments.
import { afterAll, describe, expect, test } from 'vitest';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { engine, get, iso, postEvents, putConfig, useJourneys, type Journey } from '../helpers/journey-api.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import type { JourneyEvent } from '../helpers/journey-app.js';
import { BOT_UA, randomId } from '../helpers/factories.js';
import { replaySite } from '../../collector/funnel/replay.js';

const { open } = useJourneys();
const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];

type Stage = { stage: string; count: number; entered: number; reached: number; conversionNext: number | null; conversionCumulative: number | null; timeInStage: { p50: number | null; p90: number | null; n: number } };
type Report = { from: string; to: string; stages: Stage[]; breakdown: Array<{ key: string; stages: Stage[] }> | null };

/** Three campaigns: news (email), search (google cpc: paid search) and social (linkedin paid_social: paid social). */
const CAMPAIGNS = {
  c_news: { utm_source: 'news', utm_medium: 'email' },
  c_search: { utm_source: 'google', utm_medium: 'cpc' },
  c_social: { utm_source: 'linkedin', utm_medium: 'paid_social' },
} as const;
type Campaign = keyof typeof CAMPAIGNS;
const query = (c: Campaign) => `utm_source=${CAMPAIGNS[c].utm_source}&utm_medium=${CAMPAIGNS[c].utm_medium}&utm_campaign=${c}`;
const touch = (c: Campaign, path: string, at: number) => ({ ...CAMPAIGNS[c], utm_campaign: c, url: `http://127.0.0.1${path}?${query(c)}`, at });
/**
 * An event as the snippet sends it: every event carries the visitor's first touch (`ft`, kept from its first landing)
 * and this session's touch (`st`, none for a direct visit); a landing page's address holds the campaign.
 */
const ev = (first: [Campaign, string, number] | null, session: Campaign | null, path: string, landing: number, extra: JourneyEvent = {}): JourneyEvent => ({
  path: session ? `${path}?${query(session)}` : path,
  ...(first ? { ft: touch(first[0], first[1], first[2]) } : {}),
  ...(session ? { st: touch(session, path, landing) } : {}),
  ...extra,
});

/** Googlebot's visit through the real ingest path: stored and flagged, never a lead (README, Bots). */
async function botVisit(j: Journey, visitorId: string, path: string, at: number) {
  j.clock.now = Math.max(j.clock.now, at + 1);
  const res = await j.app.request('/e', {
    method: 'POST',
    body: JSON.stringify({ s: j.site.siteKey, v: visitorId, e: [{ i: randomId(), n: 'pageview', t: at, u: `http://127.0.0.1${path}?${query('c_news')}`, ft: touch('c_news', path, at), st: touch('c_news', path, at) }] }),
    headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': BOT_UA },
  });
  expect(res.status).toBe(202);
}

// The period P = [T0, T0 + 7d): Mon 2025-01-06 09:00Z (a partial first and last UTC day) to Mon 2025-01-13 09:00Z.
const FROM = T0;
const TO = T0 + 7 * DAY;
const P = `from=${iso(FROM)}&to=${iso(TO)}`;
const END = T0 + 8 * DAY; // "now" when the report is read

/**
 * The week, in time order (d = DAY, h = HOUR, m = MIN, all after T0):
 *  F  vF   −2d    c_search '/'                       awareness −2d (before P)
 *  K2 vK2  −1d    c_news '/'                         anonymous lead, awareness −1d (before P)
 *  A  vA   0      c_news '/' (exactly at `from`)     awareness 0
 *          +10m   newsletter signup, ann@alpha.test  interest +10m (same session)
 *  B  vB1  +2h    c_social '/', identify bo@beta.test  awareness +2h
 *     vB2  +3h    c_search '/' then identify bo@…    second device: its anonymous lead merges into B; B rebuilt:
 *                                                    a second session (on another device) → interest +3h
 *  C  vC   +4h    direct '/pricing'                  awareness and consideration at +4h (skips interest)
 *  D  vD   +5h    c_news '/', identify dee@…         (erased at the end)
 *  E  vE   +6h    Googlebot, c_news '/pricing'       a bot: never a lead, counted nowhere
 *  A  vA   +1d    c_search '/pricing'                consideration +1d (a second session, interest already had)
 *  F  vF   +1d    c_search '/pricing'                a second session and pricing: interest and consideration +1d
 *  A  vA   +1d2h  c_search '/'                       a third session: nothing moves
 *  D  vD   +1d2h  c_news '/'                         (second session: interest; erased later)
 *  A  CRM  +2d    closed_won (POST /api/events)      purchase +2d: skips intent and evaluation
 *  H  CRM  +2d    demo_completed, hal@hotel.test     a lead never seen on the web: awareness and evaluation +2d
 *  B  vB2  +3d    c_news '/demo', demo request       evaluation +3d: skips consideration and intent
 *  K  vK1  +5d    c_search '/', identify kim@kilo…   a new lead K (awareness +5d)
 *     vK2  +5d1h  direct '/', identify kim@kilo…     K2's anonymous lead merges into K; K rebuilt from all its events:
 *                                                    awareness −1d (K2's first page: K is now made before P),
 *                                                    interest +5d (vK1's visit is the second session), +5d1h nothing
 *  G  vG   +7d    c_social '/' (exactly at `to`)     awareness +7d: outside P
 *  D erased (DELETE /api/leads/dee@delta.test) at +7d1h.
 *
 * Now: A purchase, B evaluation, C consideration, F consideration, G awareness, H evaluation, K interest.
 * Touches (campaign): first / last / sessions (linear):
 *  A  c_news / c_search / news, search, search   → linear ⅓ news, ⅔ search
 *  B  c_social / c_news / social, search, news   → ⅓ each (the lead's two devices' sessions)
 *  C  (none) / (none) / one direct session        → whole (none)
 *  F  c_search / c_search / search, search         → whole search
 *  G  c_social / c_social / social                 → whole social
 *  H  (none) / (none) / no session: whole to its first touch's key, (none)
 *  K  c_news / (none) / news (vK2), search (vK1), direct (vK2) → ⅓ news, ⅓ search, ⅓ (none)
 */
async function fill(j: Journey): Promise<Journey> {
  const A: [Campaign, string, number] = ['c_news', '/', T0];
  await j.visit('v_judge_F_0001', [ev(['c_search', '/', T0 - 2 * DAY], 'c_search', '/', T0 - 2 * DAY)], T0 - 2 * DAY);
  await j.visit('v_judge_K2_001', [ev(['c_news', '/', T0 - DAY], 'c_news', '/', T0 - DAY)], T0 - DAY);
  await j.visit('v_judge_A_0001', [ev(A, 'c_news', '/', T0)], T0);
  await j.visit('v_judge_A_0001', [ev(A, 'c_news', '/', T0, { n: 'newsletter_signup', f: 'newsletter', em: 'ann@alpha.test' })], T0 + 10 * MIN);
  const B1: [Campaign, string, number] = ['c_social', '/', T0 + 2 * HOUR];
  await j.visit('v_judge_B1_001', [ev(B1, 'c_social', '/', T0 + 2 * HOUR), ev(B1, 'c_social', '/', T0 + 2 * HOUR, { n: 'identify', em: 'bo@beta.test' })], T0 + 2 * HOUR);
  const B2: [Campaign, string, number] = ['c_search', '/', T0 + 3 * HOUR];
  await j.visit('v_judge_B2_001', [ev(B2, 'c_search', '/', T0 + 3 * HOUR), ev(B2, 'c_search', '/', T0 + 3 * HOUR, { n: 'identify', em: 'bo@beta.test' })], T0 + 3 * HOUR);
  await j.visit('v_judge_C_0001', [ev(null, null, '/pricing', T0 + 4 * HOUR)], T0 + 4 * HOUR);
  const D: [Campaign, string, number] = ['c_news', '/', T0 + 5 * HOUR];
  await j.visit('v_judge_D_0001', [ev(D, 'c_news', '/', T0 + 5 * HOUR), ev(D, 'c_news', '/', T0 + 5 * HOUR, { n: 'identify', em: 'dee@delta.test' })], T0 + 5 * HOUR);
  await botVisit(j, 'v_judge_E_0001', '/pricing', T0 + 6 * HOUR);
  await j.visit('v_judge_A_0001', [ev(A, 'c_search', '/pricing', T0 + DAY)], T0 + DAY);
  await j.visit('v_judge_F_0001', [ev(['c_search', '/', T0 - 2 * DAY], 'c_search', '/pricing', T0 + DAY)], T0 + DAY + MIN);
  await j.visit('v_judge_A_0001', [ev(A, 'c_search', '/', T0 + DAY + 2 * HOUR)], T0 + DAY + 2 * HOUR);
  await j.visit('v_judge_D_0001', [ev(D, 'c_news', '/', T0 + DAY + 2 * HOUR)], T0 + DAY + 2 * HOUR + MIN);
  j.clock.now = T0 + 2 * DAY + MIN;
  await postEvents(j, [
    { id: 'crm-ann-won', email: 'ann@alpha.test', name: 'closed_won', at: iso(T0 + 2 * DAY) },
    { id: 'crm-hal-demo', email: 'hal@hotel.test', name: 'demo_completed', at: iso(T0 + 2 * DAY) },
  ]);
  await j.visit('v_judge_B2_001', [ev(B2, 'c_news', '/demo', T0 + 3 * DAY, { n: 'demo_request', f: 'demo', em: 'bo@beta.test' })], T0 + 3 * DAY);
  const K1: [Campaign, string, number] = ['c_search', '/', T0 + 5 * DAY];
  await j.visit('v_judge_K1_001', [ev(K1, 'c_search', '/', T0 + 5 * DAY), ev(K1, 'c_search', '/', T0 + 5 * DAY, { n: 'identify', em: 'kim@kilo.test' })], T0 + 5 * DAY);
  const K2: [Campaign, string, number] = ['c_news', '/', T0 - DAY];
  await j.visit('v_judge_K2_001', [ev(K2, null, '/', T0 + 5 * DAY + HOUR), ev(K2, null, '/', T0 + 5 * DAY + HOUR, { n: 'identify', em: 'kim@kilo.test' })], T0 + 5 * DAY + HOUR);
  await j.visit('v_judge_G_0001', [ev(['c_social', '/', TO], 'c_social', '/', TO)], TO);
  j.clock.now = TO + HOUR;
  const del = await j.app.request('/api/leads/' + encodeURIComponent('dee@delta.test'), { method: 'DELETE', headers: j.auth });
  expect(del.status).toBeLessThan(300);
  j.clock.now = END;
  return j;
}

/** A week of its own, for a test that changes it. */
const week = async () => fill(await open());
/** The week for the tests that only read it, made once for the file (each test on a fresh one took 3 times as long). */
let shared: Promise<Journey> | undefined;
const readWeek = () => (shared ??= makeJourneyApp({ engine }).then(fill));
afterAll(async () => {
  if (shared) await (await shared).close();
});

const funnel = (j: Journey, qs: string) => get(j, `/api/funnel?${qs}`) as Promise<Report>;
const col = (stages: Stage[], f: 'count' | 'entered' | 'reached') => stages.map((s) => s[f]);
const groups = (r: Report, f: 'count' | 'entered' | 'reached') => Object.fromEntries(r.breakdown!.map((g) => [g.key, col(g.stages, f)]));
const field = <K extends keyof Stage>(stages: Stage[], f: K) => stages.map((s) => s[f]);
const byKey = (r: Report) => Object.fromEntries(r.breakdown!.map((g) => [g.key, g.stages]));
/** Per stage, a field summed over the groups as shown, in ten-thousandths (exact). */
const sums = (r: Report, f: 'count' | 'entered' | 'reached') =>
  r.stages.map((_, i) => r.breakdown!.reduce((s, g) => s + Math.round(g.stages[i][f] * 10_000), 0) / 10_000);
const tis = (p50: number | null, p90: number | null, n: number) => ({ p50, p90, n });
const NONE = tis(null, null, 0);

describe('one hand-made week: totals', () => {
  test('count now, entered in [from, to), the cohort, conversions and nearest-rank times in stage', async () => {
    const j = await readWeek();
    const r = await funnel(j, P);
    expect(r.from).toBe(iso(FROM));
    expect(r.to).toBe(iso(TO));
    expect(field(r.stages, 'stage')).toEqual(STAGES);
    // now: G awareness; K interest; C, F consideration; B, H evaluation; A purchase. The bot, the erased lead and the two
    // merged-away anonymous leads (B's and K's second devices) are nowhere.
    expect(col(r.stages, 'count')).toEqual([1, 1, 2, 0, 2, 1]);
    // entries in [T0, T0+7d): awareness A(0, at `from` exactly), B(+2h), C(+4h), H(+2d) — F (−2d), K (−1d) before, G at
    // `to` (excluded); interest A(+10m), B(+3h), F(+1d), K(+5d); consideration A(+1d), C(+4h), F(+1d); evaluation
    // B(+3d), H(+2d); purchase A(+2d)
    expect(col(r.stages, 'entered')).toEqual([4, 4, 3, 0, 2, 1]);
    // cohort = leads created in P: A, B, C, H (F and K were made before it, K by its merged device; G at `to`).
    // reached = cohort now in the stage or later: a skipped stage counts as reached (C skipped interest, A and B
    // intent, H everything up to evaluation).
    expect(col(r.stages, 'reached')).toEqual([4, 4, 4, 3, 3, 1]);
    // next = reached(i+1)/reached(i): 4/4, 4/4, 3/4, 3/3, 1/3, none after the last; cumulative = reached(i)/reached(0)
    expect(field(r.stages, 'conversionNext').slice(0, 4)).toEqual([1, 1, 0.75, 1]);
    expect(r.stages[4].conversionNext).toBeCloseTo(1 / 3, 4);
    expect(r.stages[5].conversionNext).toBeNull();
    expect(field(r.stages, 'conversionCumulative')).toEqual([1, 1, 1, 0.75, 0.75, 0.25]);
    // time from entering a stage to entering the next one the lead entered, for entries in P that moved on:
    // awareness A 10m, B 1h, C 0, H 0 → [0, 0, 10m, 1h]: p50 = ⌈0.5·4⌉ = 2nd = 0, p90 = ⌈3.6⌉ = 4th = 1h
    expect(r.stages[0].timeInStage).toEqual(tis(0, HOUR, 4));
    // interest A +10m→+1d, B +3h→+3d (to evaluation, skipping two), F 0 (K still there) → [0, 1d−10m, 3d−3h]:
    // p50 = 2nd, p90 = ⌈2.7⌉ = 3rd
    expect(r.stages[1].timeInStage).toEqual(tis(DAY - 10 * MIN, 3 * DAY - 3 * HOUR, 3));
    // consideration: A +1d→+2d (purchase); C and F are still there
    expect(r.stages[2].timeInStage).toEqual(tis(DAY, DAY, 1));
    // nobody entered intent; B and H are still in evaluation; nobody leaves purchase
    expect(r.stages.slice(3).map((s) => s.timeInStage)).toEqual([NONE, NONE, NONE]);
  });

  test('a period that begins a millisecond later loses A (at `from`); one that ends a millisecond later gains G (at `to`)', async () => {
    const j = await readWeek();
    const later = await funnel(j, `from=${FROM + 1}&to=${TO}`);
    // A's awareness at T0 is out, and A leaves the cohort: awareness B, C, H; the cohort B, C, H
    expect(col(later.stages, 'entered')).toEqual([3, 4, 3, 0, 2, 1]);
    expect(col(later.stages, 'reached')).toEqual([3, 3, 3, 2, 2, 0]);
    // awareness times of entries in the period: B 1h, C 0, H 0 → [0, 0, 1h]: p50 2nd = 0, p90 3rd = 1h
    expect(later.stages[0].timeInStage).toEqual(tis(0, HOUR, 3));
    const wider = await funnel(j, `from=${FROM}&to=${TO + 1}`);
    // G's awareness at T0+7d is in, and G joins the cohort (still in awareness)
    expect(col(wider.stages, 'entered')).toEqual([5, 4, 3, 0, 2, 1]);
    expect(col(wider.stages, 'reached')).toEqual([5, 4, 4, 3, 3, 1]);
    expect(wider.stages[0].conversionNext).toBe(0.8);
    // "now" does not depend on the period
    expect(col(later.stages, 'count')).toEqual([1, 1, 2, 0, 2, 1]);
    expect(col(wider.stages, 'count')).toEqual([1, 1, 2, 0, 2, 1]);
  });

  test('a period in the future: counts now, and nothing entered, reached or timed; conversions null', async () => {
    const j = await readWeek();
    const r = await funnel(j, `from=${iso(END + 30 * DAY)}&to=${iso(END + 60 * DAY)}`);
    expect(col(r.stages, 'count')).toEqual([1, 1, 2, 0, 2, 1]);
    expect(col(r.stages, 'entered')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(col(r.stages, 'reached')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(field(r.stages, 'conversionNext')).toEqual([null, null, null, null, null, null]);
    expect(field(r.stages, 'conversionCumulative')).toEqual([null, null, null, null, null, null]);
    expect(r.stages.map((s) => s.timeInStage)).toEqual(STAGES.map(() => NONE));
    for (const attribution of ['first', 'last', 'linear']) {
      const b = await funnel(j, `from=${iso(END + 30 * DAY)}&to=${iso(END + 60 * DAY)}&breakdown=campaign&attribution=${attribution}`);
      expect(sums(b, 'count'), attribution).toEqual([1, 1, 2, 0, 2, 1]);
      expect(sums(b, 'entered'), attribution).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });
});

describe('one hand-made week: breakdowns', () => {
  test('by campaign, first touch', async () => {
    const j = await readWeek();
    const r = await funnel(j, `${P}&breakdown=campaign&attribution=first`);
    // first touches: A c_news, K c_news (its merged device's first visit, the earliest); B c_social (vB1 came first),
    // G c_social; F c_search; C (none) (direct), H (none) (no touch at all)
    expect(groups(r, 'count')).toEqual({
      c_news: [0, 1, 0, 0, 0, 1], // K interest, A purchase
      c_social: [1, 0, 0, 0, 1, 0], // G awareness, B evaluation
      c_search: [0, 0, 1, 0, 0, 0], // F
      '(none)': [0, 0, 1, 0, 1, 0], // C, H
    });
    expect(groups(r, 'entered')).toEqual({
      c_news: [1, 2, 1, 0, 0, 1], // A all four; K interest
      c_social: [1, 1, 0, 0, 1, 0], // B
      c_search: [0, 1, 1, 0, 0, 0], // F (its awareness was before P)
      '(none)': [2, 0, 1, 0, 1, 0], // C awareness, consideration; H awareness, evaluation
    });
    expect(groups(r, 'reached')).toEqual({
      c_news: [1, 1, 1, 1, 1, 1], // A (K is not in the cohort)
      c_social: [1, 1, 1, 1, 1, 0], // B (G is not)
      c_search: [0, 0, 0, 0, 0, 0], // F is not
      '(none)': [2, 2, 2, 1, 1, 0], // C up to consideration, H up to evaluation
    });
    const s = byKey(r);
    expect(field(s['(none)'], 'conversionNext')).toEqual([1, 1, 0.5, 1, 0, null]);
    expect(field(s['(none)'], 'conversionCumulative')).toEqual([1, 1, 1, 0.5, 0.5, 0]);
    expect(field(s.c_search, 'conversionNext')).toEqual([null, null, null, null, null, null]);
    // times in stage under the lead's key
    expect(s.c_news.map((x) => x.timeInStage).slice(0, 3)).toEqual([tis(10 * MIN, 10 * MIN, 1), tis(DAY - 10 * MIN, DAY - 10 * MIN, 1), tis(DAY, DAY, 1)]);
    expect(s.c_social.map((x) => x.timeInStage).slice(0, 2)).toEqual([tis(HOUR, HOUR, 1), tis(3 * DAY - 3 * HOUR, 3 * DAY - 3 * HOUR, 1)]);
    expect(s.c_search[1].timeInStage).toEqual(tis(0, 0, 1));
    expect(s['(none)'][0].timeInStage).toEqual(tis(0, 0, 2));
    for (const f of ['count', 'entered', 'reached'] as const) expect(sums(r, f), f).toEqual(col((await funnel(j, P)).stages, f));
  });

  test('by campaign, last touch: the visit that began last, on any device', async () => {
    const j = await readWeek();
    const r = await funnel(j, `${P}&breakdown=campaign&attribution=last`);
    // last touches: A c_search (+1d2h), F c_search; B c_news (the demo visit); G c_social; C, H (none); K (none) (its
    // merged device's direct visit at +5d1h began after vK1's)
    expect(groups(r, 'count')).toEqual({
      c_search: [0, 0, 1, 0, 0, 1], // F, A
      c_news: [0, 0, 0, 0, 1, 0], // B
      c_social: [1, 0, 0, 0, 0, 0], // G
      '(none)': [0, 1, 1, 0, 1, 0], // K, C, H
    });
    expect(groups(r, 'entered')).toEqual({
      c_search: [1, 2, 2, 0, 0, 1], // A all four; F interest and consideration
      c_news: [1, 1, 0, 0, 1, 0], // B
      c_social: [0, 0, 0, 0, 0, 0], // G entered at `to`
      '(none)': [2, 1, 1, 0, 1, 0], // C, H, K's interest
    });
    expect(groups(r, 'reached')).toEqual({
      c_search: [1, 1, 1, 1, 1, 1],
      c_news: [1, 1, 1, 1, 1, 0],
      c_social: [0, 0, 0, 0, 0, 0],
      '(none)': [2, 2, 2, 1, 1, 0],
    });
    const s = byKey(r);
    // c_search: awareness A 10m; interest A 1d−10m and F 0 → [0, 1d−10m]: p50 1st = 0, p90 2nd
    expect(s.c_search.map((x) => x.timeInStage).slice(0, 3)).toEqual([tis(10 * MIN, 10 * MIN, 1), tis(0, DAY - 10 * MIN, 2), tis(DAY, DAY, 1)]);
    expect(s.c_news.map((x) => x.timeInStage).slice(0, 2)).toEqual([tis(HOUR, HOUR, 1), tis(3 * DAY - 3 * HOUR, 3 * DAY - 3 * HOUR, 1)]);
    expect(s['(none)'].map((x) => x.timeInStage).slice(0, 2)).toEqual([tis(0, 0, 2), NONE]);
  });

  test('linear: a lead split equally over its web sessions (two of three sessions of one campaign are two thirds), shares to 4 decimals that add up', async () => {
    const j = await readWeek();
    const r = await funnel(j, `${P}&breakdown=campaign&attribution=linear`);
    // shares: A ⅓ news ⅔ search; B ⅓ social, search, news; C 1 (none); F 1 search; G 1 social; H 1 (none);
    // K ⅓ news, search, (none). Each stage: floor to 0.0001, lost units to the largest remainders, ties to the key
    // that sorts first ('(none)' < 'c_news' < 'c_search' < 'c_social').
    expect(groups(r, 'count')).toEqual({
      // interest K: ⅓ ×3 → 0.3333 ×3, one unit to the first key, (none); evaluation B ⅓ ×3 and H 1: the unit to c_news;
      // purchase A ⅓ news (.3333, remainder .33) ⅔ search (.6666, remainder .67: gets the unit)
      c_news: [0, 0.3333, 0, 0, 0.3334, 0.3333],
      c_search: [0, 0.3333, 1, 0, 0.3333, 0.6667],
      c_social: [1, 0, 0, 0, 0.3333, 0],
      '(none)': [0, 0.3334, 1, 0, 1, 0],
    });
    // entered: awareness A, B, C, H: news ⅓+⅓ = ⅔ (.6666 r .67 → .6667), search ⅔+⅓ = 1, social ⅓, (none) 2;
    // interest A, B, F, K: news ⅓+⅓+⅓ = 1, search ⅔+⅓+1+⅓ = 2⅓, social ⅓, (none) ⅓ (three ties: the unit to (none));
    // consideration A, C, F: news ⅓, search ⅔+1 = 1⅔ (gets the unit), (none) 1;
    // evaluation B, H: as count; purchase A: as count
    expect(groups(r, 'entered')).toEqual({
      c_news: [0.6667, 1, 0.3333, 0, 0.3334, 0.3333],
      c_search: [1, 2.3333, 1.6667, 0, 0.3333, 0.6667],
      c_social: [0.3333, 0.3333, 0, 0, 0.3333, 0],
      '(none)': [2, 0.3334, 1, 0, 1, 0],
    });
    // reached (cohort A, B, C, H): A all six, B up to evaluation, C up to consideration, H up to evaluation
    // awareness…consideration: news ⅔, search 1, social ⅓, (none) 2; intent, evaluation: news ⅔, search 1, social ⅓,
    // (none) 1; purchase: news ⅓, search ⅔
    expect(groups(r, 'reached')).toEqual({
      c_news: [0.6667, 0.6667, 0.6667, 0.6667, 0.6667, 0.3333],
      c_search: [1, 1, 1, 1, 1, 0.6667],
      c_social: [0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0],
      '(none)': [2, 2, 2, 1, 1, 0],
    });
    for (const f of ['count', 'entered', 'reached'] as const) expect(sums(r, f), f).toEqual(col((await funnel(j, P)).stages, f));
    // conversions are ratios of the group's reached: (none) 2→2→2→1→1→0
    const s = byKey(r);
    expect(field(s['(none)'], 'conversionNext')).toEqual([1, 1, 0.5, 1, 0, null]);
    expect(s.c_news[4].conversionNext).toBeCloseTo(0.5, 4);
    expect(s.c_search[4].conversionNext).toBeCloseTo(2 / 3, 4);
    // a time in stage counts whole under every key of its lead:
    // awareness: news A 10m, B 1h; search A 10m, B 1h; social B 1h; (none) C 0, H 0
    expect(Object.fromEntries(r.breakdown!.map((g) => [g.key, g.stages[0].timeInStage]))).toEqual({
      c_news: tis(10 * MIN, HOUR, 2), c_search: tis(10 * MIN, HOUR, 2), c_social: tis(HOUR, HOUR, 1), '(none)': tis(0, 0, 2),
    });
    // interest: news A 1d−10m, B 3d−3h; search F 0, A, B → [0, 1d−10m, 3d−3h]; social B; (none) K has not moved on
    expect(Object.fromEntries(r.breakdown!.map((g) => [g.key, g.stages[1].timeInStage]))).toEqual({
      c_news: tis(DAY - 10 * MIN, 3 * DAY - 3 * HOUR, 2), c_search: tis(DAY - 10 * MIN, 3 * DAY - 3 * HOUR, 3),
      c_social: tis(3 * DAY - 3 * HOUR, 3 * DAY - 3 * HOUR, 1), '(none)': NONE,
    });
  });

  test('by channel and by source, first touch', async () => {
    const j = await readWeek();
    const ch = await funnel(j, `${P}&breakdown=channel&attribution=first`);
    // news/email → email (A, K); google/cpc → paid_search (F); linkedin/paid_social → paid_social (B, G); C direct;
    // H has no touch: (none)
    expect(groups(ch, 'count')).toEqual({
      email: [0, 1, 0, 0, 0, 1], paid_social: [1, 0, 0, 0, 1, 0], paid_search: [0, 0, 1, 0, 0, 0], direct: [0, 0, 1, 0, 0, 0], '(none)': [0, 0, 0, 0, 1, 0],
    });
    const src = await funnel(j, `${P}&breakdown=source&attribution=first`);
    expect(groups(src, 'reached')).toEqual({
      news: [1, 1, 1, 1, 1, 1], linkedin: [1, 1, 1, 1, 1, 0], google: [0, 0, 0, 0, 0, 0], '(none)': [2, 2, 2, 1, 1, 0],
    });
    const med = await funnel(j, `${P}&breakdown=medium&attribution=last`);
    // last: A, F cpc; B email; G paid_social; C, H, K (none)
    expect(groups(med, 'count')).toEqual({
      cpc: [0, 0, 1, 0, 0, 1], email: [0, 0, 0, 0, 1, 0], paid_social: [1, 0, 0, 0, 0, 0], '(none)': [0, 1, 1, 0, 1, 0],
    });
  });
});

describe('one hand-made week: bad parameters', () => {
  test('a `to` before `from`, a `to` equal to `from`, unknown breakdown or attribution: 400 in the error shape', async () => {
    const j = await readWeek();
    for (const qs of [
      `from=${iso(TO)}&to=${iso(FROM)}`,
      `from=${FROM}&to=${FROM}`,
      `${P}&breakdown=country`,
      `${P}&breakdown=Campaign`,
      `${P}&breakdown=campaign&attribution=u_shaped`,
      `${P}&breakdown=campaign&attribution=`,
      `${P}&breakdown=`,
    ]) {
      const res = await j.app.request(`/api/funnel?${qs}`, { headers: j.auth });
      const body = await res.json();
      expect(res.status, qs).toBe(400);
      expect(typeof body.error?.code, qs).toBe('string');
      expect(body.error.code, qs).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(typeof body.error.message, qs).toBe('string');
      expect(body.error.message.length, qs).toBeGreaterThan(0);
    }
  });
});

describe('one hand-made week: GET /api/leads filters and cursor', () => {
  test('stage, q, identified; every live lead once in either order, never the bot, the erased or a merged-away lead', async () => {
    const j = await readWeek();
    const list = async (qs: string) => {
      const out: Array<{ leadId: string; email: string | null; stage: string }> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { items: any[]; nextCursor: string | null } = await get(j, `/api/leads?${qs}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
        out.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      return out;
    };
    const emails = (xs: Array<{ email: string | null }>) => xs.map((x) => x.email ?? '-').sort();
    for (const order of ['id', 'activity']) {
      const all = await list(`order=${order}&limit=2`);
      expect(all.length, order).toBe(7);
      expect(new Set(all.map((x) => x.leadId)).size, order).toBe(7);
      expect(emails(all), order).toEqual(['-', '-', '-', 'ann@alpha.test', 'bo@beta.test', 'hal@hotel.test', 'kim@kilo.test']);
    }
    expect(emails(await list('stage=consideration&limit=1'))).toEqual(['-', '-']);
    expect(emails(await list('stage=evaluation'))).toEqual(['bo@beta.test', 'hal@hotel.test']);
    expect(emails(await list('identified=true&limit=3'))).toEqual(['ann@alpha.test', 'bo@beta.test', 'hal@hotel.test', 'kim@kilo.test']);
    expect((await list('identified=false')).map((x) => x.stage).sort()).toEqual(['awareness', 'consideration', 'consideration']);
    expect(emails(await list('q=BETA'))).toEqual(['bo@beta.test']);
    expect(await list('q=delta')).toEqual([]);
    // the same profile whichever device names it: B's second device names B
    expect((await get(j, '/api/leads/v_judge_B2_001')).email).toBe('bo@beta.test');
  });
});

describe('one hand-made week: new rules, then a replay', () => {
  test('a renamed stage counts only its new name; until the replay a lead in the old one counts nowhere; the replay applies the new rules', async () => {
    const j = await week();
    const c = await get(j, '/api/config/funnel');
    // consideration renamed shopping (in place), and a second session no longer enters interest
    const renamed = {
      ...c,
      stages: c.stages.map((s: string) => (s === 'consideration' ? 'shopping' : s)),
      stageRules: c.stageRules
        .filter((r: { id: string }) => r.id !== 'second_session')
        .map((r: { stage: string }) => (r.stage === 'consideration' ? { ...r, stage: 'shopping' } : r)),
    };
    const put = await putConfig(j, renamed);
    expect(put.status, await put.clone().text()).toBe(200);
    const NEW = ['awareness', 'interest', 'shopping', 'intent', 'evaluation', 'purchase'];

    // before the replay: the stored stages stay as the old rules left them; C and F (in consideration) count nowhere,
    // and no entry is one into shopping
    const before = await funnel(j, P);
    expect(field(before.stages, 'stage')).toEqual(NEW);
    expect(col(before.stages, 'count')).toEqual([1, 1, 0, 0, 2, 1]);
    expect(col(before.stages, 'entered')).toEqual([4, 4, 0, 0, 2, 1]);
    // cohort A, B, C, H, but C counts nowhere: A, B, H
    expect(col(before.stages, 'reached')).toEqual([3, 3, 3, 3, 3, 1]);
    // every breakdown leaves C and F out too, and still adds up to these totals
    for (const attribution of ['first', 'last', 'linear']) {
      const b = await funnel(j, `${P}&breakdown=campaign&attribution=${attribution}`);
      expect(field(b.breakdown![0].stages, 'stage'), attribution).toEqual(NEW);
      for (const f of ['count', 'entered', 'reached'] as const) expect(sums(b, f), `${attribution} ${f}`).toEqual(col(before.stages, f));
    }
    // C (direct, its only touch) was the one lead of (none) in consideration: by first touch, (none) is H alone
    expect(groups(await funnel(j, `${P}&breakdown=campaign&attribution=first`), 'reached')['(none)']).toEqual([1, 1, 1, 1, 1, 0]);
    const stale = await j.app.request('/api/leads?stage=consideration', { headers: j.auth });
    expect(stale.status).toBe(400);
    expect((await get(j, '/api/leads?stage=shopping')).items).toEqual([]);

    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });

    // after: A awareness 0, interest +10m (newsletter), shopping +1d, purchase +2d; B awareness +2h, evaluation +3d
    // (no second-session interest any more); C awareness + shopping +4h; F awareness −2d, shopping +1d; G awareness;
    // H awareness + evaluation +2d; K awareness −1d only
    const after = await funnel(j, P);
    expect(col(after.stages, 'count')).toEqual([2, 0, 2, 0, 2, 1]);
    expect(col(after.stages, 'entered')).toEqual([4, 1, 3, 0, 2, 1]);
    expect(col(after.stages, 'reached')).toEqual([4, 4, 4, 3, 3, 1]);
    // awareness: A 10m, B +2h→+3d, C 0, H 0 → [0, 0, 10m, 3d−2h]: p50 2nd = 0, p90 4th
    expect(after.stages[0].timeInStage).toEqual(tis(0, 3 * DAY - 2 * HOUR, 4));
    expect(after.stages[1].timeInStage).toEqual(tis(DAY - 10 * MIN, DAY - 10 * MIN, 1));
    expect(after.stages[2].timeInStage).toEqual(tis(DAY, DAY, 1));
    const emails = async (qs: string) => ((await get(j, `/api/leads?${qs}`)).items as Array<{ email: string | null }>).map((x) => x.email ?? '-').sort();
    expect(await emails('stage=shopping')).toEqual(['-', '-']);
    expect(await emails('stage=awareness')).toEqual(['-', 'kim@kilo.test']);
    // the breakdowns follow: first touch by campaign
    const first = await funnel(j, `${P}&breakdown=campaign&attribution=first`);
    expect(groups(first, 'count')).toEqual({
      c_news: [1, 0, 0, 0, 0, 1], // K awareness, A purchase
      c_social: [1, 0, 0, 0, 1, 0],
      c_search: [0, 0, 1, 0, 0, 0],
      '(none)': [0, 0, 1, 0, 1, 0],
    });
    expect(groups(first, 'entered')).toEqual({
      c_news: [1, 1, 1, 0, 0, 1], // A
      c_social: [1, 0, 0, 0, 1, 0], // B
      c_search: [0, 0, 1, 0, 0, 0], // F's shopping
      '(none)': [2, 0, 1, 0, 1, 0],
    });
    const lin = await funnel(j, `${P}&breakdown=campaign&attribution=linear`);
    for (const f of ['count', 'entered', 'reached'] as const) expect(sums(lin, f), f).toEqual(col(after.stages, f));
    // awareness count after: G 1 social; K ⅓ news, search, (none) → the unit to (none)
    expect(groups(lin, 'count')).toMatchObject({ c_social: [1, 0, 0, 0, 0.3333, 0], '(none)': [0.3334, 0, 1, 0, 1, 0] });
  });
});

describe('one hand-made week: periods cut inside UTC days', () => {
  test('a period inside one UTC day, and one of partial first and last days around whole ones, for totals and breakdowns', async () => {
    const j = await readWeek();
    // [T0+1h, T0+5h) = 2025-01-06 10:00–14:00Z, all inside one day: B awareness +2h, interest +3h; C awareness and
    // consideration +4h (A's entries at 09:00 and 09:10 are before it; D's +5h is erased and at `to` anyway)
    const day = await funnel(j, `from=${iso(T0 + HOUR)}&to=${iso(T0 + 5 * HOUR)}`);
    expect(col(day.stages, 'entered')).toEqual([2, 1, 1, 0, 0, 0]);
    // cohort B (evaluation now) and C (consideration)
    expect(col(day.stages, 'reached')).toEqual([2, 2, 2, 1, 1, 0]);
    expect(day.stages[0].timeInStage).toEqual(tis(0, HOUR, 2));
    for (const attribution of ['first', 'last', 'linear']) {
      const b = await funnel(j, `from=${iso(T0 + HOUR)}&to=${iso(T0 + 5 * HOUR)}&breakdown=campaign&attribution=${attribution}`);
      for (const f of ['entered', 'reached'] as const) expect(sums(b, f), `${attribution} ${f}`).toEqual(col(day.stages, f));
    }
    const first = await funnel(j, `from=${iso(T0 + HOUR)}&to=${iso(T0 + 5 * HOUR)}&breakdown=campaign&attribution=first`);
    expect(groups(first, 'entered')).toMatchObject({ c_social: [1, 1, 0, 0, 0, 0], '(none)': [1, 0, 1, 0, 0, 0] });

    // [Mon 10:00Z, Sat 09:30Z): Mon partial, Tue–Fri whole, Sat partial. Entries: awareness B, C, H; interest B (Mon
    // 12:00), F (Tue 09:01… its visit at T0+1d+1m), K (Sat 09:00); consideration A (Tue), C (Mon), F (Tue);
    // evaluation B (Thu), H (Wed); purchase A (Wed)
    const span = `from=${iso(T0 + HOUR)}&to=${iso(T0 + 5 * DAY + 30 * MIN)}`;
    const r = await funnel(j, span);
    expect(col(r.stages, 'entered')).toEqual([3, 3, 3, 0, 2, 1]);
    // cohort B, C, H (A at 09:00 Mon is before `from`; K is made on Sunday before, by its merged device)
    expect(col(r.stages, 'reached')).toEqual([3, 3, 3, 2, 2, 0]);
    const last = await funnel(j, `${span}&breakdown=campaign&attribution=last`);
    expect(groups(last, 'entered')).toEqual({
      c_search: [0, 1, 2, 0, 0, 1], // F interest; A, F consideration; A purchase
      c_news: [1, 1, 0, 0, 1, 0], // B
      c_social: [0, 0, 0, 0, 0, 0], // G
      '(none)': [2, 1, 1, 0, 1, 0], // C, H; K interest
    });
    const lin = await funnel(j, `${span}&breakdown=campaign&attribution=linear`);
    for (const f of ['count', 'entered', 'reached'] as const) expect(sums(lin, f), f).toEqual(col(r.stages, f));
  });

  test('`to` alone reads the 30 days before it; `from` alone runs to now', async () => {
    const j = await readWeek();
    const r = await funnel(j, `to=${iso(TO)}`);
    expect(r.from).toBe(iso(TO - 30 * DAY));
    // everything up to `to`: awareness F, K, A, B, C, H (G at `to` is out)
    expect(col(r.stages, 'entered')).toEqual([6, 4, 3, 0, 2, 1]);
    // cohort A, B, C, F, H, K: F consideration, K interest
    expect(col(r.stages, 'reached')).toEqual([6, 6, 5, 3, 3, 1]);
    const s = await funnel(j, `from=${iso(TO)}`);
    expect(s.to).toBe(iso(END));
    expect(col(s.stages, 'entered')).toEqual([1, 0, 0, 0, 0, 0]);
  });
});

describe('creation moved by a later merge or an earlier CRM event', () => {
  test('a lead made after the period joins its cohort when a device seen in it merges in; a CRM deal dated before the period takes a lead out of it', async () => {
    const j = await open();
    // M: vM1 at T0+10d (after P) identifies mo@mike.test; vM2 visited at T0+3d (in P) anonymously, and identifies
    // as mo@… at T0+10d+1h: merged in, M is made at T0+3d → in P's cohort; M: awareness +3d, interest +10d (second
    // session), nothing more
    await j.visit('v_judge_M2_001', [ev(['c_news', '/', T0 + 3 * DAY], 'c_news', '/', T0 + 3 * DAY)], T0 + 3 * DAY);
    // N: visits at T0+4d and identifies nat@nov.test; the CRM reports a won deal dated T0−1d (before P)
    await j.visit('v_judge_N_0001', [ev(['c_search', '/', T0 + 4 * DAY], 'c_search', '/', T0 + 4 * DAY), ev(['c_search', '/', T0 + 4 * DAY], 'c_search', '/', T0 + 4 * DAY, { n: 'identify', em: 'nat@nov.test' })], T0 + 4 * DAY);
    j.clock.now = T0 + 4 * DAY + HOUR;
    await postEvents(j, { id: 'crm-nat-won', email: 'nat@nov.test', name: 'closed_won', at: iso(T0 - DAY) });
    j.clock.now = T0 + 10 * DAY;
    await j.visit('v_judge_M1_001', [ev(['c_social', '/', T0 + 10 * DAY], 'c_social', '/', T0 + 10 * DAY), ev(['c_social', '/', T0 + 10 * DAY], 'c_social', '/', T0 + 10 * DAY, { n: 'identify', em: 'mo@mike.test' })], T0 + 10 * DAY);
    await j.visit('v_judge_M2_001', [ev(['c_news', '/', T0 + 3 * DAY], null, '/', T0 + 10 * DAY + HOUR, { n: 'identify', em: 'mo@mike.test' })], T0 + 10 * DAY + HOUR);
    j.clock.now = T0 + 11 * DAY;
    const m = await get(j, '/api/leads/mo@mike.test');
    const n = await get(j, '/api/leads/nat@nov.test');
    expect(m.createdAt).toBe(iso(T0 + 3 * DAY));
    expect(n.createdAt).toBe(iso(T0 - DAY));
    expect(m.stage).toBe('interest');
    expect(n.stage).toBe('purchase');

    const r = await funnel(j, P);
    // now: M interest, N purchase
    expect(col(r.stages, 'count')).toEqual([0, 1, 0, 0, 0, 1]);
    // entries in P: M awareness +3d; N's awareness is its first event, the deal at T0−1d (before P), its purchase too:
    // its visit at +4d enters nothing (a stage only moves forward)
    expect(col(r.stages, 'entered')).toEqual([1, 0, 0, 0, 0, 0]);
    // cohort: M only (N is made before P)
    expect(col(r.stages, 'reached')).toEqual([1, 1, 0, 0, 0, 0]);
    // M's awareness lasted to +10d, after `to`: the entry was in P and has moved on
    expect(r.stages[0].timeInStage).toEqual(tis(7 * DAY, 7 * DAY, 1));
    // by first touch: M's is its merged device's c_news; N's c_search (its only visit)
    const first = await funnel(j, `${P}&breakdown=campaign&attribution=first`);
    expect(groups(first, 'reached')).toEqual({ c_news: [1, 1, 0, 0, 0, 0], c_search: [0, 0, 0, 0, 0, 0] });
    // a period around the deal: N is its cohort, and it entered awareness and purchase then, at once
    const deal = await funnel(j, `from=${iso(T0 - 2 * DAY)}&to=${iso(T0)}`);
    expect(col(deal.stages, 'entered')).toEqual([1, 0, 0, 0, 0, 1]);
    expect(col(deal.stages, 'reached')).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('one hand-made week: a new last touch, then an erasure of a merged lead', () => {
  test('A\'s entries move to its new last touch; erasing B (two devices) takes it out of every figure and group', async () => {
    const j = await week();
    // A comes back from the social campaign after the period: its last touch is now c_social
    await j.visit('v_judge_A_0001', [ev(['c_news', '/', T0], 'c_social', '/', END)], END);
    j.clock.now = END + HOUR;
    const last = await funnel(j, `${P}&breakdown=campaign&attribution=last`);
    expect(groups(last, 'entered')).toEqual({
      c_search: [0, 1, 1, 0, 0, 0], // F alone now
      c_news: [1, 1, 0, 0, 1, 0], // B
      c_social: [1, 1, 1, 0, 0, 1], // A's four entries (G's was at `to`)
      '(none)': [2, 1, 1, 0, 1, 0],
    });
    expect(groups(last, 'reached')).toEqual({
      c_search: [0, 0, 0, 0, 0, 0], c_news: [1, 1, 1, 1, 1, 0], c_social: [1, 1, 1, 1, 1, 1], '(none)': [2, 2, 2, 1, 1, 0],
    });
    // A's times in stage went with it: awareness 10m, interest 1d−10m, consideration 1d under c_social; F's 0 stays
    const s = byKey(last);
    expect(s.c_social.slice(0, 3).map((x) => x.timeInStage)).toEqual([tis(10 * MIN, 10 * MIN, 1), tis(DAY - 10 * MIN, DAY - 10 * MIN, 1), tis(DAY, DAY, 1)]);
    expect(s.c_search[1].timeInStage).toEqual(tis(0, 0, 1));
    // linear: A's fourth session is social: ¼ news, ½ search, ¼ social
    const lin = await funnel(j, `${P}&breakdown=campaign&attribution=linear`);
    expect(groups(lin, 'count').c_news[5]).toBe(0.25);
    expect(groups(lin, 'count').c_search[5]).toBe(0.5);
    expect(groups(lin, 'count').c_social[5]).toBe(0.25);

    // erase B (its own device and the one merged into it)
    const del = await j.app.request('/api/leads/' + encodeURIComponent('bo@beta.test'), { method: 'DELETE', headers: j.auth });
    expect(del.status).toBeLessThan(300);
    const r = await funnel(j, P);
    // now: G awareness, K interest, C F consideration, H evaluation, A purchase
    expect(col(r.stages, 'count')).toEqual([1, 1, 2, 0, 1, 1]);
    // B's awareness, interest and evaluation entries are gone
    expect(col(r.stages, 'entered')).toEqual([3, 3, 3, 0, 1, 1]);
    // cohort A, C, H
    expect(col(r.stages, 'reached')).toEqual([3, 3, 3, 2, 2, 1]);
    // awareness times: A 10m, C 0, H 0 → [0, 0, 10m]: p50 2nd = 0, p90 3rd; interest: A 1d−10m, F 0 → p50 1st = 0
    expect(r.stages[0].timeInStage).toEqual(tis(0, 10 * MIN, 3));
    expect(r.stages[1].timeInStage).toEqual(tis(0, DAY - 10 * MIN, 2));
    for (const attribution of ['first', 'last']) {
      const b = await funnel(j, `${P}&breakdown=campaign&attribution=${attribution}`);
      for (const f of ['count', 'entered', 'reached'] as const) expect(sums(b, f), `${attribution} ${f}`).toEqual(col(r.stages, f));
    }
    const first = await funnel(j, `${P}&breakdown=campaign&attribution=first`);
    // first touch c_social was B's and G's: only G is left (awareness now, entered at `to`)
    expect(byKey(first).c_social.map((x) => [x.count, x.entered, x.reached])).toEqual([[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]);
    expect(byKey(first).c_social[0].timeInStage).toEqual(NONE);
    const lin2 = await funnel(j, `${P}&breakdown=campaign&attribution=linear`);
    for (const f of ['count', 'entered', 'reached'] as const) expect(sums(lin2, f), `linear ${f}`).toEqual(col(r.stages, f));
    expect(groups(lin2, 'count').c_news[4]).toBe(0); // B's third was its only credit in evaluation for news
  });
});
