// Late events (older than the visitor's last activity: an outbox flushed out of order, a device back online): the rules
// that place them in the session they belong to among the visitor's known ones, as data, and pure functions applying them.
import { CLICK_IDS } from '../../shared/events.js';
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';
import type { Touch } from './types.js';
import type { DeviceTimes, SessionState } from './sessions.js';
import { campaignKey, sessionIdFor, sessionStartOf } from './session-key.js';

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
  /**
   * later sessions a late event merged into this one (mergeBridgedSessions), whose stored events may still carry their
   * own id until that batch is stored: read back, they are this session's
   */
  absorbed?: string[];
}

/**
 * Two sessions of a visitor that a late event showed to be one visit: the later one's events move to the earlier one
 * (session-bridge.ts), which goes on as the visitor's current session when the later one was.
 */
export interface SessionMerge {
  /** the later session, whose events move */
  from: string;
  /** the earlier session they join */
  into: string;
  /** when `into` began */
  intoStarted: number;
  /** campaignKey() of `into`'s touch ('' when none) */
  intoCampaign: string;
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
  /**
   * its times on the device's clock, as sent (enrich.ts). With the device clock the collector remembers of the visit's
   * last activity (SessionState.deviceSeen), they tell an event the device made after that activity: late only because
   * the device's clock moved between two batches and this batch's correction (device-clock.ts) moved it back
   */
  device?: DeviceTimes;
}

export type LateRuleId = 'current' | 'between' | 'continues' | 'precedes';

export interface LatePlacement {
  sessionId: string;
  /** it opens a past session (and alone of that session's events carries the first touch, which counts the session) */
  isNew: boolean;
  /** 'device_gap': made on the device after 30 idle minutes by its clock, it opens the visitor's session (placeLateEvents) */
  rule: LateRuleId | 'opens' | 'device_gap';
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
  const out: KnownSession = { sessionId: a.sessionId, campaign: fromB ? b.campaign : a.campaign, touch: (fromB ? b.touch : a.touch) ?? b.touch, times };
  if (a.absorbed || b.absorbed) out.absorbed = [...new Set([...(a.absorbed ?? []), ...(b.absorbed ?? [])])];
  return out;
}

/** Each session id another session absorbed (a merge not stored yet), with the id of the session that absorbed it. */
function absorbedIds(sessions: Iterable<KnownSession>): Map<string, string> {
  const alias = new Map<string, string>();
  for (const s of sessions) for (const id of s.absorbed ?? []) alias.set(id, s.sessionId);
  return alias;
}

