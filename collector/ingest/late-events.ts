// Late events (older than the visitor's last activity: an outbox flushed out of order, a device back online): the rules
// that place them in the session they belong to among the visitor's known ones, as data, and pure functions applying them.
import { CLICK_IDS } from '../../shared/events.js';
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';
import type { Touch } from './types.js';
import type { SessionState } from './sessions.js';
import { campaignKey, sessionIdFor } from './session-key.js';

/**
 * A session of the visitor that a late event may join, as far as it is known: the times of its events that late events
 * were placed in by this process, or that were read back from storage near a late event; its campaign; and its touch,
 * which events joining it without one of their own take on.
 */
export interface KnownSession {
  sessionId: string;
  /** campaignAsStored() of its campaign ('' when none) */
  campaign: string;
  touch: Touch | null;
  /** times of its known events, ascending */
  times: number[];
}

/** A stored event, as far as sessions go (read back near late events). */
export interface StoredSessionEvent {
  sessionId: string;
  at: number;
  /** its session touch as stored: channel, UTM fields, and the click id's kind (its value is not stored) */
  touch: Touch;
}

/** An event older than the visitor's last activity, to place. */
export interface LateEvent {
  at: number;
  /** when the activity it reports began, if before `at` (an engagement event measures its view until `at`) */
  since?: number;
  /** campaignKey() of its touch ('' for none, and for an engagement event) */
  campaign: string;
  /** its own session touch: the touch of the session it opens, if it opens one */
  touch: Touch | null;
}

export type LateRuleId = 'current' | 'between' | 'continues' | 'precedes';

export interface LatePlacement {
  sessionId: string;
  /** it opens a past session (and alone of that session's events carries the first touch, which counts the session) */
  isNew: boolean;
  rule: LateRuleId | 'opens';
  /** the touch of the session it joined or opened */
  touch: Touch | null;
}

/** How a late event's campaign compares with a session's: none of its own or the same one, or exactly the same. */
export type CampaignTest = 'none_or_same' | 'same';

export interface LateRule {
  id: LateRuleId;
  /** the longest gap to the session's nearest known event */
  withinMs?: number;
  campaign: CampaignTest;
}

/**
 * Where a late event goes. The first rule whose session it may join (by campaign) names it; when none does, it opens a
 * past session of its own. "Before" and "after" are the visitor's known events nearest to it, so no other session lies
 * between it and the session it joins.
 * - current: it falls within the current session (decided on the session state alone: no stored events are read);
 * - between: the known events before and after it are of one session: it falls inside that session;
 * - continues: the event before it is at most 30 minutes earlier (than the activity it reports began: an engagement
 *   event continues the session of the view it measures);
 * - precedes: the run of late events it begins (each at most 30 minutes after the previous, none with another
 *   campaign, no known event between) ends at most 30 minutes before the event after it, which is the first known event
 *   of its session, of the same campaign or both none: sent in time, the run would have opened that session.
 * An event with a campaign never joins a session of another campaign or of none, as when sent in time; one without a
 * campaign continues any session but precedes only one without a campaign (a campaign's first event opened it).
 */
export const LATE_EVENT_RULES: readonly LateRule[] = [
  { id: 'current', campaign: 'none_or_same' },
  { id: 'between', campaign: 'none_or_same' },
  { id: 'continues', withinMs: SESSION_TIMEOUT_MS, campaign: 'none_or_same' },
  { id: 'precedes', withinMs: SESSION_TIMEOUT_MS, campaign: 'same' },
];

const CAMPAIGN_TESTS: Record<CampaignTest, (event: string, session: string) => boolean> = {
  none_or_same: (event, session) => event === '' || event === session,
  same: (event, session) => event === session,
};

/**
 * A campaign key as stored events tell it: source, medium and campaign, and which click id (events keep its kind, not
 * its value). Late events compare campaigns in this form, so a session read back from storage compares as one seen live.
 */
