// An outside judge of the snippet's transport (contract §4, README "Transport", "Where the visitor id lives") in real
// Chromium against the real collector. The site's own first-party proxy (data-api="/fb", README "Script tag
// attributes") answers the beacons as a test plans it (a 429 with Retry-After, a 503, a 400, a failure) or forwards
// them to the collector, and logs every request it gets, so what left the browser and what was stored are both read.
// The expected results are worked out by hand from the README before each run.
import { expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { STUB, loaded, noEngagement, pathOf, snippetSites } from '../helpers/snippet-sites.js';
import type { StoredRow } from '../helpers/browser.js';
import { plannedProxy, type Logged } from './transport-proxy.js';

const sites = snippetSites();
const { site, waitFor, settled } = sites;

/** The event ids that left the browser in the logged requests. */
const idsIn = (log: Logged[]) => new Set(log.flatMap((l) => l.events.map((e) => e.i)));
/** The snippet's stored outbox (README: one localStorage entry `_fb`), [] when there is none. */
const outbox = (page: Page) =>
  page.evaluate(() => {
    const raw = localStorage.getItem('_fb');
    return ((raw && JSON.parse(raw).q) || []) as { i: string; n: string }[];
  });
const watchErrors = (page: Page) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
};
const ofSite = (rows: StoredRow[]) => noEngagement(rows).map((r) => [r.name, pathOf(r)]);

test('a 429 with Retry-After: 3, then a 503 with Retry-After: 1, then the collector back, across three pages: page one left during the wait beacons nothing, the wait is kept on the next page, and every event made arrives, once', async () => {
  const proxy = plannedProxy(() => sites.collector.url, [{ status: 429, retryAfter: 3 }, { status: 503, retryAfter: 1 }]);
  const page = (next: string, name: string) => ({
    attrs: 'data-api="/fb"',
    head: `<script>${STUB}funnelbeam('track', '${name}')</script>`,
    body: next ? `<a id="next" href="${next}">next</a>` : 'end',
  });
  const s = await site({ '/': page('/two', 'on_one'), '/two': page('/three', 'on_two'), '/three': page('', 'on_three') }, { '/fb/e': proxy.handler });
  const tab = await sites.browser.newPage();
  const errors = watchErrors(tab);
  await tab.goto(s.origin + '/');
  await loaded(tab);
  // the first send is answered 429, Retry-After: 3
  await expect.poll(() => proxy.log.length, { timeout: 5000 }).toBeGreaterThan(0);
  const refusedAt = proxy.log[0].at;
  expect(proxy.log[0].status).toBe(429);
  expect(proxy.log[0].events.map((e) => e.n)).toEqual(['pageview', 'on_one']);
  await Promise.all([tab.waitForURL('**/two'), tab.click('#next')]);
  await loaded(tab);
  const visitor = await tab.evaluate(() => new Promise<string>((r) => (window as unknown as { funnelbeam: (c: string, cb: (v: string) => void) => void }).funnelbeam('visitorId', r)));
  expect(visitor).toMatch(/^[0-9a-z]{20}$/);
  // page two's own events leave only once the 3 s of the 429 are over (README: "The wait is remembered across pages")
  await expect.poll(() => proxy.log.some((l) => l.events.some((e) => e.n == 'on_two')), { timeout: 8000 }).toBe(true);
  const firstTwo = proxy.log.find((l) => l.events.some((e) => e.n == 'on_two'))!;
  expect(firstTwo.at - refusedAt).toBeGreaterThanOrEqual(2900);
  // nor did page one, left during the wait, beacon its outbox: nothing reached the proxy within the 3 s
  expect(proxy.log.filter((l) => l.at > refusedAt && l.at < refusedAt + 2900)).toEqual([]);
  await Promise.all([tab.waitForURL('**/three'), tab.click('#next')]);
  await loaded(tab);
  const rows = await waitFor(s, (r) => noEngagement(r).length >= 6, 15_000);
  await expect.poll(() => outbox(tab), { timeout: 8000 }).toEqual([]);
  const final = await settled(s);
  // each event made on the three pages is stored, once, whatever the order and the number of tries
  expect(ofSite(final).sort()).toEqual(
    [['pageview', '/'], ['on_one', '/'], ['pageview', '/two'], ['on_two', '/two'], ['pageview', '/three'], ['on_three', '/three']].sort(),
  );
  expect(rows.length).toBeLessThanOrEqual(final.length);
  const ids = final.map((r) => r.event_id);
  expect(new Set(ids).size).toBe(ids.length);
  // every id that left the browser, refused or not, is stored (none lost), under one visitor
  for (const id of idsIn(proxy.log)) expect(ids).toContain(id);
  expect(new Set(final.map((r) => r.visitor_id)).size).toBe(1);
  expect(errors).toEqual([]);
  await tab.close();
});

