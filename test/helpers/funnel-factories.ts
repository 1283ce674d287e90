// Fixture factories for the funnel engine: fold events and stored events with sensible defaults.
import { randomBytes } from 'node:crypto';
import type { StoredEvent } from '../../collector/ingest/types.js';

let seq = 0;
export const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** An event as stored by ingest; `path` also fills `url`. Ids sort in creation order. */
export function makeEvent(overrides: Partial<StoredEvent> = {}): StoredEvent {
  seq++;
  const path = overrides.path ?? '/';
  const at = overrides.at ?? T0 + seq;
  const visitorId = overrides.visitorId ?? 'v_default0001';
  return {
    siteId: 'site_test',
    eventId: `e${String(seq).padStart(6, '0')}_${randomBytes(3).toString('hex')}`,
    visitorId,
    leadId: null,
    sessionId: `${visitorId}.s1`,
    name: 'pageview',
    at,
    receivedAt: at,
    source: 'web',
    url: `http://127.0.0.1${path}`,
    path,
    referrer: '',
    props: null,
    form: null,
    email: null,
    traits: null,
    channel: 'direct',
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    clickId: null,
    firstTouch: { channel: 'direct', url: `http://127.0.0.1${path}`, at },
    sessionTouch: { channel: 'direct' },
    browser: 'Chrome',
    os: 'Linux',
    device: 'desktop',
    isBot: false,
    ...overrides,
  };
}
