// Decides a touch's channel from its UTM fields, click ids and referrer host (rules in channel-rules.ts).
import {
  AD_CLICK_IDS, AD_SOURCE_SUFFIX, APP_REFERRER_HOSTS, EMAIL_HOSTS, MEDIUM_RULES, NOT_SEARCH_HOSTS, PAID_DISPLAY_MEDIUM, SEARCH_HOSTS,
  SEARCH_SOURCES, SOCIAL_CLICK_IDS, SOCIAL_HOSTS, SOCIAL_SOURCES, type Channel,
} from './channel-rules.js';
import { isOwnHost } from './origin.js';
import { parsePageUrl } from './page-url.js';
import { remembered } from './remember.js';
import type { WireTouch } from '../../shared/wire.js';

export type { Channel } from './channel-rules.js';

/** `name.*` entries as patterns: the name, then a top-level domain (`com`, `de`) or a country's second level (`co.uk`). */
const anyTld = new Map<string, RegExp>();
const anyTldPattern = (entry: string) => {
  let re = anyTld.get(entry);
  if (!re) anyTld.set(entry, (re = new RegExp(`(^|\\.)${entry.slice(0, -2).replace(/\./g, '\\.')}\\.[a-z]{2,3}(\\.[a-z]{2})?$`)));
  return re;
};

/**
 * A host on a list of hosts: itself or a subdomain of an entry, a `mail.` prefix, a `name.*` under any top-level
 * domain, or a label without dots anywhere.
 */
function hostMatches(host: string, list: readonly string[]): boolean {
  let labels: string[] | undefined;
  for (const h of list) {
    if (h.endsWith('.*')) {
      if (anyTldPattern(h).test(host)) return true;
    } else if (!h.includes('.')) {
      if ((labels ??= host.split('.')).includes(h)) return true;
    } else if (h.endsWith('.') ? host.startsWith(h) : host === h || (host.endsWith(h) && host[host.length - h.length - 1] === '.')) return true;
  }
  return false;
}

/** The host of a URL, lower case and without `www.`; '' when it is no URL. */
export function hostOf(url: string | undefined): string {
  if (!url) return '';
  try {
    return new URL(url).hostname.toLowerCase().replace(/\.$/, '').replace(/^www\./, '');
  } catch {
    return '';
  }
}

// a touch's classification parsed its referrer and walked every host list (about 5 µs for a Google referrer on node 20),
// once per session-opening event; referrers repeat (a few hosts bring most visits), and the lists are constant
const refHostOf = remembered(hostOf);

/** The package of an Android app referrer (`android-app://com.linkedin.android/`), or ''. */
const appOf = (ref: string | undefined) => (ref?.startsWith('android-app://') && /^android-app:\/\/([\w.]+)/.exec(ref)?.[1].toLowerCase()) || '';

/** A utm_source written as a host name (`chatgpt.com`, `www.bing.com`), without its `www.`; else ''. */
const asHost = (source: string) => (/^([a-z0-9-]+\.)+[a-z]{2,}$/.test(source) ? source.replace(/^www\./, '') : '');

/** A UTM value as the rules read it: lower case, `+` and percent-escapes left by a second encoding read as text. */
function ruleText(value: string | undefined): string {
  if (!value) return '';
  let v = value.trim().toLowerCase();
  if (/[+%]/.test(v)) {
    v = v.replace(/\+/g, ' ');
    try {
      v = decodeURIComponent(v);
    } catch {
      /* a lone % is text */
    }
  }
  return v.replace(/\s+/g, ' ').trim();
}

// a webmail host of a search engine's owner (mail.google.com, mail.yahoo.com) is email, never search
const isSearchHost = remembered((host: string) => !!host && hostMatches(host, SEARCH_HOSTS) && !hostMatches(host, NOT_SEARCH_HOSTS) && !hostMatches(host, EMAIL_HOSTS));
const isSocialHost = remembered((host: string) => !!host && hostMatches(host, SOCIAL_HOSTS));
const isEmailHost = remembered((host: string) => hostMatches(host, EMAIL_HOSTS));

type Network = 'search' | 'social' | '';

