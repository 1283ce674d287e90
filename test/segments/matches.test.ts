import { describe, expect, test } from 'vitest';
import { evaluateCondition, matches, nextChangeAt } from '../../collector/segments/matches.js';
import type { Condition } from '../../collector/segments/definition.js';
import { CONTRACT_SEGMENT_EXAMPLE, DAY, HOUR, T0, ev, makeFacts } from './fixtures.js';

describe('matches: stage', () => {
  test('stage.in matches a lead in one of the listed stages only', () => {
    const c: Condition = { stage: { in: ['consideration', 'intent'] } };
    expect(matches(c, makeFacts({ stage: 'intent' }))).toBe(true);
    expect(matches(c, makeFacts({ stage: 'interest' }))).toBe(false);
  });
  test('stage.eq matches exactly that stage', () => {
    expect(matches({ stage: { eq: 'purchase' } }, makeFacts({ stage: 'purchase' }))).toBe(true);
    expect(matches({ stage: { eq: 'purchase' } }, makeFacts({ stage: 'evaluation' }))).toBe(false);
  });
  test('stage.gte follows the site stage order, not the alphabet', () => {
    const c: Condition = { stage: { gte: 'intent' } };
    expect(matches(c, makeFacts({ stage: 'evaluation' }))).toBe(true);
    expect(matches(c, makeFacts({ stage: 'intent' }))).toBe(true);
    expect(matches(c, makeFacts({ stage: 'consideration' }))).toBe(false);
    const custom = ['visitor', 'lead', 'customer'];
    expect(matches({ stage: { gte: 'lead' } }, makeFacts({ stage: 'customer', stageOrder: custom }))).toBe(true);
    expect(matches({ stage: { gte: 'lead' } }, makeFacts({ stage: 'visitor', stageOrder: custom }))).toBe(false);
  });
  test('stage.gte with a stage the site does not have matches nothing', () => {
    expect(matches({ stage: { gte: 'nope' } }, makeFacts({ stage: 'purchase' }))).toBe(false);
  });
});

describe('matches: did', () => {
  test('did counts events of that name', () => {
    const c: Condition = { did: { event: 'download' } };
    expect(matches(c, makeFacts({ events: [ev('download', T0 - 100 * DAY)] }))).toBe(true);
    expect(matches(c, makeFacts({ events: [ev('pageview', T0)] }))).toBe(false);
  });
  test('did.path is a case-insensitive glob over the event path', () => {
    const c: Condition = { did: { event: 'pageview', path: '/pricing*' } };
    expect(matches(c, makeFacts({ events: [ev('pageview', T0, '/Pricing/enterprise')] }))).toBe(true);
    expect(matches(c, makeFacts({ events: [ev('pageview', T0, '/blog/pricing')] }))).toBe(false);
    expect(matches({ did: { event: 'pageview', path: '*/pricing' } }, makeFacts({ events: [ev('pageview', T0, '/blog/pricing')] }))).toBe(true);
    expect(matches({ did: { event: 'pageview', path: '/a.b' } }, makeFacts({ events: [ev('pageview', T0, '/axb')] }))).toBe(false);
  });
  test('did.props requires every listed prop, compared as text', () => {
    const c: Condition = { did: { event: 'signup', props: { plan: 'pro', seats: 5 } } };
    expect(matches(c, makeFacts({ events: [ev('signup', T0, '/', { plan: 'pro', seats: '5', extra: true })] }))).toBe(true);
    expect(matches(c, makeFacts({ events: [ev('signup', T0, '/', { plan: 'pro' })] }))).toBe(false);
    expect(matches(c, makeFacts({ events: [ev('signup', T0, '/', null)] }))).toBe(false);
  });
  test('did.within only counts events newer than the window', () => {
    const c: Condition = { did: { event: 'pageview', within: '30d' } };
    expect(matches(c, makeFacts({ events: [ev('pageview', T0 - 29 * DAY)] }))).toBe(true);
    expect(matches(c, makeFacts({ events: [ev('pageview', T0 - 30 * DAY)] }))).toBe(false);
    expect(matches({ did: { event: 'pageview', within: '12h' } }, makeFacts({ events: [ev('pageview', T0 - 13 * HOUR)] }))).toBe(false);
  });
  test('did.min needs that many matching events', () => {
    const c: Condition = { did: { event: 'pageview', path: '/pricing', min: 3 } };
    const two = [ev('pageview', T0, '/pricing'), ev('pageview', T0 - 1, '/pricing'), ev('pageview', T0, '/blog')];
    expect(matches(c, makeFacts({ events: two }))).toBe(false);
    expect(matches(c, makeFacts({ events: [...two, ev('pageview', T0 - 2, '/pricing')] }))).toBe(true);
  });
  test('did with event "*" counts any event', () => {
    expect(matches({ did: { event: '*', within: '1d' } }, makeFacts({ events: [ev('whatever', T0 - HOUR)] }))).toBe(true);
  });
  test('a windowed did expires when its min-th newest event leaves the window', () => {
    const c: Condition = { did: { event: 'pageview', within: '7d', min: 2 } };
    const facts = makeFacts({ events: [ev('pageview', T0 - 1 * DAY), ev('pageview', T0 - 3 * DAY), ev('pageview', T0 - 5 * DAY)] });
    expect(evaluateCondition(c, facts)).toEqual({ value: true, changeAt: T0 - 3 * DAY + 7 * DAY });
    expect(matches(c, { ...facts, now: T0 + 4 * DAY - 1 })).toBe(true);
    expect(matches(c, { ...facts, now: T0 + 4 * DAY })).toBe(false);
  });
  test('a did without a window never changes by time alone', () => {
    expect(nextChangeAt({ did: { event: 'download' } }, makeFacts({ events: [ev('download', T0)] }))).toBeNull();
  });
});

