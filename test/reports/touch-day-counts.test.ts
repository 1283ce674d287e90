// SQLite's touch day counts behind the first- and last-touch breakdowns (migration 0011: lead_touch_days,
// stage_entry_touch_days, stage_dwell_touches): back-filled by the migration, kept exact by triggers through every
// write path (new leads, stage moves, a last touch that changes, merges, late events, erasure, replay, bot flags), and
// the breakdowns read from them equal the straightforward computation for every breakdown and attribution, for periods
// that cut days in two. The report comparison runs on PostgreSQL too (which reads index ranges instead).
import { afterEach, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { openSqlite } from '../../collector/storage/sqlite-db.js';
import type { Db } from '../../collector/storage/db.js';
import { DAY_MS, TOUCH_DAY_COUNT_TABLES } from '../../collector/storage/stage-day-counts.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { DEFAULT_STAGES } from '../../shared/stages.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES, migrationsUpTo, tempDir } from '../helpers/test-db.js';
import { HOUR, MIN } from '../helpers/funnel-factories.js';
import { FIELD_OF, referenceBreakdown } from './funnel-reference.js';
import { playVisitMix } from './visit-mix.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const STAGES = [...DEFAULT_STAGES];
const TOUCHES = [['first', 'ft'], ['last', 'lt']] as const;
const keysOf = (alias: string, p: string) => ['channel', 'source', 'medium', 'campaign'].map((f) => `${alias}${p}_${f}`).join(" || '|' || ");

/** The three tables as stored, and as counted from leads and stage_changes themselves: equal when the triggers kept them exact. */
async function touchCounts(db: Db) {
  const all = async (sql: string) => (await db.all<{ k: string }>(sql)).map((r) => r.k);
  const stored = (table: string) =>
    all(`SELECT site_id || '|' || touch || '|' || day || '|' || stage || '|' || channel || '|' || source || '|' || medium || '|' || campaign || '=' || n AS k
         FROM ${table} ORDER BY 1`);
  const union = (f: (touch: string, p: string) => string) => TOUCHES.map(([t, p]) => f(t, p)).join(' UNION ALL ');
  return {
    leads: await stored('lead_touch_days'),
    leadsExpected: await all(
      `SELECT k FROM (${union((t, p) => `SELECT site_id || '|${t}|' || (created_at / ${DAY_MS}) || '|' || stage || '|' || ${keysOf('', p)} || '=' || COUNT(*) AS k
         FROM leads WHERE is_bot = 0 GROUP BY site_id, created_at / ${DAY_MS}, stage, ${keysOf('', p).split(" || '|' || ").join(', ')}`)}) ORDER BY 1`,
    ),
    entries: await stored('stage_entry_touch_days'),
    entriesExpected: await all(
      `SELECT k FROM (${union((t, p) => `SELECT sc.site_id || '|${t}|' || (sc.at / ${DAY_MS}) || '|' || sc.to_stage || '|' || ${keysOf('l.', p)} || '=' || COUNT(*) AS k
         FROM stage_changes sc JOIN leads l ON l.site_id = sc.site_id AND l.lead_id = sc.lead_id WHERE l.is_bot = 0
         GROUP BY sc.site_id, sc.at / ${DAY_MS}, sc.to_stage, ${keysOf('l.', p).split(" || '|' || ").join(', ')}`)}) ORDER BY 1`,
    ),
    dwell: await all(
      `SELECT site_id || '|' || touch || '|' || stage || '|' || from_at || '|' || lead_id || '|' || to_stage || '|' || channel || '|' || source || '|' ||
         medium || '|' || campaign || '=' || d AS k FROM stage_dwell_touches ORDER BY 1`,
    ),
    dwellExpected: await all(
      `SELECT k FROM (${union((t, p) => `SELECT sc.site_id || '|${t}|' || sc.from_stage || '|' || sc.from_at || '|' || sc.lead_id || '|' || sc.to_stage || '|' ||
         ${keysOf('l.', p)} || '=' || (sc.at - sc.from_at) AS k
         FROM stage_changes sc JOIN leads l ON l.site_id = sc.site_id AND l.lead_id = sc.lead_id
         WHERE l.is_bot = 0 AND sc.from_stage IS NOT NULL AND sc.from_at IS NOT NULL`)}) ORDER BY 1`,
    ),
  };
}

