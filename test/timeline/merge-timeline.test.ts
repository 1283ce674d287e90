import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { mergeTimeline } from '../../collector/timeline/merge-timeline.js';
import { compareNewestFirst, isAfter, type KeyedItem, type TimelineKey } from '../../collector/timeline/timeline-item.js';

const keyed = (key: TimelineKey): KeyedItem => ({ key, item: { kind: 'event', name: 'x', at: new Date(key.at).toISOString(), id: key.id } });

/** Distinct items (unique rank+id), each placed in one or more of up to 4 sources (an event found by lead and by visitor). */
const scenario = fc
  .uniqueArray(fc.record({ at: fc.integer({ min: 0, max: 15 }), rank: fc.integer({ min: 0, max: 4 }), id: fc.string({ minLength: 1, maxLength: 2 }) }), {
    selector: (k) => `${k.rank}|${k.id}`,
    maxLength: 40,
  })
  .chain((items) => fc.tuple(fc.constant(items), fc.array(fc.subarray([0, 1, 2, 3], { minLength: 1 }), { minLength: items.length, maxLength: items.length })));

describe('mergeTimeline', () => {
  test('paging through per-source pages of limit+1 yields every item once, in global newest-first order', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 7 }), ([items, placement], limit) => {
        const sources: TimelineKey[][] = [[], [], [], []];
        items.forEach((k, i) => placement[i].forEach((s) => sources[s].push(k)));
        for (const s of sources) s.sort(compareNewestFirst);
        const got: string[] = [];
        let cursor: TimelineKey | undefined;
        for (let guard = 0; guard <= items.length + 1; guard++) {
          const pages = sources.map((s) => s.filter((k) => isAfter(k, cursor)).slice(0, limit + 1).map(keyed));
          const page = mergeTimeline(pages, limit);
          expect(page.items.length).toBeLessThanOrEqual(limit);
          got.push(...page.items.map((i) => i.id));
          if (!page.next) break;
          cursor = page.next;
        }
        expect(got).toEqual([...items].sort(compareNewestFirst).map((k) => k.id));
      }),
    );
  });

  test('orders a stage change above the score and the event of the same millisecond', () => {
    const page = mergeTimeline(
      [[keyed({ at: 5, rank: 0, id: 'e1' })], [keyed({ at: 5, rank: 3, id: 'interest' })], [keyed({ at: 5, rank: 2, id: 's1' })]],
      10,
    );
    expect(page.items.map((i) => i.id)).toEqual(['interest', 's1', 'e1']);
    expect(page.next).toBeNull();
  });
});
