// Which browser origins may send a site's beacons: the site's domain and its subdomains (plus listed extras).
import type { Site } from '../storage/sites.js';

/** A web page's origin (http or https with a host): `null` (sandboxed frames, data: and file: pages) and other schemes are not. */
export const isWebOrigin = (origin: string | undefined | null): origin is string => !!origin && /^https?:\/\/[^/]/i.test(origin);

/**
 * A host of the site named `domain`: the domain itself or one of its subdomains. A domain named with `www.` is the
 * same site as its apex (`www.example.com` serves from example.com and blog.example.com too), as the address bar a
 * site's owner copies it from may show either; `www.` before a single label (`www.com`) is kept.
 */
export function isSiteHost(host: string, domain: string): boolean {
  const own = domain.replace(/^www\.(?=[^.]+\.)/, '');
  return host === own || host.endsWith('.' + own);
}

/** The site's domains: its own and the extra origins it admits (its app, its shop). */
export const siteDomains = (site: Pick<Site, 'domain' | 'settings'>): string[] => [site.domain, ...(site.settings.extraOrigins ?? [])];

/** A host of one of the site's domains (isSiteHost of any of them). */
export const isOwnHost = (host: string, domains: readonly string[]) => domains.some((d) => isSiteHost(host, d));

/** True when a request with this Origin header may send events for the site. No Origin (server clients) is allowed. */
export function isOriginAllowed(origin: string | undefined | null, site: Pick<Site, 'domain' | 'settings'>): boolean {
  if (origin === undefined || origin === null || origin === '') return true;
  let host: string;
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    // a fully qualified host ("example.com.") is the same host; browsers send it as the page was addressed
    host = u.hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return false;
  }
  return isOwnHost(host, siteDomains(site));
}
