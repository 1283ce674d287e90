import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import type { Db } from '../../collector/storage/db.js';
import { createKey, createSite } from '../../collector/admin.js';
import { createLog } from '../../collector/ops/log.js';
import { saveWebhook } from '../../collector/webhooks/save-webhook.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { openTestDb } from '../helpers/test-db.js';
import { startReceiver, type Receiver } from './receiver.js';
import { deliveryRows, enqueue, makeSiteWithWebhook, SECRET, T0, workerDeps } from './fixtures.js';

// Webhook targets (SSRF): link-local and cloud metadata addresses are never a target; loopback, private, CGNAT and
// unspecified addresses only while WEBHOOK_PRIVATE_TARGETS is 1 (the default). Checked at PUT and at every delivery.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}
async function openDb(): Promise<Db> {
  const db = await openTestDb('sqlite');
  cleanups.push(() => db.close());
  return db;
}

/** Every spelling of a link-local or metadata address: each is refused at PUT even with private targets allowed. */
const NEVER = [
  'http://169.254.169.254/latest/meta-data/',
  'http://169.254.0.1:8080/hook',
  'https://169.254.255.255/hook',
  'http://2852039166/', // 169.254.169.254 as one decimal number
  'http://0xA9FEA9FE/', // … in hex
  'http://0251.0376.0251.0376/', // … in octal parts
  'http://169.254.43518/', // … with a 16-bit last part
  'http://[fe80::1]/hook',
  'http://[FEBF:ffff::1]/hook', // the top of fe80::/10
  'http://[fd00:ec2::254]/latest/meta-data/', // AWS metadata over IPv6
  'http://[::ffff:169.254.169.254]/', // IPv4-mapped
  'http://[::ffff:a9fe:a9fe]/',
  'http://[64:ff9b::a9fe:a9fe]/', // NAT64
  'http://100.100.100.200/latest/meta-data/', // Alibaba Cloud metadata
];
/** Refused only with WEBHOOK_PRIVATE_TARGETS=0. */
const PRIVATE = [
  'http://127.0.0.1:9000/hook',
  'http://127.255.255.254/hook',
  'http://2130706433/hook', // 127.0.0.1 as one decimal number
  'http://0x7f000001/hook',
  'http://[::1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://10.0.0.1/hook',
  'http://10.255.255.255/hook',
  'http://172.16.0.1/hook',
  'http://172.31.255.255/hook',
  'http://192.168.0.1/hook',
  'http://100.64.0.1/hook',
  'http://100.127.255.255/hook',
  'http://0.0.0.0/hook',
  'http://0/hook',
  'http://[::]/hook',
  'http://[fc00::1]/hook',
  'http://[fdff:1234::1]/hook',
  'http://[::ffff:10.1.2.3]/hook',
];
/** Public neighbours of the refused ranges: allowed under either setting. */
const PUBLIC = [
  'http://169.253.255.255/hook',
  'http://169.255.0.1/hook',
  'http://172.15.255.255/hook',
  'http://172.32.0.1/hook',
  'http://100.63.255.255/hook',
  'http://100.128.0.1/hook',
  'http://1.0.0.0/hook',
  'http://[fe7f::1]/hook',
  'http://[fbff::1]/hook',
  'http://[2001:db8::1]/hook',
  'http://[::ffff:8.8.8.8]/hook',
];

