import { describe, expect, test } from 'vitest';
import { classifyChannel } from '../../collector/ingest/channels.js';

describe('classifyChannel', () => {
  test.each([
    ['no touch', undefined, 'direct'],
    ['an empty touch', {}, 'direct'],
    ['a gclid', { gclid: 'abc' }, 'paid_search'],
    ['an msclkid', { msclkid: 'abc' }, 'paid_search'],
    ['an fbclid', { fbclid: 'abc', ref: 'https://l.facebook.com/' }, 'paid_social'],
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
    expect(classifyChannel(touch as never, 'example.com')).toBe(channel);
  });

  test('internal navigation is not a referral', () => {
    expect(classifyChannel({ ref: 'https://www.example.com/blog' }, 'example.com')).toBe('direct');
    expect(classifyChannel({ ref: 'https://docs.example.com/' }, 'example.com')).toBe('direct');
  });
});