/** The network a utm_source names, as a name (`linkedin`, `google_ads`) or a host (`bing.com`); '' when it names none. */
function networkOfSource(name: string, sourceHost: string): Network {
  if (!name) return '';
  if (SEARCH_SOURCES.includes(name) || isSearchHost(sourceHost)) return 'search';
  if (SOCIAL_SOURCES.includes(name) || isSocialHost(sourceHost)) return 'social';
  return '';
}

/**
 * The network a visit came through: the utm_source's when it names one (campaign tags override the referrer, as in
 * GA4), else a social click id's, else the referrer's.
 */
function networkOf(sourceNetwork: Network, refHost: string, socialClick: boolean): Network {
  if (sourceNetwork) return sourceNetwork;
  if (socialClick) return 'social';
  return isSearchHost(refHost) ? 'search' : isSocialHost(refHost) ? 'social' : '';
}

const AD_IDS = Object.keys(AD_CLICK_IDS);

/** The first of `ids` the touch carries: as its own key, or in its landing URL (gbraid and wbraid reach us only there). */
function findClickId(touch: WireTouch, ids: readonly string[]): string | undefined {
  for (const id of ids) if ((touch as Record<string, unknown>)[id]) return id;
  const url = touch.url;
  // every click id's parameter ends in "id=" or "braid=": most landing URLs hold neither and are not parsed
  if (!url || (!url.includes('id=') && !url.includes('braid='))) return undefined;
  let params: URLSearchParams;
  try {
    params = parsePageUrl(url).searchParams;
  } catch {
    return undefined;
  }
  return ids.find((id) => params.get(id));
}

/**
 * The channel of a touch. `siteHosts` (the site's domains: its own and the extra origins it admits, siteDomains)
 * keep internal navigation from counting as a referral.
 * Order: ad click ids, then utm_medium rules, then a social click id, then utm_source, then the referrer host (or the
 * utm_source written as a host when no referrer came), then direct. A utm_source that names a network outranks the
 * referrer (an email's link tagged `utm_source=newsletter`, clicked in Gmail, is email, not Google's search).
 */
export function classifyChannel(touch: WireTouch | null | undefined, siteHosts: readonly string[] = []): Channel {
  if (!touch) return 'direct';
  const adClick = findClickId(touch, AD_IDS);
  if (adClick) return AD_CLICK_IDS[adClick];
  const medium = ruleText(touch.utm_medium);
  const source = ruleText(touch.utm_source);
  const sourceHost = source && asHost(source);
  const app = appOf(touch.ref);
  // an app's package is never read as a host: a listed app stands for its web host, another is a referral
  const refHost = app ? APP_REFERRER_HOSTS[app] ?? '' : touch.ref ? refHostOf(touch.ref) : '';
  const socialClick = !!findClickId(touch, SOCIAL_CLICK_IDS);
  // `facebook_ads`, `Google Ads`: the network named, and a paid visit
  const adSource = AD_SOURCE_SUFFIX.test(source);
  const sourceNetwork = networkOfSource(adSource ? source.replace(AD_SOURCE_SUFFIX, '') : source, sourceHost);
  const network = networkOf(sourceNetwork, refHost, socialClick);
  if (medium) {
    for (const rule of MEDIUM_RULES) {
      if (!rule.pattern.test(medium)) continue;
      if (rule.channel === '$organic') return network === 'social' ? 'organic_social' : 'organic_search';
      if (rule.channel !== '$paid') return rule.channel;
      if (network === 'search') return 'paid_search';
      if (network === 'social' || medium.includes('social')) return 'paid_social';
      return PAID_DISPLAY_MEDIUM.test(medium) ? 'display' : 'paid_search';
    }
  }
  if (adSource && sourceNetwork) return sourceNetwork === 'search' ? 'paid_search' : 'paid_social';
  if (socialClick || sourceNetwork === 'social') return 'organic_social';
  if (sourceNetwork === 'search') return 'organic_search';
  if (/mail|newsletter/.test(source)) return 'email';
  // without a referrer (an app's link, a stripped header), a utm_source written as a host says where the visit came from
  const fromHost = refHost || (medium ? '' : sourceHost);
  if (fromHost && !isOwnHost(fromHost, siteHosts)) {
    if (isEmailHost(fromHost)) return 'email';
    if (isSearchHost(fromHost)) return 'organic_search';
    if (isSocialHost(fromHost)) return 'organic_social';
    return 'referral';
  }
  if (app) return 'referral';
  return medium || source ? 'other' : 'direct';
}
