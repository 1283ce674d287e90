// Twenty-third round of pages the snippet had not seen: a first-party proxy that forwards a whole path of the site to
// the collector, the tag loaded through it without data-api; a consent banner answered on the second page of a visit, then
// the back button (the first page restored from the back/forward cache, still holding for consent), and a newsletter
// page of the site shown in a same-origin iframe whose tag a tag manager adds only once the iframe has loaded (GTM's
// "Window Loaded" trigger) or once the visitor touches it (WP Rocket's "Delay JavaScript execution"). In headless
// Chromium with the back/forward cache on, against the real collector; the expected events are worked out by hand from
// the contract (§2–§4) and the README before each run: what did the visitor do, and what must the collector store.
import { test, type ExpectStatic } from 'vitest';
import type { Page } from 'playwright-core';
import type { StoredRow } from '../helpers/browser.js';
import { STUB, collectorProxy, doc, file, loaded, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

// one Chromium profile for the file with the back/forward cache on (Playwright turns it off by default)
const sites = snippetSites({ backForwardCache: true });
const { serve, waitFor, settled, tagOf } = sites;

/** The stored events without engagement: name, path, email, in the order they happened. */
const stored = (rows: StoredRow[]) => noEngagement(rows).sort((a, b) => a.at - b.at).map((r) => [r.name, path(r), r.email]);

/** Back to the previous page, restored from the back/forward cache (its window state survived: no new load). */
async function backRestored(expect: ExpectStatic, page: Page, url: string) {
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForURL(url, { waitUntil: 'commit' });
  await expect.poll(() => page.evaluate(() => (window as { kept?: boolean }).kept ?? false)).toBe(true);
}

// A consent banner as CMPs draw it on every page until it is answered, wired as the README says (consent(true) when the
// visitor allows statistics, consent(false) only on an explicit refusal), with the decision kept in the CMP's own
// localStorage entry (as Usercentrics keeps it; a cookie written meanwhile would keep Chromium from restoring the test
// server's no-store pages): a page loaded after the answer hides the banner and calls consent(true) again (as
// CookiebotOnAccept runs at every load once statistics is allowed). A page given back by the back/forward cache is no
// load: its banner is as it was left, and nothing calls the snippet again.
const banner = `<div id="banner">We use cookies. <button id="allow">Allow all</button> <button id="deny">Deny</button></div>
  <script>
    var answer = function (yes) { localStorage.cmp = yes ? 1 : 0; document.getElementById('banner').hidden = true; funnelbeam('consent', yes); };
    document.getElementById('allow').onclick = function () { answer(true) };
    document.getElementById('deny').onclick = function () { answer(false) };
    if (localStorage.cmp == 1) answer(true); else if (localStorage.cmp == 0) document.getElementById('banner').hidden = true;
  </script>`;
const consentSite = () =>
  serve({
    '/': doc(`<script>${STUB}</script><script defer ${tagOf('data-consent="required"')}></script>`, `<h1>Funnel analytics</h1><a id="features" href="/features">Features</a> <a id="guide" href="/files/guide.pdf">The buyer's guide (PDF)</a>${banner}`, 'home'),
    '/features': doc(`<script>${STUB}</script><script defer ${tagOf('data-consent="required"')}></script>`, `<h1>Features</h1>${banner}`, 'features'),
    '/files/guide.pdf': file,
  });

// Contract §2: data-consent="required" holds events "until funnelbeam('consent', true)"; README: the decision is kept
// (it "persists") and what a page held is "sent once funnelbeam('consent', true) comes". The visitor lands on /, leaves
// the banner unanswered, goes on to /features, allows statistics there, goes back (/ restored from the back/forward
// cache, its banner still showing as it was left) and downloads the guide. Consent was given in this tab before the
// restore: the restored view and the download are stored, and so is the landing view / held in memory all along (the
// back/forward cache kept it: nothing of it was lost). Stored, in the order it happened: the landing view of /, the
// view of /features, the restored view of /, the download at /.
// With "Deny" on /features instead, nothing of / is ever stored, and neither is /features.
test.concurrent('a consent banner answered on the second page, then the back button: allowed, the first page\'s views and its download are stored; denied, nothing is', async ({ expect }) => {
  const visit = async (button: '#allow' | '#deny') => {
    const s = await consentSite();
    const page = await sites.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(s.origin + '/');
    await loaded(page);
    await page.evaluate(() => ((window as { kept?: boolean }).kept = true));
    await page.click('#features');
    await page.waitForURL('**/features');
    await loaded(page);
    await page.click(button);
    await backRestored(expect, page, s.origin + '/');
    await page.click('#guide');
    return { s, page, errors };
  };
  const allowed = await visit('#allow');
  await waitFor(allowed.s, (r) => r.some((e) => e.name == 'download'));
  expect(stored(await settled(allowed.s))).toEqual([
    ['pageview', '/', null],
    ['pageview', '/features', null],
    ['pageview', '/', null],
    ['download', '/', null],
  ]);
  expect(allowed.errors).toEqual([]);
  await allowed.page.close();

  const denied = await visit('#deny');
  expect(await settled(denied.s, 1_500)).toEqual([]);
  expect(denied.errors).toEqual([]);
  await denied.page.close();
});

// The site's newsletter box is a page of its own (/embed/newsletter), shown in a same-origin iframe on the blog. Its tag
// comes through a tag manager that adds it once the iframe has loaded (GTM's "Window Loaded" trigger: a script element
// made after the load event), or once the visitor first touches the iframe (WP Rocket's "Delay JavaScript execution":
// a key, a click, a touch loads the delayed scripts). README: "an iframe showing a page of the site that runs the
// snippet itself counts its own forms", and "a same-origin iframe that loads the snippet counts its own page view". The
// visitor reads the post, types an address into the box and subscribes (the box posts by fetch and thanks): one view of
// the post, one of the box, one newsletter_signup of the box with the address; not a second sign-up counted by the
// blog page's copy, which watched the iframe's document before the box's own copy ran.
test.concurrent('a newsletter page of the site in an iframe whose tag a tag manager adds after the iframe loaded, or at the visitor\'s first touch: one newsletter_signup, counted by the box\'s own copy', async ({ expect }) => {
  const injectTag = `var t = document.createElement('script'); t.src = ${JSON.stringify(sites.collector.url + '/s.js')}; t.dataset.site = ${JSON.stringify(sites.collector.site.siteKey)}; t.dataset.local = ''; document.head.appendChild(t);`;
  const triggers = {
    // GTM: the container's "Window Loaded" trigger fires a moment after the load event
    gtm: `addEventListener('load', function () { setTimeout(function () { ${injectTag} }, 200) });`,
    // WP Rocket: the delayed scripts load at the first interaction
    rocket: `var wake = function () { ['keydown', 'mousedown', 'touchstart'].forEach(function (n) { removeEventListener(n, wake, true) }); ${injectTag} }; ['keydown', 'mousedown', 'touchstart'].forEach(function (n) { addEventListener(n, wake, true) });`,
  };
  const box = (trigger: string) =>
    doc(
      `<script>${trigger}</script>`,
      `<form id="nl" data-funnelbeam="newsletter"><label>Get the weekly digest <input type="email" name="email" id="email" required></label><button id="go">Subscribe</button></form><p id="thanks" hidden>Thanks!</p>
      <script>document.getElementById('nl').addEventListener('submit', function (e) { e.preventDefault(); var f = this; fetch('/api/subscribe', { method: 'POST', body: new FormData(f) }).then(function () { f.hidden = true; document.getElementById('thanks').hidden = false; }); });</script>`,
      'newsletter box',
    );
  for (const trigger of ['gtm', 'rocket'] as const) {
    const s = await serve({
      '/blog/ten-funnel-metrics': doc(`<script defer ${tagOf()}></script>`, '<article><h1>Ten funnel metrics</h1><p>Text.</p></article><iframe id="box" src="/embed/newsletter" width="400" height="160"></iframe>', 'post'),
      '/embed/newsletter': box(triggers[trigger]),
      '/api/subscribe': (_req, res) => res.writeHead(204).end(),
    });
    const page = await sites.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(s.origin + '/blog/ten-funnel-metrics');
    await loaded(page);
    const frame = page.frame({ url: /\/embed\/newsletter$/ })!;
    await frame.waitForLoadState('load');
    await frame.click('#email');
    await frame.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
    await frame.fill('#email', 'nora@corp.example');
    await frame.click('#go');
    await frame.waitForSelector('#thanks', { state: 'visible' });
    await waitFor(s, (r) => r.some((e) => e.name == 'newsletter_signup'));
    const rows = await settled(s, 1_000);
    expect(stored(rows).filter(([name]) => name != 'pageview'), trigger).toEqual([['newsletter_signup', '/embed/newsletter', 'nora@corp.example']]);
    expect(stored(rows).filter(([name]) => name == 'pageview').map(([, p]) => p).sort(), trigger).toEqual(['/blog/ten-funnel-metrics', '/embed/newsletter']);
    expect(errors, trigger).toEqual([]);
    await page.close();
  }
});

// A first-party proxy as a reverse-proxy rule writes it: everything under /fb/ is forwarded to the collector's root
// (nginx `location /fb/ { proxy_pass https://collector.example.com/; }`, a Cloudflare Worker route), and the tag is
// loaded through it: <script defer src="/fb/s.js" data-site="…">. Contract §2: `data-api` is the "collector origin when
// it differs from the script's"; here the script comes from the site, the collector's address for it, so the tag needs
// no data-api (the same holds for a collector served under a path of a shared host, /funnelbeam/s.js). The visitor
// lands from a campaign, downloads the price list, goes on to /pricing, and the page then asks for the segments: a view
// of each page with the campaign and the download are stored, segments answers through the proxy with the presets the
// visitor is now in (README: `content_downloaders` for a download, `pricing_no_demo` for a view of /pricing without a
// demo request), and the site's own /e (its SPA fallback, which answers any path with the app's HTML) gets no beacon.
test.concurrent('a first-party proxy forwarding a whole path (/fb/ → the collector), the tag loaded through it without data-api: views, the download and segments go through the proxy', async ({ expect }) => {
  const proxy = collectorProxy(() => sites.collector.url);
  const tag = `src="/fb/s.js" data-site="${sites.collector.site.siteKey}" data-local`;
  const missed: string[] = [];
  const app = (title: string) => doc(`<script defer ${tag}></script>`, `<h1>${title}</h1><a id="prices" href="/files/price-list.pdf">Price list (PDF)</a> <a id="pricing" href="/pricing">Pricing</a>`, title);
  const s = await serve({
    '/files/price-list.pdf': file,
    '/pricing': app('Pricing'),
    // the proxy's path; the site's SPA fallback for any other path, which answers with the app's HTML and a 200
    '*': (req, res) => {
      if (req.url!.startsWith('/fb/')) return proxy(req, res);
      if (req.method == 'POST') missed.push(req.url!);
      res.writeHead(200, { 'content-type': 'text/html' }).end(app('Funnel analytics'));
    },
  });
  const page = await sites.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(s.origin + '/?utm_source=linkedin&utm_campaign=q4');
  await loaded(page);
  await page.click('#prices');
  await page.click('#pricing');
  await page.waitForURL('**/pricing');
  await loaded(page);
  await waitFor(s, (r) => r.filter((e) => e.name == 'pageview').length == 2 && r.some((e) => e.name == 'download'));
  const segments = await page.evaluate(() => new Promise<string[]>((r) => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('segments', r)));
  const rows = await settled(s);
  expect(noEngagement(rows).sort((a, b) => a.at - b.at).map((r) => [r.name, path(r), r.utm_source])).toEqual([
    ['pageview', '/?utm_source=linkedin&utm_campaign=q4', 'linkedin'],
    ['download', '/?utm_source=linkedin&utm_campaign=q4', 'linkedin'],
    ['pageview', '/pricing', 'linkedin'],
  ]);
  expect([...segments].sort()).toEqual(['content_downloaders', 'pricing_no_demo']);
  expect(missed).toEqual([]);
  expect(errors).toEqual([]);
  await page.close();
});
