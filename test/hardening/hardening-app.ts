// A real app on a real SQLite file with one site and an admin key, a controllable clock, and requests that come
// from a chosen client address (the node socket binding app.request() passes as c.env).
import { afterEach } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createKey, createSite } from '../../collector/admin.js';
import { defaultConfig, type Config } from '../../collector/config.js';
import { openTestSqlite } from '../helpers/test-db.js';
import { CHROME_UA, makeBatch } from '../helpers/factories.js';
import type { WireBatch } from '../../shared/wire.js';

export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);

export async function makeHardeningApp(config: Partial<Config> = {}, options: { domain?: string } = {}) {
  const db = await openTestSqlite();
  const clock = { t: T0 };
  const now = () => clock.t;
  const site = await createSite(db, { domain: options.domain ?? '127.0.0.1' }, T0);
  const admin = await createKey(db, site.siteId, ['admin'], T0);
  const created = createApp({ db, now, config: defaultConfig({ LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0, ...config }) });
  const origin = `http://${options.domain ?? '127.0.0.1'}`;
  const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

  const postBeacon = async (body: WireBatch | string, opts: { address?: string; headers?: Record<string, string> } = {}): Promise<Response> =>
    created.app.request(
      '/e',
      {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin, 'user-agent': CHROME_UA, ...opts.headers },
      },
      from(opts.address ?? '198.51.100.7'),
    );

  const api = async (path: string, init: RequestInit & { address?: string; secret?: string } = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (init.secret !== '') headers.set('authorization', `Bearer ${init.secret ?? admin.secret}`);
    if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return created.app.request(path, { ...init, headers }, from(init.address ?? '198.51.100.7'));
  };

  const batch = (events = 1) => makeBatch(site.siteKey, {}, Array.from({ length: events }, () => ({ t: clock.t })));
  const count = async (sql: string, params: unknown[] = []) => Number((await db.get<{ n: number }>(sql, params))!.n);
  return { ...created, db, site, admin, clock, now, origin, postBeacon, api, batch, count };
}

export type HardeningApp = Awaited<ReturnType<typeof makeHardeningApp>>;

/** `open()` makes an app with every rate limit off; it and whatever is passed to `closeLater` close after each test. */
export function useUnthrottledApps() {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const closeLater = (close: () => Promise<unknown>) => void cleanups.push(close);
  const open = async () => {
    const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, RATE_LIMIT_API_PER_SEC: 0 });
    closeLater(() => h.close());
    return h;
  };
  return { open, closeLater };
}
