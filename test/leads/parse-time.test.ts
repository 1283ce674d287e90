import { describe, expect, test } from 'vitest';
import { parseTime } from '../../collector/leads/parse-time.js';

describe('parseTime', () => {
  test('takes epoch milliseconds and ISO 8601 dates and times', () => {
    expect(parseTime('1736154000000')).toBe(1736154000000);
    expect(parseTime('2025-01-06')).toBe(Date.UTC(2025, 0, 6));
    expect(parseTime('2025-01-06T09:00:00Z')).toBe(Date.UTC(2025, 0, 6, 9));
    expect(parseTime('2025-01-06T10:00:00+01:00')).toBe(Date.UTC(2025, 0, 6, 9));
    expect(parseTime(undefined)).toBeUndefined();
  });

  test('answers null for words, impossible dates and negative numbers', () => {
    for (const bad of ['tomorrow', '2025-13-45', '-5', '1e12', 'NaN', '2025-01-06T25:99:00Z']) expect(parseTime(bad), bad).toBeNull();
  });
});