async function expectExact(db: Db) {
  const c = await touchCounts(db);
  expect(c.leads.length).toBeGreaterThan(0);
  expect(c.entries.length).toBeGreaterThan(0);
  expect(c.dwell.length).toBeGreaterThan(0);
  expect(c.leads).toEqual(c.leadsExpected);
  expect(c.entries).toEqual(c.entriesExpected);
  expect(c.dwell).toEqual(c.dwellExpected);
  // no count went below zero on the way (a decrement without its increment), and none is left at zero: its row would
  // keep the key (a campaign name) of leads that are gone, erased ones included
  for (const t of ['lead_touch_days', 'stage_entry_touch_days']) expect(await db.all(`SELECT * FROM ${t} WHERE n <= 0`)).toEqual([]);
}

type Journey = Awaited<ReturnType<typeof makeJourneyApp>>;

/**
 * A deterministic mix over six days, starting late in a UTC day: campaign, organic and direct sessions (the last touch
 * moves), repeat visits, forms, the same email on several devices (merges), late events (rebuilds) and CRM events.
 */
async function journeys(j: Journey, start: number, visitors = 36) {
  await playVisitMix(j, { seed: 11, start, visitors, prefix: 'tdc', emails: 12, visitorGap: 3 * HOUR, sessionGap: 31 * HOUR, demoOdds: 7, newsletterOdds: 5 });
  // late events: earlier than what the leads hold (rebuilds that move stage changes)
  await j.visit('v_tdc0000003', [{ path: '/pricing' }], start - 2 * HOUR);
  await j.visit('v_tdc0000007', [{ path: '/case-studies/x' }], start + HOUR);
  j.clock.now = Math.max(j.clock.now, start + 8 * 24 * HOUR);
  expect((await j.serverEvents([
    { email: 'p1@tdc.test', name: 'closed_won', at: start + 5 * 24 * HOUR },
    { email: 'p2@tdc.test', name: 'demo_completed', at: start + 4 * 24 * HOUR },
    { email: 'crm-only@tdc.test', name: 'demo_completed', at: start + 3 * 24 * HOUR },
  ])).status).toBe(202);
}

/** Many periods: some cut days in two, one lies inside a day, whole days, an empty one, the whole data set. */
function periods(start: number): Array<{ from: number; to: number }> {
  const out = [
    { from: start - 10 * DAY_MS, to: start + 20 * DAY_MS },
    { from: Math.floor(start / DAY_MS) * DAY_MS, to: (Math.floor(start / DAY_MS) + 3) * DAY_MS },
    { from: start + 2 * HOUR, to: start + 3 * HOUR },
    { from: start + 100 * DAY_MS, to: start + 101 * DAY_MS },
  ];
  for (let i = 0; i < 6; i++) {
    const from = start - 5 * HOUR + ((i * 7_919 * MIN) % (140 * HOUR));
    out.push({ from, to: from + ((i * 104_729 * MIN) % (100 * HOUR)) + HOUR });
  }
  return out;
}

const breakdownOf = async (j: Journey, p: { from: number; to: number }, breakdown: string, attribution: string) => {
  const res = await j.app.request(`/api/funnel?from=${p.from}&to=${p.to}&breakdown=${breakdown}&attribution=${attribution}`, { headers: j.auth });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { breakdown: Array<{ key: string; stages: unknown[] }> };
  return Object.fromEntries(body.breakdown.map((b) => [b.key, b.stages]));
};

