import { describe, expect, test } from 'vitest';
import { DEFAULT_RETRY_POLICY, retryDelay } from '../../collector/webhooks/retry-policy.js';

const policy = { baseMs: 1000, capMs: 10_000, maxAttempts: 6 };

describe('retry delays', () => {
  test('each failure doubles the delay, within the upper half of the window (jitter)', () => {
    expect([1, 2, 3].map((a) => retryDelay(a, policy, 0))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((a) => retryDelay(a, policy, 0.999999))).toEqual([1000, 2000, 4000]);
  });

  test('delays never exceed the cap', () => {
    expect(retryDelay(5, policy, 0.999999)).toBe(10_000);
  });

  test('after the last allowed attempt there is no retry', () => {
    expect(retryDelay(6, policy, 0.5)).toBeNull();
    expect(retryDelay(DEFAULT_RETRY_POLICY.maxAttempts, DEFAULT_RETRY_POLICY, 0.5)).toBeNull();
  });
});
