// A score rule with window "session" awards once per session, whatever the session's length or the clock between
// sessions: the default `visit` rule is one of them (a visit is a session).
import { expect, test } from 'vitest';
import { scoreEvent, emptyScoreState, type ScoreState } from '../../collector/scoring/score-event.js';
import { compileFunnel } from '../../collector/funnel/compile-funnel.js';
import { parseFunnelConfig, type FunnelConfig } from '../../collector/funnel/funnel-config.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import type { StoredEvent } from '../../collector/ingest/types.js';
import { makeEvent, T0, HOUR, MIN } from '../helpers/funnel-factories.js';

const base: FunnelConfig = { stages: ['a'], stageRules: [], scoreRules: [], halfLifeDays: null, mqlThreshold: 50, sqlWhen: [] };

function points(config: FunnelConfig, events: Partial<StoredEvent>[]) {
  const funnel = compileFunnel(config);
  let state: ScoreState = emptyScoreState();
  const out: number[] = [];
  for (const e of events) {
    const r = scoreEvent(funnel, state, makeEvent(e));
    state = r.state;
    out.push(r.changes.reduce((sum, c) => sum + c.points, 0));
  }
  return out;
}

test('window "session": one award per session, a long session once, the next session again however soon', () => {
  const config = { ...base, scoreRules: [{ id: 'visit', points: 2, when: { event: 'pageview' }, window: 'session' }] };
  expect(
    points(config, [
      { sessionId: 's1', at: T0 },
      { sessionId: 's1', at: T0 + 20 * MIN },
      { sessionId: 's1', at: T0 + 2 * HOUR }, // one long visit
      { sessionId: 's2', at: T0 + 2 * HOUR + 1000 }, // a new session a second later (a new campaign, a device clock jump)
      { sessionId: 's2', at: T0 + 3 * HOUR },
    ]),
  ).toEqual([2, 0, 0, 2, 0]);
});

test('the default visit rule is per session', () => {
  const visit = DEFAULT_FUNNEL_CONFIG.scoreRules.find((r) => r.id === 'visit')!;
  expect(visit.window).toBe('session');
  expect(points({ ...base, scoreRules: [visit] }, [{ sessionId: 'a', at: T0 }, { sessionId: 'a', at: T0 + HOUR }, { sessionId: 'b', at: T0 + HOUR + 1 }])).toEqual([2, 0, 2]);
});

test('a config says "session" or a duration; anything else is refused with the rule named', () => {
  const rule = (window: string) => ({ ...base, scoreRules: [{ id: 'v', points: 1, when: {}, window }] });
  expect(parseFunnelConfig(rule('session')).ok).toBe(true);
  expect(parseFunnelConfig(rule('30m')).ok).toBe(true);
  expect(parseFunnelConfig(rule('visit'))).toEqual({ ok: false, message: 'scoreRules.0.window: a window is a duration ("30m", "12h", "7d") or "session"' });
});
