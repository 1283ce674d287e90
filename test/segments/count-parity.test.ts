import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { countLeadEvents } from '../../collector/storage/segments.js';
import { countTestsAt, filterAt, planEvents } from '../../collector/segments/event-plan.js';
import { evaluateCondition } from '../../collector/segments/matches.js';
import { didKey, type DidCount } from '../../collector/segments/lead-facts.js';
import type { DidTest } from '../../collector/segments/definition.js';
import { DAY, T0, ev, insertEvent, makeFacts } from './fixtures.js';

const names = ['pageview', 'download', 'demo_request'];
const paths = ['/pricing', '/Pricing/plans', '/blog/pricing', '/a_b', '/axb', '/a%b', '/', '/PRICING'];
const eventArb = fc.record({ name: fc.constantFrom(...names), path: fc.constantFrom(...paths), ageMs: fc.integer({ min: 0, max: 40 * DAY }) });
const didArb = fc.record(
  {
    event: fc.constantFrom(...names, '*'),
    path: fc.constantFrom('/pricing*', '*pricing*', '/a_b', '/a%b', '/pric*ng', '*'),
    within: fc.constantFrom('1d', '30d', '12h'),
    min: fc.integer({ min: 1, max: 3 }),
  },
  { requiredKeys: ['event'] },
);

describe.each(ENGINES)('did counts made by SQL (%s)', (engine) => {
  test('decide every did test exactly as counting the event rows in JS does', async () => {
    const db = await openTestDb(engine);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { maxLength: 12 }), didArb, async (events, did: DidTest) => {
        const siteId = `site${run++}`;
        for (const e of events) await insertEvent(db, siteId, 'L', { name: e.name, path: e.path, at: T0 - e.ageMs });
        const plan = planEvents([{ did }]);
        const counts = await countLeadEvents(db, siteId, ['L'], countTestsAt(plan, T0), filterAt(plan.countFilter, T0));
        const didCounts = new Map<string, DidCount>();
        plan.counted.forEach((t, i) => { const c = counts.get('L')?.[i]; if (c) didCounts.set(t.key, c); });
        const rows = makeFacts({ events: events.map((e) => ev(e.name, T0 - e.ageMs, e.path)) });
        const byRows = evaluateCondition({ did }, rows);
        const bySql = evaluateCondition({ did }, { ...makeFacts(), didCounts });
        expect(bySql.value).toBe(byRows.value);
        // with min > 1 the counted form rechecks early (never late); with min 1 at the same moment
        if ((did.min ?? 1) === 1) expect(bySql.changeAt).toBe(byRows.changeAt);
        else expect(bySql.changeAt).toBeLessThanOrEqual(byRows.changeAt);
        expect(didKey(did)).toBe(plan.counted[0].key);
      }),
      { numRuns: 100 },
    );
    await db.close();
  });
});
