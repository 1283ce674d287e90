import { describe, expect, test } from 'vitest';
import { enrichBatch } from '../../collector/ingest/enrich.js';
import { isSecretName, redactTouch, redactUrl } from '../../collector/ingest/redact-url.js';
import { parseUserAgent } from '../../collector/ingest/user-agent.js';
import type { Site } from '../../collector/storage/sites.js';
import { CHROME_UA } from '../helpers/factories.js';

describe('redactUrl', () => {
  test('a form sent with method="get" keeps its name but loses its email and password', () => {
    expect(redactUrl('https://example.com/thanks?name=Ann+Lee&email=ann%40example.com&pw=hunter2')).toBe(
      'https://example.com/thanks?name=Ann+Lee&email=[redacted]&pw=[redacted]',
    );
  });

  test('any value holding an email address, however it is written or named', () => {
    expect(redactUrl('https://a.com/?to=ann@example.com')).toBe('https://a.com/?to=[redacted]');
    expect(redactUrl('https://a.com/?q=mail+ann%40ex.co.uk+today&x=1')).toBe('https://a.com/?q=[redacted]&x=1');
    expect(redactUrl('https://a.com/?ann%40example.com')).toBe('https://a.com/?[redacted]');
    expect(redactUrl('https://a.com/?next=%2Fx%3Fe%3Dann%40example.com')).toBe('https://a.com/?next=[redacted]');
    // an @ that is no address stays
    expect(redactUrl('https://a.com/?h=@ann&u=ann@localhost')).toBe('https://a.com/?h=@ann&u=ann@localhost');
  });

  test('values of credential and card parameters, by the words of their names', () => {
    const secret = [
      'password', 'Password', 'newPassword', 'user[password]', 'user%5Bpass%5D', 'passwd', 'pwd', 'pw', 'passcode', 'client_secret',
      'token', 'access_token', 'csrfToken', 'card', 'card_number', 'cardNumber', 'creditcardnumber', 'cc-number', 'cc-csc', 'cvv', 'cvc',
      'cvv2', 'security_code', 'pin', 'user_pin', 'otp', 'api_key', 'apiKey', 'apikey',
    ];
    for (const name of secret) expect(redactUrl(`https://a.com/p?${name}=x1&a=b`), name).toBe(`https://a.com/p?${name}=[redacted]&a=b`);
    const plain = ['shipping', 'spinner', 'pincode', 'opinion', 'postcard', 'success', 'access', 'keyword', 'passenger_count', 'q', 'utm_content', 'gclid'];
    for (const name of plain) expect(isSecretName(name), name).toBe(false);
  });

  test('everything else is byte-identical: UTM values are never decoded and encoded again', () => {
    const utm = 'https://example.com/landing?utm_source=News%20Letter&utm_medium=e-mail&utm_campaign=q4%2Bsale+%F0%9F%8E%89&gclid=Cj0K_x-y.z&pw=1';
    expect(redactUrl(utm)).toBe('https://example.com/landing?utm_source=News%20Letter&utm_medium=e-mail&utm_campaign=q4%2Bsale+%F0%9F%8E%89&gclid=Cj0K_x-y.z&pw=[redacted]');
    for (const url of [
      'https://example.com/',
      'https://example.com/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=abc',
      'https://example.com/card-games?a=1&&b&c=&pw=',
      'https://example.com/a?%E0%A4%A=bad%ZZescape&x=%',
      'not a url ? at all',
    ]) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  test('a password in the address itself (user:password@host) is redacted; the user name and the rest stay', () => {
    expect(redactUrl('https://ann:hunter2@staging.example.com/pricing')).toBe('https://ann:[redacted]@staging.example.com/pricing');
    expect(redactUrl('https://ann:hunter2@example.com/?utm_source=x#top')).toBe('https://ann:[redacted]@example.com/?utm_source=x#top');
    expect(redactUrl('https://ann:p@ss@example.com/')).toBe('https://ann:[redacted]@example.com/');
    // no password, or an @ outside the authority, is no credential
    expect(redactUrl('https://ann@example.com/x')).toBe('https://ann@example.com/x');
    expect(redactUrl('https://example.com/@ann:1')).toBe('https://example.com/@ann:1');
    expect(redactUrl('https://example.com:8443/x?y=1')).toBe('https://example.com:8443/x?y=1');
  });

  test('a hash route\'s query is a query too; the fragment around it stays', () => {
    expect(redactUrl('https://a.com/app#/thanks?email=ann@ex.com&step=2')).toBe('https://a.com/app#/thanks?email=[redacted]&step=2');
    expect(redactUrl('https://a.com/app?x=1&token=abc#/thanks?pw=1')).toBe('https://a.com/app?x=1&token=[redacted]#/thanks?pw=[redacted]');
    expect(redactUrl('https://a.com/app?token=abc#section')).toBe('https://a.com/app?token=[redacted]#section');
    expect(redactUrl('https://a.com/docs#token')).toBe('https://a.com/docs#token');
  });

  test('a touch loses the same in its URLs, and a UTM value that is an email address', () => {
    const t = { utm_source: 'newsletter', utm_content: 'ann@example.com', url: 'https://a.com/?utm_content=ann%40example.com', ref: 'https://a.com/signup?pw=x', at: 1 };
    expect(redactTouch(t)).toEqual({ utm_source: 'newsletter', utm_content: '[redacted]', url: 'https://a.com/?utm_content=[redacted]', ref: 'https://a.com/signup?pw=[redacted]', at: 1 });
    const clean = { utm_source: 'google', url: 'https://a.com/?utm_source=google', at: 1 };
    expect(redactTouch(clean)).toBe(clean);
  });
});

describe('enrichBatch', () => {
  const site: Site = { siteId: 's1', siteKey: 'k', domain: 'example.com', name: 'x', settings: {}, createdAt: 0 };
  const NOW = 1_800_000_000_000;

  test('stores the page URL, referrer and touches redacted, with the path and campaign as sent', () => {
    const u = 'https://example.com/thanks?utm_source=mail&utm_campaign=Fall%20Sale&name=Ann&email=ann%40example.com&pw=hunter2';
    const r = 'https://example.com/signup?email=ann%40example.com';
    const out = enrichBatch({
      site, receivedAt: NOW, session: null, ua: parseUserAgent(CHROME_UA),
      batch: { s: 'k', v: 'visitor01', e: [{ i: 'event0001', n: 'pageview', t: NOW - 1000, u, r, ft: { url: u, ref: r, utm_source: 'mail' } }] },
    });
    const e = out.events[0];
    expect(e.url).toBe('https://example.com/thanks?utm_source=mail&utm_campaign=Fall%20Sale&name=Ann&email=[redacted]&pw=[redacted]');
    expect(e.referrer).toBe('https://example.com/signup?email=[redacted]');
    expect(e.path).toBe('/thanks');
    expect(e).toMatchObject({ utmSource: 'mail', utmCampaign: 'Fall Sale' });
    expect(e.sessionTouch).toMatchObject({ url: e.url, ref: e.referrer, utm_campaign: 'Fall Sale' });
    expect(e.firstTouch).toMatchObject({ url: e.url, ref: e.referrer, utm_source: 'mail' });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|ann%40/);
  });

  test("a download's or outbound link's URL (props.url) is redacted the same way; other props stay as sent", () => {
    const link = 'https://files.example.net/guide.pdf?email=ann%40example.com&token=abc123&v=2';
    const out = enrichBatch({
      site, receivedAt: NOW, session: null, ua: parseUserAgent(CHROME_UA),
      batch: { s: 'k', v: 'visitor02', e: [
        { i: 'event0002', n: 'download', t: NOW - 1000, u: 'https://example.com/', p: { url: link, size: 3 } },
        { i: 'event0003', n: 'outbound', t: NOW - 900, u: 'https://example.com/', p: { url: 'https://partner.example.org/?utm_source=us' } },
      ] },
    });
    expect(out.events.map((e) => e.props)).toEqual([
      { url: 'https://files.example.net/guide.pdf?email=[redacted]&token=[redacted]&v=2', size: 3 },
      { url: 'https://partner.example.org/?utm_source=us' },
    ]);
  });
});
