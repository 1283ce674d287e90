// A score rule with window "session" while two devices of one lead are on the site at once: each device's visit is
// awarded once, however the other device's pages fall between its own; server events open no visit. Pure, on
// scoreEvent; states stored before the per-device record (`ls` only) keep meaning what they meant.
import { expect, test } from 'vitest';
import { scoreEvent, emptyScoreState, type ScoreState } from '../../collector/scoring/score-event.js';
import { compileFunnel } from '../../collector/funnel/compile-funnel.js';
import type { FunnelConfig } from '../../collector/funnel/funnel-config.js';
import type { StoredEvent } from '../../collector/ingest/types.js';
import { makeEvent, T0, MIN } from '../helpers/funnel-factories.js';

const config: FunnelConfig = {
  stages: ['a'],
  stageRules: [],
  scoreRules: [{ id: 'visit', points: 2, when: {}, window: 'session' }],
  halfLifeDays: null,
  mqlThreshold: 50,
  sqlWhen: [],
};
const funnel = compileFunnel(config);

function points(events: Partial<StoredEvent>[], start: ScoreState = emptyScoreState()) {
  let state = start;
  return events.map((e) => {
    const r = scoreEvent(funnel, state, makeEvent(e));
    state = r.state;
    return r.changes.reduce((sum, c) => sum + c.points, 0);
  });
}
const lap = (at: number, sessionId = 'lap.s1') => ({ visitorId: 'lap', sessionId, at });
const phone = (at: number, sessionId = 'phone.s1') => ({ visitorId: 'phone', sessionId, at });

test('two devices\' visits overlapping: each visit awarded once, a later visit of either again', () => {
  expect(points([lap(T0), phone(T0 + MIN), lap(T0 + 2 * MIN), phone(T0 + 3 * MIN), lap(T0 + 4 * MIN), lap(T0 + 60 * MIN, 'lap.s2'), phone(T0 + 61 * MIN)])).toEqual([
    2, 2, 0, 0, 0, 2, 0,
  ]);
});

test('a server event is no visit: it scores each time and reopens no device\'s visit', () => {
  const crm = (at: number, n: number) => ({ visitorId: 'lap', sessionId: `srv:deal-${n}`, source: 'server' as const, at });
  expect(points([lap(T0), crm(T0 + MIN, 1), lap(T0 + 2 * MIN), crm(T0 + 3 * MIN, 2)])).toEqual([2, 2, 0, 2]);
});

test('a state stored with only the session of the last award (`ls`) still holds that session as awarded', () => {
  const old: ScoreState = { score: 2, scoreAt: T0, mqlAt: null, progress: { 'sc:visit': { p: 2, l: T0, ls: 'lap.s1' } } };
  expect(points([lap(T0 + MIN), phone(T0 + 2 * MIN), lap(T0 + 3 * MIN)], old)).toEqual([0, 2, 0]);
});
