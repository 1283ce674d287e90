// Privacy in headless Chromium: consent granted and denied, Global Privacy Control. Requests are watched
// at the network level, so "nothing sent" means no request to the collector at all.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { htmlPage, launchChromium, startCollector, startSiteServer, type Collector, type SiteServer, type StoredRow } from '../helpers/browser.js';

let browser: BrowserContext;
let collector: Collector;
const servers: SiteServer[] = [];

beforeAll(async () => {
  [browser, collector] = await Promise.all([launchChromium(), startCollector()]);
});
afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  await collector?.stop();
});

const BODY = `<button id="accept" onclick="funnelbeam('consent', true)">accept</button>
  <button id="deny" onclick="funnelbeam('consent', false)">deny</button>
  <button id="cta" onclick="funnelbeam('track', 'cta_click', { where: 'hero' })">cta</button>
  <a id="pdf" href="/guide.pdf">guide</a> <a id="next" href="/next">next</a>
  <form data-funnelbeam="newsletter" onsubmit="event.preventDefault()"><input type="email" name="email" value="private@example.com"><button id="join">join</button></form>`;
const STUB = `<script>window.funnelbeam=window.funnelbeam||function(){(funnelbeam.q=funnelbeam.q||[]).push(arguments)};funnelbeam('track', 'queued_before_consent')</script>`;

async function site(attrs: string) {
  const page = htmlPage({ src: `${collector.url}/s.js`, site: collector.site.siteKey, attrs, head: STUB, body: BODY });
  const server = await startSiteServer({ '/': page, '/next': page, '/guide.pdf': (_q, res) => res.writeHead(204).end() });
  servers.push(server);
  return server;
}

/** Opens a page and records every request it makes to POST /e. */
async function open(server: SiteServer, init?: () => void): Promise<{ page: Page; beacons: string[] }> {
  const page = await browser.newPage();
  if (init) await page.addInitScript(init);
  const beacons: string[] = [];
  page.on('request', (r) => r.url() == `${collector.url}/e` && beacons.push(r.method()));
  await page.goto(server.origin + '/');
  return { page, beacons };
}

const stored = async (server: SiteServer) => (await collector.events()).filter((r: StoredRow) => r.url.startsWith(server.origin));

/** Does everything a visitor might: click, download, submit, navigate, leave. */
async function browse(page: Page) {
  await page.click('#cta');
  await page.click('#pdf');
  await page.click('#join');
  await Promise.all([page.waitForURL('**/next'), page.click('#next')]);
  await page.click('#cta');
  await page.waitForTimeout(600);
}

test('consent required: nothing is sent before consent; granting sends the held view and events and is remembered', async () => {
  const s = await site('data-consent="required"');
  const { page, beacons } = await open(s);
  await page.click('#cta');
  await page.waitForTimeout(600);
  expect(beacons).toEqual([]);
  await page.click('#accept');
  const rows = await collector.waitForEvents((all) => all.filter((r) => r.url.startsWith(s.origin)).length >= 3);
  // held events leave together and often share a millisecond, so their stored order is not theirs: compare as sets
  const names = (list: StoredRow[]) => list.map((r) => r.name).sort();
  expect(names(rows.filter((r) => r.url.startsWith(s.origin)))).toEqual(['cta_click', 'pageview', 'queued_before_consent']);
  await Promise.all([page.waitForURL('**/next'), page.click('#next')]);
  const next = await collector.waitForEvents((all) => all.some((r) => r.url == s.origin + '/next' && r.name == 'queued_before_consent'));
  expect(names(next.filter((r) => r.url == s.origin + '/next'))).toEqual(['pageview', 'queued_before_consent']);
  await page.close();
});

test('consent denied: nothing is ever sent, on this page or the next', async () => {
  const s = await site('data-consent="required"');
  const { page, beacons } = await open(s);
  await page.click('#deny');
  await browse(page);
  await page.close();
  expect(beacons).toEqual([]);
  expect(await stored(s)).toEqual([]);
});

test('Global Privacy Control on: nothing is sent, whatever the visitor does, even after consent', async () => {
  const s = await site('');
  const { page, beacons } = await open(s, () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  expect(await page.evaluate(() => (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl)).toBe(true);
  await page.click('#accept');
  await browse(page);
  await page.close();
  expect(beacons).toEqual([]);
  expect(await stored(s)).toEqual([]);
  // the same site without the signal does send
  const control = await open(s);
  await collector.waitForEvents((all) => all.some((r) => r.url.startsWith(s.origin)));
  await control.page.close();
});
