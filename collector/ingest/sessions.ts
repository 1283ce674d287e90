// Sessions: 30 minutes without activity, or a new campaign, starts a new one; late events find the session they
// belong to among the visitor's known ones. Pure rules + a per-process cache.
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';
import type { Touch } from './types.js';
import { campaignAsStored, placeLateEvents } from './late-events.js';
import { sessionIdFor, sessionStartOf } from './session-key.js';

export { campaignKey, sessionIdFor } from './session-key.js';

export interface SessionState {
  sessionId: string;
  started: number;
  lastSeen: number;
  /** campaign key of the session's touch ('' when none) */
  campaign: string;
  /** the touch that opened the session, inherited by its events that carry none */
  touch?: Touch | null;
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


/**
 * The session an event at `at` with campaign `campaign` belongs to, given the visitor's current session.
 * `activeSince`: when the activity the event reports began (an engagement event reports the time spent on its view
 * until `at`), so idle time runs until then; such an event joins the session without extending it. Returns the
 * event's session id, the visitor's session state afterwards, and whether the event opened a session. An event older
 * than the session's last activity never moves it: the late-event rules place it (placeLateEvents).
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
    // alone here, knowing only the current session; enrichment places a batch's late events together, with the
    // sessions known near them
    if (at < prev.lastSeen) {
      const [placed] = placeLateEvents(prev, [], visitorId, [{ at, campaign, touch: null }]).placements;
      return { sessionId: placed.sessionId, state: prev, isNew: placed.isNew };
    }
    const idle =
      activeSince - prev.lastSeen > SESSION_TIMEOUT_MS || (device !== undefined && prev.deviceSeen !== undefined && device.since - prev.deviceSeen > SESSION_TIMEOUT_MS);
    // campaigns compare as late events compare them (campaignAsStored): which click id, not its value, since every click
    // on an ad has its own and the same ad clicked again within a visit is no new campaign
    // (the same key is the same campaign: most events of a campaign's visit carry its key, and need no split)
    const newCampaign = campaign !== '' && campaign !== prev.campaign && campaignAsStored(campaign) !== campaignAsStored(prev.campaign);
    if (!idle && !newCampaign) {
      // an engagement event (activity that began before `at`) reports time on its view: it belongs to the session but
      // does not extend it, so the visitor's next event after 30 quiet minutes on a visible page opens a session
      const state = activeSince < at ? prev : continued(prev, at, device);
      return { sessionId: prev.sessionId, state, isNew: false };
    }
  }
  const state: SessionState = { sessionId: sessionIdFor(visitorId, nameStart(prev, visitorId, at)), started: at, lastSeen: at, campaign };
  if (device !== undefined) state.deviceSeen = device.at;
  return { sessionId: state.sessionId, state, isNew: true };
}

/**
 * The millisecond a session opened at `at` is named after: `at`, or a millisecond past the session before it when that
 * one's name is not earlier (late-events.ts names a session whose name is taken the same way). Two sessions opened in
 * one millisecond (two tabs restored at once from two campaigns' links, a device clock's jump between two beacons sent
 * together) took one name: counted as two, their events were one session.
 */
function nameStart(prev: SessionState | null, visitorId: string, at: number): number {
  if (!prev) return at;
  const before = sessionStartOf(visitorId, prev.sessionId) ?? prev.started;
  return before < at ? at : before + 1;
}

/**
 * `{ ...prev, lastSeen: at, deviceSeen }` with the fields named (the same own keys): V8 runs a spread of a state whose
 * keys vary (a touch set after it was made, a device clock or none) as a runtime copy, once per event.
 */
function continued(prev: SessionState, at: number, device: DeviceTimes | undefined): SessionState {
  const state: SessionState = { sessionId: prev.sessionId, started: prev.started, lastSeen: at, campaign: prev.campaign };
  if ('touch' in prev) state.touch = prev.touch;
  // the device clock to remember: never moved back by an event made earlier on it
  if (device !== undefined) state.deviceSeen = Math.max(device.at, prev.deviceSeen ?? -Infinity);
  else if ('deviceSeen' in prev) state.deviceSeen = prev.deviceSeen;
  return state;
}

/**
 * The session to continue when no write of this visitor is under way here, from what this collector remembers and what
 * storage holds now. Storage wins unless it holds the remembered session unmoved: another collector may have gone on
 * with the visit (or opened a session), and an erasure removes the visitor's row (null: the device starts afresh).
 * The remembered state is kept when it is storage's, for the device clock only this collector knows.
 */
export function reconcileSession(remembered: SessionState | null, stored: SessionState | null): SessionState | null {
  if (!remembered || !stored) return stored;
  return stored.sessionId === remembered.sessionId && stored.lastSeen <= remembered.lastSeen ? remembered : stored;
}


/** Recently seen visitors' sessions, so enrichment needs no read on the hot path. LRU by insertion order. */
export function createSessionCache<T = SessionState>(max = 100_000) {
  const map = new Map<string, T>();
  return {
    get(key: string) {
      return map.get(key);
    },
    set(key: string, state: T) {
      map.delete(key);
      if (map.size >= max) map.delete(map.keys().next().value as string);
      map.set(key, state);
    },
    delete(key: string) {
      map.delete(key);
    },
    get size() {
      return map.size;
    },
  };
}
export type SessionCache = ReturnType<typeof createSessionCache<SessionState>>;
