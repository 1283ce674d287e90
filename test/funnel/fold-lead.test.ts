import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { foldLead, needsRebuild } from '../../collector/funnel/fold-lead.js';
import { emptyFold } from '../../collector/funnel/lead-fold.js';
import { compileFunnel } from '../../collector/funnel/compile-funnel.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import type { StoredEvent } from '../../collector/ingest/types.js';
import { makeEvent, T0, HOUR } from '../helpers/funnel-factories.js';

const funnel = compileFunnel(DEFAULT_FUNNEL_CONFIG);
const fresh = () => emptyFold(funnel.version);

describe('foldLead', () => {
  test('a journey ends with the stage, score, MQL and SQL the default rules give', () => {
    const events = [
      makeEvent({ path: '/', sessionId: 's1', at: T0 }),
      makeEvent({ path: '/pricing', sessionId: 's1', at: T0 + 1000 }),
      makeEvent({ name: 'download', props: { url: 'http://x/whitepaper.pdf' }, sessionId: 's1', at: T0 + 2000 }),
      makeEvent({ path: '/pricing', sessionId: 's2', at: T0 + 26 * HOUR }),
      makeEvent({ name: 'demo_request', form: 'demo', path: '/demo', email: 'ann@acme.test', traits: { firstName: 'Ann', company: 'Acme' }, sessionId: 's2', at: T0 + 26 * HOUR + 1000 }),
    ];
    const r = foldLead(funnel, fresh(), events);
    expect(funnel.stages[r.fold.rank]).toBe('evaluation');
    expect(r.stageChanges.map((c) => c.to)).toEqual(['awareness', 'consideration', 'intent', 'evaluation']);
    // day 1: a visit 2, pricing 10, download 10; then 90-day half-life decay over 26 h;
    // day 2: a visit 2, return visit 5, pricing 10 (a day later, outside its window), demo 30
    const decayed = 22 * Math.pow(0.5, (26 * HOUR - 2000) / (90 * 24 * HOUR));
    expect(r.fold.score).toBeCloseTo(decayed + 47, 3);
    expect(r.fold.mqlAt).toBe(T0 + 26 * HOUR + 1000);
    expect(r.fold.sqlAt).toBe(T0 + 26 * HOUR + 1000);
    expect(r.fold.traits).toEqual({ firstName: 'Ann', company: 'Acme' });
    expect(r.fold.firstTouch?.at).toBe(T0);
  });

  test('the score can be explained: its changes add up to it', () => {
    const events = [{ path: '/' }, { path: '/pricing' }, { path: '/careers' }, { name: 'newsletter_signup' }].map((e) => makeEvent(e));
    const r = foldLead(funnel, fresh(), events);
    expect(r.scoreChanges.reduce((s, c) => s + c.points, 0)).toBeCloseTo(r.fold.score, 2);
    expect(r.scoreChanges.at(-1)!.scoreAfter).toBe(r.fold.score);
  });

  test('later traits win, unknown trait keys are dropped', () => {
    const r = foldLead(funnel, fresh(), [
      makeEvent({ name: 'identify', email: 'a@b.test', traits: { first_name: 'A', company: 'Old', shoeSize: '44' }, at: T0 }),
      makeEvent({ name: 'identify', email: 'a@b.test', traits: { company: 'New' }, at: T0 + 1 }),
    ]);
    expect(r.fold.traits).toEqual({ firstName: 'A', company: 'New' });
  });

  test('an event at or before the watermark needs a rebuild, a later one does not', () => {
    const r = foldLead(funnel, fresh(), [makeEvent({ at: T0 + 10 })]);
    expect(needsRebuild(funnel, r.fold, [makeEvent({ at: T0 + 11 })])).toBe(false);
    expect(needsRebuild(funnel, r.fold, [makeEvent({ at: T0 + 5 })])).toBe(true);
    expect(needsRebuild(funnel, { ...r.fold, version: 'old' }, [makeEvent({ at: T0 + 11 })])).toBe(true);
  });

  test('folding in pieces gives the same state and changes as folding at once, in any arrival order', () => {
    const names = ['pageview', 'pageview', 'download', 'newsletter_signup', 'demo_request', 'form_submit', 'engagement'];
    const paths = ['/', '/pricing', '/pricing/team', '/case-studies/acme', '/contact', '/careers', '/compare/x', '/blog'];
    const arb = fc.array(
      fc.record({
        name: fc.constantFrom(...names),
        path: fc.constantFrom(...paths),
        session: fc.integer({ min: 1, max: 4 }),
        dt: fc.integer({ min: 0, max: 3 * 86_400_000 }),
        server: fc.constantFrom(null, 'demo_completed', 'closed_won', 'sales_accepted'),
      }),
      { minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 39 }), (specs, cut) => {
        const events: StoredEvent[] = specs.map((s, i) =>
          s.server && i % 3 === 0
            ? makeEvent({ name: s.server, source: 'server', at: T0 + s.dt, sessionId: 'srv' + i })
            : makeEvent({ name: s.name, path: s.path, sessionId: 's' + s.session, at: T0 + s.dt, props: s.name === 'download' ? { url: '/ebook.pdf' } : null }),
        );
        const whole = foldLead(funnel, fresh(), [...events].reverse());
        const sorted = [...events].sort((a, b) => a.at - b.at || (a.eventId < b.eventId ? -1 : 1));
        const k = Math.min(cut, sorted.length);
        const first = foldLead(funnel, fresh(), sorted.slice(0, k));
        const second = foldLead(funnel, first.fold, sorted.slice(k));
        expect(second.fold).toEqual(whole.fold);
        expect([...first.stageChanges, ...second.stageChanges]).toEqual(whole.stageChanges);
        expect([...first.scoreChanges, ...second.scoreChanges]).toEqual(whole.scoreChanges);
      }),
      { numRuns: 200 },
    );
  });
});
