import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { percentile } from '../../collector/reports/percentile.js';

const byRank = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
};

describe('percentile (nearest rank)', () => {
  test('picks an observed value: the ceil(p·n)-th smallest', () => {
    expect(percentile([40, 10, 30, 20], 50)).toBe(20);
    expect(percentile([40, 10, 30, 20], 90)).toBe(40);
    expect(percentile([100, 90, 80, 70, 60, 50, 40, 30, 20, 10], 90)).toBe(90);
    expect(percentile([7], 50)).toBe(7);
  });

  test('is null without values', () => {
    expect(percentile([], 50)).toBeNull();
  });

  test('selection agrees with sorting for any values, duplicates included', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), fc.constantFrom(1, 10, 50, 90, 99, 100), (values, p) => {
        expect(percentile(values, p)).toBe(byRank(values, p));
      }),
    );
  });
});
