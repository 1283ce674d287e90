// The touch key columns of leads (ft_… / lt_…): back-filled by their migration from the JSON touches, kept in step
// with first_touch/last_touch on every write, and the funnel breakdowns read from them give what the JSON gave.
import { afterEach, describe, expect, test } from 'vitest';
import type { Db } from '../../collector/storage/db.js';
import { TOUCH_KEY_COLUMNS } from '../../collector/storage/leads.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { buildBreakdownMetrics } from '../../collector/reports/stage-metrics.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { databaseUpTo, ENGINES } from '../helpers/test-db.js';
import { DAY, HOUR, MIN } from '../helpers/funnel-factories.js';
import { jsonKeySql, jsonLinearGroups, jsonTouchGroups } from './funnel-reference.js';
import { playVisitMix } from './visit-mix.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const FIELDS = ['channel', 'utm_source', 'utm_medium', 'utm_campaign'] as const;
const KEYS = TOUCH_KEY_COLUMNS.join(', ');

/** Every lead of the site whose key columns differ from its JSON touches (none, when in step). */
async function outOfStep(db: Db, siteId: string) {
  const expected = [
    ...FIELDS.map((f) => jsonKeySql(db, 'first_touch', f)),
    ...FIELDS.map((f) => jsonKeySql(db, 'last_touch', f)),
  ];
  const rows = await db.all<Record<string, unknown>>(
    `SELECT lead_id, ${KEYS}, ${expected.map((e, i) => `${e} AS j${i}`).join(', ')} FROM leads WHERE site_id = ?`,
    [siteId],
  );
  expect(rows.length).toBeGreaterThan(0);
  return rows.filter((r) => TOUCH_KEY_COLUMNS.some((c, i) => String(r[c]) !== String(r[`j${i}`])));
}

