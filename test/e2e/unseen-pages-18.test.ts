// Eighteenth round of pages the snippet had not seen, on engagement and the page's life: a long article read to the
// middle, the end and back to the top; the seconds of a single-page app split at a route, with the window losing focus
// to another window while it stays visible; a page restored from the back/forward cache two minutes after it was
// left. In headless Chromium (back/forward cache on) against the real collector; the expected values are worked out by
// hand from the contract (§2–§4) and the README before each run.
import { expect, test } from 'vitest';
import { loaded, named, pathOf as path, setHidden, snippetSites } from '../helpers/snippet-sites.js';

// one Chromium profile for the file with the back/forward cache on (Playwright turns it off by default)
const sites = snippetSites({ backForwardCache: true });
const { site, waitFor, settled } = sites;
const engagement = (rows: Parameters<typeof named>[0]) =>
  named(rows, 'engagement').map((r) => [path(r), (r.props as { seconds: number }).seconds, (r.props as { scroll: number }).scroll]);

// README: `engagement` carries `p: {seconds, scroll}`, scroll the deepest point reached ("max scroll %"). A visitor who
// reads to the middle, to the end, then scrolls back to the top to use the menu has seen 100% of the page.
test('a long article read to the middle, then to the end, then scrolled back to the top: its engagement reads 100% (the deepest point, not the last)', async () => {
  const s = await site({ '/post': { body: '<style>body { margin: 0 }</style><article style="height: 8000px">a long read</article>' } });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/post');
  await loaded(page);
  for (const y of [3640, 8000, 0]) {
    await page.evaluate((to) => scrollTo(0, to), y);
    await page.waitForFunction((to) => scrollY == Math.min(to, document.documentElement.scrollHeight - innerHeight), y);
    // (a scroll event is dispatched at the next frame)
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  await page.waitForTimeout(1_100);
  await setHidden(page, true);
  const rows = await waitFor(s, (r) => named(r, 'engagement').length >= 1);
  expect(named(rows, 'engagement').map((r) => (r.props as { scroll: number }).scroll)).toEqual([100]);
  await page.close();
});

// README: "Engaged seconds are the page's visible time", and each SPA view has its own engagement, sent "before the next
// SPA view". Another window taking the focus (a chat app, a second monitor's browser window) leaves the page visible:
// that time counts. So 5 s on /, a route to /guide, 7 s there, another window focused, 3 s more, the tab hidden:
// / gets 5 s, /guide 10 s.
test('an SPA visit split at a route, the window then losing focus to another window while it stays visible: 5 s for the first view, 10 s for the second (blurred time is visible time)', async () => {
  const s = await site({ '/': { body: '<h1>home</h1>' } });
  const page = await sites.browser.newPage();
  // the page's clock paused from before the load: only runFor moves it, so a slow machine's real seconds (a loaded CI
  // run took one between the load and the route) are not engaged time
  const t0 = Date.now();
  await page.clock.install({ time: t0 });
  await page.clock.pauseAt(t0 + 1_000);
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.clock.runFor(5_000);
  await page.evaluate(() => history.pushState({}, '', '/guide'));
  await page.clock.runFor(7_000);
  const other = await sites.browser.newPage();
  await other.bringToFront();
  await page.evaluate(() => dispatchEvent(new FocusEvent('blur')));
  await page.clock.runFor(3_000);
  await setHidden(page, true);
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => named(r, 'engagement').length >= 2);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map(path)).toEqual(['/', '/guide']);
  expect(engagement(rows).map(([p, sec]) => [p, sec])).toEqual([['/', 5], ['/guide', 10]]);
  await other.close();
  await page.close();
});

// Contract §3 / README: a view per back/forward cache restore; engaged seconds are visible time, so the two minutes the
// page spent in the cache (the visitor on /pricing) are /pricing's, not the restored page's. 3 s on /, 120 s on
// /pricing, back (restored), 4 s, hidden: views /, /pricing, /; engagement / 3, /pricing 120, / 4.
test('a page restored from the back/forward cache two minutes after it was left: a new view, and its engagement resumes with only the time seen after the restore', async () => {
  const s = await site({
    '/': { body: `<script>window.kept = true; const now = Date.now;
      // the two minutes spent in the cache, as the restored page's clock sees them (each document runs its own fake clock
      // here, which stood still while it was cached): set as the page resumes, before its pageshow
      addEventListener('resume', () => { window.jumped = true; Date.now = () => now.call(Date) + 120000 }, { capture: true })</script><a id="next" href="/pricing">pricing</a>` },
    '/pricing': { body: '<h1>pricing</h1>' },
  });
  const page = await sites.browser.newPage();
  await page.clock.install();
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.clock.runFor(3_000);
  const left = await page.evaluate(() => Date.now());
  await Promise.all([page.waitForURL('**/pricing'), page.click('#next')]);
  await loaded(page);
  await page.clock.runFor(120_000);
  // the fake clock also flows with real time (clock.install), so real seconds spent waiting below are visible seconds of
  // the restored page too: a loaded machine can add one; the 120 s spent in the cache must never be counted
  const restoredAt = Date.now();
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForURL(s.origin + '/', { waitUntil: 'commit' });
  // restored, not loaded again: the page's own state survived
  await expect.poll(() => page.evaluate(() => (window as { kept?: boolean }).kept ?? false)).toBe(true);
  await waitFor(s, (r) => named(r, 'pageview').length >= 3);
  expect((await page.evaluate(() => Date.now())) - left).toBeGreaterThanOrEqual(120_000);
  await page.clock.runFor(4_000);
  await setHidden(page, true);
  const realSeconds = Math.ceil((Date.now() - restoredAt) / 1000);
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => named(r, 'engagement').length >= 3);
  const rows = await settled(s);
  // (sorted: the collector places events by the device clock, and each document runs its own fake clock here, the
  // restored one still at the moment it was left)
  expect(named(rows, 'pageview').map(path).sort()).toEqual(['/', '/', '/pricing']);
  const seconds = engagement(rows);
  expect(seconds.filter(([p]) => p === '/pricing').map(([, sec]) => sec)).toEqual([120]);
  const home = seconds.filter(([p]) => p === '/').map(([, sec]) => Number(sec)).sort((a, b) => a - b);
  expect(home.length).toBe(2);
  expect(home[0]).toBe(3);
  const restored = home[1];
  expect(restored, `restored page's seconds (${realSeconds} s of real time passed)`).toBeGreaterThanOrEqual(4);
  expect(restored).toBeLessThanOrEqual(4 + realSeconds);
  await page.close();
});
