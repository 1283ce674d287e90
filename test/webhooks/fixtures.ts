// Webhook test fixtures: a database with a site, a webhook pointing at a receiver, and events enqueued in a transaction.
import type { Db } from '../../collector/storage/db.js';
import { createSite } from '../../collector/admin.js';
import { saveWebhook } from '../../collector/webhooks/save-webhook.js';
import { webhookQueue, type WebhookEvent } from '../../collector/webhooks/enqueue.js';
import { createLog } from '../../collector/ops/log.js';
import { createMetrics } from '../../collector/ops/metrics.js';

export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
export const SECRET = 'whsec_test_0123456789abcdef';

export const workerDeps = (db: Db, now = () => T0) => ({ db, log: createLog('error', () => {}), metrics: createMetrics(), now });

export async function makeSiteWithWebhook(db: Db, url: string, events: WebhookEvent[] = ['stage.changed', 'lead.mql']) {
  const site = await createSite(db, { domain: 'hooks.example.com' }, T0);
  await saveWebhook(db, site.siteId, 'crm', { url, events, secret: SECRET }, T0);
  return site.siteId;
}

export async function enqueue(db: Db, siteId: string, type: WebhookEvent, data: object, now = T0) {
  return db.transaction((tx) => webhookQueue(tx, siteId).enqueue(type, data, now));
}

export async function deliveryRows(db: Db, siteId: string) {
  return db.all<{ delivery_id: string; status: string; attempts: number; next_attempt_at: number; last_status: number | null; last_error: string | null; delivered_at: number | null }>(
    'SELECT delivery_id, status, attempts, next_attempt_at, last_status, last_error, delivered_at FROM webhook_deliveries WHERE site_id = ? ORDER BY created_at, delivery_id',
    [siteId],
  );
}
