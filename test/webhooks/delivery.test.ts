import { afterEach, describe, expect, test } from 'vitest';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { startWebhookWorker, type WebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { verifySignature } from '../../collector/webhooks/verify-signature.js';
import { claimDelivery, listDueDeliveries } from '../../collector/storage/webhooks.js';
import { webhookQueue } from '../../collector/webhooks/enqueue.js';
import { startReceiver, type Receiver } from './receiver.js';
import { deliveryRows, enqueue, makeSiteWithWebhook, SECRET, T0, workerDeps } from './fixtures.js';

const POLICY = { baseMs: 60_000, capMs: 3600_000, maxAttempts: 3 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function receiver(port = 0, delayMs = 0): Promise<Receiver> {
  const r = await startReceiver(port, delayMs);
  cleanups.push(() => r.close());
  return r;
}
function worker(db: Parameters<typeof workerDeps>[0], options: Parameters<typeof startWebhookWorker>[1] = {}): WebhookWorker {
  const w = startWebhookWorker(workerDeps(db), { autoStart: false, policy: POLICY, ...options });
  cleanups.push(() => w.close());
  return w;
}

describe.each(ENGINES)('webhook delivery to a real receiver on %s', (engine) => {
  async function openDb() {
    const db = await openTestDb(engine);
    cleanups.push(() => db.close());
    return db;
  }

  test('a queued event is POSTed once as signed JSON and marked delivered', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    expect(await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1', score: 31 })).toBe(1);
    expect(await enqueue(db, siteId, 'segment.entered', { leadId: 'lead_1' })).toBe(0); // not subscribed

    expect(await worker(db).runOnce(T0 + 1000)).toBe(1);

    expect(rx.requests).toHaveLength(1);
    const [req] = rx.requests;
    const payload = JSON.parse(req.body);
    expect(payload).toMatchObject({ type: 'lead.mql', createdAt: new Date(T0).toISOString(), data: { leadId: 'lead_1', score: 31 } });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['funnelbeam-delivery']).toBe(payload.id);
    expect(req.headers['funnelbeam-event']).toBe('lead.mql');
    const check = verifySignature(req.headers['funnelbeam-signature'] as string, req.body, SECRET, 300, Math.floor((T0 + 1000) / 1000));
    expect(check).toEqual({ ok: true, timestamp: Math.floor((T0 + 1000) / 1000) });
    expect(verifySignature(req.headers['funnelbeam-signature'] as string, req.body, 'whsec_wrong_secret_value', 300, (T0 + 1000) / 1000).ok).toBe(false);

    const [row] = await deliveryRows(db, siteId);
    expect(row).toMatchObject({ delivery_id: payload.id, status: 'delivered', attempts: 1, last_status: 200, last_error: null, delivered_at: T0 + 1000 });
    expect(await worker(db).runOnce(T0 + 10_000_000)).toBe(0);
    expect(rx.requests).toHaveLength(1);
  });

  test('a 500 is retried after an exponential, jittered delay and then delivered', async () => {
    const db = await openDb();
    const rx = await receiver();
    rx.answer((n) => (n === 1 ? 500 : 204));
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'stage.changed', { leadId: 'lead_2', from: 'interest', to: 'intent' });
    const w = worker(db);

    await w.runOnce(T0);
    const [failed] = await deliveryRows(db, siteId);
    expect(failed).toMatchObject({ status: 'pending', attempts: 1, last_status: 500, last_error: 'receiver answered 500' });
    expect(failed.next_attempt_at).toBeGreaterThanOrEqual(T0 + POLICY.baseMs / 2);
    expect(failed.next_attempt_at).toBeLessThanOrEqual(T0 + POLICY.baseMs);

    expect(await w.runOnce(failed.next_attempt_at - 1)).toBe(0); // not due yet
    expect(await w.runOnce(failed.next_attempt_at)).toBe(1);
    const [done] = await deliveryRows(db, siteId);
    expect(done).toMatchObject({ status: 'delivered', attempts: 2, last_status: 204 });
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests[0].body).toBe(rx.requests[1].body); // same payload and id: receivers can de-duplicate
  });

  test('a receiver that stays down is given up after the last attempt', async () => {
    const db = await openDb();
    const rx = await receiver();
    rx.answer(() => 503);
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_3' });
    const w = worker(db);
    let now = T0;
    for (let i = 0; i < POLICY.maxAttempts; i++) {
      expect(await w.runOnce(now)).toBe(1);
      now = (await deliveryRows(db, siteId))[0].next_attempt_at;
    }
    const [row] = await deliveryRows(db, siteId);
    expect(row).toMatchObject({ status: 'failed', attempts: POLICY.maxAttempts, last_status: 503 });
    expect(await w.runOnce(now + 10 * 3600_000)).toBe(0);
    expect(rx.requests).toHaveLength(POLICY.maxAttempts);
  });

  test('receiver down, then the worker restarts and the receiver is back: delivered exactly once', async () => {
    const db = await openDb();
    const probe = await startReceiver();
    const port = probe.port;
    await probe.close(); // nothing listens on this port now
    const siteId = await makeSiteWithWebhook(db, `http://127.0.0.1:${port}/hooks/funnelbeam`);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_4' });

    const first = worker(db);
    expect(await first.runOnce(T0)).toBe(1);
    const [down] = await deliveryRows(db, siteId);
    expect(down).toMatchObject({ status: 'pending', attempts: 1, last_status: null });
    expect(down.last_error).toMatch(/ECONNREFUSED|refused/i);
    await first.close(); // the collector stops; only the table remembers

    const rx = await receiver(port);
    const second = worker(db);
    expect(await second.runOnce(down.next_attempt_at)).toBe(1);
    expect(await second.runOnce(down.next_attempt_at + 24 * 3600_000)).toBe(0);
    expect(rx.requests).toHaveLength(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  test('a delivery claimed by a worker that crashed is taken over once its claim expires', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_5' });
    const leaseMs = 40_000;
    // The crashed worker: claimed the row, then died before sending or recording anything.
    const [due] = await listDueDeliveries(db, T0, 10);
    expect(await claimDelivery(db, due, T0 + leaseMs)).toBeDefined();

    const w = worker(db, { leaseMs });
    expect(await w.runOnce(T0 + leaseMs - 1)).toBe(0);
    expect(await w.runOnce(T0 + leaseMs)).toBe(1);
    expect(rx.requests).toHaveLength(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  test('two workers never claim the same delivery', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    for (let i = 0; i < 6; i++) await enqueue(db, siteId, 'lead.mql', { leadId: `lead_${i}` });
    const [a, b] = [worker(db, { concurrency: 6 }), worker(db, { concurrency: 6 })];
    const counts = await Promise.all([a.runOnce(T0), b.runOnce(T0)]);
    expect(counts[0] + counts[1]).toBe(6);
    expect(rx.requests).toHaveLength(6);
    expect(new Set(rx.requests.map((r) => r.headers['funnelbeam-delivery'])).size).toBe(6);
  });

  test('a receiver that never answers times out as a failed attempt instead of holding the worker', async () => {
    const db = await openDb();
    const rx = await receiver();
    rx.answer(() => 'hang');
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_6' });
    expect(await worker(db, { timeoutMs: 150 }).runOnce(T0)).toBe(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'pending', attempts: 1, last_error: 'no answer within 150 ms' });
  });

  test('at most `concurrency` deliveries are in flight at once', async () => {
    const db = await openDb();
    const rx = await receiver(0, 80);
    const siteId = await makeSiteWithWebhook(db, rx.url);
    for (let i = 0; i < 5; i++) await enqueue(db, siteId, 'lead.mql', { leadId: `lead_${i}` });
    const w = worker(db, { concurrency: 2 });
    expect(await w.runOnce(T0)).toBe(2);
    expect(await w.runOnce(T0)).toBe(2);
    expect(await w.runOnce(T0)).toBe(1);
    expect(rx.maxConcurrent).toBe(2);
  });

  test('an event enqueued in a transaction that rolls back is never delivered', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await expect(
      db.transaction(async (tx) => {
        await webhookQueue(tx, siteId).enqueue('lead.mql', { leadId: 'lead_7' }, T0);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await deliveryRows(db, siteId)).toEqual([]);
  });

  test('the running service delivers on its own timer', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_8' });
    const w = startWebhookWorker(workerDeps(db, () => T0 + 1), { pollMs: 20 });
    cleanups.push(() => w.close());
    for (let i = 0; i < 100 && rx.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await w.close();
    expect(rx.requests).toHaveLength(1);
    expect((await deliveryRows(db, siteId))[0].status).toBe('delivered');
  });

  test('the running service drops finished deliveries older than the retention period', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'old' }, T0 - 40 * 86_400_000);
    await worker(db).runOnce(T0 - 40 * 86_400_000);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'recent' }, T0 - 86_400_000);
    await worker(db).runOnce(T0 - 86_400_000);
    expect((await deliveryRows(db, siteId)).map((r) => r.status)).toEqual(['delivered', 'delivered']);
    const w = startWebhookWorker(workerDeps(db, () => T0), { pollMs: 10, retentionMs: 30 * 86_400_000 });
    cleanups.push(() => w.close());
    for (let i = 0; i < 100 && (await deliveryRows(db, siteId)).length > 1; i++) await new Promise((r) => setTimeout(r, 20));
    await w.close();
    const left = await deliveryRows(db, siteId);
    expect(left).toHaveLength(1);
    expect(left[0].delivered_at).toBe(T0 - 86_400_000);
  });
});
