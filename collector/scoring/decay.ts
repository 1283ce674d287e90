// Half-life decay: a score of s at time t0 is worth s·½^((t−t0)/halfLife) at t.

/** The score `score` stored at `from`, as worth at `to`; no decay without a half-life. */
export function decayScore(score: number, from: number | null, to: number, halfLifeMs: number | null): number {
  if (!halfLifeMs || from === null || to <= from || score === 0) return score;
  return score * Math.pow(0.5, (to - from) / halfLifeMs);
}

/** Scores are kept to 4 decimals so that stored, replayed and live values compare equal. */
export const roundScore = (n: number) => Math.round(n * 10_000) / 10_000;
