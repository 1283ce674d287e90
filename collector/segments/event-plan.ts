// Which events a set of definitions can look at: the `did` conditions turned into one filter for the events query.
import type { Condition, SegmentDefinition } from './definition.js';
import { durationMs } from './definition.js';
import type { EventFilter } from '../storage/segments.js';

export type EventPlan = Omit<EventFilter, 'since'> & { windowMs: number };

export function collectDidTests(c: Condition, out: Array<Extract<Condition, { did: unknown }>['did']> = []) {
  if ('all' in c) for (const x of c.all) collectDidTests(x, out);
  else if ('any' in c) for (const x of c.any) collectDidTests(x, out);
  else if ('not' in c) collectDidTests(c.not, out);
  else if ('did' in c) out.push(c.did);
  return out;
}

export function planEvents(definitions: readonly SegmentDefinition[]): EventPlan {
  const names = new Set<string>();
  const recent = new Set<string>();
  let everyEvent = false;
  let recentAny = false;
  let withProps = false;
  let windowMs = 0;
  for (const def of definitions) {
    for (const d of collectDidTests(def)) {
      if (d.props) withProps = true;
      if (d.within) {
        windowMs = Math.max(windowMs, durationMs(d.within));
        if (d.event === '*') recentAny = true;
        else recent.add(d.event);
      } else if (d.event === '*') everyEvent = true;
      else names.add(d.event);
    }
  }
  for (const n of names) recent.delete(n);
  return { everyEvent, names: [...names].sort(), recentNames: [...recent].sort(), recentAny, withProps, windowMs };
}

/** The plan at a moment: windowed names are loaded from `now - window` on. */
export const eventFilterAt = (plan: EventPlan, now: number): EventFilter => ({ ...plan, since: now - plan.windowMs });
