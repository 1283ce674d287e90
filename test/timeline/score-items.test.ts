import { afterEach, describe, expect, test } from 'vitest';
import { replaySite } from '../../collector/funnel/replay.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { DAY } from '../helpers/funnel-factories.js';
import { ENGINES } from '../helpers/test-db.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

interface Item { kind: string; at: string; id: string; rule?: string; points?: number; scoreAfter?: number }

/** A lead whose events each score several rules: one moment per event, and two CRM events of one millisecond. */
async function scoredJourney(engine: 'sqlite' | 'pg') {
  const j = await makeJourneyApp({ engine });
  closers.push(j.close);
  const t = j.clock.now;
  await j.visit('v_scoreitem1', [{ path: '/pricing' }], t); // visit +2, pricing_view +10
  await j.visit('v_scoreitem1', [{ path: '/pricing' }], t + 2 * DAY); // visit, return_visit, pricing_view
  const leadId = await j.leadOfVisitor('v_scoreitem1');
  // folded by event id, srv:deal-1 before srv:deal-10, though "srv:deal-1:…" sorts after "srv:deal-10:…"
  j.clock.now = t + 3 * DAY + 1000;
  const crm = await j.serverEvents([
    { id: 'deal-10', leadId, name: 'proposal_sent', at: t + 3 * DAY },
    { id: 'deal-1', leadId, name: 'demo_completed', at: t + 3 * DAY },
  ]);
  expect(crm.status).toBe(202);
  const timeline = async (qs: string) => {
    const res = await j.app.request(`/api/leads/${leadId}/timeline?${qs}`, { headers: j.auth });
    expect(res.status).toBe(200);
    return (await res.json()) as { items: Item[]; nextCursor: string | null };
  };
  const pageByPage = async (qs: string) => {
    const items: Item[] = [];
    let cursor: string | null = null;
    do {
      const page = await timeline(qs + (cursor ? `&cursor=${cursor}` : ''));
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  };
  return { j, leadId, timeline, pageByPage };
}

const NEWEST_FIRST = ['proposal_sent', 'demo_completed', 'pricing_view', 'return_visit', 'visit', 'pricing_view', 'visit'];

/** Newest first, each item of a moment shows the score its older neighbour of that moment left plus its points. */
function expectChained(items: Item[]) {
  for (let i = 0; i + 1 < items.length; i++) {
    if (items[i].at !== items[i + 1].at) continue;
    expect(items[i].scoreAfter! - items[i].points!).toBeCloseTo(items[i + 1].scoreAfter!, 6);
  }
}

describe.each(ENGINES)('score items on %s', (engine) => {
  test('score changes of one moment read newest first in the order their points were applied, one page or one item at a time', async () => {
    const { j, leadId, timeline, pageByPage } = await scoredJourney(engine);
    const scores = (await timeline('types=score&limit=500')).items;
    expect(scores.map((i) => i.rule)).toEqual(NEWEST_FIRST);
    expectChained(scores);
    // the newest score item shows the lead's current score
    expect(scores[0].scoreAfter).toBeCloseTo((await j.lead(leadId))!.score, 6);
    expect(await pageByPage('types=score&limit=1')).toEqual(scores);
    // in the whole timeline too, every item exactly once, in the order of one big page
    const full = (await timeline('limit=500')).items;
    expect(full.filter((i) => i.kind === 'score').map((i) => i.rule)).toEqual(NEWEST_FIRST);
    const single = await pageByPage('limit=1');
    expect(single).toEqual(full);
    expect(new Set(single.map((i) => i.kind + i.id)).size).toBe(single.length);
  });

  test('rows stored with the earlier change ids still page exactly once, and replay rewrites them in applied order', async () => {
    const { j, leadId, timeline, pageByPage } = await scoredJourney(engine);
    const live = await j.snapshot();
    // as a database written before this change holds them: `<eventId>:<ruleId>`
    const rows = await j.db.all<{ change_id: string; event_id: string; rule: string }>('SELECT change_id, event_id, rule FROM score_changes WHERE lead_id = ?', [leadId]);
    for (const r of rows) await j.db.run('UPDATE score_changes SET change_id = ? WHERE change_id = ?', [`${r.event_id}:${r.rule}`, r.change_id]);
    const old = (await timeline('types=score&limit=500')).items;
    expect(old).toHaveLength(NEWEST_FIRST.length);
    expect(await pageByPage('types=score&limit=1')).toEqual(old);
    expect(await pageByPage('limit=1')).toEqual((await timeline('limit=500')).items);
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(await j.snapshot()).toEqual(live);
    expect((await timeline('types=score&limit=500')).items.map((i) => i.rule)).toEqual(NEWEST_FIRST);
  });
});