describe('matches: score, identified, touch, inStage', () => {
  test('score compares with gte, lte, gt and lt', () => {
    const f = makeFacts({ score: 20 });
    expect(matches({ score: { gte: 20 } }, f)).toBe(true);
    expect(matches({ score: { gt: 20 } }, f)).toBe(false);
    expect(matches({ score: { lte: 20, gt: 10 } }, f)).toBe(true);
    expect(matches({ score: { lt: 20 } }, f)).toBe(false);
  });
  test('a decaying score leaves a score segment when it halves below the threshold', () => {
    const f = makeFacts({ score: 40, scoreAt: T0, halfLifeMs: 10 * DAY });
    const c: Condition = { score: { gte: 20 } };
    const e = evaluateCondition(c, f);
    expect(e.value).toBe(true);
    // 40 halves to exactly 20 at 10 days (still gte 20); the shown score (4 decimals) is 19.9999 once the raw one is
    // under 19.99995: 10 d × log2(40 / 19.99995) ≈ 10 d + 3116.2 ms
    expect(e.changeAt).toBe(T0 + 10 * DAY + 3117);
    expect(matches(c, { ...f, now: T0 + 10 * DAY })).toBe(true);
    expect(matches(c, { ...f, now: e.changeAt - 1 })).toBe(true);
    expect(matches(c, { ...f, now: e.changeAt })).toBe(false);
  });
  test('identified matches leads with (or without) an email', () => {
    expect(matches({ identified: true }, makeFacts({ identified: true }))).toBe(true);
    expect(matches({ identified: true }, makeFacts({ identified: false }))).toBe(false);
    expect(matches({ identified: false }, makeFacts({ identified: false }))).toBe(true);
  });
  test('touch compares the first or the last touch, case-insensitively', () => {
    const f = makeFacts({
      firstTouch: { utm_source: 'Google', utm_medium: 'cpc', utm_campaign: 'Q1', channel: 'paid_search' },
      lastTouch: { utm_source: 'newsletter', utm_medium: 'email', channel: 'email' },
    });
    expect(matches({ touch: { model: 'first', source: 'google' } }, f)).toBe(true);
    expect(matches({ touch: { source: 'google', medium: 'cpc', campaign: 'q1', channel: 'paid_search' } }, f)).toBe(true);
    expect(matches({ touch: { model: 'last', source: 'google' } }, f)).toBe(false);
    expect(matches({ touch: { model: 'last', channel: ['email', 'referral'] } }, f)).toBe(true);
  });
  test('touch.source falls back to the referrer host when there is no utm_source', () => {
    const f = makeFacts({ firstTouch: { ref: 'https://www.google.co.uk/search?q=x' } });
    expect(matches({ touch: { source: 'google' } }, f)).toBe(true);
    expect(matches({ touch: { channel: 'organic_search' } }, f)).toBe(true);
    expect(matches({ touch: { source: 'bing' } }, f)).toBe(false);
  });
  test('a lead without a touch counts as direct', () => {
    expect(matches({ touch: { channel: 'direct' } }, makeFacts())).toBe(true);
    expect(matches({ touch: { source: 'google' } }, makeFacts())).toBe(false);
  });
  test('inStage.days.gte turns true once the lead has been in its stage that long', () => {
    const f = makeFacts({ stage: 'consideration', stageAt: T0 - 20 * DAY });
    const c: Condition = { inStage: { days: { gte: 21 } } };
    expect(evaluateCondition(c, f)).toEqual({ value: false, changeAt: T0 + DAY });
    expect(matches(c, { ...f, now: T0 + DAY })).toBe(true);
  });
  test('inStage.days.lte turns false just after that many days', () => {
    const f = makeFacts({ stageAt: T0 - 2 * DAY });
    const c: Condition = { inStage: { days: { lte: 3 } } };
    expect(evaluateCondition(c, f)).toEqual({ value: true, changeAt: T0 + DAY + 1 });
    expect(matches(c, { ...f, now: T0 + DAY })).toBe(true);
    expect(matches(c, { ...f, now: T0 + DAY + 1 })).toBe(false);
  });
});

