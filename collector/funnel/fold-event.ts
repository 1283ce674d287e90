// What the fold reads of an event: the stored event's fields that rules, traits and touches look at.
import type { StoredEvent, Touch } from '../ingest/types.js';

export type FoldEvent = Pick<
  StoredEvent,
  | 'eventId' | 'visitorId' | 'sessionId' | 'name' | 'at' | 'source' | 'url' | 'path' | 'props' | 'form' | 'email' | 'traits'
  | 'channel' | 'utmSource' | 'utmMedium' | 'utmCampaign' | 'utmTerm' | 'utmContent' | 'clickId' | 'firstTouch'
>;

/** Events of one lead are folded in this order: time, then id (ties broken the same way live and in replay). */
export function compareEvents(a: { at: number; eventId: string }, b: { at: number; eventId: string }): number {
  return a.at - b.at || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

export type LastTouch = Touch & { at: number; sessionId: string; clickId?: string };

/** The session-level attribution of an event (what a lead's last touch is built from). */
export function sessionTouchOf(e: FoldEvent): LastTouch {
  const t: LastTouch = { channel: e.channel, at: e.at, sessionId: e.sessionId };
  if (e.utmSource) t.utm_source = e.utmSource;
  if (e.utmMedium) t.utm_medium = e.utmMedium;
  if (e.utmCampaign) t.utm_campaign = e.utmCampaign;
  if (e.utmTerm) t.utm_term = e.utmTerm;
  if (e.utmContent) t.utm_content = e.utmContent;
  if (e.clickId) t.clickId = e.clickId;
  return t;
}
