import { describe, expect, test } from 'vitest';
import { judgeSoak, parseDuration, type SoakFigures, type SoakWindow } from '../../scripts/bench/soak-verdict.js';

const w = (at: number, rss: number, p99: number, errors = 0, rps = 100): SoakWindow => ({ at, requestsPerSec: rps, p50: p99 / 3, p99, errors, rssMeanMb: rss, rssMaxMb: rss + 1 });
const figures = (windows: SoakWindow[]): SoakFigures => ({
  seconds: 600, connections: 50, maxRequestsPerSec: 200, targetRequestsPerSec: 100, windowSeconds: 60, windows,
  requests: 60_000, errors: windows.reduce((n, x) => n + x.errors, 0), databaseMb: 100,
});

describe('the soak', () => {
  test('reads durations as seconds, minutes or hours', () => {
    expect([parseDuration('30s'), parseDuration('10m'), parseDuration('1h'), parseDuration('45')]).toEqual([30, 600, 3600, 45]);
    expect(() => parseDuration('ten minutes')).toThrow(/bad duration/);
  });

  test('calls memory flat when it settles after the first window, and growing when it climbs', () => {
    expect(judgeSoak(figures([w(60, 100, 20), w(120, 160, 20), w(180, 165, 21), w(240, 170, 19)])).rssFlat).toBe(true);
    expect(judgeSoak(figures([w(60, 100, 20), w(120, 160, 20), w(180, 260, 21), w(240, 360, 19)])).rssFlat).toBe(false);
  });

  test('calls p99 unstable when a steady window is far above the median, and counts every error', () => {
    expect(judgeSoak(figures([w(60, 100, 20), w(120, 100, 22), w(180, 100, 21)])).p99Stable).toBe(true);
    expect(judgeSoak(figures([w(60, 100, 20), w(120, 100, 22), w(180, 100, 21), w(240, 100, 200)])).p99Stable).toBe(false);
    // the first window holds the warm-up and is not judged
    expect(judgeSoak(figures([w(60, 100, 900), w(120, 100, 22), w(180, 100, 21), w(240, 100, 20)])).p99Stable).toBe(true);
    expect(judgeSoak(figures([w(60, 100, 20), w(120, 100, 20, 1)])).noErrors).toBe(false);
    expect(judgeSoak(figures([w(60, 100, 20), w(120, 100, 20, 0, 50)])).rateHeld).toBe(false);
  });
});