describe('PUT /api/webhooks/{id} refuses targets by address', () => {
  let db: Db;
  let admin: Record<string, string>;
  let apps: { allowed: ReturnType<typeof createApp>['app']; refused: ReturnType<typeof createApp>['app'] };

  beforeAll(async () => {
    db = await openTestDb('sqlite');
    const make = async (WEBHOOK_PRIVATE_TARGETS: '0' | '1') => {
      const created = createApp({ db, log: createLog('error', () => {}), now: () => T0, config: defaultConfig({ WEBHOOK_PRIVATE_TARGETS }) });
      await created.close();
      return created.app;
    };
    apps = { allowed: await make('1'), refused: await make('0') };
    const siteId = (await createSite(db, { domain: 'targets.example.com' }, T0)).siteId;
    admin = { authorization: `Bearer ${(await createKey(db, siteId, ['admin'], T0)).secret}`, 'content-type': 'application/json' };
  });
  afterAll(() => db.close());

  let n = 0;
  async function put(app: keyof typeof apps, url: string) {
    const id = `t${++n}`;
    const res = await apps[app].request(`/api/webhooks/${id}`, { method: 'PUT', headers: admin, body: JSON.stringify({ url, events: ['lead.mql'] }) });
    const stored = await apps[app].request(`/api/webhooks/${id}`, { headers: admin });
    return { status: res.status, body: await res.json(), stored: stored.status === 200 };
  }

  test('a link-local or cloud metadata address, in any spelling, is refused with 400 even though private targets are allowed', async () => {
    for (const url of NEVER) {
      const { status, body, stored } = await put('allowed', url);
      expect({ url, status, code: body.error?.code, stored }).toEqual({ url, status: 400, code: 'webhook_target_refused', stored: false });
      expect(body.error.message, url).toMatch(/^url: .+ is a link-local or cloud metadata address, never a webhook target$/);
    }
  });

  test('the refusal names the address the URL stands for, not only its spelling', async () => {
    expect((await put('allowed', 'http://0xA9FEA9FE/')).body.error.message).toContain('169.254.169.254');
    expect((await put('allowed', 'http://[::ffff:169.254.169.254]/')).body.error.message).toContain('::ffff:a9fe:a9fe');
  });

  test('loopback, private, CGNAT and unspecified addresses are accepted by default', async () => {
    for (const url of PRIVATE) {
      const { status, stored } = await put('allowed', url);
      expect({ url, status, stored }).toEqual({ url, status: 201, stored: true });
    }
  });

  test('public neighbours of the refused ranges are accepted under either setting', async () => {
    for (const app of ['allowed', 'refused'] as const) {
      for (const url of PUBLIC) {
        const { status } = await put(app, url);
        expect({ app, url, status }).toEqual({ app, url, status: 201 });
      }
    }
  });

  test('a name that does not resolve is accepted: the receiver may not exist yet', async () => {
    expect((await put('refused', 'https://receiver.invalid/hook')).status).toBe(201);
  });

  // Fails until collector/routes/webhooks.ts passes the setting to saveWebhook (see the report); then make it a `test`.
  test('with WEBHOOK_PRIVATE_TARGETS=0, loopback, private and unspecified addresses and localhost are refused', async () => {
    for (const url of [...PRIVATE, 'http://localhost:9000/hook']) {
      const { status, body, stored } = await put('refused', url);
      expect({ url, status, code: body.error?.code, stored }).toEqual({ url, status: 400, code: 'webhook_target_refused', stored: false });
      expect(body.error.message, url).toMatch(/refused with WEBHOOK_PRIVATE_TARGETS=0$/);
    }
  });
});

describe('saveWebhook with private targets refused', () => {
  test('refuses every loopback, private and unspecified spelling and a name resolving to loopback; stores none', async () => {
    const db = await openDb();
    const siteId = (await createSite(db, { domain: 'save.example.com' }, T0)).siteId;
    for (const url of [...PRIVATE, 'http://localhost:9000/hook']) {
      const err = await saveWebhook(db, siteId, 'crm', { url, events: ['lead.mql'], secret: SECRET }, T0, { privateTargets: false }).then(
        () => null,
        (e: Error & { status?: number; code?: string }) => e,
      );
      expect({ url, status: err?.status, code: err?.code }).toEqual({ url, status: 400, code: 'webhook_target_refused' });
      expect(err!.message, url).toMatch(/refused with WEBHOOK_PRIVATE_TARGETS=0$/);
    }
    expect(await db.all('SELECT webhook_id FROM webhooks WHERE site_id = ?', [siteId])).toEqual([]);
    // a name is judged by what it resolves to, and named in the reason
    const named = await saveWebhook(db, siteId, 'crm', { url: 'http://localhost:9000/hook', events: ['lead.mql'] }, T0, { privateTargets: false }).catch((e: Error) => e);
    expect((named as Error).message).toMatch(/^url: localhost resolves to (127\.0\.0\.1|::1), a loopback/);
  });
});

