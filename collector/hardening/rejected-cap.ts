// Rejected-store cap: installs the per-site-per-minute budget on the database and prunes the oldest rows over
// REJECTED_MAX_ROWS on a timer, off the request path.
import type { Deps } from '../context.js';
import type { Service } from '../app.js';
import { setRejectedAdmission } from '../storage/rejected.js';
import { pruneRejected } from '../storage/prune-rejected.js';
import { createRejectedBudget } from './rejected-budget.js';

export function startRejectedCap(deps: Deps): Service {
  const { db, config, metrics, log, now } = deps;
  setRejectedAdmission(db, createRejectedBudget({ perSitePerMinute: config.REJECTED_PER_SITE_PER_MIN, now, metrics }));
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= pruneRejected(db, config.REJECTED_MAX_ROWS)
      .then((n) => metrics.inc('funnelbeam_rejected_pruned_total', undefined, n))
      .catch((err) => log.warn('rejected-store prune failed', { error: (err as Error).message }))
      .finally(() => (running = null));
  };
  const timer = config.REJECTED_PRUNE_MS ? setInterval(run, config.REJECTED_PRUNE_MS) : null;
  timer?.unref();
  return {
    name: 'rejected-cap',
    async close() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
