// Thirteenth round of pages the snippet had not seen: a landing page whose own Content-Security-Policy (a <meta
// http-equiv> with connect-src 'self', as a CMS security plugin writes it) blocks every request to the collector, then a
// page of the site without it; pages where another tool wrapped window.fetch and forgot to return its result (the
// request goes out, the caller gets undefined); and a product list that tracks an impression per item on a page whose
// fetch throws (an extension), in headless Chromium against the real collector. The expected events are worked out by
// hand from the contract (§2–§4) and the README before each run.
import { expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { doc, file, loaded, named, noEngagement, pathOf as path, setHidden, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf, watched } = sites;


test("a landing page whose own CSP (<meta http-equiv> connect-src 'self') blocks the collector, then a page without it: no error on the blocked page, and its view with the campaign, its download and its engagement are stored from the next page", async () => {
  // README, Transport: a network error keeps the events (a back-off of 2 s, remembered across pages); a beacon gets no
  // status, so its events stay in the outbox until a later answered send; the next page sends them
  const s = await serve({
    '/landing': doc(
      `<meta http-equiv="Content-Security-Policy" content="connect-src 'self'"><script defer ${tagOf()}></script>`,
      '<a id="pdf" href="/guide.pdf" download>Guide</a> <a id="next" href="/pricing">Pricing</a>',
      'landing',
    ),
    '/pricing': doc(`<script defer ${tagOf()}></script>`, '<p>Pricing</p>', 'pricing'),
    '/guide.pdf': file,
  });
  const a = await watched(s.origin + '/landing?utm_source=linkedin&utm_campaign=spring');
  await loaded(a.page);
  // the view's send was refused by the page's policy (the snippet then backs off)
  await a.page.waitForTimeout(600);
  await a.page.click('#pdf');
  await a.page.waitForTimeout(400);
  expect(a.errors).toEqual([]);
  await Promise.all([a.page.waitForURL('**/pricing'), a.page.click('#next')]);
  await loaded(a.page);
  const rows = await waitFor(s, (r) => named(r, 'pageview').length == 2 && r.some((e) => e.name == 'engagement' && path(e).startsWith('/landing')), 8000);
  expect(noEngagement(rows).map((r) => [r.name, path(r), r.utm_source, r.utm_campaign])).toEqual([
    ['pageview', '/landing?utm_source=linkedin&utm_campaign=spring', 'linkedin', 'spring'],
    ['download', '/landing?utm_source=linkedin&utm_campaign=spring', 'linkedin', 'spring'],
    ['pageview', '/pricing', 'linkedin', 'spring'],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

test('a fetch wrapper that forgets to return its result (the request goes out, the caller gets undefined) on every page: no error, and every view, custom event and engagement of a three-page visit is stored once', async () => {
  const WRAP = `<script>const f = window.fetch; window.fetch = function () { f.apply(this, arguments) };</script>`;
  const page = (title: string, body = '') => doc(`${WRAP}<script defer ${tagOf()}></script>`, body, title);
  const s = await serve({
    '/': page('home', '<a id="next" href="/features">Features</a>'),
    '/features': page('features', '<a id="next" href="/pricing">Pricing</a>'),
    '/pricing': page('pricing'),
  });
  const a = await watched(s.origin + '/');
  const fb = (name: string) => a.page.evaluate((n) => (window as unknown as { funnelbeam: (...x: unknown[]) => void }).funnelbeam('track', n), name);
  await loaded(a.page);
  await a.page.waitForTimeout(500);
  await fb('video_played');
  await a.page.waitForTimeout(500);
  await Promise.all([a.page.waitForURL('**/features'), a.page.click('#next')]);
  await loaded(a.page);
  await a.page.waitForTimeout(500);
  await fb('tab_switched');
  await a.page.waitForTimeout(500);
  await Promise.all([a.page.waitForURL('**/pricing'), a.page.click('#next')]);
  await loaded(a.page);
  await a.page.waitForTimeout(500);
  await fb('plan_toggled');
  await a.page.waitForTimeout(500);
  await setHidden(a.page, true);
  await waitFor(s, (r) => r.some((e) => e.name == 'plan_toggled') && named(r, 'engagement').length == 3, 8000);
  const rows = await settled(s);
  expect(noEngagement(rows).map((r) => [r.name, path(r)])).toEqual([
    ['pageview', '/'],
    ['video_played', '/'],
    ['pageview', '/features'],
    ['tab_switched', '/features'],
    ['pageview', '/pricing'],
    ['plan_toggled', '/pricing'],
  ]);
  expect(named(rows, 'engagement').map(path)).toEqual(['/', '/features', '/pricing']);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

test('a product list that tracks an impression per item (60 items) on a page whose fetch throws (an extension): every impression reaches the collector when the page is hidden', async () => {
  // README, Transport: when the page is hidden, the outbox goes by sendBeacon (at most 50 events a request)
  const s = await serve({
    '/': doc(
      `<script>window.fetch = () => { throw new TypeError('blocked by an extension') };</script><script defer ${tagOf()}></script>`,
      `<script>addEventListener('load', () => setTimeout(() => { for (let i = 1; i <= 60; i++) funnelbeam('track', 'product_impression', { item: i }) }, 200))</script>`,
      'products',
    ),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.waitForTimeout(800);
  await setHidden(a.page, true);
  await a.page.waitForTimeout(200);
  // shown and hidden again, as a visitor coming back and leaving does
  await setHidden(a.page, false);
  await a.page.waitForTimeout(300);
  await setHidden(a.page, true);
  const rows = await settled(s, 1500);
  expect(named(rows, 'product_impression').map((r) => (r.props as { item: number }).item)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  expect(named(rows, 'pageview').length).toBe(1);
  expect(a.errors).toEqual([]);
  await a.page.close();
});
