// POST /e with real traffic of 2026 the other ingest tests do not send: referrers and landing URLs of search engines,
// Android apps, social networks, webmail and AI assistants; ad click ids; UTM values as marketers write them; user
// agents of browsers, in-app browsers, crawlers, monitors and link unfurlers; sites named with www., a port or an IDN.
// Each case is sent as the snippet sends it, and what is stored (events, visitors) is read back.
import { describe, expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { CHROME_UA, makeBatch, randomId } from '../helpers/factories.js';
import { LIMITS } from '../../shared/limits.js';
import type { WireTouch } from '../../shared/wire.js';

const SITE = 'https://example.com';

/** The session touch the snippet sends for a landing page (snippet/utm.ts): UTM parameters, click ids, outside referrer. */
function snippetTouch(url: string, ref: string | undefined, at: number): WireTouch {
  const touch: Record<string, unknown> = { url, at };
  new URL(url).searchParams.forEach((v, k) => {
    if (/^(utm_|((g|fb|tt)cl|msclk|li_fat_)id$)/.test(k)) touch[k] = v;
  });
  if (ref && new URL(ref).host !== new URL(url).host) touch.ref = ref;
  return touch as WireTouch;
}

type App = Awaited<ReturnType<typeof makeIngestApp>>;

/** A visitor lands on `url` from `ref` (a new visitor each time); what its stored pageview says. */
async function land(app: App, url: string, ref?: string, userAgent = CHROME_UA) {
  const t = Date.now();
  const st = snippetTouch(url, ref, t);
  const batch = makeBatch(app.site.siteKey, {}, [{ t, u: url, ...(ref ? { r: ref } : {}), ft: st, st }]);
  const res = await app.post(batch, { origin: new URL(url).origin, 'user-agent': userAgent });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await app.db.get<Record<string, string | number | null>>(
    'SELECT channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id, browser, os, device, is_bot FROM events WHERE event_id = ?',
    [batch.e[0].i],
  ))!;
}

