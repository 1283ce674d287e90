// Nearest-rank percentiles: always a value that was observed (a real lead's time in stage), never an interpolation.
// Found by selection (expected O(n)) rather than a full sort: a stage can hold hundreds of thousands of durations.

type Values = ArrayLike<number>;

/** The k-th smallest (0-based) of `a`, by quickselect in place (any permutation of the same values will do). */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

const rankOf = (n: number, p: number) => Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));

/** The p-th percentile (0 < p ≤ 100) of values in any order; null for none. */
export function percentile(values: Values, p: number): number | null {
  return percentiles(values, [p])[0];
}

/** Several percentiles from one copy of the values. */
export function percentiles(values: Values, ps: readonly number[]): Array<number | null> {
  const n = values.length;
  if (n === 0) return ps.map(() => null);
  const a = Float64Array.from(values);
  return ps.map((p) => kthSmallest(a, rankOf(n, p) - 1));
}
