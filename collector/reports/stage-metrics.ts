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

/** Figures are shown to 4 decimals: a breakdown's fractional (linear) shares are counted in these units. */
const UNITS = 10_000;
const round = (n: number) => Math.round(n * UNITS) / UNITS;
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

/**
 * Whole units (1/10,000) for shares that add up to a whole: each share floored, and the units the floors lose go one
 * each to the largest remainders (ties to the earlier share), so the rounded shares add up to the rounded sum exactly
 * (three thirds are 0.3334 + 0.3333 + 0.3333 = 1, not 0.9999). Whole shares (first or last touch) stay as they are.
 * `atLeast` (the units each share showed one stage further down the funnel, for `reached`) raises a floored share to
 * it, which can only be its own floor plus the unit (never further from the exact share); a raised share takes no
 * other unit. When the bounds ask for more units than there are (rare: remainders ranked otherwise on the stage
 * below), they are dropped and the shares are apportioned plainly.
 */
export function apportionUnits(shares: readonly number[], atLeast?: readonly number[]): number[] {
  const scaled = shares.map((v) => v * UNITS);
  // the 1e-6 guard: a share that is whole but computed a hair under (0.9999999999·10⁴) floors to itself
  const floors = scaled.map((v) => Math.floor(v + 1e-6));
  const total = Math.round(scaled.reduce((a, b) => a + b, 0));
  let units = atLeast ? floors.map((u, i) => Math.max(u, Math.min(atLeast[i] ?? 0, u + 1))) : floors.slice();
  if (units.reduce((a, b) => a + b, 0) > total) units = floors.slice();
  let left = total - units.reduce((a, b) => a + b, 0);
  // remainders compared to a millionth of a unit: shares added up in another order (⅓ + ⅓ vs ⅔) differ in their last
  // bits, and a tie must go to the earlier share whichever way the sum was taken
  const order = scaled
    .map((v, i) => [Math.round((v - floors[i]) * 1e6), i] as const)
    .filter(([, i]) => units[i] === floors[i])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0 && k < order.length; k++, left--) units[order[k][1]]++;
  return units;
}

/**
 * Makes a breakdown's groups add up to the report's totals as shown: per stage, `count`, `entered` and `reached` are
 * apportioned over the groups (apportionUnits), so each shown figure is its exact share floored, or that plus the unit
 * a largest remainder gets; `reached` is apportioned from the last stage up with the next stage's figure as its
 * least, so a group's `reached` does not grow down the funnel (but for the rare stage whose bounds apportionUnits drops:
 * there it may by the one unit). `groups[g]` are the facts `metrics[g]` was built from;
 * conversions stay the exact ratios.
 */
export function balanceBreakdown(stages: readonly string[], groups: readonly StageFacts[], metrics: StageMetrics[][]): void {
  const exactReached = groups.map(() => 0);
  let below: number[] | undefined;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    const count = apportionUnits(groups.map((f) => f.count.get(stage) ?? 0));
    const entered = apportionUnits(groups.map((f) => f.entered.get(stage) ?? 0));
    for (let g = 0; g < groups.length; g++) exactReached[g] += groups[g].cohort.get(stage) ?? 0;
    const reached = apportionUnits(exactReached, below);
    below = reached;
    for (let g = 0; g < groups.length; g++) {
      const m = metrics[g][i];
      m.count = count[g] / UNITS;
      m.entered = entered[g] / UNITS;
      m.reached = reached[g] / UNITS;
    }
  }
}

/**
 * A breakdown's groups, each with its per-stage figures (buildStageMetrics), balanced so that they add up to the
 * report's totals as shown (balanceBreakdown); in key order, so leftover units go to the same group on every call.
 */
export function buildBreakdownMetrics(stages: readonly string[], groups: Iterable<readonly [key: string, facts: StageFacts]>): Array<{ key: string; stages: StageMetrics[] }> {
  const keyed = [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const built = keyed.map(([key, facts]) => ({ key, stages: buildStageMetrics(stages, facts) }));
  balanceBreakdown(stages, keyed.map(([, facts]) => facts), built.map((b) => b.stages));
  return built;
}
