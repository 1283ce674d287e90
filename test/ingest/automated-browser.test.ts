// A page whose tag has data-local asks for automated browsers to be tracked (development and tests: contract §2). The
// snippet says so on the batch (`l`), and the collector then counts a headless browser as the visitor it is, while
// a crawler stays a bot. Without data-local a headless browser is a bot, as before.
import { afterEach, describe, expect, test } from 'vitest';
import { forLocalPage, parseUserAgent } from '../../collector/ingest/user-agent.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { BOT_UA, CHROME_UA, randomId } from '../helpers/factories.js';

/** what Debian's Chromium says when Playwright launches it headless (checked with /usr/bin/chromium 156) */
const HEADLESS_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36';

describe('parseUserAgent and forLocalPage', () => {
  test('a headless browser is a bot only for its headless marker; a crawler is a bot for what it is', () => {
    expect(parseUserAgent(HEADLESS_UA)).toMatchObject({ browser: 'Chrome Headless', isBot: true, headless: true });
    expect(parseUserAgent(BOT_UA)).toMatchObject({ isBot: true, headless: false });
    expect(parseUserAgent(CHROME_UA)).toMatchObject({ isBot: false, headless: false });
  });

  test('on a data-local page the headless browser is no bot; the crawler still is; elsewhere nothing changes', () => {
    expect(forLocalPage(parseUserAgent(HEADLESS_UA), true).isBot).toBe(false);
    expect(forLocalPage(parseUserAgent(HEADLESS_UA), false).isBot).toBe(true);
    expect(forLocalPage(parseUserAgent(BOT_UA), true).isBot).toBe(true);
    expect(forLocalPage(parseUserAgent(CHROME_UA), true).isBot).toBe(false);
  });
});

describe('POST /e from automated browsers', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function send(userAgent: string, local: boolean) {
    const j = await makeJourneyApp();
    close = () => j.db.close();
    const v = 'v_' + randomId();
    const body = { s: j.site.siteKey, v, e: [{ i: randomId(), n: 'pageview', t: j.clock.now, u: 'http://127.0.0.1/pricing' }], ...(local ? { l: '' } : {}) };
    const res = await j.app.request('/e', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': userAgent },
    });
    expect(res.status).toBe(202);
    const event = await j.db.get<{ is_bot: number }>('SELECT is_bot FROM events WHERE site_id = ? AND visitor_id = ?', [j.site.siteId, v]);
    const visitor = await j.db.get<{ is_bot: number }>('SELECT is_bot FROM visitors WHERE site_id = ? AND visitor_id = ?', [j.site.siteId, v]);
    const lead = await j.app.request(`/api/leads/${v}`, { headers: j.auth });
    return { event: Number(event!.is_bot), visitor: Number(visitor!.is_bot), lead: lead.status === 200 ? ((await lead.json()) as { stage: string }) : lead.status };
  }

  test('headless Chromium on a data-local page is a visitor: no bot flag, a lead on its stage', async () => {
    expect(await send(HEADLESS_UA, true)).toEqual({ event: 0, visitor: 0, lead: expect.objectContaining({ stage: 'consideration' }) });
  });

  test('headless Chromium without data-local stays a bot: flagged, no lead', async () => {
    expect(await send(HEADLESS_UA, false)).toEqual({ event: 1, visitor: 1, lead: 404 });
  });

  test('a crawler stays a bot on a data-local page', async () => {
    expect(await send(BOT_UA, true)).toEqual({ event: 1, visitor: 1, lead: 404 });
  });
});
