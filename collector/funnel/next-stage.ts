// Stage rules applied to one event: forward only, the highest stage any rule reaches, every stage entered at most once.
import type { CompiledFunnel } from './compile-funnel.js';
import type { FoldEvent } from './fold-event.js';
import { advanceRule, type ProgressMap } from './rule-progress.js';

export interface StageState {
  /** index in the config's stages; -1 before any stage rule held */
  rank: number;
  /** when the current stage was entered */
  stageAt: number | null;
  /** progress of stage rules above the current stage that count sessions or events */
  progress: ProgressMap;
}

export interface StageChange {
  from: string | null;
  to: string;
  at: number;
  eventId: string;
  rule: string;
  /** when the lead entered `from` (null with it): time in stage without a self-join */
  fromAt: number | null;
}

export const emptyStageState = (): StageState => ({ rank: -1, stageAt: null, progress: {} });

/**
 * The lead's stage after one more event (events come in time order). Each stage above the current one that a rule
 * reaches with this event is entered, lowest first, so a first visit that is also a demo request enters awareness
 * and evaluation at the same moment. Pure.
 */
export function nextStage(funnel: CompiledFunnel, state: StageState, e: FoldEvent): { state: StageState; changes: StageChange[] } {
  let progress = state.progress;
  const reached = new Map<number, string>();
  for (const rule of funnel.stageRules) {
    if (rule.rank <= state.rank || !rule.test(e)) continue;
    const r = advanceRule(rule, progress[rule.key], e);
    if (r.progress !== progress[rule.key]) progress = { ...progress, [rule.key]: r.progress! };
    if (r.hit && !reached.has(rule.rank)) reached.set(rule.rank, rule.id);
  }
  if (reached.size === 0) return progress === state.progress ? { state, changes: [] } : { state: { ...state, progress }, changes: [] };
  const changes: StageChange[] = [];
  let rank = state.rank;
  let enteredAt = state.stageAt;
  for (const [to, rule] of [...reached].sort((a, b) => a[0] - b[0])) {
    changes.push({ from: rank >= 0 ? funnel.stages[rank] : null, to: funnel.stages[to], at: e.at, eventId: e.eventId, rule, fromAt: rank >= 0 ? enteredAt : null });
    rank = to;
    enteredAt = e.at;
  }
  // progress toward stages now behind the lead can never matter again
  const kept: Record<string, (typeof progress)[string]> = {};
  for (const rule of funnel.stageRules) if (rule.rank > rank && progress[rule.key]) kept[rule.key] = progress[rule.key];
  return { state: { rank, stageAt: e.at, progress: kept }, changes };
}