export function campaignAsStored(key: string): string {
  if (key === '') return '';
  const parts = key.split('|');
  // the click ids end the key, in CLICK_IDS order (counted from the end: a campaign's name may hold a '|')
  const clicks = parts.splice(parts.length - CLICK_IDS.length);
  const i = clicks.findIndex(Boolean);
  return `${parts.join('|')}|${i < 0 ? '' : CLICK_IDS[i]}`;
}

/** Whether the 'current' rule places a late event, so that no stored session is needed for it. */
export function isInCurrentSession(current: SessionState, at: number, campaign: string, rules: readonly LateRule[] = LATE_EVENT_RULES): boolean {
  const rule = rules.find((r) => r.id === 'current');
  return rule !== undefined && at >= current.started && at <= current.lastSeen && CAMPAIGN_TESTS[rule.campaign](campaignAsStored(campaign), campaignAsStored(current.campaign));
}

/** The times whose stored events late events at `times` may need: as far as the rules' longest gap on either side. */
export function lateEventContext(times: readonly number[], rules: readonly LateRule[] = LATE_EVENT_RULES): { from: number; to: number } | null {
  if (times.length === 0) return null;
  const reach = Math.max(0, ...rules.map((r) => r.withinMs ?? 0));
  return { from: Math.min(...times) - reach, to: Math.max(...times) + reach };
}

/**
 * Known sessions from stored events (oldest first). A session holds one campaign at most (another opens a session), so
 * its campaign and touch are those of any of its events with a campaign, else of its first.
 */
export function knownSessionsOf(events: readonly StoredSessionEvent[]): KnownSession[] {
  const out = new Map<string, KnownSession>();
  for (const e of events) {
    const campaign = campaignAsStored(campaignKey(e.touch));
    const s = out.get(e.sessionId);
    if (!s) out.set(e.sessionId, { sessionId: e.sessionId, campaign, touch: e.touch, times: [e.at] });
    else {
      if (s.campaign === '' && campaign !== '') Object.assign(s, { campaign, touch: e.touch });
      s.times.push(e.at);
    }
  }
  return [...out.values()];
}

/** One session known two ways (memory, storage): every time; a campaign and touch when either knows one. */
function mergeKnown(a: KnownSession, b: KnownSession): KnownSession {
  const times = [...new Set([...a.times, ...b.times])].sort((x, y) => x - y);
  const fromB = a.campaign === '' && b.campaign !== '';
  return { sessionId: a.sessionId, campaign: fromB ? b.campaign : a.campaign, touch: (fromB ? b.touch : a.touch) ?? b.touch, times };
}

const insertTime = (times: number[], at: number) => {
  let i = times.length;
  while (i > 0 && times[i - 1] > at) i--;
  if (times[i - 1] !== at) times.splice(i, 0, at);
};

/** The known events nearest before (at or before) and after `at`, with their sessions. */
function neighbours(sessions: Iterable<KnownSession>, at: number) {
  let before: { at: number; s: KnownSession } | undefined;
  let after: { at: number; s: KnownSession } | undefined;
  for (const s of sessions) {
    for (const t of s.times) {
      if (t <= at) {
        if (!before || t > before.at) before = { at: t, s };
      } else if (!after || t < after.at) after = { at: t, s };
    }
  }
  return { before, after };
}

/** The session a rule offers late event `i` (campaign aside), if any. */
function sessionOfRule(
  rule: LateRule,
  current: SessionState,
  near: ReturnType<typeof neighbours> & { current: KnownSession },
  late: readonly LateEvent[],
  i: number,
  campaign: string,
): KnownSession | undefined {
  const at = late[i].at;
  const within = rule.withinMs ?? Infinity;
  const { before, after } = near;
  switch (rule.id) {
    case 'current':
      return at >= current.started && at <= current.lastSeen ? near.current : undefined;
    case 'between':
      return before && after && before.s === after.s ? before.s : undefined;
    case 'continues':
      return before && (late[i].since ?? at) - before.at <= within ? before.s : undefined;
    case 'precedes': {
      if (!after || after.s.times[0] !== after.at) return undefined;
      // the end of the run of late events this one begins: none beyond the known event after it
      let end = at;
      for (let j = i + 1; j < late.length && late[j].at < after.at && late[j].at - end <= within; j++) {
        const c = campaignAsStored(late[j].campaign);
        if (c !== '' && c !== campaign) break;
        end = late[j].at;
      }
      return after.at - end <= within ? after.s : undefined;
    }
  }
}

