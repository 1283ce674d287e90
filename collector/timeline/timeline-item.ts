// Timeline items (contract §5) and their total order: newest first by (at, kind rank, id).
export const TIMELINE_KINDS = ['event', 'identity', 'score', 'stage', 'segment'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/**
 * Within one millisecond, consequences sit above their cause in a newest-first list:
 * the event, then the identity link it made, the points it scored, the stage it moved, the segment it changed.
 */
export const KIND_RANK: Record<TimelineKind, number> = { event: 0, identity: 1, score: 2, stage: 3, segment: 4 };

export interface TimelineKey {
  at: number;
  rank: number;
  /** unique within its kind */
  id: string;
}

export interface TimelineItem {
  kind: TimelineKind;
  name: string;
  /** ISO 8601 */
  at: string;
  id: string;
  [field: string]: unknown;
}

/** An item with its sort key, as the sources produce them. */
export interface KeyedItem {
  key: TimelineKey;
  item: TimelineItem;
}

/** Positive when a comes after b in newest-first order. */
export function compareNewestFirst(a: TimelineKey, b: TimelineKey): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.rank !== b.rank) return b.rank - a.rank;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

/** True when key comes strictly after the cursor in newest-first order. */
export const isAfter = (key: TimelineKey, cursor: TimelineKey | undefined) => !cursor || compareNewestFirst(key, cursor) > 0;
