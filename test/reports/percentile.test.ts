import { describe, expect, test } from 'vitest';
import { percentile } from '../../collector/reports/percentile.js';

describe('percentile (nearest rank)', () => {
  test('picks an observed value: the ceil(p·n)-th smallest', () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 90)).toBe(40);
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90)).toBe(90);
    expect(percentile([7], 50)).toBe(7);
  });
  test('is null without values', () => {
    expect(percentile([], 50)).toBeNull();
  });
});
