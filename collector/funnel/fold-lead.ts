// The fold: one lead's events, in time order, into its stage, score, MQL/SQL, traits and touches. Pure; live
// attribution folds new events onto the stored state, replay and late events fold everything from empty.
import type { CompiledFunnel } from './compile-funnel.js';
import { compareEvents, sessionTouchOf, type FoldEvent, type LastTouch } from './fold-event.js';
import type { LeadFold } from './lead-fold.js';
import { nextStage, type StageChange } from './next-stage.js';
import { scoreEvent, type ScoreChange } from '../scoring/score-event.js';
import { advanceRule } from './rule-progress.js';
import { normalizeTraits } from '../identity/normalize-traits.js';

export interface FoldResult {
  fold: LeadFold;
  stageChanges: StageChange[];
  scoreChanges: ScoreChange[];
}

const withoutSession = ({ sessionId: _, ...touch }: LastTouch) => touch;

/** True when these events cannot simply be added on top of the state: it was folded under other rules, or one is late. */
export function needsRebuild(funnel: CompiledFunnel, fold: LeadFold, events: readonly FoldEvent[]): boolean {
  if (fold.version !== funnel.version) return true;
  const last = fold.last;
  if (!last) return false;
  return events.some((e) => compareEvents(e, { at: last[0], eventId: last[1] }) <= 0);
}

/** Folds events (any order; they are sorted here) onto a state that has seen only earlier events. */
export function foldLead(funnel: CompiledFunnel, start: LeadFold, events: readonly FoldEvent[]): FoldResult {
  const sorted = [...events].sort(compareEvents);
  const f: LeadFold = { ...start, version: funnel.version };
  const stageChanges: StageChange[] = [];
  const scoreChanges: ScoreChange[] = [];
  let stage = { rank: f.rank, stageAt: f.stageAt, progress: f.stageProgress };
  let score = { score: f.score, scoreAt: f.scoreAt, mqlAt: f.mqlAt, progress: f.scoreProgress };
  /** the session whose touch stands in for a first touch this fold has not seen yet (see below) */
  let standIn: string | null = null;
  /**
   * the sessions seen here: the time of the first event while its opener is still to come (earlier pages of a visit
   * resent late: ingest opened the session from the batch that arrived first, so a rebuild folds them), else null
   */
  const unopenedSince = new Map<string, number | null>();
  for (const e of sorted) {
    if (e.traits) {
      const t = normalizeTraits(e.traits);
      if (Object.keys(t).length) f.traits = { ...f.traits, ...t };
    }
    if (e.source === 'web') {
      // the last touch is the visit that began last, dated at its start: an event that opens a session (it carries the
      // visitor's first touch) moves it; a later page of a visit already begun (another device's, overlapping) does not,
      // nor does its time. An opener dated after earlier pages of its session stands for the session from the earliest,
      // and moves it only if that visit began no earlier than the last touch's. A lead with no opened session (its
      // visitor switched to it mid-session) takes its first web event's.
      if (!unopenedSince.has(e.sessionId)) unopenedSince.set(e.sessionId, e.firstTouch ? null : e.at);
      const start = unopenedSince.get(e.sessionId) ?? e.at;
      if (e.firstTouch) unopenedSince.set(e.sessionId, null);
      if (!f.lastTouch) f.lastTouch = sessionTouchOf(e);
      else if (e.firstTouch && f.lastTouch.sessionId !== e.sessionId && start >= f.lastTouch.at) f.lastTouch = { ...sessionTouchOf(e), at: start };
      // the visitor's first touch rides on session openers; a lead whose first web event opened no session (its
      // visitor switched to it mid-session) starts from that session's touch
      if (!f.firstTouch) {
        f.firstTouch = e.firstTouch ? { ...e.firstTouch, at: e.firstTouch.at ?? e.at } : withoutSession(f.lastTouch);
        standIn = e.firstTouch ? null : e.sessionId;
      } else if (standIn === e.sessionId && e.firstTouch) {
        // the visit's opener arrived before an earlier page of it (an outbox resent late): its first touch (the landing
        // URL with it) is the lead's, from the earlier page's time
        f.firstTouch = { ...e.firstTouch, at: Math.min(f.firstTouch.at, e.firstTouch.at ?? e.at) };
        standIn = null;
      }
    }
    const s = nextStage(funnel, stage, e);
    stage = s.state;
    stageChanges.push(...s.changes);
    const sc = scoreEvent(funnel, score, e);
    score = sc.state;
    scoreChanges.push(...sc.changes);
    if (f.sqlAt === null) {
      for (const rule of funnel.sqlRules) {
        if (!rule.test(e)) continue;
        const r = advanceRule(rule, f.sqlProgress[rule.key], e);
        if (r.progress !== f.sqlProgress[rule.key]) f.sqlProgress = { ...f.sqlProgress, [rule.key]: r.progress! };
        if (r.hit) {
          f.sqlAt = e.at;
          f.sqlProgress = {};
          break;
        }
      }
    }
    f.last = [e.at, e.eventId];
  }
  f.rank = stage.rank;
  f.stageAt = stage.stageAt;
  f.stageProgress = stage.progress;
  f.score = score.score;
  f.scoreAt = score.scoreAt;
  f.mqlAt = score.mqlAt;
  f.scoreProgress = score.progress;
  return { fold: f, stageChanges, scoreChanges };
}
