// lead.mql is told at most once per lead (README "Scores"): the lead row keeps the mark of the MQL it announced
// (`leads.mql_announced_at`), which rebuilds keep, a merge carries and erasure removes with the lead. The profile's
// `mql`/`mqlAt` follow the rules over the history in time order (what a replay gives, what the score items explain),
// so a rebuild may take them away; the mark only decides what the CRM is told.
// Real HTTP (app.request) on a real database (PostgreSQL with TEST_ENGINE=pg); every figure worked out by hand from the
// rules below, the arithmetic in comments.
import { describe, expect, test } from 'vitest';
import { iso, postEvents, profile, putConfig, scoreItems, useJourneys, type Journey } from '../helpers/journey-api.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { replaySite } from '../../collector/funnel/replay.js';

const { open } = useJourneys();

/** Any event: seen; a second visit: back. -10 for a careers page, 5 points a visit; MQL at 8; no decay. */
const RULES = {
  stages: ['seen', 'back', 'buyer'],
  stageRules: [
    { id: 'seen', stage: 'seen', when: {} },
    { id: 'second_visit', stage: 'back', when: { event: 'pageview', sessions: 2 } },
    { id: 'won', stage: 'buyer', when: { event: 'closed_won', source: 'server' } },
  ],
  scoreRules: [
    // listed first, so a careers page that opens a visit takes its 10 off before the visit's 5 is added
    { id: 'careers', points: -10, when: { event: 'pageview', path: '/careers*' } },
    { id: 'visit', points: 5, when: { event: 'pageview' }, window: 'session' },
  ],
  halfLifeDays: null,
  mqlThreshold: 8,
  sqlWhen: [{ event: 'sales_accepted', source: 'server' }],
};

/** A webhook for every type (to a closed port: deliveries are only queued). */
async function hookAll(j: Journey) {
  const events = ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'];
  const res = await j.app.request('/api/webhooks/crm', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events }), headers: j.auth });
  expect(res.status).toBe(201);
}
/** Every lead.mql queued for the site: [leadId, email, at − T0, score, threshold]. */
const mqlsSent = async (j: Journey) =>
  (await j.db.all<{ payload: string }>("SELECT payload FROM webhook_deliveries WHERE site_id = ? AND event_type = 'lead.mql' ORDER BY created_at, delivery_id", [j.site.siteId]))
    .map((d) => JSON.parse(d.payload).data)
    .map((d) => [d.leadId, d.email, Date.parse(d.at) - T0, d.score, d.threshold]);
/** The lead's stored mark (ms after T0), or null. */
const mark = async (j: Journey, leadId: string) => {
  const r = await j.db.get<{ m: number | string | null }>('SELECT mql_announced_at AS m FROM leads WHERE site_id = ? AND lead_id = ?', [j.site.siteId, leadId]);
  return r?.m == null ? null : Number(r.m) - T0;
};

