import { describe, expect, test } from 'vitest';
import { buildStageMetrics, emptyFacts } from '../../collector/reports/stage-metrics.js';

const STAGES = ['a', 'b', 'c', 'd'];

describe('buildStageMetrics', () => {
  test('conversions come from the cohort: a lead that skipped a stage still counts as having reached it', () => {
    const f = emptyFacts();
    // cohort now in: a ×4, b ×1, d ×1 (one lead jumped from a to d)
    f.cohort = new Map([['a', 4], ['b', 1], ['d', 1]]);
    const m = buildStageMetrics(STAGES, f);
    expect(m.map((s) => s.reached)).toEqual([6, 2, 1, 1]);
    expect(m.map((s) => s.conversionNext)).toEqual([0.3333, 0.5, 1, null]);
    expect(m.map((s) => s.conversionCumulative)).toEqual([1, 0.3333, 0.1667, 0.1667]);
  });

  test('an empty cohort has no conversion rates, and a stage nobody left has no time in stage', () => {
    const f = emptyFacts();
    f.count = new Map([['a', 3]]);
    f.durations = new Map([['a', [5, 1, 3]]]);
    const m = buildStageMetrics(STAGES, f);
    expect(m[0]).toMatchObject({ count: 3, entered: 0, reached: 0, conversionNext: null, conversionCumulative: null, timeInStage: { p50: 3, p90: 5, n: 3 } });
    expect(m[1].timeInStage).toEqual({ p50: null, p90: null, n: 0 });
  });
});
