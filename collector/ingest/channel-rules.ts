// Channel rules as data: referrer hosts, Android apps, UTM mediums and click ids that decide where a visit came from.
export const CHANNELS = [
  'direct', 'organic_search', 'paid_search', 'organic_social', 'paid_social', 'email', 'referral', 'display', 'affiliate', 'other',
] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Search engines by host suffix (matched against the referrer host and a utm_source written as a host). An entry
 * ending in `.*` is that name under any country or generic top-level domain: `google.*` is google.com, google.co.uk,
 * images.google.de…, never google.blogspot.com or google.com.example.io.
 */
export const SEARCH_HOSTS = [
  'google.*', 'bing.com', 'yahoo.com', 'yahoo.co.jp', 'duckduckgo.com', 'baidu.com', 'yandex.ru', 'yandex.com', 'yandex.com.tr',
  'yandex.kz', 'yandex.by', 'yandex.uz', 'ya.ru', 'ecosia.org', 'search.brave.com', 'qwant.com', 'startpage.com', 'naver.com',
  'seznam.cz', 'ask.com', 'aol.com', 'kagi.com', 'so.com', 'sogou.com', 'daum.net',
];
// AI assistants (chatgpt.com, perplexity.ai, claude.ai, copilot.microsoft.com, gemini.google.com) are on no list: all
// of them are referrals, as GA4 counted them until 2026 (and still counts Perplexity), so none is split from the others.

/**
 * Hosts of a search engine's owner that are no search: a link in a shared document, an invite, a store page, and the
 * AI assistant (Gemini is a referral, as ChatGPT, Copilot and Claude are).
 */
export const NOT_SEARCH_HOSTS = [
  'gemini.google.com', 'docs.google.com', 'drive.google.com', 'calendar.google.com', 'meet.google.com', 'chat.google.com', 'sites.google.com',
  'groups.google.com', 'classroom.google.com', 'keep.google.com', 'accounts.google.com', 'play.google.com', 'photos.google.com',
  'cloud.google.com', 'developers.google.com', 'support.google.com', 'workspace.google.com', 'ads.google.com', 'analytics.google.com',
  'marketingplatform.google.com', 'business.google.com', 'firebase.google.com', 'lookerstudio.google.com', 'datastudio.google.com',
];

/** Social networks by host suffix. */
export const SOCIAL_HOSTS = [
  'facebook.com', 'fb.com', 'm.facebook.com', 'l.facebook.com', 'instagram.com', 'linkedin.com', 'lnkd.in', 'twitter.com', 't.co', 'x.com',
  'reddit.com', 'youtube.com', 'youtu.be', 'tiktok.com', 'pinterest.com', 'threads.net', 'threads.com', 'bsky.app', 'mastodon.social',
  'news.ycombinator.com', 'quora.com', 'xing.com', 'vk.com', 'weibo.com', 'snapchat.com', 'discord.com', 'medium.com',
];

/** Webmail hosts: a referrer from them is email traffic. `mail.` is a prefix; `webmail` (no dot) a label anywhere. */
export const EMAIL_HOSTS = [
  'mail.google.com', 'outlook.live.com', 'outlook.office.com', 'outlook.office365.com', 'outlook.cloud.microsoft', 'mail.yahoo.com',
  'mail.proton.me', 'app.fastmail.com', 'deref-gmx.net', 'deref-web.de', 'safelinks.protection.outlook.com', 'webmail', 'mail.',
  // webmail whose host says neither: Seznam's (under a search engine's domain), Mail.ru's, Tuta's and HEY's
  'email.seznam.cz', 'e.mail.ru', 'app.tuta.com', 'app.hey.com',
];

/**
 * Android apps that send their package as the referrer (`android-app://com.google.android.gm/`), and the web host they
 * stand for. An app not listed is a referral: its package name is never matched as a host (the Google Docs app,
 * `com.google.android.apps.docs`, is no search engine).
 */
