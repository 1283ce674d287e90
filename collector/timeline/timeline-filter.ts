// The `types` parameter: a comma list of item kinds and/or event names, as a filter the storage queries apply.
import { TIMELINE_KINDS, type TimelineKind } from './timeline-item.js';
import { EVENT_NAME_RE } from '../../shared/events.js';
import { LIMITS } from '../../shared/limits.js';

export interface TimelineFilter {
  kinds: Set<TimelineKind>;
  /** event names to include when the `event` kind itself is not asked for; empty = no events */
  eventNames: string[];
}

const MAX_TYPES = 50;

export type FilterProblem = { problem: string };

const everything = (): TimelineFilter => ({ kinds: new Set(TIMELINE_KINDS), eventNames: [] });

/**
 * All kinds when the parameter is absent or names nothing (empty, or only commas and spaces: a form whose boxes are all
 * unticked, joined with commas); `event` means every event, a name means events of that name.
 */
export function parseTimelineTypes(raw: string | undefined): TimelineFilter | FilterProblem {
  if (raw === undefined) return everything();
  const parts = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  if (parts.length === 0) return everything();
  if (parts.length > MAX_TYPES) return { problem: `types lists more than ${MAX_TYPES} entries` };
  const kinds = new Set<TimelineKind>();
  const eventNames: string[] = [];
  for (const p of parts) {
    if ((TIMELINE_KINDS as readonly string[]).includes(p)) kinds.add(p as TimelineKind);
    else if (p.length <= LIMITS.nameChars && EVENT_NAME_RE.test(p)) eventNames.push(p);
    else return { problem: `types: "${p.slice(0, 40)}" is neither a kind (${TIMELINE_KINDS.join(', ')}) nor an event name` };
  }
  return { kinds, eventNames: kinds.has('event') ? [] : eventNames };
}

export const wantsEvents = (f: TimelineFilter) => f.kinds.has('event') || f.eventNames.length > 0;
