// Segment membership of seeded leads, kept by the same function live attribution calls after each flush, evaluated
// at the end of the period: the preset audiences have their members, and a replay finds nothing to change.
import type { Db } from '../../collector/storage/db.js';
import type { Deps } from '../../collector/context.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { createMetrics } from '../../collector/ops/metrics.js';
import { updateMemberships, type WrittenLead } from '../../collector/segments/update-memberships.js';
import type { WebhookQueue } from '../../collector/webhooks/enqueue.js';

// seeded history is not news: a site filled with --site keeps its webhooks quiet
const NO_WEBHOOKS: WebhookQueue = { enqueue: async () => 0 };

export async function writeSegmentMemberships(tx: Db, siteId: string, now: number, leads: ReadonlyMap<string, WrittenLead>): Promise<void> {
  if (leads.size === 0) return;
  const deps: Deps = {
    db: tx,
    config: defaultConfig(),
    log: createLog('error'),
    metrics: createMetrics(),
    now: () => now,
    writer: undefined as unknown as Deps['writer'], // memberships write through the caller's transaction
  };
  await updateMemberships(tx, deps, siteId, [...leads.keys()], now, NO_WEBHOOKS, leads);
}
