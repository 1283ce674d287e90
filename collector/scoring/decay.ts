// Half-life decay: a score of s at time t0 is worth s·½^((t−t0)/halfLife) at t.

/** The score `score` stored at `from`, as worth at `to`; no decay without a half-life. */
export function decayScore(score: number, from: number | null, to: number, halfLifeMs: number | null): number {
  if (!halfLifeMs || from === null || to <= from || score === 0) return score;
  return score * Math.pow(0.5, (to - from) / halfLifeMs);
}

/** Scores are kept to 4 decimals so that stored, replayed and live values compare equal. */
export const roundScore = (n: number) => Math.round(n * 10_000) / 10_000;

/**
 * The exact score a lead row holds: its fold state's `s`, else the `score` column (a broken or missing state falls
 * back to the column). Every read that decays a stored score starts here, so exports, webhooks and the lead API agree.
 */
export function storedScore(row: { state?: string | null; score: number | string }): number {
  try {
    const s = row.state ? (JSON.parse(row.state) as { s?: unknown } | null)?.s : undefined;
    if (typeof s === 'number' && Number.isFinite(s)) return s;
  } catch {
    // a broken state column: the score column
  }
  return Number(row.score);
}