describe('a rebuild takes the crossing away', () => {
  test('the profile follows time order, the mark stays, and the crossing that comes again tells the CRM nothing', async () => {
    const j = await open();
    expect((await putConfig(j, RULES)).status).toBe(200);
    await hookAll(j);
    // T0: a page and an identify: visit +5 (5); T0+32m, a second visit: +5 (10 ≥ 8): MQL, lead.mql at T0+32m
    await j.visit('v_mql_lapt01', [{ path: '/' }, { n: 'identify', em: 'mia@mike.test' }], T0);
    await j.visit('v_mql_lapt01', [{ path: '/' }], T0 + 32 * MIN);
    const mia = await profile(j, 'mia@mike.test');
    expect(mia).toMatchObject({ score: 10, mql: true, mqlAt: iso(T0 + 32 * MIN) });
    expect(await mqlsSent(j)).toEqual([[mia.leadId, 'mia@mike.test', 32 * MIN, 10, 8]]);
    expect(await mark(j, mia.leadId)).toBe(32 * MIN);

    // the page of T0+14m arrives late: the two visits are one (README "Sessions"), one visit award: 5, under the bar.
    // In time order the lead never crossed: the profile says so (as a replay would), the mark stays
    await j.visit('v_mql_lapt01', [{ path: '/' }], T0 + 14 * MIN);
    expect(await profile(j, mia.leadId)).toMatchObject({ score: 5, mql: false, mqlAt: null });
    expect(await scoreItems(j, mia.leadId)).toEqual([['visit', 5, 0]]);
    expect(await mark(j, mia.leadId)).toBe(32 * MIN);
    const snap = await j.snapshot();
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(await j.snapshot()).toEqual(snap);
    expect(await mark(j, mia.leadId)).toBe(32 * MIN);

    // T0+2h, a real second visit: +5 (10): an MQL again, at T0+2h; the CRM heard lead.mql already: nothing queued
    await j.visit('v_mql_lapt01', [{ path: '/' }], T0 + 2 * HOUR);
    expect(await profile(j, mia.leadId)).toMatchObject({ score: 10, mql: true, mqlAt: iso(T0 + 2 * HOUR) });
    expect(await mark(j, mia.leadId)).toBe(32 * MIN);
    // a replay that notifies (history told again) tells no lead.mql either
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now, notify: true });
    expect(await mqlsSent(j)).toEqual([[mia.leadId, 'mia@mike.test', 32 * MIN, 10, 8]]);
  });

  test('a lead that crossed in its first flush keeps the mark written with its row', async () => {
    const j = await open();
    expect((await putConfig(j, { ...RULES, mqlThreshold: 5 })).status).toBe(200);
    await hookAll(j);
    // a new anonymous visitor's first page: +5 (5 ≥ 5): MQL at T0, told with the lead's first write
    await j.visit('v_mql_anon01', [{ path: '/' }], T0);
    const lead = await j.leadOfVisitor('v_mql_anon01');
    expect(await mqlsSent(j)).toEqual([[lead, null, 0, 5, 5]]);
    expect(await mark(j, lead)).toBe(0);
    // a careers page of T0−1m arrives late, in the same visit: T0−1m careers −10, visit +5 (−5); never 5: no MQL
    await j.visit('v_mql_anon01', [{ path: '/careers' }], T0 - MIN);
    expect(await profile(j, lead)).toMatchObject({ score: -5, mql: false, mqlAt: null });
    // T0+1h, T0+2h, T0+3h: three visits +5 each (0, 5, 10): an MQL again at T0+2h; nothing more told
    for (const h of [1, 2, 3]) await j.visit('v_mql_anon01', [{ path: '/' }], T0 + h * HOUR);
    expect(await profile(j, lead)).toMatchObject({ score: 10, mql: true, mqlAt: iso(T0 + 2 * HOUR) });
    expect(await mqlsSent(j)).toEqual([[lead, null, 0, 5, 5]]);
  });
});

describe('a merge of two leads where one announced', () => {
  test('the survivor announced: the merged device\'s careers page takes its MQL away, and its next crossing tells nothing', async () => {
    const j = await open();
    expect((await putConfig(j, RULES)).status).toBe(200);
    await hookAll(j);
    // the laptop: T0 +5 (5), T0+1h +5 (10): MQL at T0+1h, told
    await j.visit('v_mrg_lapt01', [{ path: '/' }, { n: 'identify', em: 'sam@sierra.test' }], T0);
    await j.visit('v_mrg_lapt01', [{ path: '/' }], T0 + HOUR);
    const sam = await profile(j, 'sam@sierra.test');
    expect(await mqlsSent(j)).toEqual([[sam.leadId, 'sam@sierra.test', HOUR, 10, 8]]);
    // the phone, anonymous: a careers page at T0+30m (its own visit: −10 +5 = −5), then it identifies at T0+3h (an
    // identify is no pageview: no award): it merges into Sam, whose history in time order is 5, 0 (T0+30m), 5 (T0+1h)
    await j.visit('v_mrg_phon01', [{ path: '/careers' }], T0 + 30 * MIN);
    await j.visit('v_mrg_phon01', [{ n: 'identify', em: 'sam@sierra.test' }], T0 + 3 * HOUR);
    expect(await profile(j, 'sam@sierra.test')).toMatchObject({ leadId: sam.leadId, score: 5, mql: false, mqlAt: null });
    expect(await mark(j, sam.leadId)).toBe(HOUR);
    // T0+4h on the laptop: +5 (10): an MQL again at T0+4h, not told again
    await j.visit('v_mrg_lapt01', [{ path: '/' }], T0 + 4 * HOUR);
    expect(await profile(j, 'sam@sierra.test')).toMatchObject({ score: 10, mql: true, mqlAt: iso(T0 + 4 * HOUR) });
    expect(await mqlsSent(j)).toEqual([[sam.leadId, 'sam@sierra.test', HOUR, 10, 8]]);
  });

  test('the merged anonymous device announced: the survivor, crossing on the merge, tells nothing; the old id names it', async () => {
    const j = await open();
    expect((await putConfig(j, RULES)).status).toBe(200);
    await hookAll(j);
    // the phone, anonymous: T0 +5, T0+1h +5 (10): MQL at T0+1h, told with no email
    await j.visit('v_mrg_phon02', [{ path: '/' }], T0);
    await j.visit('v_mrg_phon02', [{ path: '/' }], T0 + HOUR);
    const phone = await j.leadOfVisitor('v_mrg_phon02');
    expect(await mqlsSent(j)).toEqual([[phone, null, HOUR, 10, 8]]);
    // the laptop: a page and an identify at T0+30m: a new lead, 5
    await j.visit('v_mrg_lapt02', [{ path: '/' }, { n: 'identify', em: 'tia@tango.test' }], T0 + 30 * MIN);
    const tia = await profile(j, 'tia@tango.test');
    expect(tia).toMatchObject({ score: 5, mql: false });
    // the phone identifies as Tia at T0+2h: it merges into her; in time order 5 (T0), 10 (T0+30m, her laptop): an MQL
    // at T0+30m. The person was told already (under the phone's id, an alias of hers from now on): nothing queued
    await j.visit('v_mrg_phon02', [{ n: 'identify', em: 'tia@tango.test' }], T0 + 2 * HOUR);
    expect(await profile(j, 'tia@tango.test')).toMatchObject({ leadId: tia.leadId, score: 15, mql: true, mqlAt: iso(T0 + 30 * MIN) });
    expect(await mark(j, tia.leadId)).toBe(HOUR);
    expect(await mqlsSent(j)).toEqual([[phone, null, HOUR, 10, 8]]);
    expect(await profile(j, phone)).toMatchObject({ leadId: tia.leadId, email: 'tia@tango.test', mql: true });
  });
});