describe('delivery checks the target again, on every attempt', () => {
  const POLICY = { baseMs: 60_000, capMs: 3600_000, maxAttempts: 2 };
  function worker(db: Db, WEBHOOK_PRIVATE_TARGETS: '0' | '1') {
    // the setting reaches the worker as the app passes it: in deps.config
    const w = startWebhookWorker({ ...workerDeps(db), config: defaultConfig({ WEBHOOK_PRIVATE_TARGETS }) }, { autoStart: false, policy: POLICY, timeoutMs: 2000 });
    cleanups.push(() => w.close());
    return w;
  }

  test('a receiver on 127.0.0.1 still gets its delivery by default', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1' });
    expect(await worker(db, '1').runOnce(T0 + 1000)).toBe(1);
    expect(rx.requests).toHaveLength(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200, last_error: null });
  });

  test('with WEBHOOK_PRIVATE_TARGETS=0 a loopback target is never connected to; the attempt fails and is retried, then failed', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url); // saved while allowed; the operator then turned it off
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1' });
    const w = worker(db, '0');
    expect(await w.runOnce(T0 + 1000)).toBe(1);
    const [first] = await deliveryRows(db, siteId);
    expect(first).toMatchObject({ status: 'pending', attempts: 1, last_status: null });
    expect(first!.last_error).toBe('refused target: 127.0.0.1 is a loopback, private or reserved address, refused with WEBHOOK_PRIVATE_TARGETS=0');
    expect(first!.next_attempt_at).toBeGreaterThanOrEqual(T0 + 1000 + POLICY.baseMs / 2);
    expect(await w.runOnce(T0 + 1000 + POLICY.baseMs)).toBe(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(rx.requests).toHaveLength(0);
  });

  test('a queued delivery refused under the setting goes out once a collector allows the target again', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, rx.url);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1' });
    await worker(db, '0').runOnce(T0 + 1000);
    expect(await worker(db, '1').runOnce(T0 + 1000 + POLICY.baseMs)).toBe(1);
    expect(rx.requests).toHaveLength(1);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  test('a name resolving to 127.0.0.1 (localhost) is refused at delivery with the setting at 0 and delivered by default', async () => {
    const db = await openDb();
    const rx = await receiver();
    const siteId = await makeSiteWithWebhook(db, `http://localhost:${rx.port}/hooks/funnelbeam`);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1' });
    await worker(db, '0').runOnce(T0 + 1000);
    expect(rx.requests).toHaveLength(0);
    expect((await deliveryRows(db, siteId))[0]!.last_error).toMatch(/^refused target: localhost resolves to (127\.0\.0\.1|::1), a loopback, private or reserved address/);

    expect(await worker(db, '1').runOnce(T0 + 1000 + POLICY.baseMs)).toBe(1);
    expect(rx.requests).toHaveLength(1);
    expect(rx.requests[0]!.headers.host).toBe(`localhost:${rx.port}`);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'delivered', last_status: 200 });
  });

  test('a metadata address stored before this check existed is refused at delivery, whatever the setting', async () => {
    const db = await openDb();
    const siteId = await makeSiteWithWebhook(db, 'http://127.0.0.1:9/placeholder');
    // a row written by an older version, which did not check: the url is changed under the API
    await db.run('UPDATE webhooks SET url = ? WHERE site_id = ?', ['http://0xA9FEA9FE/latest/meta-data/', siteId]);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1' });
    await worker(db, '1').runOnce(T0 + 1000);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({
      status: 'pending',
      last_error: 'refused target: 169.254.169.254 is a link-local or cloud metadata address, never a webhook target',
    });
  });

  test('a redirect is not followed: the attempt fails with the 3xx and the redirect target gets nothing', async () => {
    const db = await openDb();
    const other = await receiver();
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(307, { location: other.url }).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
    const siteId = await makeSiteWithWebhook(db, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    await enqueue(db, siteId, 'lead.mql', { leadId: 'lead_1' });
    await worker(db, '1').runOnce(T0 + 1000);
    expect((await deliveryRows(db, siteId))[0]).toMatchObject({ status: 'pending', last_status: 307, last_error: 'receiver answered 307' });
    expect(other.requests).toHaveLength(0);
  });
});
