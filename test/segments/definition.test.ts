import { describe, expect, test } from 'vitest';
import { formatPath, parseDefinition, durationMs } from '../../collector/segments/definition.js';
import { SEGMENT_PRESETS } from '../../collector/segments/presets.js';
import { DEFAULT_STAGES } from '../../shared/stages.js';
import { CONTRACT_SEGMENT_EXAMPLE } from './fixtures.js';

const bad = (input: unknown, stages?: readonly string[]) => {
  const r = parseDefinition(input, stages);
  if (r.ok) throw new Error('expected a failure');
  return r;
};

describe('parseDefinition', () => {
  test('accepts the contract example', () => {
    const example = CONTRACT_SEGMENT_EXAMPLE;
    expect(parseDefinition(example, DEFAULT_STAGES)).toEqual({ ok: true, definition: example });
  });
  test('accepts every preset against the default stages', () => {
    for (const p of SEGMENT_PRESETS) expect(parseDefinition(p.definition, DEFAULT_STAGES).ok, p.key).toBe(true);
  });
  test('names a bad duration by its path', () => {
    const r = bad({ all: [{ identified: true }, { stage: { eq: 'interest' } }, { did: { event: 'x', within: '30 days' } }] });
    expect(r.path).toBe('all[2].did.within');
    expect(r.message).toMatch(/duration/);
  });
  test('names an unknown key inside a condition', () => {
    expect(bad({ any: [{ did: { event: 'x', withn: '3d' } }] }).path).toBe('any[0].did.withn');
  });
  test('names an unknown condition kind', () => {
    const r = bad({ all: [{ visited: '/pricing' }] });
    expect(r.path).toBe('all[0].visited');
    expect(r.message).toMatch(/all, any, not, stage, did/);
  });
  test('refuses a condition with two kinds or none', () => {
    expect(bad({ all: [{ identified: true, score: { gte: 1 } }] }).path).toBe('all[0]');
    expect(bad({ not: {} }).path).toBe('not');
    expect(bad({}).path).toBe('definition');
  });
  test('refuses empty lists and empty tests', () => {
    expect(bad({ all: [] }).path).toBe('all');
    expect(bad({ score: {} }).path).toBe('score');
    expect(bad({ touch: { model: 'last' } }).path).toBe('touch');
    expect(bad({ inStage: { days: {} } }).path).toBe('inStage.days');
    expect(bad({ stage: {} }).path).toBe('stage');
  });
  test('refuses wrong types with the path of the value', () => {
    expect(bad({ identified: 'yes' }).path).toBe('identified');
    expect(bad({ did: { event: 'x', min: 0 } }).path).toBe('did.min');
    expect(bad({ score: { gte: '20' } }).path).toBe('score.gte');
    expect(bad({ touch: { channel: 'tv' } }).path).toBe('touch.channel');
    expect(bad({ touch: { model: 'linear', source: 'x' } }).path).toBe('touch.model');
    expect(bad({ did: { path: '/x' } }).path).toBe('did.event');
    expect(bad('pricing').path).toBe('definition');
    expect(bad(undefined).path).toBe('definition');
  });
  test('with the site stages, names an unknown stage', () => {
    const r = bad({ all: [{ identified: true }, { not: { stage: { in: ['interest', 'trial'] } } }] }, DEFAULT_STAGES);
    expect(r.path).toBe('all[1].not.stage.in[1]');
    expect(r.message).toMatch(/unknown stage "trial"/);
    expect(bad({ stage: { gte: 'won' } }, DEFAULT_STAGES).path).toBe('stage.gte');
  });
  test('refuses definitions nested absurdly deep', () => {
    let c: object = { identified: true };
    for (let i = 0; i < 40; i++) c = { not: c };
    expect(bad(c).message).toMatch(/deeper/);
  });
});

describe('definition helpers', () => {
  test('formatPath writes indexes in brackets', () => {
    expect(formatPath(['all', 2, 'did', 'within'])).toBe('all[2].did.within');
    expect(formatPath([])).toBe('definition');
  });
  test('durationMs reads minutes, hours, days and weeks', () => {
    expect(durationMs('15m')).toBe(15 * 60_000);
    expect(durationMs('12h')).toBe(12 * 3_600_000);
    expect(durationMs('30d')).toBe(30 * 86_400_000);
    expect(durationMs('2w')).toBe(14 * 86_400_000);
  });
});