describe('matches: all, any, not', () => {
  const pricing: Condition = { did: { event: 'pageview', path: '/pricing*', within: '30d' } };
  const demo: Condition = { did: { event: 'demo_request' } };
  test('all needs every part, any needs one, not inverts', () => {
    const f = makeFacts({ events: [ev('pageview', T0 - DAY, '/pricing')] });
    expect(matches({ all: [pricing, { not: demo }] }, f)).toBe(true);
    expect(matches({ all: [pricing, demo] }, f)).toBe(false);
    expect(matches({ any: [demo, pricing] }, f)).toBe(true);
    expect(matches({ any: [demo, { identified: true }] }, f)).toBe(false);
    expect(matches({ not: { any: [demo, pricing] } }, f)).toBe(false);
  });
  test('the contract example matches the lead it describes and not one who requested a demo', () => {
    const example = CONTRACT_SEGMENT_EXAMPLE;
    const f = makeFacts({
      stage: 'consideration', stageAt: T0 - 25 * DAY, score: 30, identified: true,
      firstTouch: { utm_source: 'google' }, events: [ev('pageview', T0 - 2 * DAY, '/pricing')],
    });
    expect(matches(example, f)).toBe(true);
    expect(matches(example, { ...f, events: [...f.events, ev('demo_request', T0)] })).toBe(false);
    expect(matches(example, { ...f, stageAt: T0 - 3 * DAY })).toBe(false);
  });
  test('an all that a fixed part makes false never needs a recheck', () => {
    const f = makeFacts({ events: [ev('pageview', T0 - DAY, '/pricing')] });
    expect(nextChangeAt({ all: [pricing, demo] }, f)).toBeNull();
  });
  test('a true all is rechecked when its first timed part expires', () => {
    const f = makeFacts({ stageAt: T0 - DAY, events: [ev('pageview', T0 - DAY, '/pricing')] });
    expect(nextChangeAt({ all: [pricing, { inStage: { days: { lte: 10 } } }] }, f)).toBe(T0 + 9 * DAY + 1);
  });
  test('a false all waits for its last timed part to turn', () => {
    const f = makeFacts({ stageAt: T0 - DAY });
    const c: Condition = { all: [{ inStage: { days: { gte: 3 } } }, { inStage: { days: { gte: 5 } } }] };
    expect(evaluateCondition(c, f)).toEqual({ value: false, changeAt: T0 + 4 * DAY });
  });
  test('not of a windowed did turns true when the window passes (a lead going cold)', () => {
    const cold: Condition = { all: [{ did: { event: 'newsletter_signup' } }, { not: { did: { event: 'pageview', within: '30d' } } }] };
    const f = makeFacts({ events: [ev('newsletter_signup', T0 - 40 * DAY), ev('pageview', T0 - 10 * DAY)] });
    expect(evaluateCondition(cold, f)).toEqual({ value: false, changeAt: T0 + 20 * DAY });
    expect(matches(cold, { ...f, now: T0 + 20 * DAY })).toBe(true);
  });
  test('an any that is true through a fixed part never needs a recheck', () => {
    const f = makeFacts({ stage: 'purchase', events: [ev('pageview', T0, '/pricing')] });
    expect(evaluateCondition({ any: [pricing, { stage: { eq: 'purchase' } }] }, f)).toEqual({ value: true, changeAt: Infinity });
  });
  test('a false any is rechecked at the first moment a part may turn true', () => {
    const f = makeFacts({ stageAt: T0 });
    expect(nextChangeAt({ any: [{ inStage: { days: { gte: 9 } } }, { inStage: { days: { gte: 2 } } }] }, f)).toBe(T0 + 2 * DAY);
  });
});
