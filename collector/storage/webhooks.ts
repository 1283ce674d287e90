// Webhooks and their delivery queue: the only SQL for webhook config, enqueueing, claiming and the delivery log.
import type { Db } from './db.js';

export interface Webhook {
  siteId: string;
  webhookId: string;
  url: string;
  secret: string;
  events: string[];
  active: boolean;
  createdAt: number;
  updatedAt: number;
}

/** `held`: waiting while its webhook is paused (`active: false`); it goes back to `pending` when the webhook is resumed */
export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'held';

export interface Delivery {
  siteId: string;
  deliveryId: string;
  webhookId: string;
  eventType: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  /** pending: when to try next; sending: when the claim expires (a crashed worker's claim is taken over after it) */
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** A claimed delivery with what is needed to send it. */
export interface DueDelivery extends Delivery {
  url: string;
  secret: string;
}

interface WebhookRow { site_id: string; webhook_id: string; url: string; secret: string; events: string; active: number; created_at: number; updated_at: number }
interface DeliveryRow {
  site_id: string; delivery_id: string; webhook_id: string; event_type: string; payload: string; status: string;
  attempts: number; next_attempt_at: number; last_status: number | null; last_error: string | null; created_at: number; delivered_at: number | null;
}

const HOOK_COLS = 'site_id, webhook_id, url, secret, events, active, created_at, updated_at';
const DELIVERY_COLS = 'site_id, delivery_id, webhook_id, event_type, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at';

const toWebhook = (r: WebhookRow): Webhook => ({
  siteId: r.site_id,
  webhookId: r.webhook_id,
  url: r.url,
  secret: r.secret,
  events: JSON.parse(r.events),
  active: Number(r.active) === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});
const toDelivery = (r: DeliveryRow): Delivery => ({
  siteId: r.site_id,
  deliveryId: r.delivery_id,
  webhookId: r.webhook_id,
  eventType: r.event_type,
  payload: r.payload,
  status: r.status as DeliveryStatus,
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  lastStatus: r.last_status == null ? null : Number(r.last_status),
  lastError: r.last_error,
  createdAt: Number(r.created_at),
  deliveredAt: r.delivered_at == null ? null : Number(r.delivered_at),
});

// ---- configuration

/** Inserts a webhook or replaces its settings (created_at is kept). */
export async function upsertWebhook(db: Db, hook: Webhook): Promise<void> {
  await db.run(
    `INSERT INTO webhooks (${HOOK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (site_id, webhook_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, events = excluded.events,
       active = excluded.active, updated_at = excluded.updated_at`,
    [hook.siteId, hook.webhookId, hook.url, hook.secret, JSON.stringify(hook.events), hook.active ? 1 : 0, hook.createdAt, hook.updatedAt],
  );
}

/**
 * Inserts a webhook unless one with its id exists; resolves to whether it was inserted. Two creations of the same id at
 * once (a client retrying a PUT) thus make one row, and only the one that inserted it has generated its secret.
 */
export async function insertWebhookIfNew(db: Db, hook: Webhook): Promise<boolean> {
  const inserted = await db.run(
    `INSERT INTO webhooks (${HOOK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, webhook_id) DO NOTHING`,
    [hook.siteId, hook.webhookId, hook.url, hook.secret, JSON.stringify(hook.events), hook.active ? 1 : 0, hook.createdAt, hook.updatedAt],
  );
  return inserted > 0;
}

export async function getWebhook(db: Db, siteId: string, webhookId: string): Promise<Webhook | undefined> {
  const r = await db.get<WebhookRow>(`SELECT ${HOOK_COLS} FROM webhooks WHERE site_id = ? AND webhook_id = ?`, [siteId, webhookId]);
  return r && toWebhook(r);
}

export async function listWebhooks(db: Db, siteId: string): Promise<Webhook[]> {
  return (await db.all<WebhookRow>(`SELECT ${HOOK_COLS} FROM webhooks WHERE site_id = ? ORDER BY webhook_id`, [siteId])).map(toWebhook);
}

/** Deletes a webhook and its delivery log (queued deliveries die with it); resolves to false when there was none. */
export async function deleteWebhook(db: Db, siteId: string, webhookId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const gone = await tx.run('DELETE FROM webhooks WHERE site_id = ? AND webhook_id = ?', [siteId, webhookId]);
    await tx.run('DELETE FROM webhook_deliveries WHERE site_id = ? AND webhook_id = ?', [siteId, webhookId]);
    return gone > 0;
  });
}

// ---- enqueueing (inside the caller's transaction)

