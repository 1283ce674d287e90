// A fresh database file with one site (and an admin key) for a fault run.
import { openDb } from '../../collector/storage/open-db.js';
import { createKey, createSite } from '../../collector/admin.js';

export async function setupSite(databasePath: string) {
  const db = await openDb({ databasePath });
  const site = await createSite(db, { domain: '127.0.0.1' });
  const key = await createKey(db, site.siteId, ['admin']);
  await db.close();
  return { siteKey: site.siteKey, siteId: site.siteId, secret: key.secret };
}

/** Collector settings for fault runs: no rate limits (the load comes from one address), quiet logs. */
export const FAULT_ENV = { RATE_LIMIT_CLIENT_PER_SEC: '0', RATE_LIMIT_SITE_PER_SEC: '0', RATE_LIMIT_API_PER_SEC: '0', LOG_LEVEL: 'error' };