/** Every breakdown and attribution over every period equals the reference. */
async function expectSameAsReference(j: Journey, start: number, ps = periods(start)) {
  let figures = 0;
  for (const p of ps) {
    for (const breakdown of Object.keys(FIELD_OF) as Array<keyof typeof FIELD_OF>) {
      for (const attribution of ['first', 'last', 'linear'] as const) {
        const expected = await referenceBreakdown(j.db, j.site.siteId, STAGES, p.from, p.to, breakdown, attribution);
        expect(await breakdownOf(j, p, breakdown, attribution), `${breakdown} ${attribution} ${p.from}..${p.to}`).toEqual(expected);
        figures += Object.values(expected).flat().filter((s) => s.entered > 0 || s.timeInStage.n > 0 || s.reached > 0).length;
      }
    }
  }
  expect(figures).toBeGreaterThan(100);
}

describe('touch day counts on sqlite', () => {
  test('the triggers keep them exact through live attribution, new last touches, merges, late events, erasure, replay and bot flags', async () => {
    const start = Date.UTC(2026, 2, 1, 21, 30);
    const j = await makeJourneyApp({ start });
    closers.push(() => j.db.close());
    await journeys(j, start);
    await expectExact(j.db);
    // some leads' last touch differs from their first: the breakdowns move their stage changes with them
    const moved = await j.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM leads WHERE ft_campaign <> lt_campaign OR ft_channel <> lt_channel');
    expect(Number(moved!.n)).toBeGreaterThan(3);
    // a lead merged into another leaves no counts behind
    expect(Number((await j.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM lead_aliases'))!.n)).toBeGreaterThan(0);

    // erasure
    const email = (await j.db.get<{ email: string }>('SELECT email FROM leads WHERE email IS NOT NULL ORDER BY email LIMIT 1'))!.email;
    const erased = await j.app.request(`/api/leads/${encodeURIComponent(email)}`, { method: 'DELETE', headers: j.auth });
    expect(erased.status).toBe(200);
    await expectExact(j.db);

    // a last touch written directly (as a fold write does), a stage change rewritten in place, one deleted
    const lead = (await j.db.get<{ lead_id: string }>('SELECT lead_id FROM leads l WHERE EXISTS (SELECT 1 FROM stage_changes sc WHERE sc.lead_id = l.lead_id AND sc.from_at IS NOT NULL) LIMIT 1'))!.lead_id;
    await j.db.run("UPDATE leads SET lt_channel = 'paid_social', lt_source = 'meta', lt_campaign = 'retarget' WHERE lead_id = ?", [lead]);
    await expectExact(j.db);
    await j.db.run('UPDATE stage_changes SET at = at + 90000000, from_at = from_at - 1 WHERE lead_id = ? AND from_at IS NOT NULL', [lead]);
    await expectExact(j.db);
    await j.db.run("UPDATE leads SET ft_medium = 'other', created_at = created_at - 86400000, stage = 'intent' WHERE lead_id = ?", [lead]);
    await expectExact(j.db);
    await j.db.run('DELETE FROM stage_changes WHERE lead_id = ? AND from_at IS NOT NULL', [lead]);
    await expectExact(j.db);

    // a bot flag takes a lead and its stage changes out, and back in
    const bot = await j.leadOfVisitor('v_tdc0000004');
    await j.db.run('UPDATE leads SET is_bot = 1 WHERE site_id = ? AND lead_id = ?', [j.site.siteId, bot]);
    await expectExact(j.db);
    await j.db.run('UPDATE leads SET is_bot = 0 WHERE site_id = ? AND lead_id = ?', [j.site.siteId, bot]);
    await expectExact(j.db);

    // stage changes stored before their lead row (an order no live path uses): the lead's insert credits them
    await j.db.run(
      `INSERT INTO stage_changes (site_id, lead_id, to_stage, from_stage, at, from_at) VALUES (?, 'l_early', 'awareness', NULL, ?, NULL), (?, 'l_early', 'intent', 'awareness', ?, ?)`,
      [j.site.siteId, start, j.site.siteId, start + 30 * HOUR, start],
    );
    await j.db.run(
      `INSERT INTO leads (site_id, lead_id, stage, stage_at, score_at, created_at, updated_at, ft_channel, lt_channel, lt_campaign)
       VALUES (?, 'l_early', 'intent', ?, ?, ?, ?, 'referral', 'email', 'spring')`,
      [j.site.siteId, start + 30 * HOUR, start, start, start],
    );
    await expectExact(j.db);
    expect(await j.db.all("SELECT touch, channel, d FROM stage_dwell_touches WHERE lead_id = 'l_early' ORDER BY touch")).toEqual([
      { touch: 'first', channel: 'referral', d: 30 * HOUR },
      { touch: 'last', channel: 'email', d: 30 * HOUR },
    ]);

    // replay rebuilds every lead's stages from its events
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    await expectExact(j.db);
  });

  test('the migration back-fills them from the leads and stage changes already stored', async () => {
    const path = join(tempDir(), 'old.db');
    const old = openSqlite(path);
    migrateSqlite(drizzleSqlite(old.raw), { migrationsFolder: migrationsUpTo('sqlite', 10) });
    // today's code reads the lead.mql mark (migration 0014) with every fold: added for the journeys, dropped before the
    // real migrations run
    old.raw.exec('ALTER TABLE leads ADD mql_announced_at integer');
    const start = Date.UTC(2026, 2, 1, 21, 30);
    const j = await makeJourneyApp({ db: old, start });
    closers.push(() => j.db.close());
    await journeys(j, start, 20);
    await j.db.run("UPDATE leads SET is_bot = 1 WHERE lead_id = (SELECT MIN(lead_id) FROM leads)");
    old.raw.exec('ALTER TABLE leads DROP COLUMN mql_announced_at');
    const tables = await old.all(`SELECT name FROM sqlite_master WHERE name IN (${TOUCH_DAY_COUNT_TABLES.map((t) => `'${t}'`).join(', ')})`);
    expect(tables).toEqual([]);

    migrateSqlite(drizzleSqlite(old.raw), { migrationsFolder: fileURLToPath(new URL('../../collector/storage/migrations/sqlite', import.meta.url)) });
    await expectExact(old);
    await expectSameAsReference(j, start, periods(start).slice(0, 3));
    // and from then on the triggers keep them
    await j.visit('v_after00001', [{ path: '/pricing', st: { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'late', url: 'http://127.0.0.1/?utm_source=google', at: start + 100 * HOUR } }], start + 100 * HOUR);
    await expectExact(old);
  });
});

describe.each(ENGINES)('funnel breakdowns on %s', (engine) => {
  test('equal the straightforward computation for every breakdown, attribution and period, bots left out, after erasure and legacy rows', async () => {
    const start = Date.UTC(2026, 2, 1, 21, 30);
    const j = await makeJourneyApp({ engine, start });
    closers.push(j.close);
    await journeys(j, start);
    const bot = await j.leadOfVisitor('v_tdc0000005');
    await j.db.run('UPDATE leads SET is_bot = 1 WHERE site_id = ? AND lead_id = ?', [j.site.siteId, bot]);
    const email = (await j.db.get<{ email: string }>('SELECT email FROM leads WHERE email IS NOT NULL AND lead_id <> ? ORDER BY email LIMIT 1', [bot]))!.email;
    expect((await j.app.request(`/api/leads/${encodeURIComponent(email)}`, { method: 'DELETE', headers: j.auth })).status).toBe(200);
    await expectSameAsReference(j, start);
    // a stage change written before from_at existed (legacy): its time in stage is credited by its lead's key
    const legacy = await j.db.get<{ lead_id: string }>(
      'SELECT lead_id FROM stage_changes WHERE site_id = ? AND from_at IS NOT NULL AND lead_id <> ? ORDER BY lead_id LIMIT 1',
      [j.site.siteId, bot],
    );
    await j.db.run('UPDATE stage_changes SET from_at = NULL WHERE site_id = ? AND lead_id = ?', [j.site.siteId, legacy!.lead_id]);
    await expectSameAsReference(j, start, periods(start).slice(0, 2));
  });
});
