// Creating and changing a webhook: keeps created_at and the secret unless a new one is given; generates one for a new hook.
// Pausing it (active: false) holds its queued deliveries until it is resumed.
import type { Db } from '../storage/db.js';
import { getWebhook, holdDeliveries, insertWebhookIfNew, upsertWebhook, type Webhook } from '../storage/webhooks.js';
import type { WebhookEvent } from './enqueue.js';
import { generateWebhookSecret } from './webhook-secret.js';

export interface WebhookInput {
  url: string;
  events: WebhookEvent[];
  secret?: string;
  active?: boolean;
}

export interface SavedWebhook {
  webhook: Webhook;
  created: boolean;
  /** only when this call generated the secret: the one time it is shown */
  generatedSecret: string | null;
}

export async function saveWebhook(db: Db, siteId: string, webhookId: string, input: WebhookInput, now: number): Promise<SavedWebhook> {
  const events = [...new Set(input.events)];
  const active = input.active ?? true;
  // create atomically: of several PUTs of a new id at once, one inserts (and shows its generated secret), the rest update
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await getWebhook(db, siteId, webhookId);
    if (!existing) {
      const secret = input.secret || generateWebhookSecret();
      const fresh: Webhook = { siteId, webhookId, url: input.url, secret, events, active, createdAt: now, updatedAt: now };
      if (await insertWebhookIfNew(db, fresh)) return { webhook: fresh, created: true, generatedSecret: input.secret ? null : secret };
      continue; // made meanwhile by another request: update it
    }
    const webhook: Webhook = { ...existing, url: input.url, secret: input.secret || existing.secret, events, active, updatedAt: now };
    await upsertWebhook(db, webhook);
    // paused: its queued deliveries wait; resumed: they go out again
    if (!webhook.active) await holdDeliveries(db, siteId, webhookId, true);
    else if (!existing.active) await holdDeliveries(db, siteId, webhookId, false);
    return { webhook, created: false, generatedSecret: null };
  }
  throw new Error(`webhook ${webhookId} kept appearing and disappearing while it was saved`);
}
