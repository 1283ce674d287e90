// A config turned into what the fold runs: predicates, stage ranks, windows in ms. Compiled once per config.
import type { FunnelConfig } from './funnel-config.js';
import { configVersion } from './funnel-config.js';
import { compileCondition, type EventTest } from './match-event.js';
import { parseDuration } from './duration.js';

export interface CountedRule {
  /** key of the rule's progress in the lead's fold state */
  key: string;
  id: string;
  test: EventTest;
  /** distinct sessions with a matching event before the rule holds */
  sessions?: number;
  /** matching events before the rule holds */
  count?: number;
}

export interface CompiledStageRule extends CountedRule {
  stage: string;
  rank: number;
}

export interface CompiledScoreRule extends CountedRule {
  points: number;
  cap?: number;
  windowMs?: number;
  /** window "session": at most one award per session */
  perSession?: boolean;
}

export interface CompiledFunnel {
  config: FunnelConfig;
  version: string;
  stages: readonly string[];
  stageRules: CompiledStageRule[];
  scoreRules: CompiledScoreRule[];
  sqlRules: CountedRule[];
  halfLifeMs: number | null;
  mqlThreshold: number;
}

const compiled = new WeakMap<FunnelConfig, CompiledFunnel>();

export function compileFunnel(config: FunnelConfig): CompiledFunnel {
  let c = compiled.get(config);
  if (c) return c;
  const rank = new Map(config.stages.map((s, i) => [s, i]));
  c = {
    config,
    version: configVersion(config),
    stages: config.stages,
    stageRules: config.stageRules.map((r) => ({
      key: 'st:' + r.id,
      id: r.id,
      stage: r.stage,
      rank: rank.get(r.stage) ?? -1,
      test: compileCondition(r.when),
      sessions: r.when.sessions,
      count: r.when.count,
    })),
    scoreRules: config.scoreRules.map((r) => ({
      key: 'sc:' + r.id,
      id: r.id,
      points: r.points,
      cap: r.cap,
      windowMs: r.window && r.window !== 'session' ? (parseDuration(r.window) ?? undefined) : undefined,
      perSession: r.window === 'session',
      test: compileCondition(r.when),
      sessions: r.when.sessions,
      count: r.when.count,
    })),
    sqlRules: config.sqlWhen.map((w, i) => ({ key: 'sql:' + i, id: 'sql_' + i, test: compileCondition(w), sessions: w.sessions, count: w.count })),
    halfLifeMs: config.halfLifeDays ? config.halfLifeDays * 86_400_000 : null,
    mqlThreshold: config.mqlThreshold,
  };
  compiled.set(config, c);
  return c;
}