describe('channels of real referrers and landing URLs', () => {
  test.each([
    // search engines
    ['Google', 'organic_search', '/', 'https://www.google.com/'],
    ['Google UK', 'organic_search', '/', 'https://www.google.co.uk/'],
    ['Bing', 'organic_search', '/', 'https://www.bing.com/'],
    ['DuckDuckGo', 'organic_search', '/', 'https://duckduckgo.com/'],
    ['Ecosia', 'organic_search', '/', 'https://www.ecosia.org/'],
    ['Yahoo', 'organic_search', '/', 'https://search.yahoo.com/'],
    ['Yahoo Japan', 'organic_search', '/', 'https://search.yahoo.co.jp/'],
    ['Baidu', 'organic_search', '/', 'https://www.baidu.com/link?url=abc'],
    ['Yandex', 'organic_search', '/', 'https://yandex.ru/'],
    ['Yandex at ya.ru', 'organic_search', '/', 'https://ya.ru/'],
    ['Yandex Turkey', 'organic_search', '/', 'https://yandex.com.tr/'],
    ['Naver', 'organic_search', '/', 'https://m.search.naver.com/'],
    ['the Google app on Android', 'organic_search', '/', 'android-app://com.google.android.googlequicksearchbox/'],
    // Google's other products are no search engine
    ['Google Docs', 'referral', '/', 'https://docs.google.com/'],
    ['Google Calendar', 'referral', '/', 'https://calendar.google.com/'],
    ['the Google Docs app on Android', 'referral', '/', 'android-app://com.google.android.apps.docs/'],
    // Android apps as referrers
    ['the Gmail app on Android', 'email', '/', 'android-app://com.google.android.gm/'],
    ['the Outlook app on Android', 'email', '/', 'android-app://com.microsoft.office.outlook/'],
    ['the LinkedIn app on Android', 'organic_social', '/', 'android-app://com.linkedin.android/'],
    ['the Facebook app on Android', 'organic_social', '/', 'android-app://com.facebook.katana/'],
    ['the YouTube app on Android', 'organic_social', '/', 'android-app://com.google.android.youtube/'],
    ['the Slack app on Android', 'referral', '/', 'android-app://com.Slack/'],
    // social networks
    ['LinkedIn lnkd.in', 'organic_social', '/', 'https://lnkd.in/'],
    ['X t.co', 'organic_social', '/', 'https://t.co/'],
    ['Facebook l.facebook.com', 'organic_social', '/', 'https://l.facebook.com/'],
    ['Facebook lm.facebook.com', 'organic_social', '/', 'https://lm.facebook.com/'],
    ['Instagram', 'organic_social', '/', 'https://l.instagram.com/'],
    ['Reddit', 'organic_social', '/', 'https://out.reddit.com/'],
    ['YouTube', 'organic_social', '/', 'https://m.youtube.com/'],
    ['TikTok', 'organic_social', '/', 'https://www.tiktok.com/'],
    // webmail
    ['Gmail', 'email', '/', 'https://mail.google.com/'],
    ['Outlook.com', 'email', '/', 'https://outlook.live.com/'],
    ['Outlook on Microsoft 365', 'email', '/', 'https://outlook.office365.com/'],
    ['the new Outlook on the web', 'email', '/', 'https://outlook.cloud.microsoft/'],
    ['Proton Mail', 'email', '/', 'https://mail.proton.me/'],
    ['an Outlook Safe Links page', 'email', '/', 'https://nam12.safelinks.protection.outlook.com/'],
    // AI assistants: a referral, whether the app sent its referrer or only its utm_source
    ['ChatGPT with its referrer', 'referral', '/?utm_source=chatgpt.com', 'https://chatgpt.com/'],
    ['ChatGPT without a referrer (its app)', 'referral', '/?utm_source=chatgpt.com', undefined],
    ['Copilot', 'referral', '/', 'https://copilot.microsoft.com/'],
    ['Gemini', 'referral', '/', 'https://gemini.google.com/'],
    ['Claude', 'referral', '/', 'https://claude.ai/'],
    // a utm_source written as a host is matched like a referrer host
    ['utm_source=bing.com', 'organic_search', '/?utm_source=bing.com', undefined],
    ['utm_source=linkedin.com', 'organic_social', '/?utm_source=linkedin.com', undefined],
    ['utm_source=LinkedIn', 'organic_social', '/?utm_source=LinkedIn', undefined],
    // ad click ids
    ['Google Ads gclid', 'paid_search', '/?gclid=Cj0KCQ', 'https://www.google.com/'],
    ['Google Ads gbraid (iOS)', 'paid_search', '/?gbraid=0AAAAADk', 'https://www.google.com/'],
    ['Google Ads wbraid (iOS web)', 'paid_search', '/?wbraid=CkQKCQ', undefined],
    ['Microsoft Ads msclkid', 'paid_search', '/?msclkid=8a7f', 'https://www.bing.com/'],
    ['LinkedIn Ads li_fat_id', 'paid_social', '/?li_fat_id=1b2c', undefined],
    ['TikTok Ads ttclid', 'paid_social', '/?ttclid=E.C.P', undefined],
    // Meta adds fbclid to every outbound link, organic posts included: it proves the network, not an ad
    ['an organic Facebook post (fbclid)', 'organic_social', '/?fbclid=IwAR0x', 'https://l.facebook.com/'],
    ['an Instagram in-app click without referrer (fbclid)', 'organic_social', '/?fbclid=PAZXh0', undefined],
    ['a Meta ad (fbclid and a paid medium)', 'paid_social', '/?fbclid=IwAR0x&utm_source=facebook&utm_medium=paid_social', 'https://l.facebook.com/'],
    // utm_medium as GA4's default channel group reads it, in any case, spacing and encoding
    ['google / cpc', 'paid_search', '/?utm_source=google&utm_medium=cpc', undefined],
    ['bing / ppc', 'paid_search', '/?utm_source=bing&utm_medium=ppc', undefined],
    ['google / paidsearch', 'paid_search', '/?utm_source=google&utm_medium=paidsearch', undefined],
    ['google / paid_ads', 'paid_search', '/?utm_source=google&utm_medium=paid_ads', undefined],
    ['google / CPM', 'paid_search', '/?utm_source=google&utm_medium=CPM', undefined],
    ['linkedin / paid_social', 'paid_social', '/?utm_source=linkedin&utm_medium=paid_social', undefined],
    ['LinkedIn / Paid Social (+ for the space)', 'paid_social', '/?utm_source=LinkedIn&utm_medium=Paid+Social', undefined],
    ['linkedin / paid social (%20)', 'paid_social', '/?utm_source=linkedin&utm_medium=paid%20social', undefined],
    ['linkedin / Paid+Social encoded twice (%2B)', 'paid_social', '/?utm_source=linkedin&utm_medium=Paid%2BSocial', undefined],
    ['meta / cpc', 'paid_social', '/?utm_source=meta&utm_medium=cpc', undefined],
    ['facebook / retargeting', 'paid_social', '/?utm_source=facebook&utm_medium=retargeting', undefined],
    ['linkedin / organic', 'organic_social', '/?utm_source=linkedin&utm_medium=organic', undefined],
    ['x / social', 'organic_social', '/?utm_source=x&utm_medium=social', undefined],
    ['reddit / sm', 'organic_social', '/?utm_source=reddit&utm_medium=sm', undefined],
    ['hubspot / email', 'email', '/?utm_source=hubspot&utm_medium=email', undefined],
    ['hubspot / E-Mail', 'email', '/?utm_source=hubspot&utm_medium=E-Mail', undefined],
    ['hubspot / e_mail', 'email', '/?utm_source=hubspot&utm_medium=e_mail', undefined],
    ['hubspot / e mail', 'email', '/?utm_source=hubspot&utm_medium=e%20mail', undefined],
    ['substack / newsletter', 'email', '/?utm_source=substack&utm_medium=newsletter', undefined],
    ['gdn / display', 'display', '/?utm_source=gdn&utm_medium=display', undefined],
    ['adroll / banner', 'display', '/?utm_source=adroll&utm_medium=banner', undefined],
    ['adroll / cpm', 'display', '/?utm_source=adroll&utm_medium=cpm', undefined],
    ['partnerstack / affiliate', 'affiliate', '/?utm_source=partnerstack&utm_medium=affiliate', undefined],
    ['g2 / referral', 'referral', '/?utm_source=g2&utm_medium=referral', undefined],
    ['podcast / audio', 'other', '/?utm_source=podcast&utm_medium=audio', undefined],
    // no campaign, no referrer
    ['a typed address', 'direct', '/', undefined],
  ] as Array<[string, string, string, string | undefined]>)('%s → %s', async (_what, channel, path, ref) => {
    const app = await makeIngestApp({ domain: 'example.com' });
    expect((await land(app, SITE + path, ref)).channel).toBe(channel);
  });

  test('UTM values are stored as the visitor saw them: case, spaces from + and %20, percent-encoded unicode', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const row = await land(app, SITE + '/?utm_source=LinkedIn&utm_medium=Paid+Social&utm_campaign=Q1%20Launch%20%E2%9C%93&utm_term=b2b+crm&utm_content=Video%2FA', 'https://www.linkedin.com/');
    expect(row).toMatchObject({ channel: 'paid_social', utm_source: 'LinkedIn', utm_medium: 'Paid Social', utm_campaign: 'Q1 Launch ✓', utm_term: 'b2b crm', utm_content: 'Video/A' });
  });

  test('the click id kind is stored with the session', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    expect((await land(app, SITE + '/?gclid=abc')).click_id).toBe('gclid');
    expect((await land(app, SITE + '/?li_fat_id=abc')).click_id).toBe('li_fat_id');
  });
});

