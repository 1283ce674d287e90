// Queues webhook deliveries in the same transaction as the change that causes them, so none is lost or invented.
import type { Db } from '../storage/db.js';
import { insertDelivery, listActiveWebhookEvents } from '../storage/webhooks.js';
import { newDeliveryId } from './delivery-id.js';

export const WEBHOOK_EVENTS = ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The JSON body a receiver gets: `id` is the delivery id (stable across retries, use it to de-duplicate). */
export interface WebhookPayload {
  id: string;
  type: WebhookEvent;
  createdAt: string;
  data: object;
}

/** Queues deliveries for one site within one transaction; the site's active webhooks are read once, at first use. */
export interface WebhookQueue {
  /** queues a delivery to every active webhook that takes the type; resolves to how many */
  enqueue(type: WebhookEvent, data: object, now: number): Promise<number>;
}

export function webhookQueue(tx: Db, siteId: string): WebhookQueue {
  let hooks: ReturnType<typeof listActiveWebhookEvents> | null = null;
  const active = () => (hooks ??= listActiveWebhookEvents(tx, siteId));
  return {
    async enqueue(type, data, now) {
      let queued = 0;
      for (const hook of await active()) {
        if (!hook.events.includes(type)) continue;
        const deliveryId = newDeliveryId(now);
        const payload: WebhookPayload = { id: deliveryId, type, createdAt: new Date(now).toISOString(), data };
        await insertDelivery(tx, { siteId, deliveryId, webhookId: hook.webhookId, eventType: type, payload: JSON.stringify(payload), now });
        queued++;
      }
      return queued;
    },
  };
}
