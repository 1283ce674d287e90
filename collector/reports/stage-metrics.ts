// One funnel's per-stage figures from its aggregates: pure, so every definition below is tested without a database.
//   count                 leads in the stage now
//   entered               leads that entered the stage in [from, to)
//   reached               leads created in [from, to) that have reached this stage or a later one (the cohort)
//   conversionNext        reached(next) / reached(this): of the cohort that got here, the share that got further
//   conversionCumulative  reached(this) / reached(first stage)
//   timeInStage           p50/p90 ms from entering the stage to entering the next, for leads that entered it in
//                         [from, to) and moved on; null when none did
import { percentiles } from './percentile.js';

export interface StageFacts {
  /** weights may be fractional (linear attribution) */
  count: Map<string, number>;
  cohort: Map<string, number>;
  entered: Map<string, number>;
  durations: Map<string, number[]>;
}

export interface StageMetrics {
  stage: string;
  count: number;
  entered: number;
  reached: number;
  conversionNext: number | null;
  conversionCumulative: number | null;
  timeInStage: { p50: number | null; p90: number | null; n: number };
}

export const emptyFacts = (): StageFacts => ({ count: new Map(), cohort: new Map(), entered: new Map(), durations: new Map() });

const round = (n: number) => Math.round(n * 10_000) / 10_000;
const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : null);

export function buildStageMetrics(stages: readonly string[], f: StageFacts): StageMetrics[] {
  const reached: number[] = new Array(stages.length).fill(0);
  for (let i = stages.length - 1; i >= 0; i--) reached[i] = (f.cohort.get(stages[i]) ?? 0) + (reached[i + 1] ?? 0);
  return stages.map((stage, i) => {
    const times = f.durations.get(stage) ?? [];
    const [p50, p90] = percentiles(times, [50, 90]);
    return {
      stage,
      count: round(f.count.get(stage) ?? 0),
      entered: round(f.entered.get(stage) ?? 0),
      reached: round(reached[i]),
      conversionNext: i < stages.length - 1 ? ratio(reached[i + 1], reached[i]) : null,
      conversionCumulative: ratio(reached[i], reached[0]),
      timeInStage: { p50, p90, n: times.length },
    };
  });
}
