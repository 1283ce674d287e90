// An outside judge of the snippet's transport at the edges of a page's life (contract §4: batched, sendBeacon falling
// back to fetch keepalive, unsent events kept for the next page; README "Transport") in real Chromium against the real
// collector: what the page tracks in its own pagehide listener as the visitor leaves the site or closes the tab, a site
// whose Content-Security-Policy blocks the collector on one page, and two tabs writing the shared outbox at its cap
// while the collector is down. The expected results are worked out by hand from the README before each run.
import { expect, test } from 'vitest';
import type { ServerResponse } from 'node:http';
import type { Page } from 'playwright-core';
import { STUB, collectorProxy, doc, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';
import { plannedProxy } from './transport-proxy.js';

const sites = snippetSites();
const { site, serve, waitFor, settled, tagOf } = sites;

const watch = (page: Page) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
};
const html = (body: string) => (_q: unknown, res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end(body);

// A page's own end-of-visit report, sent from pagehide (what web-vitals and many analytics wrappers listen to, and what
// MDN recommends over unload). README: what is tracked as the page turns hidden leaves with the hide's beacon; Chromium
// fires pagehide before the document turns hidden as it is left.
const REPORT = `<script>${STUB}addEventListener('pagehide', () => funnelbeam('track', 'left_page', { persisted: event.persisted }))</script>`;

test('a one-page visit: the page tracks its own report in pagehide and the visitor leaves for another site by a link, or closes the tab: the report is stored, once, with the view', async () => {
  const elsewhere = await serve({ '/': html(doc('', 'another site')) });
  const s = await site({
    '/': { head: REPORT, body: `<a id="away" href="${elsewhere.origin}/">away</a>` },
    '/closed': { head: REPORT, body: 'closed' },
  });
  const page = await sites.browser.newPage();
  const errors = watch(page);
  await page.goto(s.origin + '/');
  await loaded(page);
  await waitFor(s, (r) => named(r, 'pageview').length == 1);
  await Promise.all([page.waitForURL(elsewhere.origin + '/'), page.click('#away')]);
  await waitFor(s, (r) => named(r, 'left_page').length == 1, 4000).catch(() => {});
  const tab = await sites.browser.newPage();
  await tab.goto(s.origin + '/closed');
  await loaded(tab);
  await waitFor(s, (r) => named(r, 'pageview').length == 2);
  await tab.close({ runBeforeUnload: true });
  await waitFor(s, (r) => named(r, 'left_page').length == 2, 4000).catch(() => {});
  const rows = noEngagement(await settled(s));
  // (the link to another site is also an outbound click)
  expect(rows.map((r) => [r.name, path(r)]).sort()).toEqual([
    ['left_page', '/'],
    ['left_page', '/closed'],
    ['outbound', '/'],
    ['pageview', '/'],
    ['pageview', '/closed'],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});

test('a page whose Content-Security-Policy leaves the collector out of connect-src (a new policy rolled out on one template): no exception reaches the page, and its events, kept in the outbox, arrive once from the next page of the site, which allows it', async () => {
  const csp = (_q: unknown, res: ServerResponse) =>
    res
      .writeHead(200, { 'content-type': 'text/html', 'content-security-policy': `default-src 'self'; script-src 'self' 'unsafe-inline' ${sites.collector.url}; connect-src 'self'` })
      .end(doc(`<script defer ${tagOf()}></script>`, `<button id="cta" onclick="funnelbeam('track', 'cta')">cta</button><a id="next" href="/next">next</a>`));
  const s = await site({ '/next': { body: 'next' } }, { '/': csp });
  const page = await sites.browser.newPage();
  const errors = watch(page);
  const refused: string[] = [];
  page.on('console', (m) => m.type() == 'error' && refused.push(m.text()));
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.click('#cta');
  await page.waitForTimeout(800);
  expect(noEngagement(await settled(s, 0))).toEqual([]);
  expect(await page.evaluate(() => JSON.parse(localStorage._fb).q.map((e: { n: string }) => e.n))).toEqual(['pageview', 'cta']);
  await Promise.all([page.waitForURL('**/next'), page.click('#next')]);
  await loaded(page);
  // README: a network error backs off from 2 s, the wait kept across pages
  await waitFor(s, (r) => named(r, 'pageview').length == 2, 8000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r)]).sort()).toEqual([['cta', '/'], ['pageview', '/'], ['pageview', '/next']]);
  expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
  expect(errors).toEqual([]);
  await page.close();
});

