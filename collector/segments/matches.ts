// Pure segment evaluation: whether a lead's facts match a definition, and the next moment time alone could change that.
import type { Condition, DidTest, InStageTest, NumberTest, OneOrMany, SegmentDefinition, StageTest, TouchTest } from './definition.js';
import { durationMs } from './definition.js';
import { didKey, type DidCount, type LeadFacts } from './lead-facts.js';
import { pathMatches } from './glob.js';
import { classifyChannel, hostOf } from '../ingest/channels.js';
import { APP_REFERRER_HOSTS } from '../ingest/channel-rules.js';
import type { Touch } from '../ingest/types.js';
import { decayScore, roundScore } from '../scoring/decay.js';

const DAY_MS = 86_400_000;
/** no moment: the result only changes when new facts arrive (an event, a stage or score change) */
export const NEVER = Infinity;

export interface Evaluation {
  value: boolean;
  /** earliest time > now at which the value could flip with no new facts; NEVER if it cannot */
  changeAt: number;
}

export function matches(definition: SegmentDefinition, facts: LeadFacts): boolean {
  return evaluateCondition(definition, facts).value;
}

/** The next moment (> facts.now) the result may change by time passing alone, or null. */
export function nextChangeAt(definition: SegmentDefinition, facts: LeadFacts): number | null {
  const { changeAt } = evaluateCondition(definition, facts);
  return changeAt === NEVER ? null : changeAt;
}

export function evaluateCondition(c: Condition, f: LeadFacts): Evaluation {
  if ('all' in c) return evaluateAll(c.all, f);
  if ('any' in c) return evaluateAny(c.any, f);
  if ('not' in c) {
    const inner = evaluateCondition(c.not, f);
    return { value: !inner.value, changeAt: inner.changeAt };
  }
  if ('did' in c) return evaluateDid(c.did, f);
  if ('inStage' in c) return evaluateInStage(c.inStage, f);
  if ('score' in c) return evaluateScore(c.score, f);
  // the rest depend on the lead row only: they change when the row does, never by time
  if ('stage' in c) return fixed(stageMatches(c.stage, f));
  if ('identified' in c) return fixed(f.identified === c.identified);
  if ('touch' in c) return fixed(touchMatches(c.touch, f));
  throw new Error('unknown condition kind: ' + Object.keys(c).join(','));
}

const fixed = (value: boolean): Evaluation => ({ value, changeAt: NEVER });
const NO_EVENTS: DidCount = { count: 0, newest: null, oldest: null };

// True until the first true part flips; while false, cannot turn true before every false part has flipped.
function evaluateAll(parts: Condition[], f: LeadFacts): Evaluation {
  let allTrue = true;
  let firstFlip = NEVER;
  let lastFalseFlip = 0;
  for (const part of parts) {
    const e = evaluateCondition(part, f);
    if (e.value) firstFlip = Math.min(firstFlip, e.changeAt);
    else {
      if (e.changeAt === NEVER) return fixed(false);
      allTrue = false;
      lastFalseFlip = Math.max(lastFalseFlip, e.changeAt);
    }
  }
  return allTrue ? { value: true, changeAt: firstFlip } : { value: false, changeAt: lastFalseFlip };
}

// The mirror image of all.
function evaluateAny(parts: Condition[], f: LeadFacts): Evaluation {
  let anyTrue = false;
  let firstFlip = NEVER;
  let lastTrueFlip = 0;
  for (const part of parts) {
    const e = evaluateCondition(part, f);
    if (!e.value) firstFlip = Math.min(firstFlip, e.changeAt);
    else {
      if (e.changeAt === NEVER) return fixed(true);
      anyTrue = true;
      lastTrueFlip = Math.max(lastTrueFlip, e.changeAt);
    }
  }
  return anyTrue ? { value: true, changeAt: lastTrueFlip } : { value: false, changeAt: firstFlip };
}

export function propsMatch(wanted: Record<string, string | number | boolean>, props: LeadFacts['events'][number]['props']): boolean {
  if (!props) return false;
  for (const key in wanted) {
    if (!(key in props) || String(props[key]) !== String(wanted[key])) return false;
  }
  return true;
}