/** A session as part of the one that absorbed it, when one did (its events read back under its own id are that one's). */
function underAlias(s: KnownSession, alias: ReadonlyMap<string, string>): KnownSession {
  const to = alias.get(s.sessionId);
  return to === undefined ? s : { ...s, sessionId: to, absorbed: undefined };
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

/** The known event nearest after `at` (strictly), with its session. */
function firstAfter(sessions: Iterable<KnownSession>, at: number) {
  let after: { at: number; s: KnownSession } | undefined;
  for (const s of sessions) {
    for (const t of s.times) {
      if (t > at && (!after || t < after.at)) after = { at: t, s };
    }
  }
  return after;
}

/** The latest known activity of a session: its latest time but a late engagement event's (which extends nothing). */
function lastActive(s: KnownSession, passive: ReadonlySet<number>): number {
  for (let i = s.times.length - 1; i >= 0; i--) if (!passive.has(s.times[i])) return s.times[i];
  return -Infinity;
}

/**
 * The known sessions a batch's late events bridged to an earlier one, as time order would have: a session the late
 * events extended (or opened) now ends at most 30 minutes before the visitor's next known session, which no new
 * campaign started (it has none, or the same): sent in time, that session's events would have continued the earlier
 * one. Only a gap the late events closed merges (`before`: each session's latest known time before them; sessions
 * already that close were kept apart for another reason, as a device clock that jumped), and beyond a merged session
 * only the next one it alone kept apart by having no campaign (a campaign's pages, pages without, the campaign again).
 * A session the device's clock kept apart (`apart`: opened after 30 idle minutes on it) neither takes in nor joins one.
 * Merges `sessions` in place; returns each merged session's id with the session it joined.
 */
function mergeBridgedSessions(
  sessions: Map<string, KnownSession>,
  extended: readonly string[],
  before: ReadonlyMap<string, number>,
  passive: ReadonlySet<number>,
  apart: ReadonlySet<string>,
): Map<string, KnownSession> {
  const absorbedBy = new Map<string, KnownSession>();
  const order = extended.map((id) => sessions.get(id)!).sort((a, b) => a.times[0] - b.times[0]);
  for (const into of order) {
    if (absorbedBy.has(into.sessionId) || apart.has(into.sessionId)) continue;
    const gapFrom = before.get(into.sessionId) ?? -Infinity;
    let last = lastActive(into, passive);
    let prev = into;
    for (;;) {
      const next = firstAfter(sessions.values(), last);
      // the next known session, begun after this one ended (not one that interleaves with it)
      if (!next || next.s === into || next.s.times[0] !== next.at || next.at - last > SESSION_TIMEOUT_MS || apart.has(next.s.sessionId)) break;
      const campaign = next.s.campaign;
      if (campaign !== '' && campaign !== into.campaign) break;
      const closed = prev === into ? next.at - gapFrom > SESSION_TIMEOUT_MS : campaign !== '' && campaign !== prev.campaign;
      if (!closed) break;
      for (const t of next.s.times) insertTime(into.times, t);
      sessions.delete(next.s.sessionId);
      absorbedBy.set(next.s.sessionId, into);
      for (const [id, s] of absorbedBy) if (s === next.s) absorbedBy.set(id, into);
      prev = next.s;
      last = Math.max(last, lastActive(next.s, passive));
    }
  }
  return absorbedBy;
}

/** When a known session began: as its name says (sessionIdFor), or its earliest known time if that is earlier. */
const startOf = (visitorId: string, s: KnownSession) => Math.min(sessionStartOf(visitorId, s.sessionId) ?? Infinity, s.times[0]);

/**
 * Places a batch's late events (ascending by time), given the current session and the other sessions known near them
 * (remembered from earlier batches, read back from storage). Pure. Returns each event's placement, and the sessions
 * this batch placed events in outside the current one, with those events' times (to remember until they are stored).
 * A late event that bridges two sessions (mergeBridgedSessions) merges the later into the earlier: `merges` says which
 * (for storage), the placements name the earlier one, and `current` is the visitor's session afterwards (the earlier
 * one, going on, when the current session was the later one; else the current session as given).
 * An event the device made after the visit's last activity (`device`, with the current session's device clock) that
 * its batch's correction put among the visit's own events or next to them (no other known session on either side) is
 * late on the collector's clock only: the correction moved it back across a jump of the device's clock. It is placed
 * as it would have been sent in time (nextSession): after 30 idle minutes on the device's clock, or with a new
 * campaign, it opens the visitor's session ('device_gap'), which `current` then is and no late event bridges; else it
 * continues the visitor's session. An engagement event (measuring its view) extends neither. One the correction put
 * beside another of the visitor's sessions is placed by the rules, on the collector's clock (a device clock that
 * differs from the one the visit's last activity was stamped by, as an unstamped batch's, is no idle time of its own).
 */
export function placeLateEvents(
  current: SessionState,
  known: readonly KnownSession[],
  visitorId: string,
  late: readonly LateEvent[],
  rules: readonly LateRule[] = LATE_EVENT_RULES,
): { placements: LatePlacement[]; placed: KnownSession[]; merges: SessionMerge[]; current: SessionState } {
  const sessions = new Map<string, KnownSession>();
  // a session merged into another by an earlier batch not stored yet: read back, its events are that one's
  const alias = absorbedIds(known);
  const add = (s0: KnownSession) => {
    const s = underAlias(s0, alias);
    const had = sessions.get(s.sessionId);
    sessions.set(s.sessionId, had ? mergeKnown(had, s) : { ...s, times: [...s.times] });
  };
  // the current session by its first and last activity
  add({ sessionId: current.sessionId, campaign: campaignAsStored(current.campaign), touch: current.touch ?? null, times: [current.started, current.lastSeen] });
  for (const s of known) add(s);
  const before = new Map<string, number>();
  for (const s of sessions.values()) before.set(s.sessionId, s.times[s.times.length - 1]);
  const placed = new Map<string, KnownSession>();
  const placements: LatePlacement[] = [];
  // the visitor's session as the device's clock tells it, and the sessions it opened after 30 idle minutes on that clock
  let now = current;
  const apart = new Set<string>();
  // a known event of the visit itself (as the device's clock tells it), or none: no other session lies on that side
  const ownVisit = (n: { s: KnownSession } | undefined) => !n || n.s.sessionId === current.sessionId || n.s.sessionId === now.sessionId || apart.has(n.s.sessionId);
  for (let i = 0; i < late.length; i++) {
    const { at, touch, device } = late[i];
    const campaign = campaignAsStored(late[i].campaign);
    const active = (late[i].since ?? at) >= at;
    const near = { ...neighbours(sessions.values(), at), current: sessions.get(current.sessionId)! };
    if (device && now.deviceSeen !== undefined && device.at >= now.deviceSeen && ownVisit(near.before) && ownVisit(near.after)) {
      const idle = device.since - now.deviceSeen > SESSION_TIMEOUT_MS;
      if (idle || (campaign !== '' && campaign !== campaignAsStored(now.campaign))) {
        // a session of its own, as sent in time: it begins no earlier than the activity it came after on the device
        const opened = open(Math.max(at, now.lastSeen), at, campaign, touch, 'device_gap');
        apart.add(opened.sessionId);
        now = { sessionId: opened.sessionId, started: opened.start, lastSeen: opened.start, campaign: late[i].campaign, touch, deviceSeen: device.at };
        continue;
      }
      // it continues the visitor's session (an engagement event without extending it)
      const s = sessions.get(now.sessionId)!;
      if (active) {
        insertTime(s.times, at);
        if (s.sessionId !== current.sessionId) remember(s, at);
        now = { ...now, lastSeen: Math.max(now.lastSeen, at), deviceSeen: Math.max(now.deviceSeen, device.at) };
      }
      placements.push({ sessionId: s.sessionId, isNew: false, rule: 'current', touch: s.touch });
      continue;
    }
    let found: { s: KnownSession; rule: LateRuleId } | undefined;
    for (const rule of rules) {
      const s = sessionOfRule(rule, current, near, late, i, campaign);
      if (s && CAMPAIGN_TESTS[rule.campaign](campaign, s.campaign)) {
        found = { s, rule: rule.id };
        break;
      }
    }
    if (found) {
      // an engagement event (activity begun before it) extends nothing: later late events are not measured from it
      if (active) {
        insertTime(found.s.times, at);
        if (found.rule !== 'current') remember(found.s, at);
      }
      placements.push({ sessionId: found.s.sessionId, isNew: false, rule: found.rule, touch: found.s.touch });
      continue;
    }
    open(at, at, campaign, touch, 'opens');
  }
  /** A session of its own, named like one opened in time at `start` (a millisecond on if a known session has that name). */
  function open(start: number, at: number, campaign: string, touch: Touch | null, rule: 'opens' | 'device_gap') {
    while (sessions.has(sessionIdFor(visitorId, start))) start++;
    const opened: KnownSession = { sessionId: sessionIdFor(visitorId, start), campaign, touch, times: [at] };
    sessions.set(opened.sessionId, opened);
    remember(opened, at);
    placements.push({ sessionId: opened.sessionId, isNew: true, rule, touch });
    return { sessionId: opened.sessionId, start };
  }
  function remember(s: KnownSession, at: number) {
    const p = placed.get(s.sessionId);
    if (p) insertTime(p.times, at);
    else placed.set(s.sessionId, { sessionId: s.sessionId, campaign: s.campaign, touch: s.touch, times: [at] });
  }
  // late events reporting time on a view (engagement) extend no session, so they bridge none
  const passive = new Set(late.filter((e) => (e.since ?? e.at) < e.at).map((e) => e.at));
  const absorbedBy = late.length ? mergeBridgedSessions(sessions, [...placed.keys()], before, passive, apart) : new Map<string, KnownSession>();
  if (absorbedBy.size === 0) return { placements, placed: [...placed.values()], merges: [], current: now };
  const merges: SessionMerge[] = [];
  for (const [from, into] of absorbedBy) {
    const intoCampaign = into.sessionId === current.sessionId ? current.campaign : campaignKey(into.touch);
    merges.push({ from, into: into.sessionId, intoStarted: startOf(visitorId, into), intoCampaign });
  }
  // the events placed in a merged session are the earlier one's; one that opened it opens nothing now
  const merged = placements.map((p) => {
    const into = absorbedBy.get(p.sessionId);
    return into ? { ...p, isNew: false, sessionId: into.sessionId, touch: into.touch } : p;
  });
  const remembered = new Map<string, KnownSession>();
  for (const p of placed.values()) {
    const into = absorbedBy.get(p.sessionId);
    const target = into ? { sessionId: into.sessionId, campaign: into.campaign, touch: into.touch, times: p.times } : p;
    const had = remembered.get(target.sessionId);
    remembered.set(target.sessionId, had ? mergeKnown(had, target) : target);
  }
  for (const [from, into] of absorbedBy) {
    const r = remembered.get(into.sessionId) ?? { sessionId: into.sessionId, campaign: into.campaign, touch: into.touch, times: [] };
    r.absorbed = [...new Set([...(r.absorbed ?? []), from])];
    remembered.set(into.sessionId, r);
  }
  // (a session the device's clock opened goes on as the visitor's, whatever merged before it)
  const into = now.sessionId === current.sessionId ? absorbedBy.get(current.sessionId) : undefined;
  if (into) {
    const state: SessionState = {
      sessionId: into.sessionId,
      started: startOf(visitorId, into),
      lastSeen: now.lastSeen,
      campaign: now.campaign !== '' ? now.campaign : campaignKey(into.touch),
      touch: into.touch ?? now.touch ?? null,
    };
    if (now.deviceSeen !== undefined) state.deviceSeen = now.deviceSeen;
    now = state;
  }
  return { placements: merged, placed: [...remembered.values()], merges, current: now };
}

/**
 * Sessions to remember for a visitor's next late events until they are stored: the latest placed first, then the ones
 * remembered before, at most `max` sessions of at most `maxTimes` times each (its first and latest ones). A session
 * remembered before that one placed now absorbed (a bridge) is remembered as part of it.
 */
export function rememberPlaced(remembered: readonly KnownSession[] | undefined, placed: readonly KnownSession[], max = 16, maxTimes = 64): KnownSession[] {
  const out = new Map<string, KnownSession>();
  for (const s of placed) out.set(s.sessionId, s);
  const alias = absorbedIds(placed);
  for (const s0 of remembered ?? []) {
    const s = underAlias(s0, alias);
    const p = out.get(s.sessionId);
    out.set(s.sessionId, p ? mergeKnown(p, s) : s);
  }
  return [...out.values()].slice(0, max).map((s) => (s.times.length > maxTimes ? { ...s, times: [...s.times.slice(0, maxTimes / 2), ...s.times.slice(-maxTimes / 2)] } : s));
}

/**
 * PostgreSQL, several collectors: a flush's events went on in session `extended` of a visitor (from its latest known
 * time `before`), while another collector's flush, committed first, opened a later session for the gap these events
 * close (it saw the visit last active at `before`). Whichever flush commits second bridges them: the joiner
 * (concurrent-sessions.ts) when it is the opener's, this when it is the flush of the events that closed the gap. Given the
 * visitor's stored sessions from `before` on, read under its row lock after this flush stored its events (so they hold
 * them): the merges mergeBridgedSessions makes, as one collector would have from either order. `intoCampaign`: the
 * campaign key of `extended` (the visitor's session as this flush knew it). Pure; merging twice finds nothing to merge.
 */
export function bridgedByCommitted(visitorId: string, stored: readonly KnownSession[], extended: string, before: number, intoCampaign: string): SessionMerge[] {
  const sessions = new Map(stored.map((s) => [s.sessionId, { ...s, times: [...s.times] }]));
  if (!sessions.has(extended)) return [];
  const absorbedBy = mergeBridgedSessions(sessions, [extended], new Map([[extended, before]]), new Set(), new Set());
  return [...absorbedBy].map(([from, into]) => ({ from, into: into.sessionId, intoStarted: startOf(visitorId, into), intoCampaign }));
}
