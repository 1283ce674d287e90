// User agents parsed once per distinct string (LRU cache): browser, OS, device type and the bot flag. A headless
// browser is a bot, except on a page whose tag has data-local, which asks for automated browsers to be tracked.
import { UAParser } from 'ua-parser-js';
import { isbot } from 'isbot';

export interface UserAgentInfo {
  browser: string | null;
  os: string | null;
  device: 'desktop' | 'mobile' | 'tablet' | 'other';
  isBot: boolean;
  /** a bot only for its headless marker ("HeadlessChrome"): a browser under automation, not a crawler */
  headless: boolean;
}

const CACHE_MAX = 5000;
/**
 * Characters of a user agent read. Real ones stay under 600 (an in-app browser's); a forged 16 KB header (node's
 * limit for all headers) took 353 µs in isbot and would hold 80 MB in a full cache. What decides browser, OS,
 * device and bot comes first in every real user agent.
 */
export const UA_MAX = 1024;
const cache = new Map<string, UserAgentInfo>();

export function parseUserAgent(whole: string): UserAgentInfo {
  const ua = whole.length > UA_MAX ? whole.slice(0, UA_MAX) : whole;
  const hit = cache.get(ua);
  if (hit) {
    // refresh recency: Map keeps insertion order, so re-inserting makes this the newest
    cache.delete(ua);
    cache.set(ua, hit);
    return hit;
  }
  const r = new UAParser(ua).getResult();
  const type = r.device.type;
  const isBot = !ua || isbot(ua);
  const info: UserAgentInfo = {
    browser: r.browser.name ?? null,
    os: r.os.name ?? null,
    device: type === 'mobile' ? 'mobile' : type === 'tablet' ? 'tablet' : type ? 'other' : 'desktop',
    isBot,
    headless: isBot && !!ua && /headless/i.test(ua) && !isbot(ua.replace(/headless/gi, '')),
  };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(ua, info);
  return info;
}

/** The visitor as a page tagged data-local sees it (`local`): a headless browser there is no bot. */
export const forLocalPage = (ua: UserAgentInfo, local: boolean): UserAgentInfo => (local && ua.headless ? { ...ua, isBot: false } : ua);

export const userAgentCacheSize = () => cache.size;