// An event counts while now - at < within; with `min` N the result flips when the N-th newest leaves the window.
function evaluateDid(d: DidTest, f: LeadFacts): Evaluation {
  const windowMs = d.within ? durationMs(d.within) : null;
  const min = d.min ?? 1;
  if (f.didCounts && d.props === undefined) {
    const c = f.didCounts.get(didKey(d)) ?? NO_EVENTS;
    if (c.count < min) return fixed(false);
    if (windowMs === null) return fixed(true);
    // counts carry only the newest and oldest times: with min > 1 the oldest one's expiry is an early, safe recheck
    const t = min === 1 ? c.newest : c.oldest;
    return { value: true, changeAt: (t ?? f.now) + windowMs };
  }
  const since = windowMs === null ? -Infinity : f.now - windowMs;
  const times: number[] = [];
  for (const e of f.events) {
    if (d.event !== '*' && e.name !== d.event) continue;
    if (e.at <= since) continue;
    if (d.source !== undefined && e.source !== d.source) continue;
    if (d.path !== undefined && !pathMatches(d.path, e.path)) continue;
    if (d.props !== undefined && !propsMatch(d.props, e.props)) continue;
    times.push(e.at);
  }
  if (times.length < min) return fixed(false);
  if (windowMs === null) return fixed(true);
  times.sort((a, b) => b - a);
  return { value: true, changeAt: times[min - 1] + windowMs };
}

// Time in the current stage crosses `gte` days once (turning true) and `lte` days once (turning false).
function evaluateInStage(t: InStageTest, f: LeadFacts): Evaluation {
  const elapsed = f.now - f.stageAt;
  // whole milliseconds (times are): fractional days ("0.5000001") must not make a fractional recheck time, which a
  // bigint column refuses; for a whole elapsed time, `>= ceil(x)` and `<= floor(x)` decide as `>= x` and `<= x` do
  const gte = t.days.gte === undefined ? undefined : Math.ceil(t.days.gte * DAY_MS);
  const lte = t.days.lte === undefined ? undefined : Math.floor(t.days.lte * DAY_MS);
  const value = (gte === undefined || elapsed >= gte) && (lte === undefined || elapsed <= lte);
  let changeAt = NEVER;
  if (gte !== undefined && f.stageAt + gte > f.now) changeAt = Math.min(changeAt, f.stageAt + gte);
  if (lte !== undefined && f.stageAt + lte + 1 > f.now) changeAt = Math.min(changeAt, f.stageAt + lte + 1);
  return { value, changeAt };
}

/**
 * The score as GET /api/leads/{ref}, the exports and the segment webhooks show it at `at`: decayed, then rounded to 4
 * decimals. Score conditions compare this number, so a member of `gte 20` is never shown with 19.99995 rounded to 20
 * after leaving, nor a member of `gt 20` with 20.
 */
export const shownScore = (f: Pick<LeadFacts, 'score' | 'scoreAt' | 'halfLifeMs'>, at: number): number =>
  roundScore(decayScore(f.score, f.scoreAt, at, f.halfLifeMs));

/** shown scores are whole multiples of this (roundScore's 4 decimals) */
const SHOWN_UNITS = 10_000;
type Bound = keyof NumberTest;
const BOUNDS: readonly Bound[] = ['gte', 'lte', 'gt', 'lt'];
/** steps the walk to the exact millisecond may take before it bisects instead (float error is a few ms at most) */
const MAX_WALK = 64;

// A decaying score moves toward zero without turning back, and rounding keeps that order, so each bound flips at most
// once: when the shown score first passes it. The shown magnitude steps down one unit (0.0001) at a time, from n + 1
// to n when the raw magnitude falls under (n + ½) units, at scoreAt + halfLife × log2(|score| / that). The step that
// flips a bound is one of the few around it; its moment is computed, then checked to the millisecond.
function evaluateScore(t: NumberTest, f: LeadFacts): Evaluation {
  const nowShown = shownScore(f, f.now);
  const value = numberMatches(t, nowShown);
  if (!f.halfLifeMs || f.score === 0) return fixed(value);
  const sign = Math.sign(f.score);
  const magnitude = Math.abs(f.score);
  const shownUnits = Math.round(Math.abs(nowShown) * SHOWN_UNITS);
  let changeAt = NEVER;
  for (const bound of BOUNDS) {
    const v = t[bound];
    if (v === undefined || shownUnits === 0) continue;
    const now = boundHolds(bound, v, nowShown);
    // the largest magnitude below the current one at which the bound reads otherwise, among those around it
    const k = v * sign * SHOWN_UNITS;
    const low = Math.max(0, Math.floor(k) - 1);
    const high = Math.min(shownUnits - 1, Math.max(low, Math.ceil(k) + 1));
    let flipsAt = -1;
    for (let n = high; n >= low; n--) {
      if (boundHolds(bound, v, (sign * n) / SHOWN_UNITS) !== now) {
        flipsAt = n;
        break;
      }
    }
    if (flipsAt < 0) continue; // the bound reads the same all the way down to 0
    const raw = (flipsAt + 0.5) / SHOWN_UNITS;
    const estimate = raw < magnitude ? Math.round(f.scoreAt + f.halfLifeMs * Math.log2(magnitude / raw)) : f.now + 1;
    changeAt = Math.min(changeAt, firstFlip(bound, v, f, now, Math.max(f.now + 1, estimate)));
  }
  return { value, changeAt };
}

