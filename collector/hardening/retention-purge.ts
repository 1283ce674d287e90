// Retention service: on a timer, purges anonymous visitors unseen for RETENTION_DAYS in small transactions,
// yielding between batches so ingest never waits long behind it.
import type { Deps } from '../context.js';
import type { Service } from '../app.js';
import { listExpiredVisitors, listSiteIds, purgeOldCopies, purgeVisitors, type PurgeCounts } from '../storage/retention.js';

const DAY_MS = 86_400_000;

export interface RetentionRun extends PurgeCounts {
  copies: number;
}

const pause = () => new Promise<void>((r) => setImmediate(r));

/** One full pass over every site; returns what was deleted. Does nothing when RETENTION_DAYS is 0. */
export async function purgeExpired(deps: Deps, batch = 500): Promise<RetentionRun> {
  const total: RetentionRun = { visitors: 0, events: 0, leads: 0, other: 0, copies: 0 };
  const days = deps.config.RETENTION_DAYS;
  if (!days) return total;
  const cutoff = deps.now() - days * DAY_MS;
  for (const siteId of await listSiteIds(deps.db)) {
    for (;;) {
      const expired = await listExpiredVisitors(deps.db, siteId, cutoff, batch);
      if (!expired.length) break;
      const c = await deps.db.transaction((tx) => purgeVisitors(tx, siteId, cutoff, expired.map((e) => e.visitorId)));
      total.visitors += c.visitors;
      total.events += c.events;
      total.leads += c.leads;
      total.other += c.other;
      if (c.visitors === 0 || expired.length < batch) break;
      await pause();
    }
  }
  total.copies = await purgeOldCopies(deps.db, cutoff);
  return total;
}

export function startRetentionPurge(deps: Deps): Service {
  const { log, metrics, config } = deps;
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= purgeExpired(deps)
      .then((r) => {
        metrics.inc('funnelbeam_retention_purged_visitors_total', undefined, r.visitors);
        metrics.inc('funnelbeam_retention_purged_events_total', undefined, r.events);
        if (r.visitors || r.copies) log.info('retention purge', { ...r });
      })
      .catch((err) => log.error('retention purge failed', { error: (err as Error).message }))
      .finally(() => (running = null));
  };
  const timer = config.RETENTION_DAYS && config.RETENTION_SWEEP_MS ? setInterval(run, config.RETENTION_SWEEP_MS) : null;
  timer?.unref();
  return {
    name: 'retention-purge',
    async close() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
