// Rejected-store budget: at most N rows per site per minute are written; the rest are only counted, so a flood of
// bad input cannot grow the database faster than the pruning keeps up.
import type { Metrics } from '../ops/metrics.js';
import type { RejectedRow } from '../storage/rejected.js';

export interface RejectedBudgetOptions {
  perSitePerMinute: number;
  now: () => number;
  metrics: Metrics;
}

export function createRejectedBudget({ perSitePerMinute, now, metrics }: RejectedBudgetOptions) {
  let minute = -1;
  const used = new Map<string, number>();
  return function admitRejected(rows: RejectedRow[]): RejectedRow[] {
    const m = Math.floor(now() / 60_000);
    if (m !== minute) {
      minute = m;
      used.clear();
    }
    const admitted: RejectedRow[] = [];
    for (const r of rows) {
      const site = r.siteId ?? '';
      const n = used.get(site) ?? 0;
      if (n < perSitePerMinute) {
        used.set(site, n + 1);
        admitted.push(r);
      } else {
        metrics.inc('funnelbeam_rejected_not_stored_total', { reason: r.reason });
      }
    }
    return admitted;
  };
}
