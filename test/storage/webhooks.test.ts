// Webhook storage (collector/storage/webhooks.ts) on every engine: settings, the delivery queue and its leases.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import {
  claimDeliveries, claimDelivery, deleteWebhook, finishDelivery, getDelivery, getWebhook, insertDelivery, listActiveWebhookEvents, listDueDeliveries,
  listRecentDeliveries, listWebhooks, pruneDeliveries, upsertWebhook, type Webhook,
} from '../../collector/storage/webhooks.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

const T0 = 1_760_000_000_000;

const makeHook = (siteId: string, over: Partial<Webhook> = {}): Webhook => ({
  siteId, webhookId: 'wh_1', url: 'https://crm.example.com/hook', secret: 'whsec_x', events: ['stage.changed', 'lead.mql'],
  active: true, createdAt: T0, updatedAt: T0, ...over,
});

describe.each(ENGINES)('webhook storage on %s', (engine) => {
  let db: Db;
  const site = () => `site_${randomUUID()}`;
  // The due queue spans every site: each test works in its own time window so tests do not see each other's rows.
  let clock = T0;
  const window = () => (clock += 1_000_000);
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('a webhook is stored, replaced with its creation time kept, listed and deleted with its deliveries', async () => {
    const s = site();
    await upsertWebhook(db, makeHook(s));
    await upsertWebhook(db, makeHook(s, { url: 'https://crm.example.com/v2', active: false, createdAt: T0 + 9, updatedAt: T0 + 9 }));
    await upsertWebhook(db, makeHook(s, { webhookId: 'wh_0' }));
    expect(await getWebhook(db, s, 'wh_1')).toEqual(makeHook(s, { url: 'https://crm.example.com/v2', active: false, updatedAt: T0 + 9 }));
    expect((await listWebhooks(db, s)).map((h) => h.webhookId)).toEqual(['wh_0', 'wh_1']);
    expect(await listActiveWebhookEvents(db, s)).toEqual([{ webhookId: 'wh_0', events: ['stage.changed', 'lead.mql'] }]);
    await insertDelivery(db, { siteId: s, deliveryId: 'd_1', webhookId: 'wh_1', eventType: 'lead.mql', payload: '{}', now: T0 });
    expect(await deleteWebhook(db, s, 'wh_1')).toBe(true);
    expect(await deleteWebhook(db, s, 'wh_1')).toBe(false);
    expect(await getDelivery(db, s, 'd_1')).toBeUndefined();
  });

  test('a due delivery is claimed by exactly one of several concurrent workers', async () => {
    const s = site();
    const now = window();
    await upsertWebhook(db, makeHook(s));
    await insertDelivery(db, { siteId: s, deliveryId: 'd_1', webhookId: 'wh_1', eventType: 'lead.mql', payload: '{"a":1}', now });
    const due = (await listDueDeliveries(db, now, 100)).filter((d) => d.siteId === s);
    expect(due).toEqual([{ siteId: s, deliveryId: 'd_1', status: 'pending', nextAttemptAt: now }]);
    const claims = await Promise.all(Array.from({ length: 5 }, (_, i) => claimDelivery(db, due[0], now + 30_000 + i)));
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ status: 'sending', attempts: 1, url: 'https://crm.example.com/hook', secret: 'whsec_x', payload: '{"a":1}' });
  });

  test('claimDeliveries claims a batch in one go; two workers racing over the same batch never both win one', async () => {
    const s = site();
    const now = window();
    await upsertWebhook(db, makeHook(s));
    for (let i = 0; i < 12; i++) {
      await insertDelivery(db, { siteId: s, deliveryId: `d_${String(i).padStart(2, '0')}`, webhookId: 'wh_1', eventType: 'lead.mql', payload: `{"i":${i}}`, now });
    }
    const due = (await listDueDeliveries(db, now, 100)).filter((d) => d.siteId === s);
    expect(due).toHaveLength(12);
    const [a, b] = await Promise.all([claimDeliveries(db, due, now + 30_000), claimDeliveries(db, [...due].reverse(), now + 30_001)]);
    const won = [...a, ...b].map((d) => d.deliveryId).sort();
    expect(won).toEqual(due.map((d) => d.deliveryId).sort());
    // which worker wins which delivery is a race (on PostgreSQL one may win them all)
    expect([...a, ...b][0]).toMatchObject({ status: 'sending', attempts: 1, url: 'https://crm.example.com/hook', secret: 'whsec_x' });
    expect(await claimDeliveries(db, [], now)).toEqual([]);
  });

  test('only the current lease may finish a delivery; an expired lease is due again', async () => {
    const s = site();
    const now = window();
    await upsertWebhook(db, makeHook(s));
    await insertDelivery(db, { siteId: s, deliveryId: 'd_1', webhookId: 'wh_1', eventType: 'lead.mql', payload: '{}', now });
    const [due] = (await listDueDeliveries(db, now, 100)).filter((d) => d.siteId === s);
    const claim = await claimDelivery(db, due, now + 100);
    expect(claim?.status).toBe('sending');
    // the worker died: its lease runs out and another worker takes the delivery over
    const [expired] = (await listDueDeliveries(db, now + 100, 100)).filter((d) => d.siteId === s);
    expect(expired).toEqual({ siteId: s, deliveryId: 'd_1', status: 'sending', nextAttemptAt: now + 100 });
    expect((await claimDelivery(db, expired, now + 200))?.attempts).toBe(2);
    const outcome = { status: 'delivered' as const, nextAttemptAt: now + 150, lastStatus: 200, lastError: null, deliveredAt: now + 150 };
    expect(await finishDelivery(db, { siteId: s, deliveryId: 'd_1', leaseUntil: now + 100 }, outcome)).toBe(false);
    expect(await finishDelivery(db, { siteId: s, deliveryId: 'd_1', leaseUntil: now + 200 }, outcome)).toBe(true);
    expect(await getDelivery(db, s, 'd_1')).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200, deliveredAt: now + 150 });
  });

  test('recent deliveries list newest first; pruning drops finished ones before a time only', async () => {
    const s = site();
    const now = window();
    await upsertWebhook(db, makeHook(s));
    for (const [id, at] of [['d_old', now], ['d_new', now + 10], ['d_pending', now + 1]] as const) {
      await insertDelivery(db, { siteId: s, deliveryId: id, webhookId: 'wh_1', eventType: 'lead.mql', payload: '{}', now: at });
    }
    expect((await listRecentDeliveries(db, s, 'wh_1', 2)).map((d) => d.deliveryId)).toEqual(['d_new', 'd_pending']);
    for (const id of ['d_old', 'd_new']) {
      const [due] = (await listDueDeliveries(db, now + 10, 100)).filter((d) => d.siteId === s && d.deliveryId === id);
      await claimDelivery(db, due, now + 50);
      await finishDelivery(db, { siteId: s, deliveryId: id, leaseUntil: now + 50 }, { status: 'failed', nextAttemptAt: now + 50, lastStatus: 500, lastError: 'boom', deliveredAt: null });
    }
    expect(await pruneDeliveries(db, now + 5)).toBeGreaterThanOrEqual(1);
    expect((await listRecentDeliveries(db, s, 'wh_1', 10)).map((d) => d.deliveryId)).toEqual(['d_new', 'd_pending']);
  });
});