describe('replay after the MQL threshold moved', () => {
  test('raised: the MQL goes from the profile, nothing is told; crossing the new bar later tells nothing again', async () => {
    const j = await open();
    expect((await putConfig(j, RULES)).status).toBe(200);
    await hookAll(j);
    // T0 (5), T0+32m (10 ≥ 8): MQL at T0+32m, told
    await j.visit('v_rpl_lapt01', [{ path: '/' }, { n: 'identify', em: 'ray@romeo.test' }], T0);
    await j.visit('v_rpl_lapt01', [{ path: '/' }], T0 + 32 * MIN);
    const ray = await profile(j, 'ray@romeo.test');
    expect(await mqlsSent(j)).toEqual([[ray.leadId, 'ray@romeo.test', 32 * MIN, 10, 8]]);
    // the bar moves to 12 and the site is replayed: 10 never reaches it
    expect((await putConfig(j, { ...RULES, mqlThreshold: 12 })).status).toBe(200);
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(await profile(j, ray.leadId)).toMatchObject({ score: 10, mql: false, mqlAt: null });
    expect(await mark(j, ray.leadId)).toBe(32 * MIN);
    // T0+2h: +5 (15 ≥ 12): an MQL under the new rules at T0+2h; the lead told its MQL once already
    await j.visit('v_rpl_lapt01', [{ path: '/' }], T0 + 2 * HOUR);
    expect(await profile(j, ray.leadId)).toMatchObject({ score: 15, mql: true, mqlAt: iso(T0 + 2 * HOUR) });
    expect(await mqlsSent(j)).toEqual([[ray.leadId, 'ray@romeo.test', 32 * MIN, 10, 8]]);
  });

  test('lowered: a replay makes the MQL at its earlier crossing and tells nothing; without a replay the next event tells it once', async () => {
    const j = await open();
    expect((await putConfig(j, RULES)).status).toBe(200);
    await hookAll(j);
    // one visit (5, under 8)
    await j.visit('v_low_lapt01', [{ path: '/' }, { n: 'identify', em: 'lou@lima.test' }], T0);
    expect(await mqlsSent(j)).toEqual([]);
    // the bar moves to 4 and the site is replayed
    expect((await putConfig(j, { ...RULES, mqlThreshold: 4 })).status).toBe(200);
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    // 5 ≥ 4 from T0: an MQL at T0, history a replay does not tell (README "Replay")
    expect(await profile(j, 'lou@lima.test')).toMatchObject({ score: 5, mql: true, mqlAt: iso(T0) });
    expect(await mark(j, (await profile(j, 'lou@lima.test')).leadId)).toBeNull();
    // Lou's next visit (10): an MQL before it, so nothing is told
    await j.visit('v_low_lapt01', [{ path: '/' }], T0 + 2 * HOUR);
    expect(await mqlsSent(j)).toEqual([]);

    // another site, no replay: the bar moves to 4 and the lead's next event rebuilds it under the new rules, which
    // cross at T0 (5 ≥ 4): told once, with that crossing; the visit after tells nothing
    const k = await open();
    expect((await putConfig(k, RULES)).status).toBe(200);
    await hookAll(k);
    await k.visit('v_low_lapt03', [{ path: '/' }, { n: 'identify', em: 'lex@lima.test' }], T0);
    expect((await putConfig(k, { ...RULES, mqlThreshold: 4 })).status).toBe(200);
    await k.visit('v_low_lapt03', [{ path: '/' }], T0 + 2 * HOUR);
    const lex = await profile(k, 'lex@lima.test');
    expect(lex).toMatchObject({ score: 10, mql: true, mqlAt: iso(T0) });
    await k.visit('v_low_lapt03', [{ path: '/' }], T0 + 4 * HOUR);
    expect(await mqlsSent(k)).toEqual([[lex.leadId, 'lex@lima.test', 0, 5, 4]]);
    expect(await mark(k, lex.leadId)).toBe(0);
  });
});

