// Token buckets as pure functions plus a bounded map of them: the arithmetic behind every rate limit.

export interface Bucket {
  tokens: number;
  /** epoch ms of the last refill */
  at: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSec: number };

/** Refills the bucket for the time passed, then takes one token if there is one. Mutates and returns the bucket. */
export function takeToken(bucket: Bucket, now: number, perSec: number, burst: number): Take {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * perSec) / 1000);
  bucket.at = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return { ok: true };
  }
  return { ok: false, retryAfterSec: Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / perSec / 1000)) };
}

export interface RateLimiter {
  take(key: string): Take;
  readonly size: number;
}

export interface RateLimiterOptions {
  /** tokens per second; 0 disables the limiter */
  perSec: number;
  /** bucket size in seconds of rate */
  burstSeconds?: number;
  /** buckets kept; when full, idle (refilled) buckets go first, then the oldest */
  maxKeys?: number;
  now: () => number;
}

export function createRateLimiter({ perSec, burstSeconds = 2, maxKeys = 50_000, now }: RateLimiterOptions): RateLimiter {
  const burst = Math.max(1, perSec * burstSeconds);
  const buckets = new Map<string, Bucket>();

  function evict(t: number) {
    for (const [k, b] of buckets) if (b.tokens + ((t - b.at) * perSec) / 1000 >= burst) buckets.delete(k);
    // still full: an attacker cycling keys; the oldest buckets go (they start over full, which errs on admitting)
    for (const k of buckets.keys()) {
      if (buckets.size < maxKeys * 0.9) break;
      buckets.delete(k);
    }
  }

  return {
    take(key) {
      if (perSec <= 0) return { ok: true };
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) evict(t);
        b = { tokens: burst, at: t };
        buckets.set(key, b);
      }
      return takeToken(b, t, perSec, burst);
    },
    get size() {
      return buckets.size;
    },
  };
}
