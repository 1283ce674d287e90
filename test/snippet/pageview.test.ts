// Page views: load, SPA navigation, hash mode, bfcache restore, prerender.
import { afterEach, describe, expect, test } from 'vitest';
import { openPage, type TestPage } from './page.js';

const ID = expect.stringMatching(/^[a-z0-9]{20}$/);
const TIME = expect.any(Number);
let page: TestPage;
afterEach(() => page?.close());

const names = () => page.events().map((e) => [e.n, e.u, e.r]);

describe('pageview', () => {
  test('a page load sends one pageview with url, referrer and touches, as text/plain JSON to POST {api}/e', async () => {
    page = await openPage({ url: 'https://www.example.com/pricing?plan=pro', before: (w) => Object.defineProperty(w.document, 'referrer', { value: 'https://www.example.com/' }) });
    await page.settle();
    expect(page.sent).toHaveLength(1);
    const [req] = page.sent;
    expect(req).toMatchObject({ via: 'fetch', url: 'https://collector.example.com/e', bodyType: 'string', keepalive: true });
    expect(req.body).toEqual({
      s: 'pk_test',
      v: ID,
      e: [
        {
          i: ID,
          n: 'pageview',
          t: TIME,
          u: 'https://www.example.com/pricing?plan=pro',
          r: 'https://www.example.com/',
          ft: { url: 'https://www.example.com/pricing?plan=pro', at: TIME },
          st: { url: 'https://www.example.com/pricing?plan=pro', at: TIME },
        },
      ],
      // the device's clock when sent (the collector corrects event times by its skew); no l without data-local
      t: TIME,
    });
    expect(req.body.v).toBe(page.state().v);
  });

  test('pushState counts a view with the previous view as referrer; a second push of the same URL does not', async () => {
    page = await openPage({ url: 'https://www.example.com/' });
    page.w.history.pushState({}, '', '/features');
    page.w.history.pushState({}, '', '/features');
    page.w.history.pushState({}, '', '/features?tab=2');
    await page.settle();
    expect(names()).toEqual([
      ['pageview', 'https://www.example.com/', ''],
      ['pageview', 'https://www.example.com/features', 'https://www.example.com/'],
      ['pageview', 'https://www.example.com/features?tab=2', 'https://www.example.com/features'],
    ]);
  });

  test('replaceState counts only when the path changes, not for a new query', async () => {
    page = await openPage({ url: 'https://www.example.com/blog' });
    page.w.history.replaceState({}, '', '/blog?page=2');
    page.w.history.replaceState({}, '', '/blog/post-1');
    await page.settle();
    expect(names().map((n) => n[1])).toEqual(['https://www.example.com/blog', 'https://www.example.com/blog/post-1']);
  });

  // README: a router's boot that only drops or adds the trailing slash (Angular's Location.normalize on a host that
  // serves /pricing/, or a router set to add it) is the landing view; a route to another path is a view
  test('a replaceState or pushState that only drops or adds a trailing slash is no new view; a route elsewhere is', async () => {
    page = await openPage({ url: 'https://www.example.com/pricing/?plan=pro' });
    page.w.history.replaceState({}, '', '/pricing?plan=pro');
    page.w.history.pushState({}, '', '/pricing/?plan=pro');
    page.w.history.pushState({}, '', '/demo');
    page.w.history.replaceState({}, '', '/');
    page.w.history.replaceState({}, '', '');
    await page.settle();
    expect(names().map((n) => n[1])).toEqual(['https://www.example.com/pricing/?plan=pro', 'https://www.example.com/demo', 'https://www.example.com/']);
  });

  test('popstate (back) counts a view; a hash-only change without data-hash does not', async () => {
    page = await openPage({ url: 'https://www.example.com/a' });
    page.w.history.pushState({}, '', '/b');
    page.w.history.pushState({}, '', '/b#section');
    page.w.history.replaceState({}, '', '/a');
    page.w.dispatchEvent(new page.w.PopStateEvent('popstate'));
    page.w.history.pushState({}, '', '/a#top');
    page.w.dispatchEvent(new page.w.HashChangeEvent('hashchange'));
    await page.settle();
    expect(names().map((n) => n[1])).toEqual(['https://www.example.com/a', 'https://www.example.com/b', 'https://www.example.com/a']);
  });

  test('with data-hash, hash routes are views (hashchange and push), counted once each', async () => {
    page = await openPage({ url: 'https://www.example.com/app#/home', attrs: { 'data-hash': '' } });
    page.w.location.hash = '#/pricing';
    page.w.dispatchEvent(new page.w.HashChangeEvent('hashchange'));
    page.w.dispatchEvent(new page.w.PopStateEvent('popstate'));
    page.w.history.pushState({}, '', '#/contact');
    await page.settle();
    expect(names().map((n) => n[1])).toEqual([
      'https://www.example.com/app#/home',
      'https://www.example.com/app#/pricing',
      'https://www.example.com/app#/contact',
    ]);
  });

  test('a page restored from the back/forward cache is a new view', async () => {
    page = await openPage({ url: 'https://www.example.com/docs' });
    const pageshow = (persisted: boolean) => Object.assign(new page.w.Event('pageshow'), { persisted });
    page.w.dispatchEvent(pageshow(true));
    page.w.dispatchEvent(pageshow(false));
    await page.settle();
    expect(names().map((n) => n[0])).toEqual(['pageview', 'pageview']);
  });

  test('a prerendered page sends nothing until it is shown, then one view', async () => {
    page = await openPage({
      url: 'https://www.example.com/next',
      before: (w) => Object.defineProperty(w.document, 'prerendering', { value: true, configurable: true }),
    });
    page.w.funnelbeam('track', 'early');
    await page.settle();
    expect(page.sent).toEqual([]);
    Object.defineProperty(page.w.document, 'prerendering', { value: false });
    page.w.document.dispatchEvent(new page.w.Event('prerenderingchange'));
    await page.settle();
    expect(names().map((n) => n[0])).toEqual(['pageview', 'early']);
  });

  test("funnelbeam('page') sends a view even when the URL did not change", async () => {
    page = await openPage({ url: 'https://www.example.com/' });
    page.w.funnelbeam('page');
    await page.settle();
    expect(names().map((n) => n[0])).toEqual(['pageview', 'pageview']);
  });

  test('an error thrown by the page’s own pushState call still reaches the page', async () => {
    page = await openPage({ url: 'https://www.example.com/' });
    expect(() => page.w.history.pushState({}, '', 'https://other.example.org/x')).toThrow();
  });
});
