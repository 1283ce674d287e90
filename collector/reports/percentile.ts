// Nearest-rank percentiles: always a value that was observed (a real lead's time in stage), never an interpolation.

/** The p-th percentile (0 < p ≤ 100) of ascending-sorted values; null for none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
