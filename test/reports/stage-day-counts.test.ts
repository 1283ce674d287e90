// SQLite's day counts behind the funnel report (migration 0007): back-filled by the migration, kept exact by triggers
// through every write path (new leads, stage moves, merges, late events, erasure, replay, bot flags), and the report
// counts read from them equal the index-range counts for any period, including periods that cut days in two.
import { afterEach, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { readFileSync } from 'node:fs';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { openSqlite } from '../../collector/storage/sqlite-db.js';
import type { Db } from '../../collector/storage/db.js';
import { countLeadsByStage, countStageEntries } from '../../collector/storage/funnel-report.js';
import { DAY_MS, dayCountLeadsByStage, dayCountStageEntries, periodDays } from '../../collector/storage/stage-day-counts.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { DEFAULT_STAGES } from '../../shared/stages.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { migrationsUpTo, tempDir } from '../helpers/test-db.js';
import { HOUR, MIN } from '../helpers/funnel-factories.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const STAGES = [...DEFAULT_STAGES];

/** The day counts as stored, and as counted from the rows themselves: equal when the triggers kept them exact. */
async function dayCounts(db: Db) {
  const stored = async (table: string) =>
    (await db.all<{ k: string }>(`SELECT site_id || '|' || day || '|' || stage || '=' || n AS k FROM ${table} WHERE n <> 0 ORDER BY 1`)).map((r) => r.k);
  const counted = async (sql: string) => (await db.all<{ k: string }>(sql)).map((r) => r.k);
  return {
    leads: await stored('lead_stage_days'),
    leadsExpected: await counted(
      `SELECT site_id || '|' || (created_at / ${DAY_MS}) || '|' || stage || '=' || COUNT(*) AS k FROM leads WHERE is_bot = 0 GROUP BY site_id, created_at / ${DAY_MS}, stage ORDER BY 1`,
    ),
    entries: await stored('stage_entry_days'),
    entriesExpected: await counted(
      `SELECT site_id || '|' || (at / ${DAY_MS}) || '|' || to_stage || '=' || COUNT(*) AS k FROM stage_changes GROUP BY site_id, at / ${DAY_MS}, to_stage ORDER BY 1`,
    ),
  };
}

async function expectExact(db: Db) {
  const c = await dayCounts(db);
  expect(c.leads.length).toBeGreaterThan(0);
  expect(c.entries.length).toBeGreaterThan(0);
  expect(c.leads).toEqual(c.leadsExpected);
  expect(c.entries).toEqual(c.entriesExpected);
}

type Journey = Awaited<ReturnType<typeof makeJourneyApp>>;

/** Visitors over five days, starting late in a UTC day: anonymous readers, pricing, forms, two devices, server events. */
async function journeys(j: Journey, start: number) {
  const at = (h: number) => start + h * HOUR;
  await j.visit('visitor_reader', [{ path: '/blog/a' }, { path: '/blog/b' }], at(0));
  await j.visit('visitor_pricing', [{ path: '/' }, { path: '/pricing' }], at(1));
  await j.visit('visitor_pricing', [{ path: '/pricing' }], at(20));
  await j.visit('visitor_laptop', [{ path: '/' }, { n: 'newsletter_signup', em: 'ann@example.com', f: 'newsletter' }], at(3));
  await j.visit('visitor_phone', [{ path: '/features' }], at(26));
  await j.visit('visitor_phone', [{ n: 'demo_request', em: 'ann@example.com', f: 'demo' }], at(27));
  await j.visit('visitor_careers', [{ path: '/careers' }], at(30));
  for (let i = 0; i < 12; i++) await j.visit(`visitor_bulk_${i}`, [{ path: i % 3 ? '/' : '/case-studies/acme' }], at(5 + i * 7));
  const won = await j.serverEvents({ email: 'ann@example.com', name: 'closed_won' });
  expect(won.status).toBe(202);
  const created = await j.serverEvents({ email: 'new@example.com', name: 'demo_completed' });
  expect(created.status).toBe(202);
  // a late event: earlier than everything the reader's lead holds (its lead is rebuilt)
  await j.visit('visitor_reader', [{ path: '/pricing' }], at(-2));
  j.clock.now = Math.max(j.clock.now, at(110));
}

/** Many periods, among them ones that cut days in two, one inside a single day, whole days and empty ones. */
function periods(start: number): Array<{ from: number; to: number }> {
  const out = [
    { from: start - 10 * DAY_MS, to: start + 20 * DAY_MS },
    { from: Math.floor(start / DAY_MS) * DAY_MS, to: (Math.floor(start / DAY_MS) + 3) * DAY_MS },
    { from: start + 2 * HOUR, to: start + 3 * HOUR },
    { from: start + 30 * HOUR, to: start + 30 * HOUR },
    { from: start + 40 * HOUR, to: start + 10 * HOUR },
  ];
  for (let i = 0; i < 40; i++) {
    const from = start - 5 * HOUR + ((i * 7_919 * MIN) % (110 * HOUR));
    out.push({ from, to: from + ((i * 104_729 * MIN) % (90 * HOUR)) + 1 });
  }
  return out;
}

async function expectSameAsRanges(db: Db, siteId: string, start: number, bots: string[] = []) {
  expect(await dayCountLeadsByStage(db, siteId, STAGES)).toEqual(await countLeadsByStage(db, siteId, STAGES));
  for (const p of periods(start)) {
    expect(await dayCountLeadsByStage(db, siteId, STAGES, p), `cohort ${p.from}..${p.to}`).toEqual(await countLeadsByStage(db, siteId, STAGES, p));
    expect(await dayCountStageEntries(db, siteId, STAGES, p.from, p.to, bots), `entered ${p.from}..${p.to}`).toEqual(
      await countStageEntries(db, siteId, STAGES, p.from, p.to, bots),
    );
  }
}

describe('periodDays', () => {
  const D = DAY_MS;
  test('cuts a period at UTC midnights into whole days and the edges outside them', () => {
    expect(periodDays(10 * D + 5, 13 * D + 7)).toEqual({ firstDay: 11, endDay: 13, edges: [{ from: 10 * D + 5, to: 11 * D }, { from: 13 * D, to: 13 * D + 7 }] });
    expect(periodDays(10 * D, 13 * D)).toEqual({ firstDay: 10, endDay: 13, edges: [] });
    expect(periodDays(10 * D + 1, 11 * D + 1)).toEqual({ firstDay: 0, endDay: 0, edges: [{ from: 10 * D + 1, to: 11 * D + 1 }] });
    expect(periodDays(10 * D + 1, 12 * D)).toEqual({ firstDay: 11, endDay: 12, edges: [{ from: 10 * D + 1, to: 11 * D }] });
    expect(periodDays(5, 5)).toEqual({ firstDay: 0, endDay: 0, edges: [] });
    expect(periodDays(9, 5)).toEqual({ firstDay: 0, endDay: 0, edges: [] });
  });
});

describe('day counts on sqlite', () => {
  test('the triggers keep them exact through live attribution, merges, late events, erasure, replay and bot flags', async () => {
    const start = Date.UTC(2026, 2, 1, 21, 30);
    const j = await makeJourneyApp({ start });
    closers.push(() => j.db.close());
    await journeys(j, start);
    await expectExact(j.db);
    await expectSameAsRanges(j.db, j.site.siteId, start);

    // erasure: the lead, its stage changes and everything else go, and with them its counts
    const erased = await j.app.request('/api/leads/ann%40example.com', { method: 'DELETE', headers: j.auth });
    expect(erased.status).toBe(200);
    await expectExact(j.db);
    await expectSameAsRanges(j.db, j.site.siteId, start);

    // replay rebuilds every lead's stages from its events
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    await expectExact(j.db);

    // a lead flagged as a bot leaves the lead counts (and its entries are taken off at read time)
    const bot = await j.leadOfVisitor('visitor_bulk_0');
    await j.db.run('UPDATE leads SET is_bot = 1 WHERE site_id = ? AND lead_id = ?', [j.site.siteId, bot]);
    await expectExact(j.db);
    await expectSameAsRanges(j.db, j.site.siteId, start, [bot]);
    await j.db.run('UPDATE leads SET is_bot = 0 WHERE site_id = ? AND lead_id = ?', [j.site.siteId, bot]);
    await expectExact(j.db);
  });

  test('the funnel report reads the same figures as before the day counts', async () => {
    const start = Date.UTC(2026, 2, 1, 21, 30);
    const j = await makeJourneyApp({ start });
    closers.push(() => j.db.close());
    await journeys(j, start);
    const q = `from=${new Date(start - 3 * HOUR).toISOString()}&to=${new Date(start + 50 * HOUR).toISOString()}`;
    const res = await j.app.request(`/api/funnel?${q}`, { headers: j.auth });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { stages: Array<{ stage: string; count: number; entered: number }> };
    const from = start - 3 * HOUR;
    const to = start + 50 * HOUR;
    const count = await countLeadsByStage(j.db, j.site.siteId, STAGES);
    const entered = await countStageEntries(j.db, j.site.siteId, STAGES, from, to, []);
    expect(report.stages.map((s) => [s.stage, s.count, s.entered])).toEqual(STAGES.map((s, i) => [s, count[i].n, entered[i].n]));
    expect(report.stages.reduce((n, s) => n + s.count, 0)).toBeGreaterThan(10);
  });

  test('the migration back-fills them from the leads and stage changes already stored', async () => {
    const path = join(tempDir(), 'old.db');
    const old = openSqlite(path);
    migrateSqlite(drizzleSqlite(old.raw), { migrationsFolder: migrationsUpTo('sqlite', 6) });
    const start = Date.UTC(2026, 2, 1, 21, 30);
    // today's code also checks erasure tombstones (migration 0010): their table stands in for the journeys, and goes
    // before the real migrations run
    const tombstones = readFileSync(fileURLToPath(new URL('../../collector/storage/migrations/sqlite/0010_melted_makkari.sql', import.meta.url)), 'utf8');
    old.raw.exec(tombstones);
    // so does the lead.mql mark (migration 0014), which every fold write reads: added for the journeys, dropped before
    // the real migrations run
    old.raw.exec('ALTER TABLE leads ADD mql_announced_at integer');
    const j = await makeJourneyApp({ db: old, start });
    closers.push(() => j.db.close());
    await journeys(j, start);
    old.raw.exec('DROP TABLE erasure_tombstones');
    old.raw.exec('ALTER TABLE leads DROP COLUMN mql_announced_at');
    const tables = await old.all(`SELECT name FROM sqlite_master WHERE name IN ('lead_stage_days', 'stage_entry_days')`);
    expect(tables).toEqual([]);

    migrateSqlite(drizzleSqlite(old.raw), { migrationsFolder: fileURLToPath(new URL('../../collector/storage/migrations/sqlite', import.meta.url)) });
    await expectExact(old);
    await expectSameAsRanges(old, j.site.siteId, start);
    // and from then on the triggers keep them
    await j.visit('visitor_after', [{ path: '/pricing' }], start + 100 * HOUR);
    await expectExact(old);
  });
});
