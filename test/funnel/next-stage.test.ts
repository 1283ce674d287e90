import { describe, expect, test } from 'vitest';
import { nextStage, emptyStageState, type StageState, type StageChange } from '../../collector/funnel/next-stage.js';
import { compileFunnel } from '../../collector/funnel/compile-funnel.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import type { StoredEvent } from '../../collector/ingest/types.js';
import { makeEvent, T0, HOUR, DAY } from '../helpers/funnel-factories.js';

const funnel = compileFunnel(DEFAULT_FUNNEL_CONFIG);

function run(events: Partial<StoredEvent>[], start: StageState = emptyStageState()) {
  let state = start;
  const changes: StageChange[] = [];
  for (const e of events) {
    const r = nextStage(funnel, state, makeEvent(e));
    state = r.state;
    changes.push(...r.changes);
  }
  return { state, changes, stage: state.rank >= 0 ? funnel.stages[state.rank] : null };
}

describe('nextStage with the default rules', () => {
  test('any visit puts a visitor in awareness', () => {
    const r = run([{ path: '/' }]);
    expect(r.stage).toBe('awareness');
    expect(r.changes).toEqual([expect.objectContaining({ from: null, to: 'awareness', rule: 'any_visit' })]);
  });

  test('a newsletter signup moves to interest, a pricing page to consideration', () => {
    expect(run([{ path: '/' }, { name: 'newsletter_signup', form: 'newsletter' }]).stage).toBe('interest');
    expect(run([{ path: '/' }, { path: '/pricing' }]).stage).toBe('consideration');
  });

  test('an ebook download counts as interest, a case-study download as consideration', () => {
    expect(run([{ path: '/' }, { name: 'download', props: { url: 'http://127.0.0.1/files/saas-ebook.pdf' } }]).stage).toBe('interest');
    expect(run([{ path: '/' }, { name: 'download', props: { url: 'http://127.0.0.1/files/acme-case-study.pdf' } }]).stage).toBe('consideration');
  });

  test('a second session moves to interest; one session does not', () => {
    expect(run([{ path: '/', sessionId: 's1' }, { path: '/about', sessionId: 's1' }]).stage).toBe('awareness');
    expect(run([{ path: '/', sessionId: 's1' }, { path: '/about', sessionId: 's2' }]).stage).toBe('interest');
  });

  test('pricing seen in two sessions is intent, twice in one session is not', () => {
    const once = run([{ path: '/pricing', sessionId: 's1' }, { path: '/pricing', sessionId: 's1' }]);
    expect(once.stage).toBe('consideration');
    const twice = run([{ path: '/pricing', sessionId: 's1', at: T0 }, { path: '/blog', sessionId: 's2', at: T0 + DAY }, { path: '/pricing/', sessionId: 's2', at: T0 + DAY + 1 }]);
    expect(twice.stage).toBe('intent');
    expect(twice.changes.at(-1)).toMatchObject({ from: 'consideration', to: 'intent', rule: 'pricing_two_sessions', at: T0 + DAY + 1 });
  });

  test('a demo request is evaluation and enters awareness at the same moment when it comes first', () => {
    const r = run([{ name: 'demo_request', form: 'demo', path: '/demo', at: T0 }]);
    expect(r.stage).toBe('evaluation');
    expect(r.changes.map((c) => [c.from, c.to, c.at])).toEqual([[null, 'awareness', T0], ['awareness', 'evaluation', T0]]);
  });

  test('closed_won from the server is purchase; the same name from the browser is not', () => {
    expect(run([{ path: '/' }, { name: 'closed_won', source: 'server' }]).stage).toBe('purchase');
    expect(run([{ path: '/' }, { name: 'closed_won', source: 'web' }]).stage).toBe('awareness');
  });

  test('stages never move back and each is entered once', () => {
    const r = run([{ name: 'demo_request', path: '/demo' }, { path: '/pricing' }, { name: 'newsletter_signup' }, { name: 'demo_request', path: '/demo' }]);
    expect(r.stage).toBe('evaluation');
    expect(r.changes.map((c) => c.to)).toEqual(['awareness', 'evaluation']);
  });

  test('the change names the causing event and its time, so time in stage is exact', () => {
    const pricing = makeEvent({ path: '/pricing', at: T0 + 3 * HOUR });
    let state = run([{ path: '/', at: T0 }]).state;
    const r = nextStage(funnel, state, pricing);
    expect(r.changes).toEqual([{ from: 'awareness', to: 'consideration', at: T0 + 3 * HOUR, eventId: pricing.eventId, rule: 'pricing_page', fromAt: T0 }]);
    expect(r.state.stageAt).toBe(T0 + 3 * HOUR);
    state = r.state;
    expect(nextStage(funnel, state, makeEvent({ path: '/' })).changes).toEqual([]);
  });

  test('progress toward stages already passed is dropped', () => {
    const r = run([{ path: '/pricing', sessionId: 's1' }, { name: 'demo_request' }]);
    expect(Object.keys(r.state.progress)).toEqual([]);
  });

  test('the input state is not modified', () => {
    const start = run([{ path: '/pricing', sessionId: 's1' }]).state;
    const copy = structuredClone(start);
    nextStage(funnel, start, makeEvent({ path: '/pricing', sessionId: 's2' }));
    expect(start).toEqual(copy);
  });
});
