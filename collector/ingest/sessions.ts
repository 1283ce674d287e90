// Sessions: 30 minutes without activity, or a new campaign, starts a new one. Pure rule + a per-process cache.
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';
import type { WireTouch } from '../../shared/wire.js';

export interface SessionState {
  sessionId: string;
  started: number;
  lastSeen: number;
  /** campaign key of the session's touch ('' when none) */
  campaign: string;
  /** the touch that opened the session, inherited by its events that carry none */
  touch?: (WireTouch & { channel?: string }) | null;
  /**
   * the device's clock at the last activity (the event time as sent): a jump of that clock past the timeout is idle
   * time too, though the collector saw the beacons seconds apart (a clock set right, a test's fake clock). Known only
   * to the collector that saw the visitor; a session read back from the database has none.
   */
  deviceSeen?: number;
}

/** An event's times on the device's clock, as sent: when it happened and when the activity it reports began. */
export interface DeviceTimes {
  at: number;
  since: number;
}

/** What identifies a campaign: source, medium, campaign and any click id. Empty for a touch without one. */
export function campaignKey(touch: WireTouch | null | undefined): string {
  if (!touch) return '';
  const parts = [touch.utm_source, touch.utm_medium, touch.utm_campaign, touch.gclid, touch.fbclid, touch.msclkid, touch.li_fat_id, touch.ttclid];
  return parts.some(Boolean) ? parts.map((p) => p ?? '').join('|') : '';
}

export const sessionIdFor = (visitorId: string, started: number) => `${visitorId}.${started.toString(36)}`;

/**
 * The session an event at `at` with campaign `campaign` belongs to, given the visitor's current session.
 * `activeSince`: when the activity the event reports began (an engagement event reports the time spent on its view
 * until `at`), so idle time runs until then; such an event joins the session without extending it. Returns the
 * event's session id, the visitor's session state afterwards, and whether the event opened a session.
 */
export function nextSession(
  prev: SessionState | null,
  visitorId: string,
  at: number,
  campaign: string,
  activeSince = at,
  device?: DeviceTimes,
): { sessionId: string; state: SessionState; isNew: boolean } {
  if (prev) {
    const late = at < prev.lastSeen;
    if (late) {
      // Retried events from the snippet's store arrive late: they join the session they fell in, or open a past
      // session of their own without moving the current one.
      if (at >= prev.started - SESSION_TIMEOUT_MS) return { sessionId: prev.sessionId, state: prev, isNew: false };
      return { sessionId: sessionIdFor(visitorId, at), state: prev, isNew: true };
    }
    const idle =
      activeSince - prev.lastSeen > SESSION_TIMEOUT_MS || (device !== undefined && prev.deviceSeen !== undefined && device.since - prev.deviceSeen > SESSION_TIMEOUT_MS);
    const newCampaign = campaign !== '' && campaign !== prev.campaign;
    if (!idle && !newCampaign) {
      // an engagement event (activity that began before `at`) reports time on its view: it belongs to the session but
      // does not extend it, so the visitor's next event after 30 quiet minutes on a visible page opens a session
      const state = activeSince < at ? prev : { ...prev, lastSeen: at, ...deviceSeen(prev, device) };
      return { sessionId: prev.sessionId, state, isNew: false };
    }
  }
  const state: SessionState = { sessionId: sessionIdFor(visitorId, at), started: at, lastSeen: at, campaign, ...deviceSeen(null, device) };
  return { sessionId: state.sessionId, state, isNew: true };
}

/** The device clock to remember: never moved back by an event made earlier on it. */
const deviceSeen = (prev: SessionState | null, device: DeviceTimes | undefined) =>
  device === undefined ? {} : { deviceSeen: Math.max(device.at, prev?.deviceSeen ?? -Infinity) };

/** Recently seen visitors' sessions, so enrichment needs no read on the hot path. LRU by insertion order. */
export function createSessionCache(max = 100_000) {
  const map = new Map<string, SessionState>();
  return {
    get(key: string) {
      return map.get(key);
    },
    set(key: string, state: SessionState) {
      map.delete(key);
      if (map.size >= max) map.delete(map.keys().next().value as string);
      map.set(key, state);
    },
    get size() {
      return map.size;
    },
  };
}
export type SessionCache = ReturnType<typeof createSessionCache>;
