// The soak's verdicts, pure: read from the figures a soak run measured (scripts/bench/soak.ts), so the rules are
// tested without a load generator.

/** `10m`, `30s`, `1h` or plain seconds → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration "${text}" (use 30s, 10m, 1h)`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

export interface SoakWindow {
  /** seconds since the soak began, at the window's end */
  at: number;
  requestsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  /** resident memory of the collector, MB: mean and max over the window's samples */
  rssMeanMb: number;
  rssMaxMb: number;
}

export interface SoakFigures {
  seconds: number;
  connections: number;
  maxRequestsPerSec: number;
  targetRequestsPerSec: number;
  windowSeconds: number;
  windows: SoakWindow[];
  requests: number;
  errors: number;
  databaseMb: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

/** The verdicts over the steady windows (all but the first, which holds warm-up): memory flat, p99 of every window
 * near the median window's; and no errors at all. */
export function judgeSoak(f: SoakFigures) {
  const steady = f.windows.length > 2 ? f.windows.slice(1) : f.windows;
  const rssFirst = steady[0]?.rssMeanMb ?? NaN;
  const rssLast = steady[steady.length - 1]?.rssMeanMb ?? NaN;
  const rssGrowthMb = rssLast - rssFirst;
  const p99s = steady.map((w) => w.p99);
  const p99Median = median(p99s);
  const p99Max = Math.max(...p99s);
  return {
    rssGrowthMb,
    rssFlat: rssGrowthMb <= Math.max(30, rssFirst * 0.15),
    noErrors: f.errors === 0,
    p99Median,
    p99Max,
    p99Stable: p99Max <= p99Median * 2 + 10,
    rateHeld: f.windows.every((w) => w.requestsPerSec >= f.targetRequestsPerSec * 0.9),
  };
}
