// Chromium launched exactly as a tester following the contract would: headless, Playwright's default user agent
// ("HeadlessChrome"), pages tagged data-local, the collector on its own clock, sessions made with Playwright's fake
// clock (clock.fastForward moves the browser's clock alone). What the tester reads back through the API must be what
// the visitor did: the headless browser is no bot on a data-local page, and a 31-minute jump of its clock is a new
// session although the collector's clock moved a second.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { createKey } from '../../collector/admin.js';
import { htmlPage, startCollector, startSiteServer, type Collector, type SiteServer, CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.js';

let browser: BrowserContext;
let collector: Collector;
let site: SiteServer;
let key: string;

const page = (body: string) => htmlPage({ src: `${collector.url}/s.js`, site: collector.site.siteKey, body });

beforeAll(async () => {
  collector = await startCollector();
  key = (await createKey(collector.running.db, collector.site.siteId, ['leads:read'])).secret;
  site = await startSiteServer({
    '/': page('<a id="pricing" href="/pricing">Pricing</a>'),
    '/pricing': page('<h1>Pricing</h1><a id="newsletter" href="/newsletter">Newsletter</a>'),
    '/newsletter': page('<form data-funnelbeam="newsletter" action="/thanks"><input type="email" name="email" required><button>Join</button></form>'),
    '/thanks': page('<p>Thanks</p>'),
  });
  // the contract's launch, with nothing else: Playwright's own user agent
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'funnelbeam-blackbox-')), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await collector?.stop();
});

async function lead(ref: string) {
  const res = await fetch(`${collector.url}/api/leads/${encodeURIComponent(ref)}`, { headers: { authorization: `Bearer ${key}` } });
  return res.status === 200 ? ((await res.json()) as { stage: string; visitorIds: string[]; email: string | null }) : res.status;
}

test('a headless browser on data-local pages becomes a lead; a 31-minute jump of its clock opens a second session', async () => {
  await browser.clock.install();
  const tab = await browser.newPage();
  expect(await tab.evaluate(() => navigator.userAgent)).toContain('HeadlessChrome');
  await tab.goto(site.origin + '/?utm_source=newsletter&utm_medium=email&utm_campaign=launch');
  await Promise.all([tab.waitForURL('**/pricing'), tab.click('#pricing')]);
  // pricing seen in one session only: consideration
  let rows = await collector.waitForEvents((r) => r.filter((e) => e.path === '/pricing' && e.name === 'pageview').length === 1);
  expect(rows.every((r) => r.is_bot === 0)).toBe(true);
  const visitor = rows[0].visitor_id;
  await expect.poll(async () => ((await lead(visitor)) as { stage?: string }).stage, { timeout: 8000 }).toBe('consideration');

  // the tab stays open 31 minutes without an event (on the browser's clock only: the collector's moves a second), then
  // the visitor goes to pricing again: the engagement of the first pricing view (31 minutes on it) joins the first
  // session without extending it, and the view opens a second
  await browser.clock.fastForward('31:00');
  await tab.goto(site.origin + '/pricing');
  rows = await collector.waitForEvents((r) => r.filter((e) => e.path === '/pricing' && e.name === 'pageview').length === 2);
  const sessions = await collector.running.db.all<{ session_id: string }>(
    "SELECT DISTINCT session_id FROM events WHERE site_id = ? AND visitor_id = ? AND name = 'pageview'",
    [collector.site.siteId, visitor],
  );
  expect(sessions.length).toBe(2);
  // pricing seen in two sessions: intent
  await expect.poll(async () => ((await lead(visitor)) as { stage?: string }).stage, { timeout: 8000 }).toBe('intent');

  // the newsletter form identifies the visitor: the lead is found by email, on the same stage
  await Promise.all([tab.waitForURL('**/newsletter'), tab.click('#newsletter')]);
  await tab.fill('input[type=email]', 'Headless.Tester@Example.com');
  await Promise.all([tab.waitForURL('**/thanks*'), tab.click('button')]);
  await expect.poll(async () => ((await lead('Headless.Tester@Example.com')) as { visitorIds?: string[] }).visitorIds, { timeout: 8000 }).toEqual([visitor]);
  expect(((await lead('Headless.Tester@Example.com')) as { stage: string }).stage).toBe('intent');
});

