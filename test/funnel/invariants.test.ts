// Property checks of the funnel's promises over seeded random journeys (invariant-journeys.ts): for every lead,
// live state == replay, the timeline explains the score (decay included) and the stage, and the funnel report
// follows from the leads. INV_SEEDS=1-200 runs other seeds (hunting); the committed list stays under ~20 s.
import { describe, expect, test } from 'vitest';
import { checkExplained, checkPlan, describePlan, generatePlan, readSite } from './invariant-journeys.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';

const engine = process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite';

function seedList(): number[] {
  const env = process.env.INV_SEEDS;
  if (env) {
    return env.split(',').flatMap((part) => {
      const [a, b] = part.split('-').map(Number);
      return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
  }
  return engine === 'pg' ? SEEDS.slice(0, 8) : SEEDS;
}
// 1–30, plus seeds that failed before the score_after fix (refold-lead.ts) with this generator; PostgreSQL runs the first 8
const SEEDS = [...Array.from({ length: 30 }, (_, i) => i + 1), 177, 231];

describe(`funnel invariants over generated journeys on ${engine}`, () => {
  test.each(seedList())('seed %i', async (seed) => {
    const plan = generatePlan(seed, process.env.INV_PEOPLE ? { people: Number(process.env.INV_PEOPLE) } : {});
    const { problems } = await checkPlan(plan, engine);
    if (problems.length) {
      const text = problems.slice(0, 8).map((p) => `${p.lead ?? 'site'}: ${p.what}`).join('\n');
      expect.fail(`seed ${seed}: ${problems.length} problem(s)\n${text}\n--- journey ---\n${describePlan(plan)}`);
    }
  }, 60_000);
});

// Minimal journeys shrunk by hand from failing seeds.
describe(`shrunk journeys on ${engine}`, () => {
  // seed 1: a late first pageview adds decay before a later award; the rebuild kept the award's old score_after
  // (-8 instead of -8.0024) because it was "near" the rebuilt one, so the timeline no longer added up
  test('a late earlier event rewrites the score_after of every later award, however small the change', async () => {
    const j = await makeJourneyApp({ engine, start: T0 });
    try {
      const put = await j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify({ ...DEFAULT_FUNNEL_CONFIG, halfLifeDays: 2 }), headers: j.auth });
      expect(put.status).toBe(200);
      const t = T0 + HOUR;
      await j.visit('v_late_careers', [{ i: 'evt-careers-1', t: t + 5 * MIN, path: '/careers' }], t + 5 * MIN);
      await j.visit('v_late_careers', [{ i: 'evt-home-0001', t, path: '/' }], t + 6 * MIN);
      const lead = await j.leadOfVisitor('v_late_careers');
      const res = await j.app.request(`/api/leads/${lead}/timeline?types=score`, { headers: j.auth });
      const items = ((await res.json()) as { items: Array<{ rule: string; points: number; scoreAfter: number }> }).items;
      const careersAfter = Math.round((2 * Math.pow(0.5, (5 * MIN) / (2 * DAY)) - 10) * 10_000) / 10_000;
      expect(items.map((i) => [i.rule, i.points, i.scoreAfter])).toEqual([
        ['careers_page', -10, careersAfter],
        ['visit', 2, 2],
      ]);
      expect(careersAfter).toBe(-8.0024);
      const view = await readSite(j, { from: T0, to: t + DAY });
      expect(checkExplained(view)).toEqual([]);
    } finally {
      await j.close();
    }
  });

  // seed 127 (live fine, replay wrong): after a small change of the half-life, replay rebuilt a score_after that moved
  // by 0.0015 and kept the old row for being near it
  test('replay after a half-life change rewrites score_after values that moved a little', async () => {
    const j = await makeJourneyApp({ engine, start: T0 });
    try {
      const put = (halfLifeDays: number) =>
        j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify({ ...DEFAULT_FUNNEL_CONFIG, halfLifeDays }), headers: j.auth });
      expect((await put(90)).status).toBe(200);
      const t = T0 + HOUR;
      await j.visit('v_halflife_01', [{ i: 'evt-visit-day1', t, path: '/' }], t);
      await j.visit('v_halflife_01', [{ i: 'evt-visit-day2', t: t + DAY, path: '/' }], t + DAY);
      expect((await put(100)).status).toBe(200);
      await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
      const lead = await j.leadOfVisitor('v_halflife_01');
      const res = await j.app.request(`/api/leads/${lead}/timeline?types=score`, { headers: j.auth });
      const items = ((await res.json()) as { items: Array<{ rule: string; scoreAfter: number }> }).items;
      const second = Math.round((2 * Math.pow(0.5, 1 / 100) + 2) * 10_000) / 10_000; // 3.9862 (3.9847 under 90 days)
      expect(items.map((i) => [i.rule, i.scoreAfter])).toEqual([
        ['return_visit', second + 5],
        ['visit', second],
        ['visit', 2],
      ]);
      const view = await readSite(j, { from: T0, to: t + 2 * DAY });
      expect(checkExplained(view)).toEqual([]);
    } finally {
      await j.close();
    }
  });
});
