// The demo site of `npm start`: created on first start, admitting every host the collector is reached at.
import type { Db } from '../storage/db.js';
import { createSite, normalizeDomain } from '../admin.js';
import { getSiteByName, updateSiteSettings, type Site } from '../storage/sites.js';
import { isOwnHost, siteDomains } from '../ingest/origin.js';
import { DEMO_SITE_NAME } from './pages.js';

/**
 * The demo site, created on first start: its pages at /demo/ load the snippet with its key. The pages are served by
 * the collector, so the site admits the hosts the collector is reached at: localhost and 127.0.0.1 whatever HOST says,
 * HOST (also 0.0.0.0, which `npm start` prints and a browser on the same machine opens), and the host of PUBLIC_URL.
 * A later start with another HOST or PUBLIC_URL adds its host: the demo opened at the printed URL
 * (`HOST=0.0.0.0 PUBLIC_URL=http://devbox:8787`) used to have every beacon refused (403).
 */
export async function ensureDemoSite(db: Db, host: string, publicUrl?: string): Promise<Site> {
  const bare = host.replace(/^\[|\]$/g, '');
  const hosts = ['localhost', '127.0.0.1'];
  // 0.0.0.0 too: `npm start` prints it as the demo's address, and a browser on the same machine opens it
  if (!bare.includes(':')) hosts.push(bare);
  if (publicUrl) hosts.push(new URL(publicUrl).hostname);
  // as a site's domains are stored; a host that is no host name (an IPv6 literal) is left out
  const hostName = (h: string) => {
    try {
      return [normalizeDomain(h)];
    } catch {
      return [];
    }
  };
  const wanted = [...new Set(hosts.flatMap(hostName))];
  const existing = await getSiteByName(db, DEMO_SITE_NAME);
  if (existing) {
    const have = siteDomains(existing);
    const missing = wanted.filter((h) => !isOwnHost(h, have));
    if (!missing.length) return existing;
    const settings = { ...existing.settings, extraOrigins: [...(existing.settings.extraOrigins ?? []), ...missing] };
    await updateSiteSettings(db, existing.siteId, settings);
    return { ...existing, settings };
  }
  const domain = bare === '0.0.0.0' || bare === '::' || bare.includes(':') ? '127.0.0.1' : bare;
  return createSite(db, { domain, name: DEMO_SITE_NAME, extraOrigins: wanted.filter((h) => h !== domain) });
}

/** Advisory lock key (PostgreSQL) of the demo site's creation. */
const DEMO_LOCK = 7262020;

/**
 * ensureDemoSite as one collector at a time does it, and whether this call made the site (its rules are fitted then).
 * On PostgreSQL several collectors start on one database: started at once on a new one, each found no demo site and
 * made one, two sites named alike of which the demo pages only ever send to the oldest. A transaction's advisory lock
 * makes the others wait and find the first one's site.
 */
export async function ensureDemoSiteOnce(db: Db, host: string, publicUrl?: string): Promise<{ site: Site; created: boolean }> {
  const once = async (tx: Db) => {
    const had = await getSiteByName(tx, DEMO_SITE_NAME);
    return { site: await ensureDemoSite(tx, host, publicUrl), created: !had };
  };
  if (db.dialect !== 'pg') return once(db);
  return db.transaction(async (tx) => {
    await tx.get('SELECT pg_advisory_xact_lock(?)', [DEMO_LOCK]);
    return once(tx);
  });
}
