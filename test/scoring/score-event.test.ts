import { describe, expect, test } from 'vitest';
import { scoreEvent, emptyScoreState, type ScoreChange, type ScoreState } from '../../collector/scoring/score-event.js';
import { compileFunnel } from '../../collector/funnel/compile-funnel.js';
import type { FunnelConfig } from '../../collector/funnel/funnel-config.js';
import type { StoredEvent } from '../../collector/ingest/types.js';
import { makeEvent, T0, HOUR, DAY } from '../helpers/funnel-factories.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';

const base: FunnelConfig = { stages: ['a'], stageRules: [], scoreRules: [], halfLifeDays: null, mqlThreshold: 50, sqlWhen: [] };

function run(config: Partial<FunnelConfig>, events: Partial<StoredEvent>[]) {
  const funnel = compileFunnel({ ...base, ...config });
  let state: ScoreState = emptyScoreState();
  const changes: ScoreChange[] = [];
  for (const e of events) {
    const r = scoreEvent(funnel, state, makeEvent(e));
    state = r.state;
    changes.push(...r.changes);
  }
  return { state, changes };
}

describe('scoreEvent', () => {
  test('each matching event adds the rule points and records event and rule', () => {
    const r = run({ scoreRules: [{ id: 'pricing', points: 10, when: { path: '/pricing*' } }] }, [{ path: '/pricing' }, { path: '/' }, { path: '/pricing/x' }]);
    expect(r.state.score).toBe(20);
    expect(r.changes.map((c) => [c.rule, c.points, c.scoreAfter])).toEqual([['pricing', 10, 10], ['pricing', 10, 20]]);
    expect(r.changes[0].changeId).toBe(`${r.changes[0].eventId}#000:pricing`);
  });

  test('change ids sort in the order points were applied: events by id, then rules in config order, not by rule name', () => {
    const scoreRules = [
      { id: 'visit', points: 2, when: { event: 'pageview' } },
      { id: 'return_visit', points: 5, when: { event: 'pageview' } },
      { id: 'pricing_view', points: 10, when: { path: '/pricing' } },
    ];
    // events of one millisecond fold by id: deal-1 before deal-10, deal-10 before deal-1x
    const r = run({ scoreRules }, [{ eventId: 'srv:deal-1', path: '/pricing' }, { eventId: 'srv:deal-10', path: '/pricing' }, { eventId: 'srv:deal-1x', path: '/pricing' }]);
    expect(r.changes.map((c) => c.changeId)).toEqual([
      'srv:deal-1#000:visit', 'srv:deal-1#001:return_visit', 'srv:deal-1#002:pricing_view',
      'srv:deal-10#000:visit', 'srv:deal-10#001:return_visit', 'srv:deal-10#002:pricing_view',
      'srv:deal-1x#000:visit', 'srv:deal-1x#001:return_visit', 'srv:deal-1x#002:pricing_view',
    ]);
    const ids = r.changes.map((c) => c.changeId);
    // ASCII: JavaScript, SQLite and PostgreSQL (COLLATE "C") sort them alike
    expect([...ids].sort()).toEqual(ids);
  });

  test('a cap limits the total a rule gives and cuts the last award to fit', () => {
    const r = run({ scoreRules: [{ id: 'pv', points: 4, when: { event: 'pageview' }, cap: 10 }] }, [{}, {}, {}, {}]);
    expect(r.changes.map((c) => c.points)).toEqual([4, 4, 2]);
    expect(r.state.score).toBe(10);
  });

  test('a window awards at most once per window', () => {
    const r = run({ scoreRules: [{ id: 'pricing', points: 10, when: { path: '/pricing' }, window: '1d' }] }, [
      { path: '/pricing', at: T0 },
      { path: '/pricing', at: T0 + HOUR },
      { path: '/pricing', at: T0 + DAY - 1 },
      { path: '/pricing', at: T0 + DAY },
    ]);
    expect(r.changes.map((c) => c.at)).toEqual([T0, T0 + DAY]);
  });

  test('negative points lower the score, capped in absolute value', () => {
    const r = run(
      { scoreRules: [{ id: 'pv', points: 5, when: { event: 'pageview' } }, { id: 'careers', points: -10, when: { path: '/careers*' }, cap: 15 }] },
      [{ path: '/' }, { path: '/careers' }, { path: '/careers/2' }, { path: '/careers/3' }],
    );
    expect(r.changes.filter((c) => c.rule === 'careers').map((c) => c.points)).toEqual([-10, -5]);
    expect(r.state.score).toBe(5);
  });

  test('the score halves every half-life and is stored with its reference time', () => {
    const r = run({ halfLifeDays: 10, scoreRules: [{ id: 'x', points: 40, when: { event: 'x' } }] }, [
      { name: 'x', at: T0 },
      { name: 'x', at: T0 + 10 * DAY },
    ]);
    expect(r.changes.map((c) => c.scoreAfter)).toEqual([40, 60]);
    expect(r.state.scoreAt).toBe(T0 + 10 * DAY);
  });

  test('MQL is reached the first time the score crosses the threshold', () => {
    const r = run({ mqlThreshold: 25, scoreRules: [{ id: 'x', points: 10, when: { event: 'x' } }] }, [
      { name: 'x', at: T0 },
      { name: 'x', at: T0 + 1 },
      { name: 'x', at: T0 + 2 },
      { name: 'x', at: T0 + 3 },
    ]);
    expect(r.state.mqlAt).toBe(T0 + 2);
    expect(r.changes.map((c) => c.mql)).toEqual([false, false, true, false]);
  });

  test('a rule with a session count awards from the second session on', () => {
    const r = run({ scoreRules: [{ id: 'return', points: 5, when: { source: 'web', sessions: 2 }, cap: 5 }] }, [
      { sessionId: 's1' },
      { sessionId: 's1' },
      { sessionId: 's2' },
      { sessionId: 's3' },
    ]);
    expect(r.changes).toHaveLength(1);
    expect(r.state.score).toBe(5);
  });

  test('default rules: a webinar registration scores 15 as an event, a /webinar form or a webinar-marked form, once per event', () => {
    const points = (e: Partial<StoredEvent>) => run(DEFAULT_FUNNEL_CONFIG, [e]).changes.filter((c) => c.rule === 'webinar_registration').map((c) => c.points);
    expect(points({ name: 'webinar_registration', path: '/' })).toEqual([15]);
    expect(points({ name: 'form_submit', path: '/webinars/spring', form: 'other' })).toEqual([15]);
    expect(points({ name: 'form_submit', path: '/events', form: 'other', props: { form: 'webinar' } })).toEqual([15]);
    expect(points({ name: 'form_submit', path: '/webinar', form: 'other', props: { form: 'webinar' } })).toEqual([15]);
    expect(points({ name: 'form_submit', path: '/about', form: 'other' })).toEqual([]);
  });

  test('default rules: a sales form scores 20 by its page, its marker or a sales event, as the intent stage reads it', () => {
    const points = (e: Partial<StoredEvent>) => run(DEFAULT_FUNNEL_CONFIG, [e]).changes.filter((c) => c.rule === 'sales_form').map((c) => c.points);
    expect(points({ name: 'form_submit', path: '/contact', form: 'other' })).toEqual([20]);
    expect(points({ name: 'form_submit', path: '/lp/q3', form: 'other', props: { form: 'contact' } })).toEqual([20]);
    expect(points({ name: 'form_submit', path: '/contact', form: 'other', props: { form: 'contact' } })).toEqual([20]);
    expect(points({ name: 'trial_signup', path: '/' })).toEqual([20]);
    expect(points({ name: 'form_submit', path: '/about', form: 'other' })).toEqual([]);
  });
});
