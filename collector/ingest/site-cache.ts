// Site lookups by public key, cached briefly so the beacon path does no read per request.
import type { Db } from '../storage/db.js';
import { getSiteById, getSiteByKey, type Site } from '../storage/sites.js';
import { isOriginAllowed } from './origin.js';

export function createSiteCache(db: Db, ttlMs = 10_000, now: () => number = Date.now, read: (db: Db, key: string) => Promise<Site | undefined> = getSiteByKey) {
  const cache = new Map<string, { site: Site | null; until: number }>();
  return async function findSite(siteKey: string): Promise<Site | null> {
    const hit = cache.get(siteKey);
    const t = now();
    if (hit && hit.until > t) return hit.site;
    const site = (await read(db, siteKey)) ?? null;
    if (cache.size > 10_000) cache.clear();
    // unknown keys are remembered for a shorter time: a site created a moment later works quickly
    cache.set(siteKey, { site, until: t + (site ? ttlMs : Math.min(ttlMs, 1000)) });
    return site;
  };
}

/**
 * The site whose id a beacon names where its key goes (`data-site="site_…"`: `npm start` and `site create` print both
 * side by side), when the request may speak for it (its Origin is the site's, or it has none); else null. Such a beacon
 * is still refused (the tag takes the public key), but as the site's own, so its admin finds why in GET /api/rejected.
 */
export function createSiteIdFinder(db: Db, now: () => number = Date.now) {
  const findById = createSiteCache(db, 10_000, now, getSiteById);
  return async function siteNamedById(named: string, origin: string | undefined): Promise<Site | null> {
    // every site id is made as `site_…` (admin.ts): other unknown keys cost no read
    if (!named.startsWith('site_')) return null;
    const site = await findById(named).catch(() => null);
    return site && isOriginAllowed(origin, site) ? site : null;
  };
}