test('a 400 answer (a batch the collector refuses) clears those events: they are never sent again, and the next page goes on', async () => {
  const proxy = plannedProxy(() => sites.collector.url, [{ status: 400 }]);
  const page = (body: string, head = '') => ({ attrs: 'data-api="/fb"', head, body });
  const s = await site(
    { '/': page('<a id="next" href="/two">next</a>', `<script>${STUB}funnelbeam('track', 'refused_batch')</script>`), '/two': page('two') },
    { '/fb/e': proxy.handler },
  );
  const tab = await sites.browser.newPage();
  const errors = watchErrors(tab);
  await tab.goto(s.origin + '/');
  await loaded(tab);
  await expect.poll(() => proxy.log.length, { timeout: 5000 }).toBeGreaterThan(0);
  expect(proxy.log[0].status).toBe(400);
  const refused = proxy.log[0].events.map((e) => e.i);
  expect(proxy.log[0].events.map((e) => e.n)).toEqual(['pageview', 'refused_batch']);
  // README: "A 2xx or 4xx clears the events"
  await expect.poll(() => outbox(tab), { timeout: 3000 }).toEqual([]);
  await Promise.all([tab.waitForURL('**/two'), tab.click('#next')]);
  await loaded(tab);
  await waitFor(s, (r) => r.some((e) => pathOf(e) == '/two'), 8000);
  const final = await settled(s);
  expect(ofSite(final)).toEqual([['pageview', '/two']]);
  // none of the refused ids ever left the browser again
  const later = proxy.log.slice(1).flatMap((l) => l.events.map((e) => e.i));
  for (const id of refused) expect(later).not.toContain(id);
  expect(errors).toEqual([]);
  await tab.close();
});

test('the outbox at its cap plus one (101 events made while the collector is down): the oldest (the landing view) is dropped, the 100 others arrive once the collector is back, once each, and the next page goes on', async () => {
  let down = true;
  const proxy = plannedProxy(() => sites.collector.url, [], () => (down ? { status: 503 } : 'pass'));
  const page = (body: string) => ({ attrs: 'data-api="/fb"', body });
  const s = await site({ '/': page('<a id="next" href="/two">next</a>'), '/two': page('two') }, { '/fb/e': proxy.handler });
  const tab = await sites.browser.newPage();
  const errors = watchErrors(tab);
  await tab.goto(s.origin + '/');
  await loaded(tab);
  // the landing view is the first event; wait for its refusal so that it is in the outbox, then 100 more
  await expect.poll(() => proxy.log.length, { timeout: 5000 }).toBeGreaterThan(0);
  await tab.evaluate(() => {
    for (let i = 0; i < 100; i++) (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('track', 'item_' + i);
  });
  const kept = await outbox(tab);
  // README: "At most 100 unsent events are kept; the oldest are dropped"
  expect(kept.map((e) => e.n)).toEqual(Array.from({ length: 100 }, (_, i) => 'item_' + i));
  const bytes = await tab.evaluate(() => (localStorage.getItem('_fb') ?? '').length);
  console.log(`transport-judge: outbox of 100 events is ${bytes} characters in localStorage._fb`);
  expect(bytes).toBeLessThan(100_000);
  // the collector is back: the retry at the end of the 2 s back-off, on this same page, delivers the 100
  down = false;
  await waitFor(s, (r) => noEngagement(r).length >= 100, 10_000);
  await expect.poll(() => outbox(tab), { timeout: 5000 }).toEqual([]);
  await Promise.all([tab.waitForURL('**/two'), tab.click('#next')]);
  await loaded(tab);
  await waitFor(s, (r) => r.some((e) => pathOf(e) == '/two'), 8000);
  const final = noEngagement(await settled(s));
  expect(final.map((r) => r.name).sort()).toEqual([...Array.from({ length: 100 }, (_, i) => 'item_' + i), 'pageview'].sort());
  // the landing view, refused once and then pushed out by the 101st event, is never sent again
  expect(proxy.log.slice(1).flatMap((l) => l.events.map((e) => e.i))).not.toContain(proxy.log[0].events[0].i);
  expect(final.filter((r) => r.name == 'pageview').map(pathOf)).toEqual(['/two']);
  expect(new Set(final.map((r) => r.event_id)).size).toBe(101);
  expect(errors).toEqual([]);
  await tab.close();
});

test('two tabs of the site while the collector is down (one outbox shared in localStorage), then the collector back: both tabs retry at the end of the same wait, and each event of either tab is stored once, none lost', async () => {
  let down = true;
  const proxy = plannedProxy(() => sites.collector.url, [], () => (down ? { status: 503 } : 'pass'));
  const page = (body: string) => ({ attrs: 'data-api="/fb"', body });
  const s = await site({ '/': page('tab a'), '/b': page('tab b') }, { '/fb/e': proxy.handler });
  const a = await sites.browser.newPage();
  const b = await sites.browser.newPage();
  const errors = [...watchErrors(a), ...watchErrors(b)];
  await a.goto(s.origin + '/');
  await loaded(a);
  await expect.poll(() => proxy.log.length, { timeout: 5000 }).toBeGreaterThan(0);
  await b.goto(s.origin + '/b');
  await loaded(b);
  const track = (p: Page, name: string) =>
    p.evaluate((n) => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('track', n), name);
  await track(a, 'a_click');
  await track(b, 'b_click');
  await track(a, 'a_second');
  // one outbox for the site: tab b's events join tab a's (polled: the snippet's save() deletes the key before writing
  // it, and another tab's renderer can see the key missing between the two; load() then keeps its copy in memory)
  await expect.poll(async () => (await outbox(b)).map((e) => e.n).sort(), { timeout: 5000 }).toEqual(['a_click', 'a_second', 'b_click', 'pageview', 'pageview']);
  down = false;
  await waitFor(s, (r) => noEngagement(r).length >= 5, 10_000);
  await expect.poll(() => outbox(a), { timeout: 5000 }).toEqual([]);
  const final = noEngagement(await settled(s));
  expect(ofSite(final).sort()).toEqual([['a_click', '/'], ['a_second', '/'], ['b_click', '/b'], ['pageview', '/'], ['pageview', '/b']].sort());
  expect(new Set(final.map((r) => r.visitor_id)).size).toBe(1);
  console.log('transport-judge: two tabs sent', JSON.stringify(proxy.log.map((l) => [l.status, l.events.length])));
  expect(errors).toEqual([]);
  await a.close();
  await b.close();
});
