// An outside judge of the snippet's privacy promises across tabs (contract §2 data-consent, §4 consent; README
// "Privacy", "Where the visitor id lives") in real Chromium against the real collector. Tabs of a site share one
// stored state (`_fb`): the README has a refusal given in one tab stop the site's other open tabs; these tests look at
// what those other tabs still do, and at a grant given in one tab while another holds for consent. The expected
// results are worked out by hand from the contract and the README before each run.
import { expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, waitFor, settled } = sites;

const BODY = `<a id="next" href="/next">next</a>
  <button id="accept" onclick="funnelbeam('consent', true)">accept</button>
  <button id="deny" onclick="funnelbeam('consent', false)">deny</button>`;

/** A tab of the site once the snippet runs on it, with the exceptions that reach it and its requests to the collector. */
async function tab(origin: string, at: string) {
  const page = await sites.browser.newPage();
  const errors: string[] = [];
  const asked: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => r.url().startsWith(sites.collector.url) && !r.url().endsWith('/s.js') && asked.push(r.method() + ' ' + r.url()));
  await page.goto(origin + at);
  await loaded(page);
  return { page, errors, asked };
}

/** The page's funnelbeam(name, callback) answer. */
const answer = (page: Page, name: string) =>
  page.evaluate((n) => new Promise((r) => (window as unknown as { funnelbeam: (c: string, cb: (v: unknown) => void) => void }).funnelbeam(n, (v) => r(v ?? 'undefined'))), name);

test('a visitor opts out in one tab while another tab of the site is open: that other tab\'s visitorId calls back undefined and segments [] without asking the collector, and the stored state keeps only the refusal (no new visitor id is made and stored after the opt-out)', async () => {
  const s = await site({ '*': { body: BODY } });
  const a = await tab(s.origin, '/');
  const b = await tab(s.origin, '/features');
  await waitFor(s, (r) => named(r, 'pageview').length == 2);
  // both tabs share the visitor made by the first (README: stored as the first page loads)
  const visitor = await answer(a.page, 'visitorId');
  expect(await answer(b.page, 'visitorId')).toBe(visitor);
  await a.page.click('#deny');
  // README: the opt-out "wipes the stored state and keeps only the refusal, which persists; other tabs of the site that
  // are still open read it and stop tracking too"; contract §4: visitorId is the visitor's id, which an opted-out
  // visitor no longer has (it is what a hidden CRM field would carry back to POST /api/events)
  // (a send answered after the opt-out, slow under load, may write back the emptied outbox and its zeroed failure
  // count beside the refusal: nothing of the visitor; what must hold is the refusal with no visitor id and no event)
  const refusalOnly = async (p: Page) => {
    const { c, v, q = [], n = 0, b: backoff = 0, ...rest } = JSON.parse((await p.evaluate(() => localStorage.getItem('_fb'))) ?? '{}');
    return { c, v, q, n, backoff, rest };
  };
  const REFUSAL = { c: 0, v: undefined, q: [], n: 0, backoff: 0, rest: {} };
  await expect.poll(() => refusalOnly(b.page), { timeout: 3000 }).toEqual(REFUSAL);
  b.asked.length = 0;
  expect(await answer(b.page, 'visitorId')).toBe('undefined');
  expect(await answer(b.page, 'segments')).toEqual([]);
  expect(await b.page.evaluate(() => (window as { dataLayer?: unknown[] }).dataLayer ?? [])).toEqual([]);
  expect(b.asked).toEqual([]);
  expect(await refusalOnly(b.page)).toEqual(REFUSAL);
  // and the next page of the site, in either tab, has no visitor either
  await b.page.goto(s.origin + '/later');
  await loaded(b.page);
  expect(await answer(b.page, 'visitorId')).toBe('undefined');
  expect(await refusalOnly(b.page)).toEqual(REFUSAL);
  expect(noEngagement(await settled(s)).map((r) => [r.name, path(r)]).sort()).toEqual([['pageview', '/'], ['pageview', '/features']]);
  expect([...a.errors, ...b.errors]).toEqual([]);
  await Promise.all([a.page.close(), b.page.close()]);
});

test('consent required, two tabs of the site open with the banner (a list of articles middle-clicked): the visitor accepts in the first, reads the second and goes on from it by a link; the second tab\'s own view, held until the decision, is stored too, once', async () => {
  const s = await site({ '*': { body: BODY, attrs: 'data-consent="required"' } });
  const a = await tab(s.origin, '/?utm_source=news&utm_campaign=fall');
  const b = await tab(s.origin, '/article');
  await b.page.waitForTimeout(500);
  expect([...a.asked, ...b.asked].filter((r) => r.startsWith('POST'))).toEqual([]);
  await a.page.click('#accept');
  await waitFor(s, (r) => named(r, 'pageview').length >= 1);
  // the decision is the visitor's for the site (stored for it, read by every later page, and a refusal stops the other
  // open tabs at once): the view held in the second tab, made while the visitor had not decided yet, is theirs to keep
  await Promise.all([b.page.waitForURL('**/next'), b.page.click('#next')]);
  await loaded(b.page);
  await waitFor(s, (r) => named(r, 'pageview').length >= 3, 5000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => path(r)).sort()).toEqual(['/?utm_source=news&utm_campaign=fall', '/article', '/next'].sort());
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  expect([...a.errors, ...b.errors]).toEqual([]);
  await Promise.all([a.page.close(), b.page.close()]);
});