/** Active webhooks of a site with their subscribed event types. */
export async function listActiveWebhookEvents(tx: Db, siteId: string): Promise<Array<{ webhookId: string; events: string[] }>> {
  // FOR SHARE on PostgreSQL: a PUT that pauses the webhook or drops a type (or a DELETE) waits for this transaction's
  // deliveries to commit and then holds or drops them too, and this read waits for a PUT under way and reads what it
  // wrote; without it, another collector's flush queued deliveries for a webhook paused or deleted meanwhile
  const rows = await tx.all<{ webhook_id: string; events: string }>(
    `SELECT webhook_id, events FROM webhooks WHERE site_id = ? AND active = 1${tx.dialect === 'pg' ? ' FOR SHARE' : ''}`,
    [siteId],
  );
  return rows.map((r) => ({ webhookId: r.webhook_id, events: JSON.parse(r.events) as string[] }));
}

export async function insertDelivery(
  tx: Db,
  d: { siteId: string; deliveryId: string; webhookId: string; eventType: string; payload: string; now: number },
): Promise<void> {
  await tx.run(
    `INSERT INTO webhook_deliveries (site_id, delivery_id, webhook_id, event_type, payload, status, attempts, next_attempt_at, created_at)
     VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    [d.siteId, d.deliveryId, d.webhookId, d.eventType, d.payload, d.now, d.now],
  );
}

/**
 * Pausing a webhook holds its queued deliveries (`held`: never claimed); resuming it makes them `pending` again, each
 * due at the time it had. Resolves to how many changed.
 */
export async function holdDeliveries(db: Db, siteId: string, webhookId: string, hold: boolean): Promise<number> {
  return db.run(
    `UPDATE webhook_deliveries SET status = ? WHERE site_id = ? AND webhook_id = ? AND status = ?`,
    hold ? ['held', siteId, webhookId, 'pending'] : ['pending', siteId, webhookId, 'held'],
  );
}

/** Deletes the webhook's queued (pending or held) deliveries whose type is not in `events`; resolves to how many. */
export async function dropQueuedDeliveriesNotOf(db: Db, siteId: string, webhookId: string, events: readonly string[]): Promise<number> {
  return db.run(
    `DELETE FROM webhook_deliveries WHERE site_id = ? AND webhook_id = ? AND status IN ('pending', 'held')
       AND event_type NOT IN (${events.map(() => '?').join(', ')})`,
    [siteId, webhookId, ...events],
  );
}

// ---- the delivery worker

/** How many of the oldest due deliveries are shared out in turns (bounds the cost of a fill during a backlog). */
export const DUE_WINDOW = 1024;

/**
 * Deliveries that are due: pending ones whose time has come, and sending ones whose claim expired (crashed worker).
 * Of the oldest DUE_WINDOW of them, taken in turns across webhooks, each webhook's oldest first: every webhook with
 * something due gets its first before any gets its second, so a backlog for one receiver (one that never answers,
 * say) cannot hold every slot while others wait behind it. Within a webhook the order is the order they were queued.
 */
export async function listDueDeliveries(db: Db, now: number, limit: number): Promise<Array<{ siteId: string; deliveryId: string; status: DeliveryStatus; nextAttemptAt: number }>> {
  const rows = await db.all<{ site_id: string; delivery_id: string; status: string; next_attempt_at: number }>(
    `SELECT site_id, delivery_id, status, next_attempt_at FROM (
       SELECT site_id, delivery_id, status, next_attempt_at,
              ROW_NUMBER() OVER (PARTITION BY site_id, webhook_id ORDER BY next_attempt_at, delivery_id) AS turn
       FROM (SELECT site_id, delivery_id, webhook_id, status, next_attempt_at FROM webhook_deliveries
             WHERE status IN ('pending', 'sending') AND next_attempt_at <= ? ORDER BY next_attempt_at, delivery_id LIMIT ?) oldest
     ) due WHERE turn <= ? ORDER BY turn, next_attempt_at, delivery_id LIMIT ?`,
    [now, Math.max(DUE_WINDOW, limit), limit, limit],
  );
  return rows.map((r) => ({ siteId: r.site_id, deliveryId: r.delivery_id, status: r.status as DeliveryStatus, nextAttemptAt: Number(r.next_attempt_at) }));
}

/**
 * Claims one due delivery for this worker until `leaseUntil` (compare-and-set on status and time, so two
 * workers, or two collectors on one PostgreSQL, never both claim it). Counts the attempt. Resolves to the
 * delivery with its webhook's url and secret, or undefined when someone else got it first.
 */
export async function claimDelivery(
  db: Db,
  due: { siteId: string; deliveryId: string; status: DeliveryStatus; nextAttemptAt: number },
  leaseUntil: number,
): Promise<DueDelivery | undefined> {
  const changed = await db.run(
    `UPDATE webhook_deliveries SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?
     WHERE site_id = ? AND delivery_id = ? AND status = ? AND next_attempt_at = ?`,
    [leaseUntil, due.siteId, due.deliveryId, due.status, due.nextAttemptAt],
  );
  if (changed === 0) return undefined;
  const r = await db.get<DeliveryRow & { url: string | null; secret: string | null; active: number | null; events: string | null }>(
    `SELECT d.site_id, d.delivery_id, d.webhook_id, d.event_type, d.payload, d.status, d.attempts, d.next_attempt_at, d.last_status,
            d.last_error, d.created_at, d.delivered_at, w.url, w.secret, w.active, w.events
     FROM webhook_deliveries d LEFT JOIN webhooks w ON w.site_id = d.site_id AND w.webhook_id = d.webhook_id
     WHERE d.site_id = ? AND d.delivery_id = ?`,
    [due.siteId, due.deliveryId],
  );
  if (!r) return undefined;
  // A claim taken over from a crashed worker is a new attempt: if the webhook was paused or unsubscribed from the type
  // meanwhile (the PUT held or dropped only what was queued, not this row then `sending`), it waits or is dropped as
  // the queued ones were, uncounted, instead of being sent.
  if (r.events !== null && !(JSON.parse(r.events) as string[]).includes(r.event_type)) {
    await db.run('DELETE FROM webhook_deliveries WHERE site_id = ? AND delivery_id = ?', [due.siteId, due.deliveryId]);
    return undefined;
  }
  if (r.active !== null && Number(r.active) !== 1) {
    await db.run(
      `UPDATE webhook_deliveries SET status = 'held', attempts = attempts - 1, next_attempt_at = ? WHERE site_id = ? AND delivery_id = ?`,
      [due.nextAttemptAt, due.siteId, due.deliveryId],
    );
    return undefined;
  }
  return { ...toDelivery(r), url: r.url ?? '', secret: r.secret ?? '' };
}

/** claimDelivery for several due deliveries in one transaction (one commit, one wait for the writer); the ones won. */
export async function claimDeliveries(
  db: Db,
  due: ReadonlyArray<{ siteId: string; deliveryId: string; status: DeliveryStatus; nextAttemptAt: number }>,
  leaseUntil: number,
): Promise<DueDelivery[]> {
  if (due.length === 0) return [];
  return db.transaction(async (tx) => {
    const won: DueDelivery[] = [];
    for (const d of due) {
      const claimed = await claimDelivery(tx, d, leaseUntil);
      if (claimed) won.push(claimed);
    }
    return won;
  });
}

/** Records the outcome of a claimed attempt, only if the claim is still ours (same lease). Resolves to false otherwise. */
export async function finishDelivery(
  db: Db,
  claim: { siteId: string; deliveryId: string; leaseUntil: number },
  outcome: { status: 'delivered' | 'pending' | 'failed'; nextAttemptAt: number; lastStatus: number | null; lastError: string | null; deliveredAt: number | null },
): Promise<boolean> {
  // a retry whose webhook was paused meanwhile waits (held) instead of being tried again
  const changed = await db.run(
    `UPDATE webhook_deliveries SET
       status = CASE WHEN ? = 'pending' AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.site_id = webhook_deliveries.site_id
         AND w.webhook_id = webhook_deliveries.webhook_id AND w.active = 1) THEN 'held' ELSE ? END,
       next_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = ?
     WHERE site_id = ? AND delivery_id = ? AND status = 'sending' AND next_attempt_at = ?`,
    [outcome.status, outcome.status, outcome.nextAttemptAt, outcome.lastStatus, outcome.lastError, outcome.deliveredAt, claim.siteId, claim.deliveryId, claim.leaseUntil],
  );
  return changed > 0;
}

export async function listRecentDeliveries(db: Db, siteId: string, webhookId: string, limit: number): Promise<Delivery[]> {
  const rows = await db.all<DeliveryRow>(
    `SELECT ${DELIVERY_COLS} FROM webhook_deliveries WHERE site_id = ? AND webhook_id = ? ORDER BY created_at DESC, delivery_id DESC LIMIT ?`,
    [siteId, webhookId, limit],
  );
  return rows.map(toDelivery);
}

export async function getDelivery(db: Db, siteId: string, deliveryId: string): Promise<Delivery | undefined> {
  const r = await db.get<DeliveryRow>(`SELECT ${DELIVERY_COLS} FROM webhook_deliveries WHERE site_id = ? AND delivery_id = ?`, [siteId, deliveryId]);
  return r && toDelivery(r);
}

/** Drops finished deliveries older than `before` so the log does not grow forever. */
export async function pruneDeliveries(db: Db, before: number): Promise<number> {
  return db.run(`DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND created_at < ?`, [before]);
}