const boundHolds = (bound: Bound, v: number, n: number): boolean =>
  bound === 'gte' ? n >= v : bound === 'lte' ? n <= v : bound === 'gt' ? n > v : n < v;

/** The first millisecond after f.now at which the bound no longer reads `now`, starting the search at `guess`. */
function firstFlip(bound: Bound, v: number, f: LeadFacts, now: boolean, guess: number): number {
  const flipped = (at: number) => boundHolds(bound, v, shownScore(f, at)) !== now;
  let at = guess;
  for (let step = 0; step < MAX_WALK; step++) {
    if (!flipped(at)) at++;
    else if (at - 1 > f.now && flipped(at - 1)) at--;
    else return at;
  }
  // float error far beyond a few ms: bisect between now (not flipped) and a moment it has flipped by
  let lo = f.now;
  let hi = Math.max(at, f.now + 1);
  for (let span = 1; !flipped(hi); span *= 2) hi += span;
  while (hi - lo > 1) {
    const mid = Math.floor(lo + (hi - lo) / 2);
    if (flipped(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

function stageMatches(s: StageTest, f: LeadFacts): boolean {
  if (s.in !== undefined && !s.in.includes(f.stage)) return false;
  if (s.eq !== undefined && s.eq !== f.stage) return false;
  if (s.gte !== undefined) {
    const at = f.stageOrder.indexOf(f.stage);
    const floor = f.stageOrder.indexOf(s.gte);
    if (at < 0 || floor < 0 || at < floor) return false;
  }
  return true;
}

export function numberMatches(t: NumberTest, n: number): boolean {
  return (t.gte === undefined || n >= t.gte) && (t.lte === undefined || n <= t.lte) && (t.gt === undefined || n > t.gt) && (t.lt === undefined || n < t.lt);
}

const wantedList = (v: OneOrMany) => (Array.isArray(v) ? v : [v]).map((x) => x.trim().toLowerCase());
const lower = (v: string | undefined) => (v ?? '').trim().toLowerCase();

/**
 * The host a referrer stands for: its own, or for an Android app that sends its package (`android-app://…`), the web
 * host of a listed app (the Google app is google.com) and the package itself for another.
 */
function referrerHost(ref: string | undefined): string {
  const app = ref?.startsWith('android-app://') ? /^android-app:\/\/([\w.]+)/.exec(ref)?.[1].toLowerCase() : undefined;
  if (app !== undefined && Object.hasOwn(APP_REFERRER_HOSTS, app)) return APP_REFERRER_HOSTS[app];
  return hostOf(ref);
}

// A source is the touch's utm_source or, without one, its referrer host named by any whole run of its labels: "google"
// is google.com, google.co.uk and news.google.com (and the Google app's referrer), "facebook" also the l.facebook.com
// link shim and m.facebook.com that most Facebook visits come from, "facebook.com" all of those.
function sourceMatches(touch: Touch | null, wanted: string): boolean {
  if (!touch) return false;
  if (lower(touch.utm_source) === wanted) return true;
  if (touch.utm_source) return false;
  const host = referrerHost(touch.ref);
  const name = wanted.replace(/^www\./, '');
  return !!host && !!name && ('.' + host + '.').includes('.' + name + '.');
}

function touchMatches(t: TouchTest, f: LeadFacts): boolean {
  const touch = (t.model ?? 'first') === 'last' ? f.lastTouch : f.firstTouch;
  if (t.source !== undefined && !wantedList(t.source).some((w) => sourceMatches(touch, w))) return false;
  if (t.medium !== undefined && !wantedList(t.medium).includes(lower(touch?.utm_medium))) return false;
  if (t.campaign !== undefined && !wantedList(t.campaign).includes(lower(touch?.utm_campaign))) return false;
  if (t.channel !== undefined) {
    const channel = touch ? touch.channel ?? classifyChannel(touch) : 'direct';
    if (!wantedList(t.channel).includes(channel)) return false;
  }
  return true;
}
