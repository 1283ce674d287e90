import { describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createKey } from '../../collector/admin.js';
import type { Db } from '../../collector/storage/db.js';
import { insertSite } from '../../collector/storage/sites.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { seed } from '../../scripts/seed.js';
import { openTestSqlite } from '../helpers/test-db.js';

const END = Date.UTC(2025, 5, 2, 12);
const SITE = 'site_seedcheck';

async function siteDb(): Promise<Db> {
  const db = await openTestSqlite();
  await insertSite(db, { siteId: SITE, siteKey: 'pk_seedcheck', domain: 'seed.example', name: 'seed', settings: {}, createdAt: END - 100 * 86_400_000 });
  return db;
}

const snapshot = async (db: Db) => ({
  leads: await db.all(
    `SELECT lead_id, email, stage, stage_rank, stage_at, ROUND(score * 1000) / 1000 AS score, mql, mql_at, sql, sql_at, traits, first_touch, last_touch,
       identified_at FROM leads WHERE site_id = ? ORDER BY lead_id`,
    [SITE],
  ),
  stageChanges: await db.all('SELECT lead_id, to_stage, from_stage, at, event_id, rule, from_at FROM stage_changes WHERE site_id = ? ORDER BY lead_id, to_stage', [SITE]),
  scoreChanges: await db.all(
    'SELECT change_id, lead_id, at, event_id, rule, points, ROUND(score_after * 1000) / 1000 AS s FROM score_changes WHERE site_id = ? ORDER BY change_id',
    [SITE],
  ),
  links: await db.all(
    'SELECT visitor_id, from_at, to_at, lead_id, email, event_id, reason FROM identity_links WHERE site_id = ? ORDER BY visitor_id, from_at',
    [SITE],
  ),
  events: await db.all('SELECT event_id, visitor_id, lead_id, attributed FROM events WHERE site_id = ? ORDER BY event_id', [SITE]),
  visitors: await db.all('SELECT visitor_id, lead_id FROM visitors WHERE site_id = ? ORDER BY visitor_id', [SITE]),
});

describe('npm run seed', () => {
  test('writes the same leads, stages, scores and identity links that live attribution makes from its events', async () => {
    const options = { visitors: 150, siteId: SITE, seed: 11, end: END, heavy: 1, heavyEvents: 120 };
    const seeded = await siteDb();
    const summary = await seed(seeded, options);
    expect(summary.visitors).toBeGreaterThanOrEqual(150);
    expect(summary.visitors).toBeLessThan(153);
    expect(summary.identifiedLeads).toBeGreaterThan(3);

    // the same people, attributed by the funnel engine: web events through replay, sales events through POST /api/events
    const live = await siteDb();
    const raw = await seed(live, { ...options, rawEventsOnly: true });
    expect(raw.serverEvents!.length).toBeGreaterThan(0);
    await replaySite(live, SITE, { now: () => END });
    const { app, close } = createApp({ db: live, now: () => END });
    const key = await createKey(live, SITE, ['events:write'], END);
    const res = await app.request('/api/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(raw.serverEvents!.map((e) => ({ id: e.id, email: e.email, name: e.name, at: e.at, ...(e.props ? { props: e.props } : {}) }))),
    });
    expect(res.status).toBe(202);
    await close();

    const a = await snapshot(seeded);
    const b = await snapshot(live);
    expect(a.leads.length).toBe(summary.leads);
    expect(a.events.length).toBe(summary.events);
    // not a vacuous comparison: merges across devices, the whole funnel and sales events are in it
    expect(a.links.filter((l) => l.reason === 'merged').length).toBeGreaterThanOrEqual(2);
    expect(new Set(a.stageChanges.map((c) => c.to_stage))).toEqual(new Set(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase']));
    expect(a.scoreChanges.length).toBeGreaterThan(300);
    for (const table of ['visitors', 'links', 'leads', 'stageChanges', 'scoreChanges', 'events'] as const) expect(a[table], table).toEqual(b[table]);
    await seeded.close();
    await live.close();
  });
});
