// Where seeded visits come from: channel shares of a typical B2B site and touches (UTMs, click ids, referrers) per channel.
import type { Channel } from '../../collector/ingest/channel-rules.js';
import type { Touch } from '../../collector/ingest/types.js';
import type { Rng } from './random.js';

/** Shares of first visits by channel (roughly what B2B SaaS analytics report). */
export const CHANNEL_SHARES: ReadonlyArray<readonly [Channel, number]> = [
  ['organic_search', 33], ['direct', 22], ['paid_search', 12], ['referral', 8], ['email', 7], ['organic_social', 7],
  ['paid_social', 6], ['display', 3], ['affiliate', 1], ['other', 1],
];

// campaigns are set up per ad platform, so each name belongs to one channel (a search keyword campaign is never a banner)
const CAMPAIGNS: Readonly<Record<'paid_search' | 'paid_social' | 'display', readonly string[]>> = {
  paid_search: ['brand', 'generic_analytics', 'competitor_terms'],
  paid_social: ['webinar_promo', 'ebook_launch', 'abm_target_accounts'],
  display: ['retargeting_site_visitors', 'prospecting_lookalike'],
};
const REFERRERS = ['https://www.g2.com/products/x', 'https://www.capterra.com/p/1', 'https://partner-blog.io/post', 'https://news.site/article'];
const SEARCH: ReadonlyArray<readonly [string, string]> = [['google', 'https://www.google.com/'], ['bing', 'https://www.bing.com/'], ['duckduckgo', 'https://duckduckgo.com/']];
const SOCIAL: ReadonlyArray<readonly [string, string]> = [['linkedin', 'https://www.linkedin.com/'], ['twitter', 'https://t.co/x'], ['facebook', 'https://l.facebook.com/'], ['reddit', 'https://www.reddit.com/']];

/** A touch for a visit of `channel` landing on `url` at `at`. */
export function makeTouch(rng: Rng, channel: Channel, url: string, at: number): Touch {
  const t: Touch = { channel, url, at };
  switch (channel) {
    case 'organic_search': {
      const [, ref] = rng.weighted([[SEARCH[0], 85], [SEARCH[1], 10], [SEARCH[2], 5]]);
      t.ref = ref;
      break;
    }
    case 'paid_search':
      t.utm_source = rng.chance(0.85) ? 'google' : 'bing';
      t.utm_medium = 'cpc';
      t.utm_campaign = rng.pick(CAMPAIGNS.paid_search);
      t.utm_term = rng.pick(['funnel analytics', 'lead scoring', 'b2b tracking', 'marketing attribution']);
      if (t.utm_source === 'google') t.gclid = rng.id(24);
      else t.msclkid = rng.id(24);
      t.ref = t.utm_source === 'google' ? 'https://www.google.com/' : 'https://www.bing.com/';
      break;
    case 'organic_social': {
      const [, ref] = rng.pick(SOCIAL);
      t.ref = ref;
      break;
    }
    case 'paid_social':
      t.utm_source = rng.weighted([['linkedin', 60], ['facebook', 30], ['twitter', 10]]);
      t.utm_medium = 'paid_social';
      t.utm_campaign = rng.pick(CAMPAIGNS.paid_social);
      if (t.utm_source === 'linkedin') t.li_fat_id = rng.id(20);
      if (t.utm_source === 'facebook') t.fbclid = rng.id(24);
      break;
    case 'email':
      t.utm_source = 'newsletter';
      t.utm_medium = 'email';
      t.utm_campaign = rng.pick(['weekly_digest', 'product_update', 'webinar_invite', 'nurture_3']);
      break;
    case 'display':
      t.utm_source = rng.pick(['gdn', 'adroll']);
      t.utm_medium = 'display';
      t.utm_campaign = rng.pick(CAMPAIGNS.display);
      break;
    case 'affiliate':
      t.utm_source = rng.pick(['partnerstack', 'impact']);
      t.utm_medium = 'affiliate';
      break;
    case 'referral':
      t.ref = rng.pick(REFERRERS);
      break;
    case 'other':
      t.utm_source = 'podcast';
      t.utm_medium = 'audio';
      break;
    default:
      break;
  }
  return t;
}
