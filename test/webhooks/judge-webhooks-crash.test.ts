// Outside judge: a collector that crashed mid-attempt leaves its delivery `sending`; another worker takes the claim
// over once it expires (README "Webhooks": deliveries survive a restart). The admin may have paused the webhook, or
// unsubscribed it from the type, in between. README: "A paused webhook (`active: false`) gets nothing" and "A type
// removed from `events` drops its queued (pending or held) deliveries". The attempt that was under way died with the
// crash; the takeover would be a new attempt, so it must wait (held) or be dropped, not be sent. Real receiver, real
// databases on both engines.
import { afterEach, describe, expect, test } from 'vitest';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { saveWebhook } from '../../collector/webhooks/save-webhook.js';
import { claimDelivery, listDueDeliveries } from '../../collector/storage/webhooks.js';
import { startReceiver } from './receiver.js';
import { deliveryRows, enqueue, makeSiteWithWebhook, SECRET, T0, workerDeps } from './fixtures.js';

const LEASE = 40_000;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.each(ENGINES)('a claim left by a crashed worker on %s', (engine) => {
  async function setup() {
    const db = await openTestDb(engine);
    cleanups.push(() => db.close());
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_crash' });
    // the crashed worker: claimed the row until T0 + LEASE, then died before sending or recording anything
    const [due] = await listDueDeliveries(db, T0, 10);
    expect(await claimDelivery(db, due!, T0 + LEASE)).toBeDefined();
    const worker = startWebhookWorker(workerDeps(db), { autoStart: false, leaseMs: LEASE });
    cleanups.push(() => worker.close());
    const save = (events: Array<'stage.changed' | 'lead.mql'>, active: boolean) =>
      saveWebhook(db, siteId, 'crm', { url: rx.url, events, secret: SECRET, active }, T0 + 1000);
    return { db, rx, siteId, worker, save };
  }

  test('the webhook paused meanwhile gets nothing when the claim is taken over; resumed, it gets the delivery once', async () => {
    const { db, rx, siteId, worker, save } = await setup();
    await save(['stage.changed', 'lead.mql'], false);
    await worker.runOnce(T0 + LEASE);
    await worker.runOnce(T0 + LEASE + 3600_000);
    expect(rx.requests).toHaveLength(0);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'held' });

    await save(['stage.changed', 'lead.mql'], true);
    await worker.runOnce(T0 + LEASE + 2 * 3600_000);
    await worker.runOnce(T0 + LEASE + 3 * 3600_000);
    expect(rx.requests).toHaveLength(1);
    expect(JSON.parse(rx.requests[0]!.body)).toMatchObject({ type: 'lead.mql', data: { leadId: 'lead_crash' } });
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'delivered' });
  });

  test('a type the webhook unsubscribed from meanwhile is not sent when the claim is taken over', async () => {
    const { db, rx, siteId, worker, save } = await setup();
    await save(['stage.changed'], true);
    await worker.runOnce(T0 + LEASE);
    await worker.runOnce(T0 + LEASE + 3600_000);
    expect(rx.requests).toHaveLength(0);
    expect(await deliveryRows(db, siteId)).toEqual([]);
  });
});
