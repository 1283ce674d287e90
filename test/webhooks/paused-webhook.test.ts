// A paused webhook (active: false) gets nothing: its queued deliveries, retries included, wait as `held` and go out
// when it is resumed. Real receiver, real databases on both engines.
import { afterEach, describe, expect, test } from 'vitest';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { saveWebhook } from '../../collector/webhooks/save-webhook.js';
import { startReceiver } from './receiver.js';
import { deliveryRows, enqueue, makeSiteWithWebhook, SECRET, T0, workerDeps } from './fixtures.js';

const POLICY = { baseMs: 60_000, capMs: 3600_000, maxAttempts: 5 };
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.each(ENGINES)('a paused webhook on %s', (engine) => {
  async function setup() {
    const db = await openTestDb(engine);
    cleanups.push(() => db.close());
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    const siteId = await makeSiteWithWebhook(db, rx.url);
    const worker = startWebhookWorker(workerDeps(db), { autoStart: false, policy: POLICY });
    cleanups.push(() => worker.close());
    const setActive = (active: boolean) => saveWebhook(db, siteId, 'crm', { url: rx.url, events: ['stage.changed', 'lead.mql'], secret: SECRET, active }, T0);
    return { db, rx, siteId, worker, setActive };
  }

  test('holds what was queued before the pause, sends nothing, and delivers it once resumed', async () => {
    const { db, rx, siteId, worker, setActive } = await setup();
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1', score: 31 });
    await setActive(false);
    expect((await deliveryRows(db, siteId)).map((r) => r.status)).toEqual(['held']);
    expect(await worker.runOnce(T0 + 10 * 3600_000)).toBe(0);
    expect(rx.requests).toHaveLength(0);
    // nothing new is queued while paused
    expect(await enqueue(db, siteId, 'stage.changed', { leadId: 'lead_1', from: 'interest', to: 'intent' })).toBe(0);

    await setActive(true);
    expect(await worker.runOnce(T0 + 1000)).toBe(1);
    expect(rx.requests.map((r) => JSON.parse(r.body).type)).toEqual(['lead.mql']);
    expect((await deliveryRows(db, siteId)).map((r) => r.status)).toEqual(['delivered']);
  });

  test('a retry due after the pause waits too, and keeps its attempts when resumed', async () => {
    const { db, rx, siteId, worker, setActive } = await setup();
    rx.answer((n) => (n === 1 ? 500 : 204));
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_2', score: 40 });
    await worker.runOnce(T0);
    const [failed] = await deliveryRows(db, siteId);
    expect(failed).toMatchObject({ status: 'pending', attempts: 1 });

    await setActive(false);
    expect(await worker.runOnce(failed.next_attempt_at + 3600_000)).toBe(0);
    expect(rx.requests).toHaveLength(1);

    await setActive(true);
    expect(await worker.runOnce(failed.next_attempt_at)).toBe(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  test('an attempt under way when the webhook is paused finishes; if it fails, its retry is held', async () => {
    const { db, rx, siteId, worker, setActive } = await setup();
    let pause: Promise<unknown> = Promise.resolve();
    // the receiver is slow and fails; the webhook is paused while the attempt is in flight
    rx.answer(() => {
      pause = setActive(false);
      return 503;
    });
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_3', score: 50 });
    await worker.runOnce(T0);
    await pause;
    expect(rx.requests).toHaveLength(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'held', attempts: 1, last_status: 503 });
  });
});
