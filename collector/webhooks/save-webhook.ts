// Creating and changing a webhook: keeps created_at, the secret and `active` unless given; generates a secret for a new
// hook; refuses a url that is no allowed target (webhook-target.ts). Pausing it (active: false) holds its queued
// deliveries until it is resumed; a type it no longer takes is unqueued.
import type { Db } from '../storage/db.js';
import { ApiError } from '../errors.js';
import { dropQueuedDeliveriesNotOf, getWebhook, holdDeliveries, insertWebhookIfNew, upsertWebhook, type Webhook } from '../storage/webhooks.js';
import type { WebhookEvent } from './enqueue.js';
import { generateWebhookSecret } from './webhook-secret.js';
import { DEFAULT_TARGET_POLICY, refusedUrlReason, type TargetPolicy } from './webhook-target.js';

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

export async function saveWebhook(
  db: Db,
  siteId: string,
  webhookId: string,
  input: WebhookInput,
  now: number,
  targets: TargetPolicy = DEFAULT_TARGET_POLICY,
): Promise<SavedWebhook> {
  // checked before anything is written; every delivery checks again (a name can be pointed elsewhere later)
  const refused = await refusedUrlReason(input.url, targets);
  if (refused) throw new ApiError(400, 'webhook_target_refused', refused);
  const events = [...new Set(input.events)];
  // create atomically: of several PUTs of a new id at once, one inserts (and shows its generated secret), the rest update
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await getWebhook(db, siteId, webhookId);
    if (!existing) {
      const secret = input.secret || generateWebhookSecret();
      const fresh: Webhook = { siteId, webhookId, url: input.url, secret, events, active: input.active ?? true, createdAt: now, updatedAt: now };
      if (await insertWebhookIfNew(db, fresh)) return { webhook: fresh, created: true, generatedSecret: input.secret ? null : secret };
      continue; // made meanwhile by another request: update it
    }
    const webhook = await db.transaction(async (tx) => {
      const current = await getWebhook(tx, siteId, webhookId);
      if (!current) return null; // deleted meanwhile: make it anew
      // like the secret, `active` left out keeps what it was: a PUT that only moves the url does not resume a paused hook
      const next: Webhook = { ...current, url: input.url, secret: input.secret || current.secret, events, active: input.active ?? current.active, updatedAt: now };
      await upsertWebhook(tx, next);
      // the queue follows the state written here, not the one read before: of a pause and a resume sent at once, the
      // one that lands last decides both (paused: queued deliveries wait as held; active: they go out)
      await holdDeliveries(tx, siteId, webhookId, !next.active);
      // a type the receiver unsubscribed from is not sent from the queue either (an attempt under way finishes)
      await dropQueuedDeliveriesNotOf(tx, siteId, webhookId, events);
      return next;
    });
    if (!webhook) continue;
    return { webhook, created: false, generatedSecret: null };
  }
  throw new Error(`webhook ${webhookId} kept appearing and disappearing while it was saved`);
}
