// Which events a set of definitions looks at: `did` tests without props become per-lead counts made by the database
// (one grouped query, no event rows cross into JS); tests with props need the rows of their event names.
import type { Condition, DidTest, SegmentDefinition } from './definition.js';
import { durationMs } from './definition.js';
import { didKey } from './lead-facts.js';
import { globToLikes, type PageGlob } from './glob.js';
import type { CountTest, EventFilter } from '../storage/segments.js';

export interface EventPlan {
  /** tests counted by SQL, each with its key (didKey) */
  counted: Array<{ key: string; event: string | null; pathLikes: PageGlob | null; windowMs: number | null; oldest: boolean; source: string | null }>;
  /** which rows to narrow the counting to (every counted test's events pass it) */
  countFilter: Omit<EventFilter, 'since' | 'withProps'> & { windowMs: number };
  /** rows loaded for tests with props; null when no test has props */
  rowFilter: (Omit<EventFilter, 'since'> & { windowMs: number }) | null;
}

export function collectDidTests(c: Condition, out: DidTest[] = []): DidTest[] {
  if ('all' in c) for (const x of c.all) collectDidTests(x, out);
  else if ('any' in c) for (const x of c.any) collectDidTests(x, out);
  else if ('not' in c) collectDidTests(c.not, out);
  else if ('did' in c) out.push(c.did);
  return out;
}

/** The smallest set of rows that every test in `tests` counts from. */
function filterOf(tests: DidTest[]): Omit<EventFilter, 'since' | 'withProps'> & { windowMs: number } {
  const names = new Set<string>();
  const recent = new Set<string>();
  let everyEvent = false;
  let recentAny = false;
  let windowMs = 0;
  for (const d of tests) {
    if (d.within) {
      windowMs = Math.max(windowMs, durationMs(d.within));
      if (d.event === '*') recentAny = true;
      else recent.add(d.event);
    } else if (d.event === '*') everyEvent = true;
    else names.add(d.event);
  }
  for (const n of names) recent.delete(n);
  return { everyEvent, names: [...names].sort(), recentNames: [...recent].sort(), recentAny, windowMs };
}

export function planEvents(definitions: readonly SegmentDefinition[]): EventPlan {
  const all = definitions.flatMap((d) => collectDidTests(d));
  const withProps = all.filter((d) => d.props !== undefined);
  const counted = new Map<string, EventPlan['counted'][number]>();
  for (const d of all) {
    if (d.props !== undefined) continue;
    const key = didKey(d);
    const windowMs = d.within ? durationMs(d.within) : null;
    // the oldest matching time only matters for a windowed test needing more than one event
    const oldest = windowMs !== null && (d.min ?? 1) > 1;
    const seen = counted.get(key);
    if (seen) seen.oldest ||= oldest;
    else {
      const pathLikes = d.path === undefined ? null : globToLikes(d.path);
      counted.set(key, { key, event: d.event === '*' ? null : d.event, pathLikes, windowMs, oldest, source: d.source ?? null });
    }
  }
  return {
    counted: [...counted.values()],
    countFilter: filterOf(all.filter((d) => d.props === undefined)),
    rowFilter: withProps.length ? { ...filterOf(withProps), withProps: true } : null,
  };
}

/** The counting tests at a moment: windows become `at > now - window`. */
export const countTestsAt = (plan: EventPlan, now: number): CountTest[] =>
  plan.counted.map((t) => ({ event: t.event, pathLikes: t.pathLikes, since: t.windowMs === null ? null : now - t.windowMs, oldest: t.oldest, source: t.source }));

export const filterAt = <F extends { windowMs: number }>(f: F, now: number): F & { since: number } => ({ ...f, since: now - f.windowMs });
