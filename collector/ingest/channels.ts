// Decides a touch's channel from its UTM fields, click ids and referrer host (rules in channel-rules.ts).
import { CLICK_ID_CHANNEL, EMAIL_HOSTS, MEDIUM_RULES, SEARCH_HOSTS, SEARCH_SOURCES, SOCIAL_HOSTS, SOCIAL_SOURCES, type Channel } from './channel-rules.js';
import type { WireTouch } from '../../shared/wire.js';

export type { Channel } from './channel-rules.js';

const hostMatches = (host: string, list: readonly string[]) =>
  list.some((h) => (h.includes('.') ? host === h || host.endsWith('.' + h) || (h.endsWith('.') && host.startsWith(h)) : host.split('.').includes(h)));

export function hostOf(url: string | undefined): string {
  if (!url) return '';
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return '';
  }
}

const isSearch = (host: string, source: string) => (host && hostMatches(host, SEARCH_HOSTS)) || SEARCH_SOURCES.includes(source);
const isSocial = (host: string, source: string) => (host && hostMatches(host, SOCIAL_HOSTS)) || SOCIAL_SOURCES.includes(source);

/**
 * The channel of a touch. `siteHost` keeps internal navigation from counting as a referral.
 * Order: click ids, then utm_medium rules, then the referrer host, then direct.
 */
export function classifyChannel(touch: WireTouch | null | undefined, siteHost = ''): Channel {
  if (!touch) return 'direct';
  for (const id of Object.keys(CLICK_ID_CHANNEL)) if (touch[id as keyof WireTouch]) return CLICK_ID_CHANNEL[id];
  const medium = (touch.utm_medium ?? '').trim().toLowerCase();
  const source = (touch.utm_source ?? '').trim().toLowerCase();
  const refHost = hostOf(touch.ref);
  const sourceHost = source.replace(/^www\./, '');
  if (medium) {
    for (const rule of MEDIUM_RULES) {
      if (!rule.pattern.test(medium)) continue;
      if (rule.channel !== '$paid') return rule.channel;
      if (isSocial(refHost, sourceHost) || /social/.test(medium)) return 'paid_social';
      return 'paid_search';
    }
  }
  if (source) {
    if (isSearch(refHost, sourceHost)) return 'organic_search';
    if (isSocial(refHost, sourceHost)) return 'organic_social';
    if (/mail|newsletter/.test(source)) return 'email';
  }
  if (refHost && refHost !== siteHost && !refHost.endsWith('.' + siteHost)) {
    if (hostMatches(refHost, EMAIL_HOSTS)) return 'email';
    if (hostMatches(refHost, SEARCH_HOSTS)) return 'organic_search';
    if (hostMatches(refHost, SOCIAL_HOSTS)) return 'organic_social';
    return 'referral';
  }
  return medium || source ? 'other' : 'direct';
}
