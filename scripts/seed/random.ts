// A seeded PRNG and the few distributions the data generator draws from: reproducible data for a given --seed.
export interface Rng {
  /** uniform in [0, 1) */
  next(): number;
  int(min: number, maxInclusive: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** picks by weight from [item, weight] pairs */
  weighted<T>(pairs: ReadonlyArray<readonly [T, number]>): T;
  /** failures before the first success of probability p (mean (1-p)/p) */
  geometric(p: number): number;
  exponential(mean: number): number;
  /** base36 id of `length` characters */
  id(length: number): string;
}

export function createRng(seed: number): Rng {
  let s = seed >>> 0 || 0x9e3779b9;
  // mulberry32: fast, 32-bit state, good enough for synthetic data
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted(pairs) {
      let total = 0;
      for (const [, w] of pairs) total += w;
      let r = next() * total;
      for (const [item, w] of pairs) if ((r -= w) < 0) return item;
      return pairs[pairs.length - 1][0];
    },
    geometric(p) {
      let n = 0;
      while (next() >= p && n < 1000) n++;
      return n;
    },
    exponential: (mean) => -Math.log(1 - next()) * mean,
    id(length) {
      let out = '';
      while (out.length < length) out += Math.floor(next() * 2176782336).toString(36).padStart(6, '0');
      return out.slice(0, length);
    },
  };
  return rng;
}

/** Weighted pairs as a cumulative table, for the hot path (millions of draws). */
export function cumulative<T>(pairs: ReadonlyArray<readonly [T, number]>): (r: number) => T {
  const items = pairs.map((p) => p[0]);
  const cum: number[] = [];
  let total = 0;
  for (const [, w] of pairs) cum.push((total += w));
  return (r) => {
    const x = r * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return items[lo];
  };
}