export const APP_REFERRER_HOSTS: Record<string, string> = {
  'com.google.android.googlequicksearchbox': 'google.com',
  'com.google.android.gm': 'mail.google.com',
  'com.google.android.youtube': 'youtube.com',
  'com.microsoft.office.outlook': 'outlook.live.com',
  'com.yahoo.mobile.client.android.mail': 'mail.yahoo.com',
  'ch.protonmail.android': 'mail.proton.me',
  'com.microsoft.bing': 'bing.com',
  'com.duckduckgo.mobile.android': 'duckduckgo.com',
  'com.linkedin.android': 'linkedin.com',
  'com.facebook.katana': 'facebook.com',
  'com.facebook.lite': 'facebook.com',
  'com.instagram.android': 'instagram.com',
  'com.twitter.android': 'x.com',
  'com.reddit.frontpage': 'reddit.com',
  'com.zhiliaoapp.musically': 'tiktok.com',
  'com.pinterest': 'pinterest.com',
  // the lite and sibling apps of the networks above, and Google Go (search)
  'com.google.android.apps.searchlite': 'google.com',
  'com.google.android.gm.lite': 'mail.google.com',
  'com.facebook.orca': 'facebook.com',
  'com.instagram.lite': 'instagram.com',
  'com.instagram.barcelona': 'threads.net',
  'com.linkedin.android.lite': 'linkedin.com',
  'xyz.blueskyweb.app': 'bsky.app',
  'com.snapchat.android': 'snapchat.com',
  'com.discord': 'discord.com',
  // mail apps without a webmail of their own (Samsung's is the default on Samsung phones): any `mail.` host is email
  'com.samsung.android.email.provider': 'mail.',
  'com.android.email': 'mail.',
  'com.readdle.spark': 'mail.',
  'me.bluemail.mail': 'mail.',
  'net.thunderbird.android': 'mail.',
  'com.fsck.k9': 'mail.',
};

/**
 * A utm_source naming an ad platform of a network (`facebook_ads`, `linkedin-ads`, `Google Ads`): the network before
 * it decides search or social, and the visit is paid even without a medium.
 */
export const AD_SOURCE_SUFFIX = /[ _-]ads?$/;

/**
 * utm_source values that name a social network or search engine without a domain. Every network of SOCIAL_HOSTS is
 * here by the name marketers tag it with (`utm_source=xing&utm_medium=cpc` is a Xing ad, as `xing.com` would be).
 */
export const SOCIAL_SOURCES = [
  'facebook', 'fb', 'meta', 'instagram', 'ig', 'linkedin', 'twitter', 'x', 'reddit', 'youtube', 'tiktok', 'pinterest', 'threads', 'bluesky',
  'bsky', 'mastodon', 'hackernews', 'ycombinator', 'quora', 'xing', 'vk', 'weibo', 'snapchat', 'discord', 'medium',
];
export const SEARCH_SOURCES = ['google', 'bing', 'yahoo', 'duckduckgo', 'baidu', 'yandex', 'ecosia', 'brave', 'naver', 'seznam', 'qwant', 'startpage', 'kagi'];

/**
 * Click ids that only ads carry, and the channel they prove. gbraid and wbraid (Google Ads on iOS, where gclid is not
 * sent) are read from the landing URL, as the snippet does not pass them on.
 */
export const AD_CLICK_IDS: Record<string, Channel> = {
  gclid: 'paid_search',
  gbraid: 'paid_search',
  wbraid: 'paid_search',
  msclkid: 'paid_search',
  li_fat_id: 'paid_social',
  ttclid: 'paid_social',
};

/**
 * Click ids a network adds to every outbound link, organic posts included (Meta's fbclid): they prove the network, not
 * an ad. The visit is social; it is paid only when its medium says so.
 */
export const SOCIAL_CLICK_IDS = ['fbclid'];

/**
 * utm_medium patterns, checked in order on the medium lower-cased and decoded (`Paid+Social`, `paid%20social`); the
 * first that matches wins. `$paid` is decided by the source (PAID_DISPLAY_MEDIUM below), `$organic` too. The paid
 * pattern is GA4's default channel group's (`^(.*cp.*|ppc|retargeting|paid.*)$`) with the usual other spellings.
 */
export const MEDIUM_RULES: Array<{ pattern: RegExp; channel: Channel | '$paid' | '$organic' }> = [
  { pattern: /^(.*cp.*|ppc|sem|paid.*|.*[-_ ]paid|retargeting|remarketing)$/, channel: '$paid' },
  { pattern: /^(display|banner|expandable|interstitial|programmatic)$/, channel: 'display' },
  { pattern: /^(e[-_ ]?mail|newsletter|edm)$/, channel: 'email' },
  { pattern: /^(affiliates?|partner)$/, channel: 'affiliate' },
  { pattern: /^(social|social[-_ ]?network|social[-_ ]?media|sm|organic[-_ ]?social)$/, channel: 'organic_social' },
  { pattern: /^(organic|seo)$/, channel: '$organic' },
  { pattern: /^(referral|link)$/, channel: 'referral' },
];

/**
 * A paid medium from a source that is neither a search engine nor a social network: display when the medium says so
 * (GA4 counts `cpm` from an ad network as display), else paid search.
 */
export const PAID_DISPLAY_MEDIUM = /^(cpm|.*display.*|.*banner.*|retargeting|remarketing|programmatic)$/;
