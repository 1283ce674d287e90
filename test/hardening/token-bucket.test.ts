import { describe, expect, test } from 'vitest';
import { createRateLimiter, takeToken } from '../../collector/hardening/token-bucket.js';

describe('token buckets', () => {
  test('a full bucket admits its burst, then refuses with the seconds until the next token', () => {
    const b = { tokens: 3, at: 0 };
    expect([1, 2, 3].map(() => takeToken(b, 0, 1, 3).ok)).toEqual([true, true, true]);
    expect(takeToken(b, 0, 1, 3)).toEqual({ ok: false, retryAfterSec: 1 });
    expect(takeToken(b, 999, 1, 3).ok).toBe(false);
    expect(takeToken(b, 1000, 1, 3).ok).toBe(true);
  });

  test('a slow rate asks for a longer wait', () => {
    const b = { tokens: 0, at: 0 };
    expect(takeToken(b, 0, 0.25, 1)).toEqual({ ok: false, retryAfterSec: 4 });
  });

  test('refill never exceeds the burst, and a clock going back refills nothing', () => {
    const b = { tokens: 0, at: 10_000 };
    takeToken(b, 1_000_000, 10, 20);
    expect(b.tokens).toBe(19);
    const c = { tokens: 0, at: 10_000 };
    expect(takeToken(c, 5_000, 10, 20).ok).toBe(false);
  });

  test('keys have their own buckets and a zero rate disables the limiter', () => {
    let t = 0;
    const limiter = createRateLimiter({ perSec: 1, burstSeconds: 1, now: () => t });
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
    expect(limiter.take('b').ok).toBe(true);
    t = 1000;
    expect(limiter.take('a').ok).toBe(true);
    const off = createRateLimiter({ perSec: 0, now: () => 0 });
    expect(Array.from({ length: 1000 }, () => off.take('x').ok).every(Boolean)).toBe(true);
  });

  test('the number of buckets stays bounded when keys keep changing', () => {
    const limiter = createRateLimiter({ perSec: 1, maxKeys: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) limiter.take('k' + i);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });
});
