import { describe, expect, test } from 'vitest';
import { enrichBatch, pathOf, touchFromUrl } from '../../collector/ingest/enrich.js';
import { parseUserAgent, UA_MAX } from '../../collector/ingest/user-agent.js';
import { CHROME_UA, BOT_UA } from '../helpers/factories.js';
import type { Site } from '../../collector/storage/sites.js';

const site: Site = { siteId: 's1', siteKey: 'k', domain: 'example.com', name: 'x', settings: {}, createdAt: 0 };
const NOW = 1_800_000_000_000;

describe('enrichBatch', () => {
  test('fills every field of an enriched event from the wire event', () => {
    const out = enrichBatch({
      site,
      receivedAt: NOW,
      session: null,
      ua: parseUserAgent(CHROME_UA),
      batch: {
        s: 'k',
        v: 'visitor01',
        e: [{ i: 'event0001', n: 'newsletter_signup', t: NOW - 1000, u: 'https://example.com/blog/post?x=1', r: 'https://example.com/', em: ' Ann@Example.COM ', f: 'newsletter', tr: { firstName: 'Ann' }, p: { a: 1 }, st: { utm_source: 'linkedin', utm_medium: 'cpc', li_fat_id: 'zz' }, ft: { ref: 'https://www.google.com/' } }],
      },
    });
    expect(out.events).toHaveLength(1);
    expect(out.newSessions).toBe(1);
    expect(out.events[0]).toMatchObject({
      siteId: 's1', eventId: 'event0001', visitorId: 'visitor01', name: 'newsletter_signup', at: NOW - 1000, receivedAt: NOW, source: 'web',
      path: '/blog/post', email: 'ann@example.com', form: 'newsletter', traits: { firstName: 'Ann' }, props: { a: 1 },
      channel: 'paid_social', utmSource: 'linkedin', utmMedium: 'cpc', clickId: 'li_fat_id', browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false,
    });
    expect(out.events[0].firstTouch?.channel).toBe('organic_search');
  });

  test('events without a session touch inherit their session\'s touch', () => {
    const ua = parseUserAgent(CHROME_UA);
    const first = enrichBatch({ site, receivedAt: NOW, session: null, ua, batch: { s: 'k', v: 'visitor01', e: [{ i: 'event0001', n: 'pageview', t: NOW - 5000, u: 'https://example.com/?utm_source=google&utm_medium=cpc' }] } });
    const second = enrichBatch({ site, receivedAt: NOW, session: first.session, ua, batch: { s: 'k', v: 'visitor01', e: [{ i: 'event0002', n: 'pageview', t: NOW - 1000, u: 'https://example.com/pricing' }] } });
    expect(second.newSessions).toBe(0);
    expect(second.events[0]).toMatchObject({ channel: 'paid_search', utmSource: 'google', sessionId: first.events[0].sessionId });
  });

  test('sorts a batch by time so sessions open in order, and sets aside events too old to keep', () => {
    const out = enrichBatch({
      site, receivedAt: NOW, session: null, ua: parseUserAgent(BOT_UA),
      batch: { s: 'k', v: 'visitor01', e: [
        { i: 'event0002', n: 'pageview', t: NOW - 1000, u: 'https://example.com/b' },
        { i: 'event0001', n: 'pageview', t: NOW - 2000, u: 'https://example.com/a' },
        { i: 'event0000', n: 'pageview', t: NOW - 8 * 86_400_000, u: 'https://example.com/old' },
      ] },
    });
    expect(out.events.map((e) => e.eventId)).toEqual(['event0001', 'event0002']);
    expect(out.tooOld.map((e) => e.i)).toEqual(['event0000']);
    expect(out.events.every((e) => e.isBot)).toBe(true);
  });

  test('pathOf reads hash routes as paths', () => {
    expect(pathOf('https://a.com/app#/pricing?x=1')).toBe('/app/pricing');
    expect(pathOf('https://a.com/#/pricing')).toBe('/pricing');
    expect(pathOf('https://a.com/docs#section')).toBe('/docs');
    expect(pathOf('https://a.com/#!/contact')).toBe('/contact');
    expect(pathOf('https://a.com/app/#!/plans/pro?x=1')).toBe('/app/plans/pro');
    expect(pathOf('not a url')).toBe('');
  });

  test('touchFromUrl keeps UTM parameters and click ids only', () => {
    expect(touchFromUrl('https://a.com/?utm_source=s&gclid=g&other=1', 'https://r.com/', 5)).toEqual({ url: 'https://a.com/?utm_source=s&gclid=g&other=1', at: 5, ref: 'https://r.com/', utm_source: 's', gclid: 'g' });
  });

  test('touchFromUrl reads a parameter given twice as the snippet does: its last value that is not empty', () => {
    const url = 'https://a.com/?utm_source=a&utm_source=b&utm_medium=cpc&utm_medium=&utm_campaign=&utm_campaign=spring';
    expect(touchFromUrl(url, undefined, 5)).toEqual({ url, at: 5, utm_source: 'b', utm_medium: 'cpc', utm_campaign: 'spring' });
  });

  test('parseUserAgent parses each distinct string once', () => {
    expect(parseUserAgent(CHROME_UA)).toBe(parseUserAgent(CHROME_UA));
  });
});

test('a forged user agent of 16 KB is read from its first 1,024 characters: one cache entry of that size, the same answer', () => {
  const forged = CHROME_UA + ' ' + 'x'.repeat(16_000);
  const info = parseUserAgent(forged);
  expect(info).toBe(parseUserAgent(forged.slice(0, UA_MAX)));
  expect(info).toMatchObject({ browser: 'Chrome', isBot: false });
  expect(parseUserAgent(BOT_UA + 'y'.repeat(16_000)).isBot).toBe(true);
});

test('a visit from another of the site\'s own domains (an extra origin it admits) is no referral', () => {
  const withApp: Site = { ...site, settings: { extraOrigins: ['example-app.io'] } };
  const out = enrichBatch({
    site: withApp, receivedAt: NOW, session: null, ua: parseUserAgent(CHROME_UA),
    batch: { s: 'k', v: 'visitor01', e: [{ i: 'event0001', n: 'pageview', t: NOW - 1000, u: 'https://example.com/pricing', st: { ref: 'https://eu.example-app.io/billing' }, ft: { ref: 'https://eu.example-app.io/billing' } }] },
  });
  expect(out.events[0].channel).toBe('direct');
  expect(out.events[0].firstTouch?.channel).toBe('direct');
  const other = enrichBatch({
    site: withApp, receivedAt: NOW, session: null, ua: parseUserAgent(CHROME_UA),
    batch: { s: 'k', v: 'visitor02', e: [{ i: 'event0002', n: 'pageview', t: NOW - 1000, u: 'https://example.com/pricing', st: { ref: 'https://partner.example.net/' } }] },
  });
  expect(other.events[0].channel).toBe('referral');
});
