// A real app on a real SQLite file with one site, and a helper that POSTs beacons the way a browser does.
import { createApp, type AppOptions } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { openTestDb } from './test-db.js';
import { CHROME_UA } from './factories.js';
import type { WireBatch } from '../../shared/wire.js';

export async function makeIngestApp(options: Partial<AppOptions> & { engine?: 'sqlite' | 'pg'; domain?: string } = {}) {
  const db = options.db ?? (await openTestDb(options.engine ?? 'sqlite'));
  const site = await createSite(db, { domain: options.domain ?? '127.0.0.1' });
  const created = createApp({ ...options, db });
  const post = (body: WireBatch | string, headers: Record<string, string> = {}) =>
    created.app.request('/e', {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA, ...headers },
    });
  return { ...created, db, site, post };
}
