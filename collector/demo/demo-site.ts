// The demo site of `npm start`: created on first start, admitting every host the collector is reached at.
import type { Db } from '../storage/db.js';
import { createSite, normalizeDomain } from '../admin.js';
import { getSiteByName, updateSiteSettings, type Site } from '../storage/sites.js';
import { isOwnHost, siteDomains } from '../ingest/origin.js';
import { DEMO_SITE_NAME } from './pages.js';

/**
 * The demo site, created on first start: its pages at /demo/ load the snippet with its key. The pages are served by
 * the collector, so the site admits the hosts the collector is reached at: localhost and 127.0.0.1 whatever HOST says,
 * HOST, and the host of PUBLIC_URL. A later start with another HOST or PUBLIC_URL adds its host: the demo opened at
 * the printed URL (`HOST=0.0.0.0 PUBLIC_URL=http://devbox:8787`) used to have every beacon refused (403).
 */
export async function ensureDemoSite(db: Db, host: string, publicUrl?: string): Promise<Site> {
  const bare = host.replace(/^\[|\]$/g, '');
  const hosts = ['localhost', '127.0.0.1'];
  if (bare !== '0.0.0.0' && bare !== '::' && !bare.includes(':')) hosts.push(bare);
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
