import { expect, test } from 'vitest';
import { mergeTimeline } from '../../collector/timeline/merge-timeline.js';
import { isAfter, type TimelineKey } from '../../collector/timeline/timeline-item.js';
import { stageItems } from '../../collector/timeline/to-timeline-items.js';

const row = (from: string | null, to: string, at: number) => ({ from_stage: from, to_stage: to, at, event_id: 'e' + at, rule: 'r_' + to });

test('stages entered by one event in the same millisecond read newest first in the order they were entered', () => {
  // a first visit (awareness); one view that is a second session and a pricing page (interest, consideration); one
  // event that reaches intent and evaluation
  const rows = [row('interest', 'consideration', 20), row(null, 'awareness', 10), row('awareness', 'interest', 20), row('intent', 'evaluation', 30), row('consideration', 'intent', 30)];
  const page = mergeTimeline([stageItems(rows)], 10);
  expect(page.items.map((i) => i.to)).toEqual(['evaluation', 'intent', 'consideration', 'interest', 'awareness']);
  // paging one item at a time gives the same order
  const seen: unknown[] = [];
  let after: TimelineKey | undefined;
  for (;;) {
    const p = mergeTimeline([stageItems(rows).filter((k) => isAfter(k.key, after))], 1);
    seen.push(...p.items.map((i) => i.to));
    if (!p.next) break;
    after = p.next;
  }
  expect(seen).toEqual(['evaluation', 'intent', 'consideration', 'interest', 'awareness']);
});