test('the outbox at its cap in two tabs of the site while the collector is down, the tabs tracking in turn: README keeps at most 100 unsent events, the oldest dropped', async () => {
  // the site's proxy refuses every send with a long Retry-After: nothing leaves, everything waits in the shared outbox
  const proxy = plannedProxy(() => sites.collector.url, [], () => ({ status: 503, retryAfter: 600 }));
  const s = await site({ '*': { attrs: 'data-api="/fb"' } }, { '/fb/e': proxy.handler });
  const a = await sites.browser.newPage();
  const b = await sites.browser.newPage();
  const errors = [watch(a), watch(b)];
  await a.goto(s.origin + '/a');
  await loaded(a);
  await b.goto(s.origin + '/b');
  await loaded(b);
  await expect.poll(() => proxy.log.length, { timeout: 5000 }).toBeGreaterThan(0);
  const track = (page: Page, name: string) => page.evaluate((n) => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('track', n), name);
  for (let i = 0; i < 100; i++) await track(a, 'fill_' + i);
  // the tabs track in turn, each after the other's write reached it
  for (let i = 0; i < 30; i++) {
    await track(i % 2 ? b : a, 'turn_' + i);
    await a.waitForTimeout(30);
  }
  const names = await a.evaluate(() => JSON.parse(localStorage._fb).q.map((e: { n: string }) => e.n) as string[]);
  expect(names.length).toBeLessThanOrEqual(100);
  // 132 made: the two views, fill_0 … fill_99, turn_0 … turn_29; the 100 newest are fill_30 … fill_99 and the turns
  expect(names.sort()).toEqual([...Array.from({ length: 70 }, (_, i) => 'fill_' + (i + 30)), ...Array.from({ length: 30 }, (_, i) => 'turn_' + i)].sort());
  expect(errors.flat()).toEqual([]);
  await Promise.all([a.close(), b.close()]);
});

test('a collector that answers 202 slowly (a first-party proxy to a far collector, 2 s) and a visitor from a campaign who goes on every 600 ms over four pages: each page\'s events are in flight, beaconed and sent again from the next page, and each is stored once, in one visit with the campaign', async () => {
  const pages = ['/', '/features', '/pricing', '/contact'];
  const slow = collectorProxy(() => sites.collector.url, '/fb', 2000);
  let sends = 0;
  const s = await site(
    Object.fromEntries(pages.map((p, i) => [p, { attrs: 'data-api="/fb"', body: `<a id="next" href="${pages[i + 1] ?? '/'}">next</a><button id="cta" onclick="funnelbeam('track', 'cta')">cta</button>` }])),
    { '/fb/e': (req, res) => (sends++, slow(req, res)) },
  );
  const page = await sites.browser.newPage();
  const errors = watch(page);
  await page.goto(s.origin + '/?utm_source=linkedin&utm_campaign=abm');
  for (const next of pages.slice(1)) {
    await loaded(page);
    await page.click('#cta');
    await page.waitForTimeout(600);
    await Promise.all([page.waitForURL('**' + next), page.click('#next')]);
  }
  await loaded(page);
  await waitFor(s, (r) => noEngagement(r).length >= 8, 10_000).catch(() => {});
  const rows = noEngagement(await settled(s, 3000));
  expect(rows.map((r) => [r.name, path(r)]).sort()).toEqual(
    [...pages, ...pages.slice(0, 3)].map((p, i) => [i < 4 ? 'pageview' : 'cta', p == '/' ? '/?utm_source=linkedin&utm_campaign=abm' : p]).sort(),
  );
  expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  expect(rows.map((r) => [r.utm_source, r.utm_campaign])).toEqual(rows.map(() => ['linkedin', 'abm']));
  // the same events did leave more than once (the point of the test): more requests reached the proxy than pages
  expect(sends).toBeGreaterThan(pages.length);
  expect(errors).toEqual([]);
  await page.close();
});