/**
 * Places a batch's late events (ascending by time), given the current session and the other sessions known near them
 * (remembered from earlier batches, read back from storage). Pure. Returns each event's placement, and the sessions
 * this batch placed events in outside the current one, with those events' times (to remember until they are stored).
 */
export function placeLateEvents(
  current: SessionState,
  known: readonly KnownSession[],
  visitorId: string,
  late: readonly LateEvent[],
  rules: readonly LateRule[] = LATE_EVENT_RULES,
): { placements: LatePlacement[]; placed: KnownSession[] } {
  const sessions = new Map<string, KnownSession>();
  const add = (s: KnownSession) => {
    const had = sessions.get(s.sessionId);
    sessions.set(s.sessionId, had ? mergeKnown(had, s) : { ...s, times: [...s.times] });
  };
  // the current session by its first and last activity
  add({ sessionId: current.sessionId, campaign: campaignAsStored(current.campaign), touch: current.touch ?? null, times: [current.started, current.lastSeen] });
  for (const s of known) add(s);
  const placed = new Map<string, KnownSession>();
  const placements: LatePlacement[] = [];
  for (let i = 0; i < late.length; i++) {
    const { at, touch } = late[i];
    const campaign = campaignAsStored(late[i].campaign);
    const near = { ...neighbours(sessions.values(), at), current: sessions.get(current.sessionId)! };
    let found: { s: KnownSession; rule: LateRuleId } | undefined;
    for (const rule of rules) {
      const s = sessionOfRule(rule, current, near, late, i, campaign);
      if (s && CAMPAIGN_TESTS[rule.campaign](campaign, s.campaign)) {
        found = { s, rule: rule.id };
        break;
      }
    }
    if (found) {
      insertTime(found.s.times, at);
      if (found.rule !== 'current') remember(found.s, at);
      placements.push({ sessionId: found.s.sessionId, isNew: false, rule: found.rule, touch: found.s.touch });
      continue;
    }
    // a session of its own, named like one opened in time (a millisecond on if a known session has that name)
    let start = at;
    while (sessions.has(sessionIdFor(visitorId, start))) start++;
    const opened: KnownSession = { sessionId: sessionIdFor(visitorId, start), campaign, touch, times: [at] };
    sessions.set(opened.sessionId, opened);
    remember(opened, at);
    placements.push({ sessionId: opened.sessionId, isNew: true, rule: 'opens', touch });
  }
  function remember(s: KnownSession, at: number) {
    const p = placed.get(s.sessionId);
    if (p) insertTime(p.times, at);
    else placed.set(s.sessionId, { sessionId: s.sessionId, campaign: s.campaign, touch: s.touch, times: [at] });
  }
  return { placements, placed: [...placed.values()] };
}

/**
 * Sessions to remember for a visitor's next late events until they are stored: the latest placed first, then the ones
 * remembered before, at most `max` sessions of at most `maxTimes` times each (its first and latest ones).
 */
export function rememberPlaced(remembered: readonly KnownSession[] | undefined, placed: readonly KnownSession[], max = 16, maxTimes = 64): KnownSession[] {
  const out = new Map<string, KnownSession>();
  for (const s of placed) out.set(s.sessionId, s);
  for (const s of remembered ?? []) {
    const p = out.get(s.sessionId);
    out.set(s.sessionId, p ? mergeKnown(p, s) : s);
  }
  return [...out.values()].slice(0, max).map((s) => (s.times.length > maxTimes ? { ...s, times: [...s.times.slice(0, maxTimes / 2), ...s.times.slice(-maxTimes / 2)] } : s));
}