describe('SQL', () => {
  test('no lead.sql webhook exists; the profile\'s SQL follows time order as the MQL does, and nothing is told of it', async () => {
    const j = await open();
    // SQL at a second visit, so a late page that merges two visits can take it away
    expect((await putConfig(j, { ...RULES, mqlThreshold: 100, sqlWhen: [{ event: 'pageview', sessions: 2 }] })).status).toBe(200);
    const res = await j.app.request('/api/webhooks/sql', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['lead.sql'] }), headers: j.auth });
    expect(res.status).toBe(400);
    await hookAll(j);
    await j.visit('v_sql_lapt01', [{ path: '/' }, { n: 'identify', em: 'syd@sierra.test' }], T0);
    await j.visit('v_sql_lapt01', [{ path: '/' }], T0 + 32 * MIN);
    expect(await profile(j, 'syd@sierra.test')).toMatchObject({ sql: true, sqlAt: iso(T0 + 32 * MIN) });
    // the late page of T0+14m: one visit, no SQL in time order
    await j.visit('v_sql_lapt01', [{ path: '/' }], T0 + 14 * MIN);
    expect(await profile(j, 'syd@sierra.test')).toMatchObject({ sql: false, sqlAt: null });
    // a real second visit: SQL at T0+2h; and the CRM's sales_accepted leaves it there (the first SQL stands)
    await j.visit('v_sql_lapt01', [{ path: '/' }], T0 + 2 * HOUR);
    j.clock.now = T0 + DAY;
    await postEvents(j, { id: 'sql-acc-1', email: 'syd@sierra.test', name: 'sales_accepted', at: iso(T0 + 3 * HOUR) });
    expect(await profile(j, 'syd@sierra.test')).toMatchObject({ sql: true, sqlAt: iso(T0 + 2 * HOUR), mql: false });
    const types = await j.db.all<{ t: string }>('SELECT DISTINCT event_type AS t FROM webhook_deliveries WHERE site_id = ? ORDER BY t', [j.site.siteId]);
    expect(types.map((r) => r.t)).toEqual(['stage.changed']);
  });
});

describe('erasure', () => {
  test('the mark goes with the erased lead: the person back after it is a new lead, told once', async () => {
    const j = await open();
    expect((await putConfig(j, RULES)).status).toBe(200);
    await hookAll(j);
    await j.visit('v_era_lapt01', [{ path: '/' }, { n: 'identify', em: 'eli@echo.test' }], T0);
    await j.visit('v_era_lapt01', [{ path: '/' }], T0 + 32 * MIN);
    const first = await profile(j, 'eli@echo.test');
    expect(await mqlsSent(j)).toEqual([[first.leadId, 'eli@echo.test', 32 * MIN, 10, 8]]);
    j.clock.now = T0 + HOUR;
    expect((await j.app.request('/api/leads/eli@echo.test', { method: 'DELETE', headers: j.auth })).status).toBe(200);
    // erasure removes webhook payloads that name the lead, its mark with its row
    expect(await mqlsSent(j)).toEqual([]);
    // the device after the erasure: a new lead; T0+1d (5), T0+1d+1h (10): an MQL, told for the new lead
    await j.visit('v_era_lapt01', [{ path: '/' }, { n: 'identify', em: 'eli@echo.test' }], T0 + DAY);
    await j.visit('v_era_lapt01', [{ path: '/' }], T0 + DAY + HOUR);
    const again = await profile(j, 'eli@echo.test');
    expect(again.leadId).not.toBe(first.leadId);
    expect(await mqlsSent(j)).toEqual([[again.leadId, 'eli@echo.test', DAY + HOUR, 10, 8]]);
  });
});
