// Outside judge: README "Webhooks": a url whose host is a link-local or cloud metadata address "in any spelling" is
// refused with 400 webhook_target_refused, as a loopback or private one is with WEBHOOK_PRIVATE_TARGETS=0. SIIT's
// IPv4-translated form `::ffff:0:a.b.c.d` (RFC 2765; a stateless translator turns it into the IPv4 address) is one
// more spelling, next to the IPv4-mapped, IPv4-compatible and NAT64 ones already refused. PUT over app.request on a
// real SQLite file; nothing is stored for a refused url.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import type { Db } from '../../collector/storage/db.js';
import { createKey, createSite } from '../../collector/admin.js';
import { createLog } from '../../collector/ops/log.js';
import { openTestDb } from '../helpers/test-db.js';
import { T0 } from './fixtures.js';

describe('PUT /api/webhooks/{id} with an IPv4-translated (SIIT) IPv6 host', () => {
  let db: Db;
  let admin: Record<string, string>;
  const apps: Partial<Record<'0' | '1', ReturnType<typeof createApp>['app']>> = {};
  beforeAll(async () => {
    db = await openTestDb('sqlite');
    for (const WEBHOOK_PRIVATE_TARGETS of ['0', '1'] as const) {
      const created = createApp({ db, log: createLog('error', () => {}), now: () => T0, config: defaultConfig({ WEBHOOK_PRIVATE_TARGETS }) });
      await created.close();
      apps[WEBHOOK_PRIVATE_TARGETS] = created.app;
    }
    const siteId = (await createSite(db, { domain: 'siit.example.com' }, T0)).siteId;
    admin = { authorization: `Bearer ${(await createKey(db, siteId, ['admin'], T0)).secret}`, 'content-type': 'application/json' };
  });
  afterAll(() => db.close());

  let n = 0;
  async function put(setting: '0' | '1', url: string) {
    const id = `siit${++n}`;
    const res = await apps[setting]!.request(`/api/webhooks/${id}`, { method: 'PUT', headers: admin, body: JSON.stringify({ url, events: ['lead.mql'] }) });
    const body = await res.json();
    const stored = (await apps[setting]!.request(`/api/webhooks/${id}`, { headers: admin })).status === 200;
    return { status: res.status, code: body.error?.code ?? null, stored };
  }
  const refused = { status: 400, code: 'webhook_target_refused', stored: false };

  test('the metadata address and Alibaba\'s, spelled ::ffff:0:a.b.c.d (hex or dotted), are refused under either setting', async () => {
    for (const setting of ['1', '0'] as const) {
      for (const url of ['http://[::ffff:0:a9fe:a9fe]/latest/meta-data/', 'http://[::ffff:0:169.254.169.254]/', 'http://[0:0:0:0:ffff:0:6464:64c8]/']) {
        expect({ setting, url, ...(await put(setting, url)) }).toEqual({ setting, url, ...refused });
      }
    }
  });

  test('loopback and private addresses so spelled are refused with WEBHOOK_PRIVATE_TARGETS=0, accepted by default', async () => {
    for (const url of ['http://[::ffff:0:7f00:1]:8080/hook', 'http://[::ffff:0:10.0.0.5]/hook']) {
      expect({ url, ...(await put('0', url)) }).toEqual({ url, ...refused });
      expect({ url, ...(await put('1', url)) }).toEqual({ url, status: 201, code: null, stored: true });
    }
  });

  test('a public IPv4 address so spelled, and a neighbour outside ::ffff:0:0/96, are accepted under either setting', async () => {
    for (const setting of ['0', '1'] as const) {
      for (const url of ['http://[::ffff:0:808:808]/hook', 'http://[::ffff:1:a9fe:a9fe]/hook']) {
        expect({ setting, url, ...(await put(setting, url)) }).toEqual({ setting, url, status: 201, code: null, stored: true });
      }
    }
  });
});
