// Score rules applied to one event: points, caps, frequency windows, negative points, half-life decay, MQL crossing.
import type { CompiledFunnel } from '../funnel/compile-funnel.js';
import type { FoldEvent } from '../funnel/fold-event.js';
import { advanceRule, type ProgressMap, type RuleProgress } from '../funnel/rule-progress.js';
import { decayScore, roundScore } from './decay.js';

export interface ScoreState {
  /** the score as worth at `scoreAt` */
  score: number;
  /** reference time of `score`: the last award (decay runs from there) */
  scoreAt: number | null;
  /** first time the score reached the MQL threshold */
  mqlAt: number | null;
  progress: ProgressMap;
}

export interface ScoreChange {
  /** scoreChangeId(): the same award has the same id live and in replay */
  changeId: string;
  at: number;
  eventId: string;
  rule: string;
  points: number;
  /** the score right after this award */
  scoreAfter: number;
  /** the event made the lead an MQL */
  mql: boolean;
}

/**
 * `<eventId>#<rule position>:<ruleId>`, e.g. `srv:deal-1#011:demo_completed`. The timeline orders the score items of one
 * millisecond by this id, in SQL as it pages, so it sorts the way points were applied: events in fold order (by event
 * id; `#` sorts below every character an event id may hold, so `deal-1`'s awards sort before `deal-10`'s), then one
 * event's rules in config order (position padded to 3 digits: a config holds at most 200 score rules). Rule names would
 * put `visit` (+2, score 2) above `pricing_view` (+10, score 12), the award that made the current score.
 */
export const scoreChangeId = (eventId: string, position: number, ruleId: string) => `${eventId}#${String(position).padStart(3, '0')}:${ruleId}`;

/**
 * How many awarded sessions a rule with window "session" remembers per device. One device's sessions mostly follow one
 * another, but a late event with a campaign opens a past session inside the span of the visit around it (the late-event
 * rules never move that visit's later pages), so in time order the device goes from that visit to the past session and
 * back: the last awarded session alone would score the visit again.
 */
export const SESSIONS_REMEMBERED = 8;

/**
 * Whether a rule with window "session" already awarded this event's session: a web session is its device's, and the
 * device's last awarded sessions tell (another device's visit in between does not reopen it). A server event opens no
 * visit: its `srv:` session is its own. `ls` is what states stored before `lv` remember: the one session their last
 * award was in. `lv` holds each device's awarded session ids, latest first, separated by spaces (no id holds one);
 * states stored before held one id, which reads as a list of one.
 */
function isSessionAwarded(p: RuleProgress | undefined, e: FoldEvent): boolean {
  return p !== undefined && (p.ls === e.sessionId || (e.source === 'web' && p.lv !== undefined && Object.hasOwn(p.lv, e.visitorId) && p.lv[e.visitorId].split(' ').includes(e.sessionId)));
}

/** The progress with this web event's session remembered among its device's awarded ones. */
const withSessionAward = (p: RuleProgress | undefined, e: FoldEvent): RuleProgress => {
  if (e.source !== 'web') return { ...p };
  const had = p?.lv !== undefined && Object.hasOwn(p.lv, e.visitorId) ? p.lv[e.visitorId].split(' ') : [];
  return { ...p, lv: { ...p?.lv, [e.visitorId]: [e.sessionId, ...had].slice(0, SESSIONS_REMEMBERED).join(' ') } };
};

/**
 * A rule's running total and what is left of its cap, to 10 decimals. Points in tenths are no binary fractions: summed
 * as doubles, 0.3 + 0.3 + 0.3 is 0.8999999999999999, so a cap of 1 would cut the fourth award to 0.10000000000000009,
 * and ten awards of 0.1 would leave 1.1e-16 of the cap for an eleventh award that moves no score (the score is kept to
 * 4 decimals, so nothing finer than that can matter). A total stored before this rounding is read the same way.
 */
const inTenBillionths = (n: number) => Math.round(n * 1e10) / 1e10;

export const emptyScoreState = (): ScoreState => ({ score: 0, scoreAt: null, mqlAt: null, progress: {} });

/**
 * The score after one more event (events come in time order). A rule awards its points when its condition holds,
 * unless it already awarded within its window or its cap is used up (the last award is cut to fit the cap). Pure.
 */
export function scoreEvent(funnel: CompiledFunnel, state: ScoreState, e: FoldEvent): { state: ScoreState; changes: ScoreChange[] } {
  let { score, scoreAt, mqlAt, progress } = state;
  const changes: ScoreChange[] = [];
  for (let i = 0; i < funnel.scoreRules.length; i++) {
    const rule = funnel.scoreRules[i];
    if (!rule.test(e)) continue;
    const adv = advanceRule(rule, progress[rule.key], e);
    let p: RuleProgress | undefined = adv.progress;
    const inWindow = (rule.windowMs && p?.l !== undefined && e.at - p.l < rule.windowMs) || (rule.perSession && isSessionAwarded(p, e));
    if (adv.hit && !inWindow) {
      const total = p?.p ?? 0;
      let award = rule.points;
      if (rule.cap !== undefined) award = Math.sign(award) * Math.min(Math.abs(award), Math.max(0, inTenBillionths(rule.cap - Math.abs(total))));
      if (award !== 0) {
        score = roundScore(decayScore(score, scoreAt, e.at, funnel.halfLifeMs) + award);
        scoreAt = e.at;
        const given = inTenBillionths(total + award);
        p = rule.perSession ? { ...withSessionAward(p, e), p: given, l: e.at } : { ...p, p: given, l: e.at };
        const crossed = mqlAt === null && score >= funnel.mqlThreshold;
        if (crossed) mqlAt = e.at;
        changes.push({ changeId: scoreChangeId(e.eventId, i, rule.id), at: e.at, eventId: e.eventId, rule: rule.id, points: award, scoreAfter: score, mql: crossed });
      }
    }
    if (p !== progress[rule.key]) progress = { ...progress, [rule.key]: p! };
  }
  if (progress === state.progress && changes.length === 0) return { state, changes };
  return { state: { score, scoreAt, mqlAt, progress }, changes };
}
