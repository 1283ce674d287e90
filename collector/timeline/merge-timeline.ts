// Merges per-source pages (each sorted, each cut at limit+1) into one page: dedupe by id, order, cut, next cursor.
import { compareNewestFirst, type KeyedItem, type TimelineItem, type TimelineKey } from './timeline-item.js';

export interface MergedPage {
  items: TimelineItem[];
  /** key of the last item when more items follow, else null */
  next: TimelineKey | null;
}

/**
 * Correct because every source returned its first limit+1 items after the cursor: any item of the merged first
 * `limit` is among its source's first limit+1, and a source that was cut alone proves more items follow.
 */
export function mergeTimeline(sources: KeyedItem[][], limit: number): MergedPage {
  const byKey = new Map<string, KeyedItem>();
  for (const source of sources) {
    for (const k of source) byKey.set(k.key.rank + '\u0000' + k.key.id, k);
  }
  const sorted = [...byKey.values()].sort((a, b) => compareNewestFirst(a.key, b.key));
  const page = sorted.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map((k) => k.item), next: sorted.length > limit && last ? last.key : null };
}
