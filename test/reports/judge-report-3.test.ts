// Judge 3 of the read API (issue 4 items 5 and 6), from contract §5/§6 and the README ("HTTP API", "Funnel engine",
// "Funnel report"), on what earlier judge files leave out: GET /api/funnel broken down by *channel* (paid search,
// organic search read from the referrer alone, paid social, email, direct, and a CRM-only lead with no touch) under
// first, last and linear attribution, every figure worked out by hand (thirds rounded as the README says), then the
// same hand-written week checked over 100 seeded periods cut at UTC midnights and a millisecond either side of every
// stage entry (totals, first/last-touch channels, linear shares in sixths); the lead list's filters on that week; refs
// as a CRM writes them (plus addressing, upper case, an international domain in either spelling, percent-encoded, and
// a `visitorId` holding an `@`, which POST /api/events accepts); site B's key on every operation /openapi.json lists,
// against site A's data; one lead's whole timeline (two devices, a merge, two CRM events of one millisecond) written
// out item by item and paged at every limit; and the statuses the lead routes really answer (a DELETE body over 2 MiB
// included), every answer held to the served /openapi.json. Populations go through POST /e (snippet-shaped bodies)
// and POST /api/events on a real SQLite file (TEST_ENGINE=pg: PostgreSQL).
import { afterAll, describe, expect, test } from 'vitest';
import { createKey, createSite } from '../../collector/admin.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { engine, get, iso, postEvents, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';
import { makeJourneyApp, type JourneyEvent } from '../helpers/journey-app.js';
import { validate } from '../helpers/openapi-schema.js';

const { open } = useJourneys();
const enc = encodeURIComponent;

