// Queues webhook deliveries in the same transaction as the change that causes them, so none is lost or invented.
import { randomUUID } from 'node:crypto';
import type { Db } from '../storage/db.js';

export const WEBHOOK_EVENTS = ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export async function enqueueWebhookEvent(tx: Db, siteId: string, type: WebhookEvent, data: object, now: number): Promise<number> {
  const hooks = await tx.all<{ webhook_id: string; events: string }>(
    'SELECT webhook_id, events FROM webhooks WHERE site_id = ? AND active = 1',
    [siteId],
  );
  let queued = 0;
  for (const hook of hooks) {
    if (!(JSON.parse(hook.events) as string[]).includes(type)) continue;
    const deliveryId = randomUUID();
    const payload = JSON.stringify({ id: deliveryId, type, createdAt: new Date(now).toISOString(), data });
    await tx.run(
      `INSERT INTO webhook_deliveries (site_id, delivery_id, webhook_id, event_type, payload, status, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
      [siteId, deliveryId, hook.webhook_id, type, payload, now, now],
    );
    queued++;
  }
  return queued;
}
