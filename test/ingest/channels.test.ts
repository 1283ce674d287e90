import { describe, expect, test } from 'vitest';
import { classifyChannel } from '../../collector/ingest/channels.js';

describe('classifyChannel', () => {
  test.each([
    ['no touch', undefined, 'direct'],
    ['an empty touch', {}, 'direct'],
    ['a gclid', { gclid: 'abc' }, 'paid_search'],
    ['an msclkid', { msclkid: 'abc' }, 'paid_search'],
    // Meta adds fbclid to every outbound link, organic posts included: the network, not an ad
    ['an fbclid', { fbclid: 'abc', ref: 'https://l.facebook.com/' }, 'organic_social'],
    ['an fbclid with a paid medium', { fbclid: 'abc', utm_source: 'facebook', utm_medium: 'cpc' }, 'paid_social'],
    ['a gbraid in the landing URL', { url: 'https://example.com/?gbraid=abc' }, 'paid_search'],
    ['a Google Docs referrer', { ref: 'https://docs.google.com/document/d/1' }, 'referral'],
    ['a listed Android app', { ref: 'android-app://com.google.android.gm/' }, 'email'],
    ['an unlisted Android app', { ref: 'android-app://com.google.android.apps.docs/' }, 'referral'],
    ['a utm_source written as a host, no referrer', { utm_source: 'chatgpt.com' }, 'referral'],
    ['a medium encoded twice', { utm_source: 'linkedin', utm_medium: 'Paid%2BSocial' }, 'paid_social'],
    ['cpm from an ad network', { utm_source: 'adroll', utm_medium: 'cpm' }, 'display'],
    ['organic from a social network', { utm_source: 'linkedin', utm_medium: 'organic' }, 'organic_social'],
    ['a li_fat_id', { li_fat_id: 'x' }, 'paid_social'],
    ['cpc from google', { utm_source: 'google', utm_medium: 'cpc' }, 'paid_search'],
    ['cpc from linkedin', { utm_source: 'linkedin', utm_medium: 'cpc' }, 'paid_social'],
    ['paid_social medium', { utm_source: 'x', utm_medium: 'paid_social' }, 'paid_social'],
    ['email medium', { utm_source: 'newsletter', utm_medium: 'email' }, 'email'],
    ['display medium', { utm_medium: 'display' }, 'display'],
    ['affiliate medium', { utm_medium: 'affiliate' }, 'affiliate'],
    ['social medium', { utm_source: 'reddit', utm_medium: 'social' }, 'organic_social'],
    ['a source without medium that is a search engine', { utm_source: 'bing' }, 'organic_search'],
    ['an unknown medium', { utm_source: 'podcast', utm_medium: 'audio' }, 'other'],
    ['a google referrer', { ref: 'https://www.google.de/' }, 'organic_search'],
    ['a duckduckgo referrer', { ref: 'https://duckduckgo.com/' }, 'organic_search'],
    ['a linkedin referrer', { ref: 'https://www.linkedin.com/feed/' }, 'organic_social'],
    ['a t.co referrer', { ref: 'https://t.co/abc' }, 'organic_social'],
    ['a webmail referrer', { ref: 'https://mail.google.com/' }, 'email'],
    ['another site', { ref: 'https://blog.partner.io/post' }, 'referral'],
  ])('%s → %s', (_what, touch, channel) => {
    expect(classifyChannel(touch as never, ['example.com'])).toBe(channel);
  });

  test('internal navigation is not a referral', () => {
    expect(classifyChannel({ ref: 'https://www.example.com/blog' }, ['example.com'])).toBe('direct');
    expect(classifyChannel({ ref: 'https://docs.example.com/' }, ['example.com'])).toBe('direct');
    // a site named with www. is its apex and every subdomain too
    expect(classifyChannel({ ref: 'https://www.example.com/' }, ['www.example.com'])).toBe('direct');
    expect(classifyChannel({ ref: 'https://blog.example.com/' }, ['www.example.com'])).toBe('direct');
  });
});