describe('sites named with www., a port or an IDN', () => {
  test('its own pages, the apex and other subdomains are one site: admitted, and moving between them is no referral', async () => {
    const app = await makeIngestApp({ domain: 'www.example.com' });
    expect((await land(app, 'https://www.example.com/pricing', 'https://www.example.com/')).channel).toBe('direct');
    expect((await land(app, 'https://example.com/pricing', 'https://blog.example.com/post')).channel).toBe('direct');
    expect((await land(app, 'https://www.example.com/', 'https://partner.io/')).channel).toBe('referral');
    const evil = await app.post(makeBatch(app.site.siteKey), { origin: 'https://evilexample.com' });
    expect(evil.status).toBe(403);
    // the preflight admits the apex too
    const preflight = await app.app.request('/e', { method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://example.com');
  });

  test('a site named with a port is its host; an IDN site is matched in its ASCII form', async () => {
    const port = await makeIngestApp({ domain: 'https://example.com:8443/' });
    expect(port.site.domain).toBe('example.com');
    expect((await land(port, 'https://example.com:8443/x', 'https://example.com:8443/')).channel).toBe('direct');
    const idn = await makeIngestApp({ domain: 'xn--bcher-kva.de' });
    // a browser sends an IDN origin and referrer in ASCII (punycode)
    expect((await land(idn, 'https://shop.bücher.de/', 'https://bücher.de/')).channel).toBe('direct');
  });
});

/** User agents of 2026 and what a reader of a browser/OS/device report expects of them. */
const BROWSERS: Array<[string, string, string, string, string]> = [
  ['Chrome on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36', 'Chrome', 'Windows', 'desktop'],
  ['Edge on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0', 'Edge', 'Windows', 'desktop'],
  ['Safari on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15', 'Safari', 'Mac OS', 'desktop'],
  ['Firefox on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0', 'Firefox', 'Windows', 'desktop'],
  ['Safari on iPhone (iOS 26 reports 18_6)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1', 'Mobile Safari', 'iOS', 'mobile'],
  ['Chrome on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0.7444.77 Mobile/15E148 Safari/604.1', 'Chrome', 'iOS', 'mobile'],
  ['Safari on iPad', 'Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1', 'Mobile Safari', 'iOS', 'tablet'],
  // an iPad in desktop mode (the default since iPadOS 13) sends the Mac's user agent: no server can tell them apart
  ['Safari on iPad in desktop mode', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15', 'Safari', 'Mac OS', 'desktop'],
  ['Chrome on an Android phone (reduced UA)', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android', 'mobile'],
  ['Chrome on an Android tablet (reduced UA)', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36', 'Chrome', 'Android', 'tablet'],
  ['Samsung Internet on a phone', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36', 'Samsung Internet', 'Android', 'mobile'],
  ['Samsung Internet on a tablet', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Safari/537.36', 'Samsung Internet', 'Android', 'tablet'],
  ['the LinkedIn app on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.31.1234', 'LinkedIn', 'iOS', 'mobile'],
  ['the Facebook app on Android', 'Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/128.0.6613.127 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/480.0.0.37.71;]', 'Facebook', 'Android', 'mobile'],
  ['the Instagram app on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 350.0.0.30.94 (iPhone15,3; iOS 18_5; en_US; en; scale=3.00; 1290x2796; 123456789)', 'Instagram', 'iOS', 'mobile'],
];

const BOTS: Array<[string, string]> = [
  ['Googlebot smartphone', 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.7444.59 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
  ['Bingbot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36'],
  ['GPTBot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot'],
  ['ChatGPT-User', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot'],
  ['ClaudeBot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)'],
  ['PerplexityBot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)'],
  ['HeadlessChrome', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/142.0.0.0 Safari/537.36'],
  ['Lighthouse (PageSpeed Insights)', 'Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse'],
  ['UptimeRobot', 'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)'],
  ['Pingdom', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 PingdomPageSpeed/1.0 (pingbot/2.0; +http://www.pingdom.com/)'],
  ['Datadog Synthetics', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 DatadogSynthetics'],
  ['Slackbot', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'],
  ['LinkedInBot', 'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)'],
  ['facebookexternalhit', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)'],
  ['no user agent at all', ''],
];

describe('user agents of 2026', () => {
  test.each(BROWSERS)('%s is stored as its browser, OS and device, and is a visitor', async (_what, ua, browser, os, device) => {
    const app = await makeIngestApp({ domain: 'example.com' });
    expect(await land(app, SITE + '/', undefined, ua)).toMatchObject({ browser, os, device, is_bot: 0 });
  });

  test.each(BOTS)('%s is stored flagged as a bot, on the event and the visitor, and never becomes a lead', async (_what, ua) => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const batch = makeBatch(app.site.siteKey, {}, [{ t: Date.now(), u: SITE + '/pricing' }]);
    expect((await app.post(batch, { origin: SITE, 'user-agent': ua })).status).toBe(202);
    const event = await app.db.get<{ is_bot: number }>('SELECT is_bot FROM events WHERE event_id = ?', [batch.e[0].i]);
    const visitor = await app.db.get<{ is_bot: number; lead_id: string | null }>('SELECT is_bot, lead_id FROM visitors WHERE visitor_id = ?', [batch.v]);
    expect([Number(event!.is_bot), Number(visitor!.is_bot), visitor!.lead_id]).toEqual([1, 1, null]);
    expect(Number((await app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM leads'))!.n)).toBe(0);
  });

  test('a user agent as long as a header may be is parsed as the browser it names', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const huge = BROWSERS[0][1] + ' x'.repeat(4000);
    expect(await land(app, SITE + '/', undefined, huge)).toMatchObject({ browser: 'Chrome', os: 'Windows', is_bot: 0 });
  });
});

describe('limits, each crossed by one', () => {
  const app = () => makeIngestApp({ domain: 'example.com' });
  const post = (a: App, body: object | string) => a.post(body as never, { origin: SITE });
  const at = () => Date.now();

  test('ids: 8 to 64 characters pass, 7 and 65 are refused with the rule', async () => {
    const a = await app();
    const ok = await post(a, makeBatch(a.site.siteKey, { v: 'v'.repeat(64) }, [{ i: 'i'.repeat(8), t: at() }, { i: 'j'.repeat(64), t: at() }]));
    expect(await ok.json()).toEqual({ accepted: 2, duplicates: 0 });
    const bad = await post(a, makeBatch(a.site.siteKey, {}, [{ i: 'i'.repeat(7), t: at() }, { i: 'k'.repeat(65), t: at() }, { t: at() }]));
    const body = await bad.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r: { index: number; message: string }) => [r.index, r.message.split(':')[0]])).toEqual([[0, 'e.0.i'], [1, 'e.1.i']]);
    const visitor = await post(a, makeBatch(a.site.siteKey, { v: 'v'.repeat(65) }, [{ t: at() }]));
    expect(visitor.status).toBe(400);
    expect((await visitor.json()).error).toMatchObject({ code: 'invalid_batch', message: expect.stringContaining('v:') });
  });

  test(`a batch of ${LIMITS.batchEvents} events passes, one more is refused whole`, async () => {
    const a = await app();
    const full = makeBatch(a.site.siteKey, {}, Array.from({ length: LIMITS.batchEvents }, () => ({ t: at() })));
    expect((await (await post(a, full)).json()).accepted).toBe(LIMITS.batchEvents);
    const over = await post(a, makeBatch(a.site.siteKey, {}, Array.from({ length: LIMITS.batchEvents + 1 }, () => ({ t: at() }))));
    expect(over.status).toBe(400);
    expect((await over.json()).error.code).toBe('too_many_events');
  });

  test('a body of exactly 64 KB passes; one byte more is a 413 kept in the rejected store', async () => {
    const a = await app();
    const exact = (extra: number) => {
      const b = makeBatch(a.site.siteKey, {}, [{ t: at(), p: { pad: '' } }]);
      const base = JSON.stringify(b).length;
      // padding spread over props texts under their own limit, then spaces to the byte
      const props: Record<string, string> = {};
      let left = LIMITS.bodyBytes + extra - base;
      for (let k = 0; left > 600; k++) {
        const key = `k${String(k).padStart(2, '0')}`;
        props[key] = 'x'.repeat(LIMITS.valueChars);
        left -= key.length + LIMITS.valueChars + 6;
      }
      b.e[0].p = { pad: '', ...props };
      const text = JSON.stringify(b);
      return text + ' '.repeat(LIMITS.bodyBytes + extra - Buffer.byteLength(text));
    };
    const ok = exact(0);
    expect(Buffer.byteLength(ok)).toBe(LIMITS.bodyBytes);
    expect((await post(a, ok)).status).toBe(202);
    const over = exact(1);
    expect(Buffer.byteLength(over)).toBe(LIMITS.bodyBytes + 1);
    const res = await post(a, over);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
    expect(Number((await a.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM rejected_events WHERE reason = 'payload_too_large'"))!.n)).toBe(1);
  });

  test('an email of 254 characters identifies; one of 255 is dropped from a form, and refuses an identify', async () => {
    const a = await app();
    const email = (n: number) => 'a'.repeat(64) + '@' + 'd'.repeat(n - 64 - 1 - 4) + '.com';
    expect(email(254)).toHaveLength(254);
    const ok = makeBatch(a.site.siteKey, {}, [{ n: 'identify', t: at(), em: email(254) }]);
    expect(await (await post(a, ok)).json()).toEqual({ accepted: 1, duplicates: 0 });
    const over = makeBatch(a.site.siteKey, {}, [{ n: 'form_submit', f: 'other', t: at(), em: email(255) }, { n: 'identify', t: at(), em: email(255) }]);
    const body = await (await post(a, over)).json();
    expect(body).toMatchObject({ accepted: 1, repaired: [{ index: 0, message: 'e.0.em: dropped (not an email address)' }], rejected: [{ index: 1 }] });
    const stored = await a.db.get<{ email: string | null }>('SELECT email FROM events WHERE event_id = ?', [over.e[0].i]);
    expect(stored!.email).toBeNull();
  });

  test(`the rejected store keeps the first ${LIMITS.rejectedRawBytes} characters of a refused body`, async () => {
    const a = await app();
    const text = '{"s":"' + a.site.siteKey + '","v":"' + 'x'.repeat(5000);
    expect((await post(a, text)).status).toBe(400);
    const row = await a.db.get<{ raw: string }>("SELECT raw FROM rejected_events WHERE reason = 'invalid_json'");
    expect(row!.raw).toBe(text.slice(0, LIMITS.rejectedRawBytes) + '…');
  });

  test('a prop key of 64 characters is kept, one of 65 is dropped and explained; the event is stored', async () => {
    const a = await app();
    const b = makeBatch(a.site.siteKey, {}, [{ n: 'cta', t: at(), p: { ['k'.repeat(64)]: 1, ['l'.repeat(65)]: 2 } }]);
    const res = await post(a, b);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.repaired[0].message).toContain('dropped');
    const row = await a.db.get<{ props: string }>('SELECT props FROM events WHERE event_id = ?', [b.e[0].i]);
    expect(JSON.parse(row!.props)).toEqual({ ['k'.repeat(64)]: 1 });
  });
});

describe('odd values sent as the wrong kind', () => {
  test('a time sent as text, NaN-ish or too large to be a number refuses that event alone, with its path, and keeps it', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const good = { i: 'good' + randomId(), n: 'pageview', t: Date.now(), u: SITE + '/' };
    const text = `{"s":"${app.site.siteKey}","v":"v_${randomId()}","e":[${JSON.stringify(good)},` +
      `{"i":"str${randomId()}","n":"pageview","t":"${Date.now()}","u":"${SITE}/"},` +
      `{"i":"nan${randomId()}","n":"pageview","t":"NaN","u":"${SITE}/"},` +
      `{"i":"inf${randomId()}","n":"pageview","t":1e400,"u":"${SITE}/"}]}`;
    const res = await app.post(text, { origin: SITE });
    const body = await res.json();
    expect(res.status).toBe(202);
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r: { index: number; message: string }) => [r.index, r.message.split(':')[0]])).toEqual([[1, 'e.1.t'], [2, 'e.2.t'], [3, 'e.3.t']]);
    expect(Number((await app.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM rejected_events WHERE reason = 'invalid_event'"))!.n)).toBe(3);
  });
});

describe('a batch stamp on another clock than its events', () => {
  // a server client that writes the batch's `t` in unix seconds, or as 0, while its events carry milliseconds: no event
  // is made after its batch was sent, so such a stamp is not the events' clock and is ignored (times taken as sent)
  test.each([
    ['in unix seconds', (now: number) => Math.floor(now / 1000)],
    ['as 0', () => 0],
    ['a day behind the events', (now: number) => now - 86_400_000],
  ])('a stamp %s leaves the events at the times they carry', async (_what, stamp) => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const now = Date.now();
    const batch = makeBatch(app.site.siteKey, { t: stamp(now) }, [{ t: now - 60_000, u: SITE + '/a' }, { t: now - 1000, u: SITE + '/b' }]);
    const res = await app.post(batch, { origin: SITE });
    expect(res.status, await res.clone().text()).toBe(202);
    const rows = await app.db.all<{ at: number }>('SELECT at FROM events WHERE visitor_id = ? ORDER BY at', [batch.v]);
    expect(rows.map((r) => Number(r.at))).toEqual([now - 60_000, now - 1000]);
  });

  test('a device clock a day behind, stamping its events and its batch alike, is still corrected', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const now = Date.now();
    const behind = now - 86_400_000;
    const batch = makeBatch(app.site.siteKey, { t: behind }, [{ t: behind - 60_000, u: SITE + '/a' }]);
    expect((await app.post(batch, { origin: SITE })).status).toBe(202);
    const row = await app.db.get<{ at: number }>('SELECT at FROM events WHERE visitor_id = ?', [batch.v]);
    expect(Math.abs(Number(row!.at) - (now - 60_000))).toBeLessThan(5_000);
  });
});

describe('credentials in an address', () => {
  test('a page URL and landing URL with user:password@ are stored without the password', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const url = 'https://ann:hunter2@staging.example.com/pricing?utm_source=x';
    const t = Date.now();
    const st = { url, at: t, utm_source: 'x' };
    const batch = makeBatch(app.site.siteKey, {}, [{ t, u: url, st, ft: st }]);
    expect((await app.post(batch, { origin: 'https://staging.example.com' })).status).toBe(202);
    const row = await app.db.get<{ url: string; path: string; first_touch: string }>('SELECT url, path, first_touch FROM events WHERE event_id = ?', [batch.e[0].i]);
    expect(row).toMatchObject({ url: 'https://ann:[redacted]@staging.example.com/pricing?utm_source=x', path: '/pricing' });
    expect(row!.first_touch).not.toContain('hunter2');
  });
});

describe('optional parts written as null or another kind by clients in other languages', () => {
  test('a referrer of null or a number is dropped and explained; the event is stored', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const batch = makeBatch(app.site.siteKey, {}, [{ t: Date.now(), u: SITE + '/a', r: null as never }, { t: Date.now(), u: SITE + '/b', r: 42 as never }]);
    const res = await app.post(batch, { origin: SITE });
    expect(res.status, await res.clone().text()).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(2);
    expect(body.repaired.map((r: { index: number; message: string }) => [r.index, r.message])).toEqual([
      [0, 'e.0.r: dropped (not a text)'],
      [1, 'e.1.r: dropped (not a text)'],
    ]);
    const rows = await app.db.all<{ referrer: string }>('SELECT referrer FROM events WHERE visitor_id = ?', [batch.v]);
    expect(rows.map((r) => r.referrer)).toEqual(['', '']);
  });
});

describe('what /metrics and the rejected store say after odd traffic', () => {
  test('each refusal and repair is counted by reason and kept with its site; good events are counted once', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const now = Date.now();
    const batch = makeBatch(app.site.siteKey, {}, [
      { t: now, u: SITE + '/', r: null as never },
      { t: 'soon' as never, u: SITE + '/' },
      { t: now, u: SITE + '/', p: { nested: { a: 1 } } as never },
      { t: now, u: SITE + '/', p: { long: 'x'.repeat(LIMITS.valueChars + 1) } },
    ]);
    const clean = makeBatch(app.site.siteKey, {}, [{ t: now, u: SITE + '/' }]);
    for (const body of [batch, clean, clean]) expect((await app.post(body, { origin: SITE })).status).toBe(202);
    expect((await app.post('{"s":', { origin: SITE })).status).toBe(400);
    expect((await app.post(makeBatch(app.site.siteKey), { origin: 'https://example.com.evil.com' })).status).toBe(403);
    const metrics = await (await app.app.request('/metrics')).text();
    const value = (line: string) => Number(metrics.split('\n').find((l) => l.startsWith(line + ' '))?.slice(line.length + 1));
    expect({
      accepted: value('funnelbeam_events_accepted_total'),
      duplicates: value('funnelbeam_events_duplicate_total'),
      invalidEvent: value('funnelbeam_events_rejected_total{reason="invalid_event"}'),
      invalidField: value('funnelbeam_events_rejected_total{reason="invalid_field"}'),
      invalidJson: value('funnelbeam_events_rejected_total{reason="invalid_json"}'),
      origin: value('funnelbeam_events_rejected_total{reason="origin_not_allowed"}'),
      cors: value('funnelbeam_cors_refused_total'),
      repairedParts: value('funnelbeam_event_parts_repaired_total'),
    }).toEqual({ accepted: 4, duplicates: 1, invalidEvent: 1, invalidField: 2, invalidJson: 1, origin: 1, cors: 1, repairedParts: 3 });
    const kept = await app.db.all<{ reason: string; site_id: string }>('SELECT reason, site_id FROM rejected_events ORDER BY reason');
    expect(kept.map((r) => [r.reason, r.site_id === app.site.siteId])).toEqual([
      ['invalid_event', true],
      ['invalid_field', true], ['invalid_field', true],
      ['invalid_json', false],
      ['origin_not_allowed', true],
    ]);
    expect(Number((await app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n)).toBe(4);
  });
});
