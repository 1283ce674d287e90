// Counting toward `sessions` and `count` thresholds, without a database.
import { describe, expect, test } from 'vitest';
import { advanceRule, type RuleProgress } from '../../collector/funnel/rule-progress.js';
import { neverHolds } from '../../collector/funnel/funnel-config.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import { makeEvent } from '../helpers/funnel-factories.js';

const twoSessions = { key: 'st:x', id: 'x', test: () => true, sessions: 2 };

describe('advanceRule', () => {
  test('sessions are visits: server events add none, and match once the rule holds', () => {
    let p: RuleProgress | undefined;
    const web1 = makeEvent({ sessionId: 'v1.s1' });
    let r = advanceRule(twoSessions, p, web1);
    expect(r.hit).toBe(false);
    p = r.progress;
    // a CRM event has a session id of its own (srv:…): no second visit
    r = advanceRule(twoSessions, p, makeEvent({ source: 'server', sessionId: 'srv:deal-1' }));
    expect(r).toEqual({ hit: false, progress: p });
    r = advanceRule(twoSessions, p, makeEvent({ sessionId: 'v2.s7', visitorId: 'v2' }));
    expect(r.hit).toBe(true);
    expect(advanceRule(twoSessions, r.progress, makeEvent({ source: 'server', sessionId: 'srv:deal-2' })).hit).toBe(true);
  });
});

describe('neverHolds', () => {
  test('names a condition counting sessions of server events only', () => {
    expect(neverHolds(DEFAULT_FUNNEL_CONFIG)).toBeNull();
    const c = structuredClone(DEFAULT_FUNNEL_CONFIG);
    c.sqlWhen.push({ event: 'call', source: 'server', sessions: 2 });
    expect(neverHolds(c)).toMatch(/^sqlWhen\.2\.sessions: /);
    c.scoreRules[3].when = { source: 'server', sessions: 3 };
    expect(neverHolds(c)).toMatch(/^scoreRules\.3\.when\.sessions: /);
  });
});