describe.each(ENGINES)('touch key columns on %s', (engine) => {
  test('the migration back-fills them from the JSON touches already stored', async () => {
    // a database as it was before the columns (migrations 0000–0005), with leads written then
    const { db: before, reopen } = await databaseUpTo(engine, 5);
    const touches: Array<[string | null, string | null]> = [
      [
        JSON.stringify({ url: 'https://a.test/?utm_source=google', channel: 'paid_search', utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', at: 1 }),
        JSON.stringify({ channel: 'email', utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring "sale" é', sessionId: 's2' }),
      ],
      [JSON.stringify({ channel: 'direct', url: 'https://a.test/' }), null],
      [null, null],
      [JSON.stringify({ channel: 'referral', utm_campaign: 42 }), JSON.stringify({})],
    ];
    for (const [i, [ft, lt]] of touches.entries()) {
      await before.run(
        `INSERT INTO leads (site_id, lead_id, stage, stage_at, score_at, first_touch, last_touch, created_at, updated_at)
         VALUES ('s', ?, 'awareness', 1, 1, ?, ?, 1, 1)`,
        [`l${i}`, ft, lt],
      );
    }
    // text no JSON reader could use, and an escape PostgreSQL cannot turn into text: the migration still runs
    await before.run(
      `INSERT INTO leads (site_id, lead_id, stage, stage_at, score_at, first_touch, last_touch, created_at, updated_at)
       VALUES ('odd', 'l_odd', 'awareness', 1, 1, ?, '{bad', 1, 1)`,
      ['{"channel":"direct","utm_source":"a\\u0000b"}'],
    );
    await before.close();
    const db = await reopen();
    closers.push(() => db.close());
    expect(await outOfStep(db, 's')).toEqual([]);
    const rows = await db.all<Record<string, string>>(`SELECT lead_id, ${KEYS} FROM leads ORDER BY lead_id`);
    expect(rows.map((r) => TOUCH_KEY_COLUMNS.map((c) => r[c]))).toEqual([
      ['paid_search', 'google', 'cpc', 'brand', 'email', 'newsletter', 'email', 'spring "sale" é'],
      ['direct', '', '', '', '', '', '', ''],
      ['', '', '', '', '', '', '', ''],
      ['referral', '', '', '42', '', '', '', ''],
      // PostgreSQL cannot read that touch at all (the old JSON-based report failed on it): its keys stay ''
      engine === 'pg' ? ['', '', '', '', '', '', '', ''] : ['direct', 'a\u0000b', '', '', '', '', '', ''],
    ]);
  });

  test('every write keeps them in step: new leads, a new campaign session, merges, server events, replay', async () => {
    const j = await makeJourneyApp({ engine });
    closers.push(j.close);
    const t = j.clock.now;
    const google = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', url: 'http://127.0.0.1/?utm_source=google', at: t };
    const mail = { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring', url: 'http://127.0.0.1/?utm_source=newsletter', at: t + DAY };
    await j.visit('v_laptop0001', [{ path: '/', ft: google, st: google }, { path: '/pricing' }], t);
    const ann = await j.leadOfVisitor('v_laptop0001');
    const keys = async (leadId: string) => {
      const r = (await j.db.get<Record<string, string>>(`SELECT ${KEYS} FROM leads WHERE lead_id = ?`, [leadId]))!;
      return TOUCH_KEY_COLUMNS.map((c) => r[c]);
    };
    expect(await keys(ann)).toEqual(['paid_search', 'google', 'cpc', 'brand', 'paid_search', 'google', 'cpc', 'brand']);
    // a later session from a newsletter link: the last touch moves, the first stays
    await j.visit('v_laptop0001', [{ path: '/blog', st: mail, ft: google }], t + DAY);
    expect(await keys(ann)).toEqual(['paid_search', 'google', 'cpc', 'brand', 'email', 'newsletter', 'email', 'spring']);
    await j.visit('v_laptop0001', [{ n: 'newsletter_signup', f: 'newsletter', path: '/blog', em: 'ann@acme.test' }], t + DAY + MIN);
    // another device, direct, then the same email: merged into Ann's lead
    await j.visit('v_phone00001', [{ path: '/pricing' }], t + 2 * DAY);
    const phoneLead = await j.leadOfVisitor('v_phone00001');
    expect(await keys(phoneLead)).toEqual(['direct', '', '', '', 'direct', '', '', '']);
    await j.visit('v_phone00001', [{ n: 'demo_request', f: 'demo', path: '/demo', em: 'ann@acme.test' }], t + 2 * DAY + 10 * MIN);
    expect(await j.leadOfVisitor('v_phone00001')).toBe(ann);
    expect(await keys(ann)).toEqual(['paid_search', 'google', 'cpc', 'brand', 'direct', '', '', '']);
    // a late event from the laptop (a rebuild of the lead) and CRM events
    await j.visit('v_laptop0001', [{ path: '/careers' }], t + DAY + 30 * MIN);
    j.clock.now = t + 4 * DAY;
    expect((await j.serverEvents([{ email: 'ann@acme.test', name: 'demo_completed', at: t + 3 * DAY }, { email: 'bob@bee.test', name: 'closed_won', at: t + 3 * DAY }])).status).toBe(202);
    expect(await outOfStep(j.db, j.site.siteId)).toEqual([]);
    // replay from the events alone writes the same columns
    const live = await j.db.all(`SELECT lead_id, ${KEYS} FROM leads WHERE site_id = ? ORDER BY lead_id`, [j.site.siteId]);
    await j.db.run(`UPDATE leads SET first_touch = NULL, last_touch = NULL, state = '{}', ${TOUCH_KEY_COLUMNS.map((c) => `${c} = 'stale'`).join(', ')}`);
    await j.db.run("UPDATE events SET attributed = 0, lead_id = NULL WHERE source = 'web'");
    await j.db.run("UPDATE events SET attributed = 0 WHERE source = 'server'");
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(await j.db.all(`SELECT lead_id, ${KEYS} FROM leads WHERE site_id = ? ORDER BY lead_id`, [j.site.siteId])).toEqual(live);
    expect(await outOfStep(j.db, j.site.siteId)).toEqual([]);
  });

  test('breakdowns equal the JSON-based definition on a generated data set (first, last, linear)', async () => {
    const j = await makeJourneyApp({ engine });
    closers.push(j.close);
    const t0 = j.clock.now;
    // a deterministic mix: campaigns, organic and direct sessions, repeat visits, forms, identifications across devices
    await playVisitMix(j, { seed: 7, start: t0, visitors: 40, prefix: 'gen', emails: 16, visitorGap: HOUR, sessionGap: DAY, demoOdds: 8, newsletterOdds: 6 });
    j.clock.now = t0 + 30 * DAY;
    await j.serverEvents([{ email: 'p1@gen.test', name: 'closed_won', at: t0 + 10 * DAY }, { email: 'p2@gen.test', name: 'demo_completed', at: t0 + 9 * DAY }]);
    const bot = await j.db.get<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? ORDER BY lead_id LIMIT 1', [j.site.siteId]);
    await j.db.run('UPDATE leads SET is_bot = 1 WHERE lead_id = ?', [bot!.lead_id]);
    const from = t0 + 2 * HOUR;
    const to = t0 + 20 * DAY;
    const stages = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];
    const get = async (qs: string) => {
      const res = await j.app.request(`/api/funnel?from=${from}&to=${to}&${qs}`, { headers: j.auth });
      expect(res.status).toBe(200);
      return (await res.json()).breakdown as Array<{ key: string; stages: unknown[] }>;
    };
    const byKey = (b: Array<{ key: string; stages: unknown[] }>) => Object.fromEntries(b.map((x) => [x.key, x.stages]));
    const fields = { channel: 'channel', source: 'utm_source', medium: 'utm_medium', campaign: 'utm_campaign' } as const;
    for (const [breakdown, field] of Object.entries(fields)) {
      for (const attribution of ['first', 'last'] as const) {
        const expected = await jsonTouchGroups(j.db, j.site.siteId, stages, from, to, attribution === 'first' ? 'first_touch' : 'last_touch', field);
        const got = await get(`breakdown=${breakdown}&attribution=${attribution}`);
        expect(byKey(got)).toEqual(byKey(buildBreakdownMetrics(stages, expected)));
        expect(got.length).toBeGreaterThan(1);
        // the data set exercises every figure: entries in the period and times in stage
        const all = got.flatMap((g) => g.stages as Array<{ entered: number; timeInStage: { n: number } }>);
        expect(all.some((x) => x.entered > 0) && all.some((x) => x.timeInStage.n > 0)).toBe(true);
      }
      const expected = await jsonLinearGroups(j.db, j.site.siteId, stages, from, to, field);
      const got = await get(`breakdown=${breakdown}&attribution=linear`);
      expect(byKey(got)).toEqual(byKey(buildBreakdownMetrics(stages, expected)));
    }
  });
});
