// GET /api/leads/{ref}/timeline: the lead's events on every device, with identity, score, stage and segment
// changes in line, newest first, keyset-paged. Five sources, each read with its own LIMIT, merged in memory.
import type { Deps } from '../context.js';
import { decodeCursor, encodeCursor } from '../leads/cursor.js';
import { getAliasedLeadId } from '../storage/identity.js';
import { findLead } from '../leads/find-lead.js';
import { parseTime } from '../leads/parse-time.js';
import {
  getEventRows, listLeadEvents, listLeadLinks, listScoreChanges, listSegmentChanges, listStageChanges, listVisitorEventKeys, type LinkRow,
  type SourceWindow,
} from '../storage/timeline.js';
import { mergeTimeline } from './merge-timeline.js';
import { parseTimelineTypes, wantsEvents } from './timeline-filter.js';
import { isAfter, KIND_RANK, type KeyedItem, type TimelineItem, type TimelineKey } from './timeline-item.js';
import { eventItem, linkItems, scoreItem, segmentItem, stageItems } from './to-timeline-items.js';

export const TIMELINE_PAGE = { defaultLimit: 50, maxLimit: 500 } as const;

export interface TimelineQuery {
  types?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export type TimelineResult =
  | { ok: true; page: { leadId: string; items: TimelineItem[]; nextCursor: string | null } }
  | { ok: false; code: 'invalid_ref' | 'not_found' | 'invalid_request' | 'invalid_cursor'; message: string };

const fail = (code: Extract<TimelineResult, { ok: false }>['code'], message: string): TimelineResult => ({ ok: false, code, message });

/**
 * The periods each device belonged to the lead, clipped to the window: adjacent links of one visitor (first seen,
 * then identified) are one period; events before a visitor's first link belong to that link, as attribution decides.
 */
function devicePeriods(links: LinkRow[], w: SourceWindow): Array<SourceWindow & { visitorId: string }> {
  const out: Array<SourceWindow & { visitorId: string }> = [];
  for (const link of links) {
    const start = Number(link.from_at) === Number(link.first_from_at) ? 0 : Number(link.from_at);
    const end = link.to_at == null ? Number.MAX_SAFE_INTEGER : Number(link.to_at);
    const prev = out.find((p) => p.visitorId === link.visitor_id && p.to === start);
    if (prev) prev.to = end;
    else out.push({ ...w, visitorId: link.visitor_id, from: start, to: end });
  }
  return out
    .map((p) => ({ ...p, from: Math.max(w.from, p.from), to: Math.min(w.to, p.to) }))
    .filter((p) => p.from < p.to);
}

export async function getLeadTimeline(deps: Deps, siteId: string, rawRef: string, q: TimelineQuery): Promise<TimelineResult> {
  const filter = parseTimelineTypes(q.types);
  if ('problem' in filter) return fail('invalid_request', filter.problem);
  const from = parseTime(q.from);
  const to = parseTime(q.to);
  if (from === null) return fail('invalid_request', 'from: use an ISO 8601 time or epoch milliseconds');
  if (to === null) return fail('invalid_request', 'to: use an ISO 8601 time or epoch milliseconds');
  if (from !== undefined && to !== undefined && from >= to) return fail('invalid_request', 'from must be before to');
  const cursor = q.cursor ? decodeCursor(q.cursor, ['number', 'number', 'string', 'string']) : undefined;
  if (cursor === null) return fail('invalid_cursor', 'cursor is not one this API returned');
  const found = await findLead(deps.db, siteId, rawRef);
  if (!found.ok) return found;
  const leadId = found.lead.lead_id;
  // a cursor is one lead's: on another lead's timeline it would start at a point of the wrong history. A lead that
  // merged into this one while a client paged (an anonymous visitor that identified) is this lead now.
  if (cursor && cursor[3] !== leadId && (await getAliasedLeadId(deps.db, siteId, cursor[3] as string)) !== leadId) {
    return fail('invalid_cursor', "cursor was made for another lead's timeline");
  }
  const after: TimelineKey | undefined = cursor ? { at: cursor[0] as number, rank: cursor[1] as number, id: cursor[2] as string } : undefined;
  const limit = Math.min(q.limit ?? TIMELINE_PAGE.defaultLimit, TIMELINE_PAGE.maxLimit);
  const w: SourceWindow = { from: from ?? 0, to: to ?? Number.MAX_SAFE_INTEGER, after, limit: limit + 1 };
  const inWindow = (k: KeyedItem) => k.key.at >= w.from && k.key.at < w.to && isAfter(k.key, after);
  const names = filter.eventNames.length ? filter.eventNames : null;
  const db = deps.db;

  const links = wantsEvents(filter) || filter.kinds.has('identity') ? await listLeadLinks(db, siteId, leadId) : [];
  const sources: KeyedItem[][] = [];
  // The lead's own events first: when they fill a page, nothing older than their last one can be on it, so every
  // other source only reads the page's own span of time (a few rows instead of a page per device).
  let rest = w;
  if (wantsEvents(filter)) {
    const own = await listLeadEvents(db, siteId, leadId, w, KIND_RANK.event, names);
    sources.push(own.map(eventItem));
    if (own.length === w.limit) rest = { ...w, from: Math.max(w.from, Number(own[own.length - 1].at)) };
    for (const period of devicePeriods(links, rest)) {
      const keys = await listVisitorEventKeys(db, siteId, period.visitorId, leadId, period, KIND_RANK.event, names);
      // the lead's own events came above; only unattributed ones are read in full here
      const orphans = keys.filter((k) => k.lead_id == null).map((k) => k.event_id);
      if (orphans.length) sources.push((await getEventRows(db, siteId, orphans)).map(eventItem));
    }
  }
  const inRest = (k: KeyedItem) => k.key.at >= rest.from && inWindow(k);
  if (filter.kinds.has('identity')) sources.push(links.flatMap(linkItems).filter(inRest));
  if (filter.kinds.has('stage')) sources.push(stageItems(await listStageChanges(db, siteId, leadId)).filter(inRest));
  if (filter.kinds.has('score')) sources.push((await listScoreChanges(db, siteId, leadId, rest, KIND_RANK.score)).map(scoreItem));
  if (filter.kinds.has('segment')) sources.push((await listSegmentChanges(db, siteId, leadId, rest, KIND_RANK.segment)).map(segmentItem));

  const merged = mergeTimeline(sources, limit);
  const nextCursor = merged.next ? encodeCursor([merged.next.at, merged.next.rank, merged.next.id, leadId]) : null;
  return { ok: true, page: { leadId, items: merged.items, nextCursor } };
}
