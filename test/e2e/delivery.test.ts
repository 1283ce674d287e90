// Delivery in headless Chromium: events made while the collector is down arrive once it is back, once each.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { buildSnippet } from '../../scripts/build-snippet.js';
import { htmlPage, launchChromium, startCollector, startSiteServer, type Collector, type SiteServer } from '../helpers/browser.js';

let browser: BrowserContext;
let collector: Collector;
let server: SiteServer;

beforeAll(async () => {
  [browser, collector] = await Promise.all([launchChromium(), startCollector()]);
  const { code } = await buildSnippet();
  // the snippet comes from the site itself (data-api names the collector), so it loads while the collector is down
  const page = (body: string) => htmlPage({ src: '/s.js', site: collector.site.siteKey, attrs: `data-api="${collector.url}"`, body });
  server = await startSiteServer({
    '/s.js': (_req, res) => res.writeHead(200, { 'content-type': 'application/javascript' }).end(code),
    '/': page(`<button id="cta" onclick="funnelbeam('track', 'offline_cta')">cta</button><a id="next" href="/second">next</a>`),
    '/second': page('<a id="next" href="/third">next</a>'),
    '/third': page('third'),
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await collector?.stop();
});

test('collector down then back: events kept in the browser arrive later, each stored once', async () => {
  await collector.stop();
  const page = await browser.newPage();
  const failed: string[] = [];
  page.on('requestfailed', (r) => r.url().endsWith('/e') && failed.push(r.url()));
  await page.goto(server.origin + '/');
  await page.click('#cta');
  await Promise.all([page.waitForURL('**/second'), page.click('#next')]);
  // a send was tried and refused (after the 300 ms batching moment, or the 2 s backoff if '/' already tried);
  // vitest's default 1 s poll is too short on a loaded CI machine
  await expect.poll(() => failed.length, { timeout: 15_000 }).toBeGreaterThan(0);
  // engagement events depend on how long each page was visible: compared apart from the rest
  const visits = (names: string[]) => names.filter((n) => n != 'engagement');
  const kept = await page.evaluate(() => JSON.parse(localStorage._fb).q.map((e: { n: string }) => e.n));
  expect(visits(kept)).toEqual(['pageview', 'offline_cta', 'pageview']);

  await collector.restart();
  await Promise.all([page.waitForURL('**/third'), page.click('#next')]);
  await collector.waitForEvents((r) => r.some((e) => e.url.endsWith('/third')), 15_000);
  await expect.poll(() => page.evaluate(() => JSON.parse(localStorage._fb).q.length), { timeout: 15_000 }).toBe(0);
  const all = await collector.events();
  expect(all.filter((r) => r.name != 'engagement').map((r) => [r.name, r.url.replace(server.origin, '')])).toEqual([
    ['pageview', '/'],
    ['offline_cta', '/'],
    ['pageview', '/second'],
    ['pageview', '/third'],
  ]);
  // every event the browser made while the collector was down is stored, and only once
  const ids = all.map((r) => r.event_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(all.filter((r) => r.name != 'engagement')).toHaveLength(4);
  await page.close();
});
