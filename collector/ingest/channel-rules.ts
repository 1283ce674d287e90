// Channel rules as data: referrer hosts, UTM mediums and click ids that decide where a visit came from.
export const CHANNELS = [
  'direct', 'organic_search', 'paid_search', 'organic_social', 'paid_social', 'email', 'referral', 'display', 'affiliate', 'other',
] as const;
export type Channel = (typeof CHANNELS)[number];

/** Search engines by host suffix (matched against the referrer host and utm_source). */
export const SEARCH_HOSTS = [
  'google', 'bing.com', 'yahoo.com', 'duckduckgo.com', 'baidu.com', 'yandex.ru', 'yandex.com', 'ecosia.org', 'search.brave.com',
  'qwant.com', 'startpage.com', 'naver.com', 'seznam.cz', 'ask.com', 'aol.com', 'kagi.com', 'perplexity.ai',
];

/** Social networks by host suffix. */
export const SOCIAL_HOSTS = [
  'facebook.com', 'fb.com', 'm.facebook.com', 'l.facebook.com', 'instagram.com', 'linkedin.com', 'lnkd.in', 'twitter.com', 't.co', 'x.com',
  'reddit.com', 'youtube.com', 'youtu.be', 'tiktok.com', 'pinterest.com', 'threads.net', 'bsky.app', 'mastodon.social',
  'news.ycombinator.com', 'quora.com', 'xing.com', 'vk.com', 'weibo.com', 'snapchat.com', 'discord.com', 'medium.com',
];

/** Webmail hosts: a referrer from them is email traffic. */
export const EMAIL_HOSTS = ['mail.google.com', 'outlook.live.com', 'outlook.office.com', 'mail.yahoo.com', 'mail.proton.me', 'webmail', 'mail.'];

/** utm_source values that name a social network or search engine without a domain. */
export const SOCIAL_SOURCES = ['facebook', 'fb', 'instagram', 'ig', 'linkedin', 'twitter', 'x', 'reddit', 'youtube', 'tiktok', 'pinterest', 'threads', 'bluesky'];
export const SEARCH_SOURCES = ['google', 'bing', 'yahoo', 'duckduckgo', 'baidu', 'yandex', 'ecosia', 'brave'];

/** Click ids and the channel they prove: ad clicks on search or social networks. */
export const CLICK_ID_CHANNEL: Record<string, Channel> = {
  gclid: 'paid_search',
  msclkid: 'paid_search',
  fbclid: 'paid_social',
  li_fat_id: 'paid_social',
  ttclid: 'paid_social',
};

/** utm_medium patterns, checked in order; the first that matches wins. `$search`/`$social` need a matching source. */
export const MEDIUM_RULES: Array<{ pattern: RegExp; channel: Channel | '$paid' }> = [
  { pattern: /^(cpc|ppc|paid|paidsearch|paid[-_ ]search|sem|cpm|cpv|cpa|paid[-_ ]?social|social[-_ ]?paid|paid[-_ ]?media)$/, channel: '$paid' },
  { pattern: /^(display|banner|programmatic|retargeting|remarketing)$/, channel: 'display' },
  { pattern: /^(e-?mail|newsletter|edm)$/, channel: 'email' },
  { pattern: /^(affiliate|affiliates|partner)$/, channel: 'affiliate' },
  { pattern: /^(social|social[-_ ]?network|social[-_ ]?media|sm|organic[-_ ]?social)$/, channel: 'organic_social' },
  { pattern: /^(organic|seo)$/, channel: 'organic_search' },
  { pattern: /^(referral|link)$/, channel: 'referral' },
];
