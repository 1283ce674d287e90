import { beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import type { Db } from '../../collector/storage/db.js';
import { createKey, createSite } from '../../collector/admin.js';
import { createLog } from '../../collector/ops/log.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { verifySignature } from '../../collector/webhooks/verify-signature.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { startReceiver } from './receiver.js';
import { enqueue, T0, workerDeps } from './fixtures.js';

describe.each(ENGINES)('webhook routes on %s', (engine) => {
  let db: Db;
  let app: ReturnType<typeof createApp>['app'];
  let siteId: string;
  let admin: Record<string, string>;
  const now = { value: T0 };

  beforeAll(async () => {
    db = await openTestDb(engine);
    const created = createApp({ db, log: createLog('error', () => {}), now: () => now.value });
    await created.close(); // the tests drive delivery themselves
    app = created.app;
    siteId = (await createSite(db, { domain: 'routes.example.com' }, T0)).siteId;
    admin = { authorization: `Bearer ${(await createKey(db, siteId, ['admin'], T0)).secret}`, 'content-type': 'application/json' };
  });

  const put = (id: string, body: unknown, headers = admin) => app.request(`/api/webhooks/${id}`, { method: 'PUT', headers, body: JSON.stringify(body) });
  const get = (path: string, headers = admin) => app.request(path, { headers });

  test('PUT creates a webhook and shows its generated secret once', async () => {
    const res = await put('crm', { url: 'https://crm.example.com/hook', events: ['lead.mql', 'stage.changed'] });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ id: 'crm', url: 'https://crm.example.com/hook', events: ['lead.mql', 'stage.changed'], active: true, createdAt: new Date(T0).toISOString() });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const again = await (await get('/api/webhooks/crm')).json();
    expect(again.secret).toBeUndefined();
    expect(JSON.stringify(again)).not.toContain(body.secret);
  });

  test('PUT again updates the settings and keeps the secret unless a new one is given', async () => {
    await put('keep', { url: 'http://127.0.0.1:1/a', events: ['lead.mql'], secret: 'whsec_given_by_admin_123' });
    now.value = T0 + 5000;
    const res = await put('keep', { url: 'http://127.0.0.1:1/b', events: ['segment.entered'] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ url: 'http://127.0.0.1:1/b', events: ['segment.entered'], createdAt: new Date(T0).toISOString(), updatedAt: new Date(T0 + 5000).toISOString() });
    expect(body.secret).toBeUndefined();
    const row = await db.get<{ secret: string }>('SELECT secret FROM webhooks WHERE site_id = ? AND webhook_id = ?', [siteId, 'keep']);
    expect(row?.secret).toBe('whsec_given_by_admin_123');
    now.value = T0;
  });

  test('GET shows the delivery log: status, attempts, last status code, error and times', async () => {
    const rx = await startReceiver();
    rx.answer(() => 502);
    const created = await (await put('log', { url: rx.url, events: ['segment.exited'] })).json();
    await enqueue(db, siteId, 'segment.exited', { leadId: 'lead_1', segment: 'pricing_no_demo' });
    await startWebhookWorker(workerDeps(db), { autoStart: false }).runOnce(T0 + 1000);
    await rx.close();

    const body = await (await get('/api/webhooks/log')).json();
    expect(body.deliveries).toHaveLength(1);
    const [d] = body.deliveries;
    expect(d).toMatchObject({ event: 'segment.exited', status: 'pending', attempts: 1, lastStatusCode: 502, lastError: 'receiver answered 502', createdAt: new Date(T0).toISOString(), deliveredAt: null });
    expect(Date.parse(d.nextAttemptAt)).toBeGreaterThan(T0 + 1000);
    // what the receiver got was signed with the secret shown at creation
    const req = rx.requests[0];
    expect(verifySignature(req.headers['funnelbeam-signature'] as string, req.body, created.secret, 300, (T0 + 1000) / 1000).ok).toBe(true);
  });

  test('GET /api/webhooks lists the site\'s webhooks without secrets', async () => {
    const body = await (await get('/api/webhooks')).json();
    expect(body.webhooks.map((w: { id: string }) => w.id)).toEqual(expect.arrayContaining(['crm', 'keep', 'log']));
    expect(JSON.stringify(body)).not.toContain('whsec_');
  });

  test('DELETE removes the webhook and its deliveries', async () => {
    await put('gone', { url: 'https://x.example.com/', events: ['lead.mql'] });
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_9' });
    const res = await app.request('/api/webhooks/gone', { method: 'DELETE', headers: admin });
    expect(res.status).toBe(204);
    expect((await get('/api/webhooks/gone')).status).toBe(404);
    const left = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ? AND webhook_id = ?', [siteId, 'gone']);
    expect(Number(left?.n)).toBe(0);
    expect((await app.request('/api/webhooks/gone', { method: 'DELETE', headers: admin })).status).toBe(404);
  });

  test('bad input is a 400 naming the field', async () => {
    const badUrl = await put('bad', { url: 'ftp://x.example.com', events: ['lead.mql'] });
    expect(badUrl.status).toBe(400);
    expect((await badUrl.json()).error.message).toMatch(/^url/);
    const badEvent = await put('bad', { url: 'https://x.example.com', events: ['lead.created'] });
    expect(badEvent.status).toBe(400);
    expect((await badEvent.json()).error.message).toMatch(/^events/);
    expect((await put('bad id!', { url: 'https://x.example.com', events: ['lead.mql'] })).status).toBe(400);
    expect((await put('bad', { url: 'https://x.example.com', events: ['lead.mql'], secret: 'short' })).status).toBe(400);
  });

  test('webhooks need the admin scope and stay within the key\'s site', async () => {
    const audiences = { authorization: `Bearer ${(await createKey(db, siteId, ['audiences:read'], T0)).secret}`, 'content-type': 'application/json' };
    expect((await get('/api/webhooks', audiences)).status).toBe(403);
    expect((await put('x', { url: 'https://x.example.com', events: ['lead.mql'] }, audiences)).status).toBe(403);
    const other = await createSite(db, { domain: 'other.example.com' }, T0);
    const otherAdmin = { authorization: `Bearer ${(await createKey(db, other.siteId, ['admin'], T0)).secret}` };
    expect((await get('/api/webhooks/crm', otherAdmin)).status).toBe(404);
    expect((await (await get('/api/webhooks', otherAdmin)).json()).webhooks).toEqual([]);
  });

  test('the routes are described in /openapi.json', async () => {
    const doc = await (await app.request('/openapi.json')).json();
    expect(Object.keys(doc.paths['/api/webhooks/{id}'])).toEqual(expect.arrayContaining(['put', 'get', 'delete']));
    expect(doc.paths['/api/webhooks'].get).toBeDefined();
    expect(doc.paths['/api/segments/{key}/members'].get).toBeDefined();
  });
});
