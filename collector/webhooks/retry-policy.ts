// When a failed delivery is tried again: exponential backoff with jitter, capped, then given up.

export interface RetryPolicy {
  /** delay after the first failure */
  baseMs: number;
  /** no delay grows beyond this */
  capMs: number;
  /** attempts in all (first try included); the last failure marks the delivery `failed` */
  maxAttempts: number;
}

/** 30 s, 1, 2, 4 … min, at most 6 h apart; 10 attempts span about 4 hours before a delivery is marked failed. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 30_000, capMs: 6 * 3600_000, maxAttempts: 10 };

/**
 * Delay after the `attempts`-th failed attempt (1-based): base·2^(attempts-1), capped, with "equal jitter"
 * (a random point in the upper half) so many deliveries that failed together do not return together.
 * `random` is in [0, 1). Resolves to null when no attempt is left.
 */
export function retryDelay(attempts: number, policy: RetryPolicy, random: number): number | null {
  if (attempts >= policy.maxAttempts) return null;
  const full = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(full / 2 + random * (full / 2));
}