/** The served /openapi.json, read once per app. */
const docs = new WeakMap<Journey, any>();
async function docOf(j: Journey) {
  if (!docs.has(j)) docs.set(j, await (await j.app.request('/openapi.json')).json());
  return docs.get(j);
}
/** An answer, held to the served document: its status documented for the operation, its JSON body valid against it. */
async function answer(j: Journey, method: string, path: string, opts: { secret?: string; body?: unknown; doc?: string } = {}) {
  const headers = opts.secret ? { ...j.auth, authorization: `Bearer ${opts.secret}` } : j.auth;
  const res = await j.app.request(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  const docPath = opts.doc ?? path.split('?')[0];
  const op = (await docOf(j)).paths[docPath]?.[method.toLowerCase()];
  expect(op, `${method} ${docPath} documented`).toBeDefined();
  const schema = op.responses[String(res.status)]?.content?.['application/json']?.schema;
  expect(op.responses[String(res.status)], `${method} ${path}: status ${res.status} documented`).toBeDefined();
  if (body !== null && schema) expect(validate(await docOf(j), schema, body), `${method} ${path} (${res.status})`).toEqual([]);
  return { status: res.status, body };
}

// ---------------------------------------------------------------------------------------------------------------------
// The funnel by channel
// ---------------------------------------------------------------------------------------------------------------------

type Touch = { utm_source?: string; utm_medium?: string; utm_campaign?: string; ref?: string; url: string; at: number };
const GOOGLE = 'https://www.google.com/';
/** Landing touches as the snippet keeps them (`ft` from the first landing on, `st` for this session; none when direct). */
const paidSearch = (at: number): Touch => ({ utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', url: 'http://127.0.0.1/?utm_source=google&utm_medium=cpc&utm_campaign=brand', at });
const organic = (at: number): Touch => ({ ref: GOOGLE, url: 'http://127.0.0.1/', at });
const paidSocial = (at: number): Touch => ({ utm_source: 'linkedin', utm_medium: 'paid_social', utm_campaign: 'li', url: 'http://127.0.0.1/?utm_source=linkedin&utm_medium=paid_social&utm_campaign=li', at });
const email = (at: number): Touch => ({ utm_source: 'news', utm_medium: 'email', utm_campaign: 'nl', url: 'http://127.0.0.1/?utm_source=news&utm_medium=email&utm_campaign=nl', at });
/** A page as the snippet sends it: the landing page's address holds its campaign, the referrer is the session's. */
function page(path: string, ft: Touch, st: Touch | null, extra: JourneyEvent = {}): JourneyEvent {
  const query = st && st.url.includes('?') ? st.url.slice(st.url.indexOf('?')) : '';
  return { path: path + query, ft, ...(st ? { st } : {}), ...(st?.ref ? { r: st.ref } : {}), ...extra };
}

// The period [T0, T0 + 7d): Mon 2025-01-06 09:00Z to Mon 2025-01-13 09:00Z; read at T0 + 8d.
const FROM = T0;
const TO = T0 + 7 * DAY;
const PERIOD = `from=${enc(iso(FROM))}&to=${enc(iso(TO))}`;
const D = DAY;
const H = HOUR;
const M = MIN;

/**
 * Six leads (times after T0; stages aw, in, co, it, ev, pu):
 *  P vP  0      paid search '/'                           aw 0
 *        1d     direct '/pricing' (a second session)      in 1d, co 1d (one event, two stages)
 *        2d     email 'nl' '/pricing', identify p@…        it 2d (pricing in a second session)
 *        3d     CRM demo_completed                        ev 3d
 *        4d     CRM closed_won                            pu 4d                                       now: purchase
 *  Q vQ  2h     organic search (Google referrer) '/'      aw 2h
 *        2h5m   newsletter signup q@… (same session)      in 2h5m
 *        7d1h   direct '/pricing' (after the period)      co 7d1h (outside it)                        now: consideration
 *  R vR  1d3h   LinkedIn paid social '/'                  aw 1d3h
 *        1d3h10m '/pricing' (same session)                co 1d3h10m (interest skipped)
 *        3d     direct '/' (a second session)             nothing: interest is below                  now: consideration
 *  S vS  −2d    email 'nl' '/'                            aw −2d (before the period: not in the cohort)
 *        1d1h   direct '/' (a second session)             in 1d1h                                     now: interest
 *  U CRM 5d     demo_completed u@… (never on the web)     aw 5d and ev 5d                             now: evaluation
 *  W vW  6d     direct '/'                                aw 6d                                       now: awareness
 *
 * Channels: first touch P paid_search, Q organic_search, R paid_social, S email, U (none), W direct.
 *           last touch (the visit that began last) P email, Q direct, R direct, S direct, U (none), W direct.
 *           sessions (linear) P paid_search+direct+email (⅓ each), Q organic_search+direct (½), R paid_social+direct
 *           (½), S email+direct (½), U none: whole to its first touch's key (none), W direct (whole).
 */
async function fillWeek(j: Journey): Promise<Journey> {
  const P = paidSearch(T0);
  await j.visit('v_j3_P_000001', [page('/', P, P)], T0);
  await j.visit('v_j3_S_000001', [page('/', email(T0 - 2 * D), email(T0 - 2 * D))], T0 - 2 * D);
  const Q = organic(T0 + 2 * H);
  await j.visit('v_j3_Q_000001', [page('/', Q, Q)], T0 + 2 * H);
  await j.visit('v_j3_Q_000001', [page('/newsletter', Q, Q, { n: 'newsletter_signup', f: 'newsletter', em: 'q@j3.test' })], T0 + 2 * H + 5 * M);
  await j.visit('v_j3_P_000001', [page('/pricing', P, null)], T0 + D);
  await j.visit('v_j3_S_000001', [page('/', email(T0 - 2 * D), null)], T0 + D + H);
  const R = paidSocial(T0 + D + 3 * H);
  await j.visit('v_j3_R_000001', [page('/', R, R)], T0 + D + 3 * H);
  await j.visit('v_j3_R_000001', [page('/pricing', R, R)], T0 + D + 3 * H + 10 * M);
  const E = email(T0 + 2 * D);
  await j.visit('v_j3_P_000001', [page('/pricing', P, E), page('/pricing', P, E, { n: 'identify', em: 'p@j3.test' })], T0 + 2 * D);
  await j.visit('v_j3_R_000001', [page('/', R, null)], T0 + 3 * D);
  j.clock.now = T0 + 5 * D + M;
  await postEvents(j, [
    { id: 'j3-p-demo', email: 'p@j3.test', name: 'demo_completed', at: iso(T0 + 3 * D) },
    { id: 'j3-p-won', email: 'p@j3.test', name: 'closed_won', at: iso(T0 + 4 * D) },
    { id: 'j3-u-demo', email: 'u@j3.test', name: 'demo_completed', at: iso(T0 + 5 * D) },
  ]);
  await j.visit('v_j3_W_000001', [page('/', organic(0), null, { ft: undefined })], T0 + 6 * D);
  await j.visit('v_j3_Q_000001', [page('/pricing', Q, null)], T0 + 7 * D + H);
  j.clock.now = T0 + 8 * D;
  return j;
}

let shared: Promise<Journey> | undefined;
const week = () => (shared ??= makeJourneyApp({ engine }).then(fillWeek));
afterAll(async () => {
  if (shared) await (await shared).close();
});

type Stage = { stage: string; count: number; entered: number; reached: number; conversionNext: number | null; conversionCumulative: number | null; timeInStage: { p50: number | null; p90: number | null; n: number } };
type Report = { stages: Stage[]; breakdownBy: string | null; attribution: string | null; breakdown: Array<{ key: string; stages: Stage[] }> | null };
const funnel = async (j: Journey, qs: string): Promise<Report> => {
  const r = await answer(j, 'GET', `/api/funnel?${qs}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};
const col = (stages: Stage[], f: 'count' | 'entered' | 'reached' | 'conversionNext' | 'conversionCumulative') => stages.map((s) => s[f]);
const tis = (stages: Stage[]) => stages.map((s) => [s.timeInStage.n, s.timeInStage.p50, s.timeInStage.p90]);
const byKey = (r: Report) => Object.fromEntries(r.breakdown!.map((g) => [g.key, g.stages]));
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

describe('GET /api/funnel by channel, worked out by hand', () => {
  test('the week is what the comment says (profiles)', async () => {
    const j = await week();
    const now = { P: 'p@j3.test', Q: 'q@j3.test', R: 'v_j3_R_000001', S: 'v_j3_S_000001', U: 'u@j3.test', W: 'v_j3_W_000001' };
    const stages = Object.fromEntries(await Promise.all(Object.entries(now).map(async ([k, ref]) => [k, (await profile(j, ref)).stage])));
    expect(stages).toEqual({ P: 'purchase', Q: 'consideration', R: 'consideration', S: 'interest', U: 'evaluation', W: 'awareness' });
    const channels = Object.fromEntries(
      await Promise.all(Object.entries(now).map(async ([k, ref]) => {
        const p = await profile(j, ref);
        return [k, [p.firstTouch.channel ?? null, p.lastTouch.channel ?? null]];
      })),
    );
    expect(channels).toEqual({
      P: ['paid_search', 'email'], Q: ['organic_search', 'direct'], R: ['paid_social', 'direct'], S: ['email', 'direct'], U: [null, null], W: ['direct', 'direct'],
    });
    // the list, filtered as a sales tool does: P, Q and U gave an email; Q and R stand in consideration; nobody is an SQL
    const ids = Object.fromEntries(await Promise.all(Object.entries(now).map(async ([k, ref]) => [(await profile(j, ref)).leadId, k])));
    const list = async (qs: string) => {
      const r = await answer(j, 'GET', `/api/leads?order=id&limit=500&${qs}`);
      expect(r.status, qs).toBe(200);
      return (r.body.items as Array<{ leadId: string }>).map((l) => ids[l.leadId]).sort();
    };
    expect(await list('identified=true')).toEqual(['P', 'Q', 'U']);
    expect(await list('identified=0')).toEqual(['R', 'S', 'W']);
    expect(await list('stage=consideration')).toEqual(['Q', 'R']);
    expect(await list('stage=consideration&identified=false')).toEqual(['R']);
    expect(await list('sql=true')).toEqual([]);
    expect(await list('q=J3.TEST')).toEqual(['P', 'Q', 'U']);
    // one CRM event entered two stages at once: newest first, the stage it stands in above the one it passed through
    const crmOnly = (await timeline(j, 'u@j3.test', 'types=stage,event')).items;
    expect(crmOnly.map((i) => [Date.parse(i.at) - T0, i.kind, i.kind === 'stage' ? `${i.from}>${i.to}` : i.name])).toEqual([
      [5 * D, 'stage', 'awareness>evaluation'],
      [5 * D, 'stage', 'null>awareness'],
      [5 * D, 'event', 'demo_completed'],
    ]);
    // a form's event item names its form kind and page (contract §5)
    const signup = (await timeline(j, 'q@j3.test', 'types=newsletter_signup')).items;
    expect(signup.map((i) => [i.kind, i.name, i.form, i.visitorId, i.url])).toEqual([['event', 'newsletter_signup', 'newsletter', 'v_j3_Q_000001', 'http://127.0.0.1/newsletter']]);
  });

  test('totals: count now, entered in the period, reached by its cohort, conversions and nearest-rank times', async () => {
    const j = await week();
    const r = await funnel(j, PERIOD);
    expect(r.stages.map((s) => s.stage)).toEqual(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase']);
    // now: W aw; S in; Q, R co; U ev; P pu
    expect(col(r.stages, 'count')).toEqual([1, 1, 2, 0, 1, 1]);
    // entries in [0, 7d): aw P Q R U W (S's was −2d); in P Q S; co P R (Q's is 7d1h); it P; ev P U; pu P
    expect(col(r.stages, 'entered')).toEqual([5, 3, 2, 1, 2, 1]);
    // cohort P Q R U W (S made before): reached = now in the stage or later (P pu, Q co, R co, U ev, W aw)
    expect(col(r.stages, 'reached')).toEqual([5, 4, 4, 2, 2, 1]);
    expect(col(r.stages, 'conversionNext')).toEqual([0.8, 1, 0.5, 1, 0.5, null]);
    expect(col(r.stages, 'conversionCumulative')).toEqual([1, 0.8, 0.8, 0.4, 0.4, 0.2]);
    // awareness: P 1d, Q 5m, R 10m, U 0 (W has not moved): n 4, p50 = 2nd of 4 = 5m, p90 = 4th = 1d
    // interest: P 0 (co at the same ms), Q 7d1h − 2h5m (moved on after the period); S has not moved
    // consideration: P 1d (R has not moved); intent P 1d; evaluation P 1d (U has not moved); purchase none
    const q = 7 * D + H - (2 * H + 5 * M);
    expect(tis(r.stages)).toEqual([[4, 5 * M, D], [2, 0, q], [1, D, D], [1, D, D], [1, D, D], [0, null, null]]);
  });

  test('first touch: each lead whole under the channel it first came from', async () => {
    const j = await week();
    const r = await funnel(j, `${PERIOD}&breakdown=channel&attribution=first`);
    expect([r.breakdownBy, r.attribution]).toEqual(['channel', 'first']);
    const g = byKey(r);
    expect(Object.keys(g).sort()).toEqual(['(none)', 'direct', 'email', 'organic_search', 'paid_search', 'paid_social']);
    expect(col(g.paid_search, 'count')).toEqual([0, 0, 0, 0, 0, 1]);
    expect(col(g.paid_search, 'entered')).toEqual([1, 1, 1, 1, 1, 1]);
    expect(col(g.paid_search, 'reached')).toEqual([1, 1, 1, 1, 1, 1]);
    expect(col(g.paid_search, 'conversionNext')).toEqual([1, 1, 1, 1, 1, null]);
    expect(tis(g.paid_search)).toEqual([[1, D, D], [1, 0, 0], [1, D, D], [1, D, D], [1, D, D], [0, null, null]]);
    expect(col(g.organic_search, 'count')).toEqual([0, 0, 1, 0, 0, 0]);
    expect(col(g.organic_search, 'entered')).toEqual([1, 1, 0, 0, 0, 0]);
    expect(col(g.organic_search, 'reached')).toEqual([1, 1, 1, 0, 0, 0]);
    expect(col(g.organic_search, 'conversionNext')).toEqual([1, 1, 0, null, null, null]);
    expect(col(g.organic_search, 'conversionCumulative')).toEqual([1, 1, 1, 0, 0, 0]);
    const q = 7 * D + H - (2 * H + 5 * M);
    expect(tis(g.organic_search)).toEqual([[1, 5 * M, 5 * M], [1, q, q], [0, null, null], [0, null, null], [0, null, null], [0, null, null]]);
    expect(col(g.paid_social, 'count')).toEqual([0, 0, 1, 0, 0, 0]);
    expect(col(g.paid_social, 'entered')).toEqual([1, 0, 1, 0, 0, 0]);
    expect(col(g.paid_social, 'reached')).toEqual([1, 1, 1, 0, 0, 0]);
    expect(tis(g.paid_social)[0]).toEqual([1, 10 * M, 10 * M]);
    // S was made before the period: counted now and by its entry into interest, in no cohort
    expect(col(g.email, 'count')).toEqual([0, 1, 0, 0, 0, 0]);
    expect(col(g.email, 'entered')).toEqual([0, 1, 0, 0, 0, 0]);
    expect(col(g.email, 'reached')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(col(g.email, 'conversionNext')).toEqual([null, null, null, null, null, null]);
    expect(col(g.email, 'conversionCumulative')).toEqual([null, null, null, null, null, null]);
    expect(col(g['(none)'], 'count')).toEqual([0, 0, 0, 0, 1, 0]);
    expect(col(g['(none)'], 'entered')).toEqual([1, 0, 0, 0, 1, 0]);
    expect(col(g['(none)'], 'reached')).toEqual([1, 1, 1, 1, 1, 0]);
    expect(col(g['(none)'], 'conversionNext')).toEqual([1, 1, 1, 1, 0, null]);
    expect(tis(g['(none)'])[0]).toEqual([1, 0, 0]);
    expect(col(g.direct, 'count')).toEqual([1, 0, 0, 0, 0, 0]);
    expect(col(g.direct, 'entered')).toEqual([1, 0, 0, 0, 0, 0]);
    expect(col(g.direct, 'reached')).toEqual([1, 0, 0, 0, 0, 0]);
    expect(col(g.direct, 'conversionNext')).toEqual([0, null, null, null, null, null]);
  });

  test('last touch: P under email, Q, R, S and W under direct', async () => {
    const j = await week();
    const g = byKey(await funnel(j, `${PERIOD}&breakdown=channel&attribution=last`));
    expect(Object.keys(g).sort()).toEqual(['(none)', 'direct', 'email']);
    expect(col(g.email, 'count')).toEqual([0, 0, 0, 0, 0, 1]);
    expect(col(g.email, 'entered')).toEqual([1, 1, 1, 1, 1, 1]);
    expect(col(g.email, 'reached')).toEqual([1, 1, 1, 1, 1, 1]);
    // direct: now W aw, S in, Q and R co; entries aw Q R W, in Q S, co R; cohort Q R W
    expect(col(g.direct, 'count')).toEqual([1, 1, 2, 0, 0, 0]);
    expect(col(g.direct, 'entered')).toEqual([3, 2, 1, 0, 0, 0]);
    expect(col(g.direct, 'reached')).toEqual([3, 2, 2, 0, 0, 0]);
    expect(col(g.direct, 'conversionNext')).toEqual([r4(2 / 3), 1, 0, null, null, null]);
    expect(col(g.direct, 'conversionCumulative')).toEqual([1, r4(2 / 3), r4(2 / 3), 0, 0, 0]);
    // awareness Q 5m, R 10m: p50 = 1st of 2, p90 = 2nd; interest Q only (S has not moved)
    const q = 7 * D + H - (2 * H + 5 * M);
    expect(tis(g.direct)).toEqual([[2, 5 * M, 10 * M], [1, q, q], [0, null, null], [0, null, null], [0, null, null], [0, null, null]]);
    expect(col(g['(none)'], 'entered')).toEqual([1, 0, 0, 0, 1, 0]);
  });

  test('linear: each lead split over its sessions, thirds rounded so every stage adds up', async () => {
    const j = await week();
    const r = await funnel(j, `${PERIOD}&breakdown=channel&attribution=linear`);
    const g = byKey(r);
    expect(Object.keys(g).sort()).toEqual(['(none)', 'direct', 'email', 'organic_search', 'paid_search', 'paid_social']);
    // Shares: paid_search P⅓; direct P⅓ Q½ R½ S½ W1; email P⅓ S½; organic_search Q½; paid_social R½; (none) U1.
    // A stage's thirds floor to 0.3333 and the unit lost goes to the largest remainder, ties to the key that sorts
    // first: direct (before email and paid_search).
    // count: aw W; in S; co Q R; it —; ev U; pu P
    expect(col(g.direct, 'count')).toEqual([1, 0.5, 1, 0, 0, 0.3334]);
    expect(col(g.email, 'count')).toEqual([0, 0.5, 0, 0, 0, 0.3333]);
    expect(col(g.paid_search, 'count')).toEqual([0, 0, 0, 0, 0, 0.3333]);
    expect(col(g.organic_search, 'count')).toEqual([0, 0, 0.5, 0, 0, 0]);
    expect(col(g.paid_social, 'count')).toEqual([0, 0, 0.5, 0, 0, 0]);
    expect(col(g['(none)'], 'count')).toEqual([0, 0, 0, 0, 1, 0]);
    // entered: aw P Q R U W; in P Q S; co P R; it P; ev P U; pu P
    //   direct aw ⅓+½+½+1 = 7/3, in ⅓+½+½ = 4/3, co ⅓+½ = 5/6, it/ev/pu ⅓; email in ⅓+½ = 5/6
    expect(col(g.direct, 'entered')).toEqual([2.3334, 1.3334, 0.8334, 0.3334, 0.3334, 0.3334]);
    expect(col(g.email, 'entered')).toEqual([0.3333, 0.8333, 0.3333, 0.3333, 0.3333, 0.3333]);
    expect(col(g.paid_search, 'entered')).toEqual([0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333]);
    expect(col(g.organic_search, 'entered')).toEqual([0.5, 0.5, 0, 0, 0, 0]);
    expect(col(g.paid_social, 'entered')).toEqual([0.5, 0, 0.5, 0, 0, 0]);
    expect(col(g['(none)'], 'entered')).toEqual([1, 0, 0, 0, 1, 0]);
    // reached (cohort P Q R U W): direct aw 7/3, in/co ⅓+½+½ = 4/3, it/ev/pu ⅓
    expect(col(g.direct, 'reached')).toEqual([2.3334, 1.3334, 1.3334, 0.3334, 0.3334, 0.3334]);
    expect(col(g.email, 'reached')).toEqual([0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333]);
    expect(col(g.paid_search, 'reached')).toEqual([0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333]);
    expect(col(g.organic_search, 'reached')).toEqual([0.5, 0.5, 0.5, 0, 0, 0]);
    expect(col(g.paid_social, 'reached')).toEqual([0.5, 0.5, 0.5, 0, 0, 0]);
    expect(col(g['(none)'], 'reached')).toEqual([1, 1, 1, 1, 1, 0]);
    // every stage's groups add up to the totals
    for (const f of ['count', 'entered', 'reached'] as const) {
      r.stages.forEach((s, i) => expect(r.breakdown!.reduce((n, b) => n + Math.round(b.stages[i][f] * 10_000), 0) / 10_000, `${f} ${s.stage}`).toBe(s[f]));
    }
    // conversions are ratios of the exact figures: direct aw→in (4/3)/(7/3) = 4/7, co→it (⅓)/(4/3) = ¼
    expect(col(g.direct, 'conversionNext')).toEqual([r4(4 / 7), 1, 0.25, 1, 1, null]);
    expect(col(g.direct, 'conversionCumulative')).toEqual([1, r4(4 / 7), r4(4 / 7), r4(1 / 7), r4(1 / 7), r4(1 / 7)]);
    expect(col(g.organic_search, 'conversionNext')).toEqual([1, 1, 0, null, null, null]);
    // a time in stage counts whole under every key of its lead: direct aw P 1d, Q 5m, R 10m → p50 10m, p90 1d
    const q = 7 * D + H - (2 * H + 5 * M);
    expect(tis(g.direct)).toEqual([[3, 10 * M, D], [2, 0, q], [1, D, D], [1, D, D], [1, D, D], [0, null, null]]);
    expect(tis(g.email)).toEqual([[1, D, D], [1, 0, 0], [1, D, D], [1, D, D], [1, D, D], [0, null, null]]);
    expect(tis(g.organic_search).slice(0, 2)).toEqual([[1, 5 * M, 5 * M], [1, q, q]]);
    expect(tis(g['(none)'])[0]).toEqual([1, 0, 0]);
  });
});

describe('GET /api/funnel over many periods, against the week written out by hand', () => {
  /** The comment above fillWeek as data (times after T0): creation, touches, stage now, every stage entry. */
  const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];
  const LEADS = [
    { created: 0, ft: 'paid_search', lt: 'email', now: 'purchase', entries: [['awareness', 0], ['interest', D], ['consideration', D], ['intent', 2 * D], ['evaluation', 3 * D], ['purchase', 4 * D]] },
    { created: 2 * H, ft: 'organic_search', lt: 'direct', now: 'consideration', entries: [['awareness', 2 * H], ['interest', 2 * H + 5 * M], ['consideration', 7 * D + H]] },
    { created: D + 3 * H, ft: 'paid_social', lt: 'direct', now: 'consideration', entries: [['awareness', D + 3 * H], ['consideration', D + 3 * H + 10 * M]] },
    { created: -2 * D, ft: 'email', lt: 'direct', now: 'interest', entries: [['awareness', -2 * D], ['interest', D + H]] },
    { created: 5 * D, ft: '(none)', lt: '(none)', now: 'evaluation', entries: [['awareness', 5 * D], ['evaluation', 5 * D]] },
    { created: 6 * D, ft: 'direct', lt: 'direct', now: 'awareness', entries: [['awareness', 6 * D]] },
  ] as Array<{ created: number; ft: string; lt: string; now: string; entries: Array<[string, number]> }>;
  const nearest = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.ceil(p * xs.length) - 1] : null);
  /** The README's definitions applied to some of the leads, for [from, to) (ms after T0). */
  function expected(leads: typeof LEADS, from: number, to: number) {
    const rank = (s: string) => STAGES.indexOf(s);
    const cohort = leads.filter((l) => l.created >= from && l.created < to);
    const reached = STAGES.map((s) => cohort.filter((l) => rank(l.now) >= rank(s)).length);
    return STAGES.map((stage, i) => {
      const times = leads.flatMap((l) => {
        const k = l.entries.findIndex(([s, at]) => s === stage && at >= from && at < to);
        return k >= 0 && k + 1 < l.entries.length ? [l.entries[k + 1][1] - l.entries[k][1]] : [];
      });
      return {
        stage,
        count: leads.filter((l) => l.now === stage).length,
        entered: leads.flatMap((l) => l.entries).filter(([s, at]) => s === stage && at >= from && at < to).length,
        reached: reached[i],
        conversionNext: i + 1 < STAGES.length && reached[i] > 0 ? r4(reached[i + 1] / reached[i]) : null,
        conversionCumulative: reached[0] > 0 ? r4(reached[i] / reached[0]) : null,
        timeInStage: { p50: nearest(times, 0.5), p90: nearest(times, 0.9), n: times.length },
      };
    });
  }

  /** Linear shares in sixths (a lead's shares add up to 6): P ⅓ each of three sessions, Q R S ½ each of two, U and W whole. */
  const SIXTHS: Array<Record<string, number>> = [
    { paid_search: 2, direct: 2, email: 2 },
    { organic_search: 3, direct: 3 },
    { paid_social: 3, direct: 3 },
    { email: 3, direct: 3 },
    { '(none)': 6 },
    { direct: 6 },
  ];
  /**
   * README: each group's exact figure floored to 0.0001, the units lost to the largest remainders, ties to the key that
   * sorts first. `exact` holds each key's figure in sixths.
   */
  function apportion(exact: Record<string, number>): Record<string, number> {
    const keys = Object.keys(exact).sort();
    // in integers: ten-thousandths are exact[k] * 10000 / 6, a remainder is (exact[k] * 10000) mod 6
    const floors = keys.map((k) => Math.floor((exact[k] * 10_000) / 6));
    const rest = keys.map((k) => (exact[k] * 10_000) % 6);
    let lost = (keys.reduce((n, k) => n + exact[k], 0) * 10_000) / 6 - floors.reduce((a, b) => a + b, 0);
    const order = keys.map((_, i) => i).sort((a, b) => rest[b] - rest[a] || a - b);
    for (const i of order) if (lost-- > 0) floors[i]++;
    return Object.fromEntries(keys.map((k, i) => [k, floors[i] / 10_000]));
  }

  test('40 periods, linear: every stage count and entries split by sixths and rounded to add up; conversions of the exact figures; times whole under every key', async () => {
    const j = await week();
    const keys = [...new Set(SIXTHS.flatMap((s) => Object.keys(s)))].sort();
    const midnight = Date.UTC(2025, 0, 6) - T0;
    const instants = [...Array.from({ length: 12 }, (_, k) => midnight + (k - 3) * D), ...LEADS.flatMap((l) => l.entries.map(([, at]) => at)).flatMap((at) => [at - 1, at, at + 1])];
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = () => instants[Math.floor(random() * instants.length)];
    const rank = (s: string) => STAGES.indexOf(s);
    for (let round = 0; round < 40; round++) {
      let [from, to] = [pick(), pick()];
      if (from === to) continue;
      if (from > to) [from, to] = [to, from];
      const qs = `from=${T0 + from}&to=${T0 + to}&breakdown=channel&attribution=linear`;
      const g = byKey(await funnel(j, qs));
      expect(Object.keys(g).sort(), qs).toEqual(keys);
      STAGES.forEach((stage, i) => {
        const sum = (f: (l: (typeof LEADS)[number]) => boolean) =>
          Object.fromEntries(keys.map((k) => [k, LEADS.reduce((n, l, li) => n + (f(l) ? SIXTHS[li][k] ?? 0 : 0), 0)]));
        const count = apportion(sum((l) => l.now === stage));
        const entered = apportion(sum((l) => l.entries.some(([s, at]) => s === stage && at >= from && at < to)));
        const inCohort = (l: (typeof LEADS)[number]) => l.created >= from && l.created < to;
        const reachedOf = (k: number) => sum((l) => inCohort(l) && rank(l.now) >= k);
        const here = reachedOf(i);
        const next = i + 1 < STAGES.length ? reachedOf(i + 1) : null;
        const first = reachedOf(0);
        for (const k of keys) {
          const got = g[k][i];
          const label = `${qs} ${k} ${stage}`;
          expect([got.count, got.entered], label).toEqual([count[k], entered[k]]);
          expect(got.conversionNext, label).toBe(next && here[k] > 0 ? r4(next[k] / here[k]) : null);
          expect(got.conversionCumulative, label).toBe(first[k] > 0 ? r4(here[k] / first[k]) : null);
          const times = LEADS.flatMap((l, li) => {
            if (!SIXTHS[li][k]) return [];
            const e = l.entries.findIndex(([s, at]) => s === stage && at >= from && at < to);
            return e >= 0 && e + 1 < l.entries.length ? [l.entries[e + 1][1] - l.entries[e][1]] : [];
          });
          expect(got.timeInStage, label).toEqual({ p50: nearest(times, 0.5), p90: nearest(times, 0.9), n: times.length });
        }
      });
    }
  });

  test('60 periods cut at UTC midnights, at entries and a millisecond either side: totals, first- and last-touch channels', async () => {
    const j = await week();
    const midnight = Date.UTC(2025, 0, 6) - T0; // −9h
    const instants = [
      ...Array.from({ length: 12 }, (_, k) => midnight + (k - 3) * D),
      ...LEADS.flatMap((l) => l.entries.map(([, at]) => at)).flatMap((at) => [at - 1, at, at + 1]),
    ];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = () => instants[Math.floor(random() * instants.length)];
    for (let round = 0; round < 60; round++) {
      let [from, to] = [pick(), pick()];
      if (from === to) continue;
      if (from > to) [from, to] = [to, from];
      const qs = `from=${T0 + from}&to=${T0 + to}`;
      const plain = await funnel(j, qs);
      expect(plain.stages, `${qs} (${from}..${to})`).toEqual(expected(LEADS, from, to));
      for (const touch of ['first', 'last'] as const) {
        const r = await funnel(j, `${qs}&breakdown=channel&attribution=${touch}`);
        const keys = [...new Set(LEADS.map((l) => (touch === 'first' ? l.ft : l.lt)))].sort();
        expect(r.breakdown!.map((g) => g.key).sort(), `${qs} ${touch}`).toEqual(keys);
        for (const g of r.breakdown!) {
          const mine = LEADS.filter((l) => (touch === 'first' ? l.ft : l.lt) === g.key);
          expect(g.stages, `${qs} ${touch} ${g.key}`).toEqual(expected(mine, from, to));
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Refs as a CRM writes them
// ---------------------------------------------------------------------------------------------------------------------

describe('GET /api/leads/{ref}: refs as a CRM writes them', () => {
  test('a plus address at an international domain: any case, either spelling of the domain, encoded or not, names its lead and no other', async () => {
    const j = await open();
    // two leads: plus addressing is kept (README: `anna+crm@acme.com` is another lead than `anna@acme.com`)
    const plus = (await postEvents(j, { email: 'Anna+CRM@Bücher.example', name: 'crm_sync' })).events[0].leadId as string;
    const bare = (await postEvents(j, { email: 'anna@bücher.example', name: 'crm_sync' })).events[0].leadId as string;
    expect(plus).not.toBe(bare);
    const plusRefs = [
      '/api/leads/anna+crm@bücher.example', // a + in a path is a +, never a space
      '/api/leads/ANNA+CRM@B%C3%BCCHER.EXAMPLE',
      '/api/leads/anna%2Bcrm%40xn--bcher-kva.example', // the browser's spelling, every reserved character encoded
      '/api/leads/Anna+Crm@XN--BCHER-KVA.example',
      '/api/leads/%61nna%2bcrm%40b%c3%bccher.example', // lower-case hex, an unreserved letter encoded
      '/api/leads/%20anna+crm@bücher.example%20', // spaces around it, as pasted from a CRM field
    ];
    for (const path of plusRefs) {
      for (const suffix of ['', '/timeline?limit=1']) {
        const r = await answer(j, 'GET', path + suffix, { doc: suffix ? '/api/leads/{ref}/timeline' : '/api/leads/{ref}' });
        expect(r.status, path + suffix).toBe(200);
        expect(r.body.leadId, path + suffix).toBe(plus);
      }
    }
    for (const path of ['/api/leads/anna@B%C3%9CCHER.example', '/api/leads/anna%40xn--bcher-kva.example']) {
      expect((await answer(j, 'GET', path, { doc: '/api/leads/{ref}' })).body.leadId, path).toBe(bare);
    }
    // a space where the + was (a client that form-encoded the path) is no email: 400, not another lead
    expect((await answer(j, 'GET', '/api/leads/anna%20crm@bücher.example', { doc: '/api/leads/{ref}' })).status).toBe(400);
    // a + encoded twice is the text "%2B": nobody
    expect((await answer(j, 'GET', '/api/leads/anna%252Bcrm@bücher.example', { doc: '/api/leads/{ref}' })).status).toBe(404);
    // the list finds both by the domain in either spelling, the plus address alone by its local part
    const list = async (q: string) => ((await answer(j, 'GET', `/api/leads?order=id&q=${q}`)).body.items as Array<{ leadId: string }>).map((l) => l.leadId).sort();
    expect(await list('xn--bcher-kva.example')).toEqual([plus, bare].sort());
    expect(await list('ANNA%2BCRM')).toEqual([plus]);
    expect(await list('anna+crm')).toEqual([plus]); // a raw + arrives as a space, read as the +
    // erasure by the browser's spelling, upper case, erases that lead alone
    const erased = await answer(j, 'DELETE', '/api/leads/ANNA%2BCRM%40XN--BCHER-KVA.EXAMPLE', { doc: '/api/leads/{ref}' });
    expect([erased.status, erased.body.leadId]).toEqual([200, plus]);
    expect((await answer(j, 'GET', '/api/leads/anna+crm@bücher.example', { doc: '/api/leads/{ref}' })).status).toBe(404);
    expect((await profile(j, 'Anna@Bücher.Example')).leadId).toBe(bare);
  });

  // POST /api/events takes a `visitorId` of letters, digits and `_ . : @ -` (README, the route's `id` rule; the
  // answer is 202): a CRM that keys people by its own contact id (`contact@4711`, `jane.doe@crm`) makes a lead for that
  // visitor id. Contract §5: `ref` is a lead id, a visitor id or an email; every lead route must find that lead by the
  // very id the CRM sent, although it holds an `@`.
  test('a visitorId holding an @, accepted by POST /api/events, names its lead on every lead route', async () => {
    const j = await open();
    const made = await postEvents(j, { visitorId: 'contact@4711', name: 'demo_completed' });
    const leadId = made.events[0].leadId as string;
    const identified = await postEvents(j, { visitorId: 'Jane.Doe@crm', email: 'jane@j3.test', name: 'crm_sync' });
    const jane = identified.events[0].leadId as string;
    for (const [ref, lead] of [['contact@4711', leadId], ['contact%404711', leadId], ['Jane.Doe@crm', jane]] as const) {
      const p = await answer(j, 'GET', `/api/leads/${ref}`, { doc: '/api/leads/{ref}' });
      expect(p.status, `${ref}: ${JSON.stringify(p.body)}`).toBe(200);
      expect(p.body.leadId, ref).toBe(lead);
      const t = await answer(j, 'GET', `/api/leads/${ref}/timeline`, { doc: '/api/leads/{ref}/timeline' });
      expect(t.status, ref).toBe(200);
      expect(t.body.leadId, ref).toBe(lead);
    }
    const contact = await profile(j, 'contact@4711');
    expect([contact.stage, contact.email, contact.visitorIds]).toEqual(['evaluation', null, ['contact@4711']]);
    expect((await timeline(j, 'contact@4711', 'types=event')).items.map((i) => [i.name, i.visitorId])).toEqual([['demo_completed', 'contact@4711']]);
    // the email still comes first: jane's email names jane, and an email nobody has is a 404 as before
    expect((await profile(j, 'jane@j3.test')).leadId).toBe(jane);
    expect((await answer(j, 'GET', '/api/leads/nobody@j3.test', { doc: '/api/leads/{ref}' })).status).toBe(404);
    // and erasure reaches it by that id too
    const erased = await answer(j, 'DELETE', '/api/leads/contact@4711', { doc: '/api/leads/{ref}' });
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(erased.body.leadId).toBe(leadId);
    expect((await answer(j, 'GET', '/api/leads/contact@4711', { doc: '/api/leads/{ref}' })).status).toBe(404);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Site B's key on every route, against site A's data
// ---------------------------------------------------------------------------------------------------------------------

describe("a key of site B on every route /openapi.json lists, against site A's data", () => {
  test("nothing of A is seen or changed, every answer's status is documented, and refs of A are B's 404s", async () => {
    const j = await open();
    // A: a lead of two devices (the phone's anonymous lead merged in), in a segment, a webhook, a CRM-only lead
    await j.visit('v_j3_a_laptop01', [{ path: '/pricing' }, { n: 'identify', em: 'ada@a-site.test' }], T0);
    await j.visit('v_j3_a_phone001', [{ path: '/' }], T0 + HOUR);
    const phoneLead = await j.leadOfVisitor('v_j3_a_phone001');
    await j.visit('v_j3_a_phone001', [{ n: 'identify', em: 'ada@a-site.test' }], T0 + 2 * HOUR);
    await postEvents(j, { email: 'cleo@a-site.test', name: 'closed_won', id: 'a-crm-1' });
    const ada = (await profile(j, 'ada@a-site.test')).leadId as string;
    const cleo = (await profile(j, 'cleo@a-site.test')).leadId as string;
    expect((await answer(j, 'PUT', '/api/segments/a_only_seg', { body: { definition: { identified: true } }, doc: '/api/segments/{key}' })).status).toBe(201);
    expect((await answer(j, 'PUT', '/api/webhooks/a_hook', { body: { url: 'http://127.0.0.1:9/a-secret-hook', events: ['stage.changed'] }, doc: '/api/webhooks/{id}' })).status).toBe(201);
    const aCursor = (await get(j, `/api/leads/${ada}/timeline?limit=1`)).nextCursor as string;
    const aListCursor = (await get(j, '/api/leads?limit=1')).nextCursor as string;
    /** What A's own key reads of A (and the rows behind it), to compare after B's walk. */
    const readA = async () => ({
      rows: await j.snapshot(),
      reads: await Promise.all(
        [
          '/api/leads?order=id&limit=500', `/api/leads/${ada}`, `/api/leads/${ada}/timeline?limit=500`, `/api/leads/${cleo}/timeline?limit=500`,
          `/api/funnel?from=${T0 - DAY}&to=${T0 + DAY}`, '/api/segments', '/api/segments/a_only_seg/members?format=json', '/api/webhooks/a_hook',
          '/api/config/funnel', '/api/rejected?limit=500',
        ].map((p) => get(j, p)),
      ),
    });
    const before = await readA();

    const siteB = await createSite(j.db, { domain: 'b-site.test' }, T0);
    const b = (await createKey(j.db, siteB.siteId, ['admin'], T0)).secret;
    // everything of A that B never sends: no answer to B may hold any of it
    const secretsOfA = [j.site.siteId, j.site.siteKey, 'a-secret-hook', 'ada@a-site.test', 'cleo@a-site.test', ada, cleo, phoneLead, 'v_j3_a_laptop01', 'v_j3_a_phone001', 'a_only_seg', 'a_hook', 'a-crm-1'];
    const refsOfA = [ada, cleo, phoneLead, 'ada@a-site.test', 'v_j3_a_phone001', `srv:${cleo}`];

    const doc = await docOf(j);
    const walked: string[] = [];
    let sentByB = '';
    // reads and deletes first: B's own PUTs make B's own things of the same names, which B then sees
    const operations = Object.entries<Record<string, unknown>>(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => [path, ops, m.toUpperCase()] as const))
      .sort((x, y) => Number(x[2] === 'PUT' || x[2] === 'POST') - Number(y[2] === 'PUT' || y[2] === 'POST'));
    for (const [path, ops, method] of operations) {
      {
        // one request per way of naming A's things in this operation
        const requests: Array<{ url: string; body?: unknown; headers?: Record<string, string> }> = [];
        const fill = (p: string, value: string) => p.replace(/\{[^}]+\}/, enc(value));
        if (path.includes('{ref}')) for (const ref of refsOfA) requests.push({ url: fill(path, ref) });
        else if (path.includes('{key}')) requests.push({ url: fill(path, 'a_only_seg') + (path.endsWith('members') ? '?format=json' : ''), body: method === 'PUT' ? { definition: { identified: false } } : undefined });
        else if (path.includes('{id}')) requests.push({ url: fill(path, 'a_hook'), body: method === 'PUT' ? { url: 'http://127.0.0.1:9/b-hook', events: ['lead.mql'] } : undefined });
        else if (path.includes('{visitorId}')) requests.push({ url: `${fill(path, 'v_j3_a_laptop01')}?site=${siteB.siteKey}`, headers: { origin: 'http://b-site.test' } });
        else if (path === '/api/events') {
          requests.push({ url: path, body: { leadId: ada, name: 'closed_won' } }, { url: path, body: { visitorId: `srv:${cleo}`, name: 'closed_won' } }, { url: path, body: { email: 'ada@a-site.test', name: 'closed_won', id: 'a-crm-1' } }, { url: path, body: { visitorId: 'v_j3_a_phone001', name: 'closed_won' } });
        } else if (path === '/api/leads') requests.push({ url: path }, { url: `${path}?q=a-site`, }, { url: `${path}?cursor=${aListCursor}&limit=1` }, { url: `${path}?segment=a_only_seg` });
        else if (path === '/api/config/funnel' && method === 'PUT') requests.push({ url: path, body: { ...before.reads[8], mqlThreshold: 1 } });
        else if (path === '/e') {
          requests.push({ url: path, body: { s: siteB.siteKey, v: 'v_j3_a_laptop01', e: [{ i: 'b-ev-00000001', n: 'pageview', t: T0, u: 'http://b-site.test/pricing' }] }, headers: { origin: 'http://b-site.test', 'content-type': 'text/plain;charset=UTF-8' } });
        } else requests.push({ url: path });
        for (const r of requests) {
          const headers: Record<string, string> = { ...j.auth, authorization: `Bearer ${b}`, ...r.headers };
          const res = await j.app.request(r.url, { method, headers, body: r.body === undefined ? undefined : JSON.stringify(r.body) });
          const text = await res.text();
          const label = `${method} ${r.url} ${r.body ? JSON.stringify(r.body) : ''} → ${res.status} ${text.slice(0, 200)}`;
          walked.push(label);
          expect((ops as any)[method.toLowerCase()].responses[String(res.status)], `${label}: status documented`).toBeDefined();
          expect(res.status, label).toBeLessThan(500);
          const documented = (ops as any)[method.toLowerCase()].responses[String(res.status)]?.content ?? {};
          const type = (res.headers.get('content-type') ?? '').split(';')[0];
          if (text) expect(Object.keys(documented), `${label}: content type documented`).toContain(type);
          if (type === 'application/json' && documented[type]?.schema) expect(validate(doc, documented[type].schema, JSON.parse(text)), label).toEqual([]);
          // what B sent itself may come back (its own rejected rows, its own lead of the same email), nothing else
          sentByB += decodeURIComponent(r.url) + JSON.stringify(r.body ?? '');
          for (const s of secretsOfA) if (!sentByB.includes(s)) expect(text.includes(s), `${label} shows ${s}`).toBe(false);
          // A's things named in the path are, to B, things that do not exist
          if (/\{(ref|key|id)\}/.test(path) && method !== 'PUT') expect(res.status, label).toBe(404);
        }
      }
    }
    expect(walked.length).toBeGreaterThan(30);
    // A's timeline cursor on a lead of B is B's 400, never a page
    const bLead = (await (await j.app.request('/api/leads/ada%40a-site.test', { headers: { authorization: `Bearer ${b}` } })).json()).leadId as string;
    expect(bLead).toBeDefined(); // B's own ada, made by B's server event above
    expect(bLead).not.toBe(ada);
    const cross = await j.app.request(`/api/leads/${bLead}/timeline?cursor=${aCursor}`, { headers: { authorization: `Bearer ${b}` } });
    expect(cross.status).toBe(400);
    // and A reads exactly what it read before
    // (the clock has not moved: decayed scores read the same)
    expect(await readA()).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// One lead's whole timeline, written out by hand
// ---------------------------------------------------------------------------------------------------------------------

describe("GET /api/leads/{ref}/timeline: a lead's whole story, item by item", () => {
  /**
   * No decay (halfLifeDays null) and no segments, so every score is a sum: the default rules give a pageview 2 per
   * session (`visit`), a second session 5 (`return_visit`), a pricing page 10 (`pricing_view`, once a day), demo_completed
   * 20 and proposal_sent 10 (server events).
   *   laptop  0      '/'                      awareness; visit +2 = 2
   *           1m     '/pricing'               consideration; pricing_view +10 = 12
   *           1m+1   identify ana@…           the laptop's anonymous lead becomes ana (identity: first_seen ends, identified)
   *   phone   2h     '/' (anonymous)          its own anonymous lead…
   *           2h1m   identify ana@…           …merges into ana: rebuilt, its page is ana's second session: visit +2 = 14,
   *                                           return_visit +5 = 19 (interest is below consideration: no stage item)
   *   CRM     1d     demo_completed (d1), proposal_sent (d2), one millisecond, applied in id order:
   *                                           evaluation; demo_completed +20 = 39; proposal_sent +10 = 49
   *   laptop  2d     '/pricing'               a new session: visit +2 = 51 (MQL), pricing_view +10 = 61 (intent is below)
   * Newest first; in one millisecond a consequence above its cause (segment, stage, score, identity, event), the awards
   * of one event in the reverse of the order applied, events of one millisecond by id, newest (greatest) first.
   */
  test('every item, in order, and the same items page by page at every limit', async () => {
    const j = await open();
    const config = await get(j, '/api/config/funnel');
    expect((await answer(j, 'PUT', '/api/config/funnel', { body: { ...config, halfLifeDays: null } })).status).toBe(200);
    for (const s of (await get(j, '/api/segments')).segments as Array<{ key: string }>) {
      expect((await answer(j, 'DELETE', `/api/segments/${s.key}`, { doc: '/api/segments/{key}' })).status).toBe(204);
    }
    const EM = 'ana@j3-story.test';
    await j.visit('v_j3_story_lap', [{ path: '/' }], T0);
    await j.visit('v_j3_story_lap', [{ path: '/pricing' }, { n: 'identify', em: EM }], T0 + MIN);
    await j.visit('v_j3_story_ph1', [{ path: '/' }], T0 + 2 * HOUR);
    await j.visit('v_j3_story_ph1', [{ n: 'identify', em: EM }], T0 + 2 * HOUR + MIN);
    j.clock.now = T0 + DAY + MIN;
    await postEvents(j, [
      { id: 'd2', email: EM, name: 'proposal_sent', at: iso(T0 + DAY) },
      { id: 'd1', email: EM, name: 'demo_completed', at: iso(T0 + DAY) },
    ]);
    await j.visit('v_j3_story_lap', [{ path: '/pricing' }], T0 + 2 * DAY);
    j.clock.now = T0 + 3 * DAY;

    const all = (await answer(j, 'GET', `/api/leads/${enc(EM)}/timeline?limit=500`, { doc: '/api/leads/{ref}/timeline' })).body;
    expect(all.nextCursor).toBeNull();
    const lap = 'v_j3_story_lap';
    const ph = 'v_j3_story_ph1';
    const line = (i: any): unknown[] => {
      const at = Date.parse(i.at) - T0;
      if (i.kind === 'event') return [at, 'event', i.name, i.visitorId, i.path ?? null];
      if (i.kind === 'score') return [at, 'score', i.rule, i.points, i.scoreAfter];
      if (i.kind === 'stage') return [at, 'stage', i.from, i.to];
      if (i.kind === 'identity') return [at, i.name, i.visitorId, i.reason, i.email];
      return [at, i.kind, i.name];
    };
    const srv = `srv:${(await profile(j, EM)).leadId}`;
    expect(all.items.map(line)).toEqual([
      [2 * DAY, 'score', 'pricing_view', 10, 61],
      [2 * DAY, 'score', 'visit', 2, 51],
      [2 * DAY, 'event', 'pageview', lap, '/pricing'],
      [DAY, 'stage', 'consideration', 'evaluation'],
      [DAY, 'score', 'proposal_sent', 10, 49],
      [DAY, 'score', 'demo_completed', 20, 39],
      [DAY, 'event', 'proposal_sent', srv, ''],
      [DAY, 'event', 'demo_completed', srv, ''],
      [2 * HOUR + MIN, 'identity_linked', ph, 'merged', EM],
      [2 * HOUR + MIN, 'identity_unlinked', ph, 'first_seen', null],
      [2 * HOUR + MIN, 'event', 'identify', ph, '/'],
      [2 * HOUR, 'score', 'return_visit', 5, 19],
      [2 * HOUR, 'score', 'visit', 2, 14],
      [2 * HOUR, 'identity_linked', ph, 'first_seen', null],
      [2 * HOUR, 'event', 'pageview', ph, '/'],
      [MIN + 1, 'identity_linked', lap, 'identified', EM],
      [MIN + 1, 'identity_unlinked', lap, 'first_seen', null],
      [MIN + 1, 'event', 'identify', lap, '/'],
      [MIN, 'stage', 'awareness', 'consideration'],
      [MIN, 'score', 'pricing_view', 10, 12],
      [MIN, 'event', 'pageview', lap, '/pricing'],
      [0, 'stage', null, 'awareness'],
      [0, 'score', 'visit', 2, 2],
      [0, 'identity_linked', lap, 'first_seen', null],
      [0, 'event', 'pageview', lap, '/'],
    ]);
    // the CRM's events are named srv:<id>, and the score and stage items name their event
    const byLine = (at: number, rule: string) => all.items.find((i: any) => Date.parse(i.at) - T0 === at && i.rule === rule);
    expect(all.items.filter((i: any) => i.kind === 'event' && i.source === 'server').map((i: any) => i.id)).toEqual(['srv:d2', 'srv:d1']);
    expect(byLine(DAY, 'demo_completed').eventId).toBe('srv:d1');
    expect(all.items.find((i: any) => i.kind === 'stage' && i.to === 'evaluation').eventId).toBe('srv:d1');
    const p = await profile(j, EM);
    expect([p.stage, p.score, p.mql, p.mqlAt, p.sql, p.visitorIds]).toEqual(['evaluation', 61, true, iso(T0 + 2 * DAY), false, [lap, ph].sort()]);

    // page by page, at every limit from 1 to 26 (one more than there are): the same items, once each, in order
    const want = all.items.map((i: any) => `${i.kind}:${i.id}`);
    for (let limit = 1; limit <= want.length + 1; limit++) {
      const got: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = (await answer(j, 'GET', `/api/leads/${enc(EM)}/timeline?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { doc: '/api/leads/{ref}/timeline' })).body;
        expect(page.items.length, `limit ${limit}`).toBeLessThanOrEqual(limit);
        if (page.nextCursor) expect(page.items.length, `limit ${limit}: a page before the last is full`).toBe(limit);
        got.push(...page.items.map((i: any) => `${i.kind}:${i.id}`));
        cursor = page.nextCursor;
      } while (cursor && got.length <= want.length);
      expect(got, `limit ${limit}`).toEqual(want);
    }
    // a cursor is its lead's: by any ref of that lead it goes on; on another lead of the site it is a 400
    const first = (await get(j, `/api/leads/${enc(EM)}/timeline?limit=3`)) as { nextCursor: string };
    const byDevice = (await get(j, `/api/leads/${ph}/timeline?limit=3&cursor=${first.nextCursor}`)) as { items: any[] };
    expect(byDevice.items.map((i) => `${i.kind}:${i.id}`)).toEqual(want.slice(3, 6));
    await j.visit('v_j3_story_other', [{ path: '/' }], T0 + 2 * DAY + HOUR);
    const other = await answer(j, 'GET', `/api/leads/v_j3_story_other/timeline?cursor=${first.nextCursor}`, { doc: '/api/leads/{ref}/timeline' });
    expect([other.status, other.body.error?.code]).toEqual([400, 'invalid_cursor']);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Statuses the lead routes really answer, against /openapi.json
// ---------------------------------------------------------------------------------------------------------------------

describe('the lead routes answer only what /openapi.json documents for them', () => {
  // README "HTTP API": a /api request body over 2 MiB gets 413 on every route but POST /api/events (1 MiB). A DELETE may
  // carry a body (a client library that always sends one), so DELETE /api/leads/{ref} answers 413 to one over the
  // ceiling: the document must list it, as it does for the PUTs.
  test('DELETE /api/leads/{ref} with a body over 2 MiB: 413, documented, and the lead is not erased', async () => {
    const j = await open();
    await postEvents(j, { email: 'big-body@j3.test', name: 'crm_sync' });
    const r = await answer(j, 'DELETE', `/api/leads/${enc('big-body@j3.test')}`, { body: { pad: 'x'.repeat(2 * 1024 * 1024 + 1) }, doc: '/api/leads/{ref}' });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect((await profile(j, 'big-body@j3.test')).email).toBe('big-body@j3.test');
  });

  test('the other DELETEs with a body over 2 MiB (a segment, a webhook): 413, documented', async () => {
    const j = await open();
    for (const [path, doc] of [['/api/segments/nobody_j3', '/api/segments/{key}'], ['/api/webhooks/wh_nobody', '/api/webhooks/{id}']]) {
      const r = await answer(j, 'DELETE', path, { body: { pad: 'x'.repeat(2 * 1024 * 1024 + 1) }, doc });
      expect([path, r.status, r.body.error.code]).toEqual([path, 413, 'payload_too_large']);
    }
  });

  test('refusals of the read routes, each documented with the error shape', async () => {
    const j = await open();
    await postEvents(j, { email: 'refusals@j3.test', name: 'crm_sync' });
    const cases: Array<[string, number, string]> = [
      ['/api/leads?limit=0', 400, '/api/leads'],
      ['/api/leads?limit=1.5', 400, '/api/leads'],
      ['/api/leads?limit=-1', 400, '/api/leads'],
      ['/api/leads?order=newest', 400, '/api/leads'],
      ['/api/leads?stage=won', 400, '/api/leads'],
      ['/api/leads?segment=nobody_has_it', 404, '/api/leads'],
      ['/api/leads?mql=yes', 400, '/api/leads'],
      ['/api/leads?cursor=not-a-cursor', 400, '/api/leads'],
      [`/api/leads/${'x'.repeat(321)}`, 400, '/api/leads/{ref}'],
      ['/api/leads/a%5Cb', 400, '/api/leads/{ref}'],
      ['/api/leads/nobody%40j3.test', 404, '/api/leads/{ref}'],
      ['/api/leads/refusals%40j3.test/timeline?limit=0', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?from=2025-02-29', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?to=2025-04-31T00:00:00Z', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?from=2025-01-07&to=2025-01-07', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?from=2025-01-08&to=2025-01-07', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?from=tomorrow', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?from=-1', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?to=8640000000000001', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?types=pageview,a%2Cb', 200, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?types=bad%3Bname', 400, '/api/leads/{ref}/timeline'],
      ['/api/leads/refusals%40j3.test/timeline?cursor=WzEsMiwiYSIsImIiXQ', 400, '/api/leads/{ref}/timeline'],
      ['/api/funnel?from=2025-02-30', 400, '/api/funnel'],
      ['/api/funnel?attribution=linear', 400, '/api/funnel'],
      ['/api/funnel?breakdown=country', 400, '/api/funnel'],
      ['/api/funnel?from=2025-01-07&to=2025-01-07T00:00:00Z', 400, '/api/funnel'],
    ];
    for (const [path, status, doc] of cases) {
      const r = await answer(j, 'GET', path, { doc });
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(status);
      if (status >= 400) expect(Object.keys(r.body.error).sort(), path).toEqual(['code', 'message']);
    }
  });
});
