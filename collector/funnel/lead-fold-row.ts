// Between a leads row and a LeadFold: the fold's exact state lives in `leads.state`, the readable parts in columns.
import type { LeadFoldRow, LeadFoldUpdate } from '../storage/leads.js';
import type { CompiledFunnel } from './compile-funnel.js';
import { emptyFold, type LeadFold } from './lead-fold.js';
import type { ProgressMap } from './rule-progress.js';
import { roundScore } from '../scoring/decay.js';

interface StoredState {
  v: string;
  w: [number, string] | null;
  k: number;
  sa: number | null;
  s: number;
  t: number | null;
  m: number | null;
  q: number | null;
  st: ProgressMap;
  sc: ProgressMap;
  sq: ProgressMap;
}

const parse = <T>(text: string | null, fallback: T): T => {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

/** The fold stored in a row; a lead never folded yet is empty under the current rules. */
export function foldFromRow(funnel: CompiledFunnel, row: LeadFoldRow): LeadFold {
  const s = parse<Partial<StoredState>>(row.state, {});
  if (!s.v) return emptyFold(funnel.version);
  return {
    version: s.v,
    last: s.w ?? null,
    rank: s.k ?? -1,
    stageAt: s.sa ?? null,
    stageProgress: s.st ?? {},
    score: s.s ?? 0,
    scoreAt: s.t ?? null,
    mqlAt: s.m ?? null,
    scoreProgress: s.sc ?? {},
    sqlAt: s.q ?? null,
    sqlProgress: s.sq ?? {},
    traits: parse(row.traits, {}),
    firstTouch: parse(row.first_touch, null),
    lastTouch: parse(row.last_touch, null),
  };
}

export function foldToUpdate(funnel: CompiledFunnel, f: LeadFold, createdAt: number, now: number): LeadFoldUpdate {
  const state: StoredState = {
    v: f.version, w: f.last, k: f.rank, sa: f.stageAt, s: f.score, t: f.scoreAt, m: f.mqlAt, q: f.sqlAt,
    st: f.stageProgress, sc: f.scoreProgress, sq: f.sqlProgress,
  };
  const rank = Math.max(0, f.rank);
  return {
    stage: funnel.stages[rank],
    stageRank: rank,
    stageAt: f.stageAt ?? createdAt,
    score: roundScore(f.score),
    scoreAt: f.scoreAt ?? createdAt,
    mqlAt: f.mqlAt,
    sqlAt: f.sqlAt,
    traits: JSON.stringify(f.traits),
    firstTouch: f.firstTouch ? JSON.stringify(f.firstTouch) : null,
    lastTouch: f.lastTouch ? JSON.stringify(f.lastTouch) : null,
    state: JSON.stringify(state),
    now,
  };
}
