// Delivers queued webhooks: claims due rows, POSTs them with bounded concurrency, records the outcome or a retry time.
// All state lives in webhook_deliveries, so a restarted (or crashed) collector picks up exactly where it stopped.
import type { Deps } from '../context.js';
import type { Service } from '../app.js';
import type { Config } from '../config.js';
import { claimDeliveries, finishDelivery, listDueDeliveries, pruneDeliveries, type DueDelivery } from '../storage/webhooks.js';
import { DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from './retry-policy.js';
import { sendWebhook } from './send-webhook.js';
import type { TargetPolicy } from './webhook-target.js';

export interface WebhookWorkerOptions {
  /** how often the queue is checked when idle */
  pollMs?: number;
  /**
   * deliveries in flight at once (default 16); a slow receiver holds at most one slot per delivery until its timeout.
   * Under ingest load each delivery waits for the writer twice (claim, outcome), so throughput is about this many per
   * round of those waits.
   */
  concurrency?: number;
  /** a receiver that has not answered within this is a failed attempt */
  timeoutMs?: number;
  /** a claim older than this is considered abandoned by a crashed worker and is taken over */
  leaseMs?: number;
  policy?: RetryPolicy;
  random?: () => number;
  /** delivered and failed deliveries older than this are deleted (checked at most hourly); default 30 days */
  retentionMs?: number;
  /** false: no timer; the owner calls runOnce (tests, scripts) */
  autoStart?: boolean;
  /** loopback and private targets allowed; default: deps.config.WEBHOOK_PRIVATE_TARGETS, or allowed without a config */
  privateTargets?: boolean;
}

export interface WebhookWorker extends Service {
  /** Claims what is due at `now`, delivers it, and resolves once those attempts are recorded; the number attempted. */
  runOnce(now?: number): Promise<number>;
}

export function startWebhookWorker(
  deps: Pick<Deps, 'db' | 'log' | 'metrics' | 'now'> & { config?: Pick<Config, 'WEBHOOK_PRIVATE_TARGETS'> },
  options: WebhookWorkerOptions = {},
): WebhookWorker {
  const pollMs = options.pollMs ?? 1000;
  const concurrency = options.concurrency ?? 16;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const leaseMs = options.leaseMs ?? timeoutMs + 30_000;
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const random = options.random ?? Math.random;
  const retentionMs = options.retentionMs ?? 30 * 86_400_000;
  const targets: TargetPolicy = { privateTargets: options.privateTargets ?? deps.config?.WEBHOOK_PRIVATE_TARGETS !== '0' };
  const inFlight = new Set<Promise<void>>();
  let prunedAt = -Infinity;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  async function attempt(delivery: DueDelivery, now: number, leaseUntil: number): Promise<void> {
    // a refused target is a failed attempt like any other, retried on the normal schedule: the admin may fix the url
    // (or the name's records) meanwhile, and the queued deliveries then go out instead of being lost
    const outcome = delivery.url
      ? await sendWebhook(delivery, now, timeoutMs, targets)
      : ({ ok: false, status: null, error: 'webhook no longer exists' } as const);
    const delay = outcome.ok ? null : retryDelay(delivery.attempts, policy, random());
    const status = outcome.ok ? 'delivered' : delay === null ? 'failed' : 'pending';
    deps.metrics.inc('funnelbeam_webhook_attempts_total', { result: outcome.ok ? 'delivered' : delay === null ? 'failed' : 'retry' });
    const recorded = await finishDelivery(
      deps.db,
      { siteId: delivery.siteId, deliveryId: delivery.deliveryId, leaseUntil },
      {
        status,
        nextAttemptAt: delay === null ? now : now + delay,
        lastStatus: outcome.status,
        lastError: outcome.ok ? null : outcome.error,
        deliveredAt: outcome.ok ? now : null,
      },
    );
    if (!recorded) deps.log.warn('webhook claim expired before its outcome was recorded', { deliveryId: delivery.deliveryId });
    if (!outcome.ok) deps.log.warn('webhook attempt failed', { deliveryId: delivery.deliveryId, attempts: delivery.attempts, error: outcome.error, status });
  }

  /** Starts attempts for up to the free slots; resolves to the started attempts. */
  async function fill(now: number): Promise<Promise<void>[]> {
    const free = concurrency - inFlight.size;
    if (free <= 0 || closed) return [];
    const started: Promise<void>[] = [];
    const leaseUntil = now + leaseMs;
    // claimed together: under ingest load every separate write waits for a group-commit flush and a sync
    for (const claimed of await claimDeliveries(deps.db, await listDueDeliveries(deps.db, now, free), leaseUntil)) {
      const run: Promise<void> = attempt(claimed, now, leaseUntil)
        .catch((err) => deps.log.error('webhook attempt could not be recorded', { deliveryId: claimed.deliveryId, error: (err as Error).message }))
        .finally(() => inFlight.delete(run));
      inFlight.add(run);
      started.push(run);
    }
    return started;
  }

  function schedule(delayMs: number) {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void tick();
    }, delayMs);
    timer.unref();
  }

  async function tick() {
    let saturated = false;
    try {
      const now = deps.now();
      // The delivery log is for recent history; without pruning it would grow with every event forever.
      if (now - prunedAt >= 3600_000) {
        prunedAt = now;
        await pruneDeliveries(deps.db, now - retentionMs);
      }
      await fill(now);
      saturated = inFlight.size >= concurrency;
    } catch (err) {
      deps.log.error('webhook queue check failed', { error: (err as Error).message });
    }
    // With every slot busy there may be more due: refill as soon as one attempt ends, not a poll later.
    if (saturated) void Promise.race(inFlight).then(() => schedule(0));
    else schedule(pollMs);
  }

  if (options.autoStart !== false) schedule(pollMs);

  return {
    name: 'webhook-delivery',
    async runOnce(now = deps.now()) {
      const started = await fill(now);
      await Promise.all(started);
      return started.length;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await Promise.allSettled([...inFlight]);
    },
  };
}
