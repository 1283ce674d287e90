// Judge 11: caps met by points in tenths (README "Scores": the award that would pass a cap is cut to what is left).
// Points like 0.1 or 0.3 are no binary fractions, so a rule's running total kept as a double drifts (0.3 + 0.3 + 0.3 is
// 0.8999999999999999): the cut award came out as 0.10000000000000009, and a cap of 1 met by ten awards of 0.1 left
// 1.1e-16 for an eleventh award that moved no score. The journey is in test/funnel/judge-11-journeys.test.ts; these
// check the pure rule, and a total stored by a collector from before the fix.
import { describe, expect, test } from 'vitest';
import { emptyScoreState, scoreEvent, type ScoreChange, type ScoreState } from '../../collector/scoring/score-event.js';
import { compileFunnel } from '../../collector/funnel/compile-funnel.js';
import type { FunnelConfig } from '../../collector/funnel/funnel-config.js';
import { makeEvent, MIN, T0 } from '../helpers/funnel-factories.js';

const config = (scoreRules: FunnelConfig['scoreRules']): FunnelConfig => ({ stages: ['a'], stageRules: [], scoreRules, halfLifeDays: null, mqlThreshold: 1000, sqlWhen: [] });

function pages(c: FunnelConfig, n: number, start: ScoreState = emptyScoreState()) {
  const funnel = compileFunnel(c);
  let state = start;
  const changes: ScoreChange[] = [];
  for (let k = 0; k < n; k++) {
    const r = scoreEvent(funnel, state, makeEvent({ at: T0 + k * MIN, path: '/docs' }));
    state = r.state;
    changes.push(...r.changes);
  }
  return { state, points: changes.map((c) => c.points), after: changes.map((c) => c.scoreAfter) };
}

describe('caps in tenths', () => {
  test('0.1 a page, cap 1: ten awards of 0.1, then none', () => {
    const r = pages(config([{ id: 'page', points: 0.1, when: {}, cap: 1 }]), 14);
    expect(r.points).toEqual(new Array(10).fill(0.1));
    expect(r.after).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(r.state.score).toBe(1);
  });

  test('0.3 a page, cap 1: 0.3, 0.3, 0.3, then 0.1; −0.7, cap 1: −0.7, then −0.3', () => {
    expect(pages(config([{ id: 'docs', points: 0.3, when: {}, cap: 1 }]), 6).points).toEqual([0.3, 0.3, 0.3, 0.1]);
    const neg = pages(config([{ id: 'jobs', points: -0.7, when: {}, cap: 1 }]), 4);
    expect(neg.points).toEqual([-0.7, -0.3]);
    expect(neg.state.score).toBe(-1);
  });

  test('a running total stored with the drift (before the fix) gives no award of 1e-16 at the next event', () => {
    // eight awards of 0.1 summed as doubles: 0.7999999999999999 given of a cap of 0.8
    const c = config([{ id: 'page', points: 0.1, when: {}, cap: 0.8 }]);
    const stored: ScoreState = { score: 0.8, scoreAt: T0, mqlAt: null, progress: { 'sc:page': { p: 0.7999999999999999, l: T0 } } };
    const r = pages(c, 2, stored);
    expect(r.points).toEqual([]);
    expect(r.state.score).toBe(0.8);
  });
});
