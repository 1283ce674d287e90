// Site lookups by public key, cached briefly so the beacon path does no read per request.
import type { Db } from '../storage/db.js';
import { getSiteByKey, type Site } from '../storage/sites.js';

export function createSiteCache(db: Db, ttlMs = 10_000, now: () => number = Date.now) {
  const cache = new Map<string, { site: Site | null; until: number }>();
  return async function findSite(siteKey: string): Promise<Site | null> {
    const hit = cache.get(siteKey);
    const t = now();
    if (hit && hit.until > t) return hit.site;
    const site = (await getSiteByKey(db, siteKey)) ?? null;
    if (cache.size > 10_000) cache.clear();
    // unknown keys are remembered for a shorter time: a site created a moment later works quickly
    cache.set(siteKey, { site, until: t + (site ? ttlMs : Math.min(ttlMs, 1000)) });
    return site;
  };
}
