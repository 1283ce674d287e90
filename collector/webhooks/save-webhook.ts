// Creating and changing a webhook: keeps created_at and the secret unless a new one is given; generates one for a new hook.
// Pausing it (active: false) holds its queued deliveries until it is resumed.
import type { Db } from '../storage/db.js';
import { getWebhook, holdDeliveries, upsertWebhook, type Webhook } from '../storage/webhooks.js';
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
  const existing = await getWebhook(db, siteId, webhookId);
  const generatedSecret = input.secret || existing ? null : generateWebhookSecret();
  const webhook: Webhook = {
    siteId,
    webhookId,
    url: input.url,
    secret: input.secret || existing?.secret || generatedSecret!,
    events: [...new Set(input.events)],
    active: input.active ?? true,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await upsertWebhook(db, webhook);
  // paused: its queued deliveries wait; resumed: they go out again
  if (!webhook.active) await holdDeliveries(db, siteId, webhookId, true);
  else if (existing && !existing.active) await holdDeliveries(db, siteId, webhookId, false);
  return { webhook, created: !existing, generatedSecret };
}
