import { describe, expect, test } from 'vitest';
import { compileCondition, globTest } from '../../collector/funnel/match-event.js';
import { makeEvent } from '../helpers/funnel-factories.js';

describe('conditions', () => {
  test('a path glob matches the page and its sub-pages, case-insensitively', () => {
    const t = compileCondition({ path: '/pricing*' });
    expect(t(makeEvent({ path: '/pricing' }))).toBe(true);
    expect(t(makeEvent({ path: '/Pricing/enterprise' }))).toBe(true);
    expect(t(makeEvent({ path: '/about/pricing' }))).toBe(false);
  });

  test('a path or URL glob written as the address bar shows it matches the percent-encoded address the browser sent', () => {
    const sent = new URL('https://www.example.de/über-uns/case studies/?q=preis liste');
    const path = compileCondition({ path: ['/über-uns/case studies/*'] });
    expect(path(makeEvent({ path: sent.pathname }))).toBe(true);
    expect(compileCondition({ path: '/%C3%BCber-uns/*' })(makeEvent({ path: sent.pathname }))).toBe(true);
    expect(path(makeEvent({ path: '/uber-uns/case-studies/' }))).toBe(false);
    expect(compileCondition({ url: '*?q=preis liste' })(makeEvent({ url: sent.href }))).toBe(true);
  });

  test('glob special characters other than * are literal', () => {
    expect(globTest('/a.b?')('/a.b?')).toBe(true);
    expect(globTest('/a.b?')('/axbc')).toBe(false);
  });

  test('a glob of many stars against a long value answers at once (no backtracking) and rightly', () => {
    const glob = '*a'.repeat(30) + '*b';
    const long = 'a'.repeat(1500);
    const started = performance.now();
    expect(compileCondition({ path: glob })(makeEvent({ path: '/' + long }))).toBe(false);
    expect(compileCondition({ props: { q: glob } })(makeEvent({ props: { q: long } }))).toBe(false);
    // a regular expression of .* runs took minutes here; a second is far beyond what the linear match needs
    expect(performance.now() - started).toBeLessThan(1000);
    expect(compileCondition({ path: glob })(makeEvent({ path: '/' + long + 'B' }))).toBe(true);
    expect(globTest('*pricing*plan*')('/Pricing/Team-PLAN/x')).toBe(true);
    expect(globTest('/x*y*x')('/xyx')).toBe(true);
    expect(globTest('/x*y*x')('/xy')).toBe(false);
  });

  test('every given field must hold', () => {
    const t = compileCondition({ event: 'download', props: { url: ['*ebook*', '*whitepaper*'] } });
    expect(t(makeEvent({ name: 'download', props: { url: '/files/Ebook-2025.pdf' } }))).toBe(true);
    expect(t(makeEvent({ name: 'download', props: { url: '/files/pricing.pdf' } }))).toBe(false);
    expect(t(makeEvent({ name: 'pageview', props: { url: '/files/ebook.pdf' } }))).toBe(false);
    expect(t(makeEvent({ name: 'download' }))).toBe(false);
  });

  test('props match numbers by range and by value', () => {
    const t = compileCondition({ props: { seconds: { gte: 60 }, plan: 'pro', trial: true } });
    expect(t(makeEvent({ props: { seconds: 75, plan: 'Pro', trial: true } }))).toBe(true);
    expect(t(makeEvent({ props: { seconds: '90', plan: 'pro', trial: 'true' } }))).toBe(true);
    expect(t(makeEvent({ props: { seconds: 30, plan: 'pro', trial: true } }))).toBe(false);
  });

  test('source, form kind and name wildcards', () => {
    expect(compileCondition({ source: 'server', event: 'closed_won' })(makeEvent({ name: 'closed_won', source: 'web' }))).toBe(false);
    expect(compileCondition({ form: 'demo' })(makeEvent({ name: 'demo_request', form: 'demo' }))).toBe(true);
    expect(compileCondition({ event: 'webinar_*' })(makeEvent({ name: 'webinar_signup' }))).toBe(true);
    expect(compileCondition({})(makeEvent({ name: 'anything' }))).toBe(true);
  });
  test('any: the event must match one of the alternatives as well as the other fields', () => {
    const t = compileCondition({ source: 'web', any: [{ event: 'signup' }, { event: 'form_submit', path: '/webinar*' }] });
    expect(t(makeEvent({ name: 'signup', path: '/x' }))).toBe(true);
    expect(t(makeEvent({ name: 'form_submit', path: '/webinar/a' }))).toBe(true);
    expect(t(makeEvent({ name: 'form_submit', path: '/about' }))).toBe(false);
    expect(t(makeEvent({ name: 'signup', source: 'server' }))).toBe(false);
  });
});
