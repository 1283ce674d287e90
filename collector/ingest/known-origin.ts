// Whether any site admits a browser origin, for the POST /e preflight: it comes before the body, so before the site
// is known. The list of sites is read at most every few seconds (a site created meanwhile waits that long).
import type { Db } from '../storage/db.js';
import { listSites, type Site } from '../storage/sites.js';
import { isOriginAllowed, isWebOrigin } from './origin.js';

export function createKnownOrigin(db: Db, ttlMs = 5_000, now: () => number = Date.now) {
  let sites: Array<Pick<Site, 'domain' | 'settings'>> = [];
  let until = -Infinity;
  let loading: Promise<void> | null = null;
  return async function isKnownOrigin(origin: string | undefined): Promise<boolean> {
    if (!isWebOrigin(origin)) return false;
    if (now() >= until) {
      loading ??= listSites(db)
        .then((list) => {
          sites = list.map((s) => ({ domain: s.domain, settings: s.settings }));
          until = now() + ttlMs;
        })
        .finally(() => (loading = null));
      await loading;
    }
    return sites.some((site) => isOriginAllowed(origin, site));
  };
}
