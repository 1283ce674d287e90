// The pipeline's states: WireEvent (shared/wire.ts) → EnrichedEvent → StoredEvent, and a Rejection when input is bad.
import type { EventSource, FormKind } from '../../shared/events.js';
import type { WireProps, WireTouch } from '../../shared/wire.js';
import type { Channel } from './channels.js';

export type Touch = WireTouch & { channel?: Channel };

export interface EnrichedEvent {
  siteId: string;
  eventId: string;
  visitorId: string;
  /** set for server-side events that name a lead; filled for web events by attribution */
  leadId: string | null;
  sessionId: string;
  name: string;
  /** event time, epoch ms (client time clamped to the receive time + skew) */
  at: number;
  receivedAt: number;
  source: EventSource;
  url: string;
  path: string;
  referrer: string;
  props: WireProps | null;
  form: FormKind | null;
  /** lower-cased, trimmed email when the event identifies the visitor */
  email: string | null;
  traits: Record<string, string> | null;
  channel: Channel;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  /** which click id the session touch carried, e.g. `gclid` */
  clickId: string | null;
  /** the visitor's first touch; set on session-opening events only */
  firstTouch: Touch | null;
  /** the session's full touch as received (not stored as such: use touchOf(event) for what survives storage) */
  sessionTouch: Touch | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  isBot: boolean;
}

/** An event that this request committed for the first time (retries of stored ids are not StoredEvents again). */
export type StoredEvent = EnrichedEvent;

export type RejectionReason =
  | 'invalid_json'
  | 'invalid_batch'
  | 'invalid_event'
  /** part of an event was dropped (the event itself was stored) */
  | 'invalid_field'
  | 'payload_too_large'
  | 'unknown_site'
  | 'origin_not_allowed'
  | 'too_many_events'
  | 'rate_limited'
  /** a compressed body (Content-Encoding other than identity) */
  | 'unsupported_encoding';

export interface Rejection {
  status: 400 | 403 | 404 | 413 | 415 | 429;
  reason: RejectionReason;
  message: string;
  siteId?: string;
}

/** The session touch of an event as stored (UTM columns, channel, click id kind): the same live and in replay. */
export interface StoredTouch {
  channel: Channel;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  term: string | null;
  content: string | null;
  clickId: string | null;
}

export const touchOf = (e: EnrichedEvent): StoredTouch => ({
  channel: e.channel,
  source: e.utmSource,
  medium: e.utmMedium,
  campaign: e.utmCampaign,
  term: e.utmTerm,
  content: e.utmContent,
  clickId: e.clickId,
});
