// Durations in rules ("30m", "12h", "7d") as milliseconds.
const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of "<n><s|m|h|d|w>", or null when the text is not such a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT[m[2]];
  return ms > 0 ? ms : null;
}
