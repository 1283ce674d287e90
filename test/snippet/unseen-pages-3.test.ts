// Findings of the sixth unseen-pages round (see test/e2e/unseen-pages-6.test.ts), at the unit level: a hash router's
// boot that rewrites the landing URL from no hash to "#/" (Vue Router) or "#!/" (AngularJS) is no second view.
import { expect, test } from 'vitest';
import { pagesOfTest } from './page.js';

const open = pagesOfTest();

test('with data-hash, a router boot from no hash to "#/" or "#!/" (replaceState, or a hash change) is the landing view, not another; real hash routes still count', async () => {
  const page = await open({ url: 'https://www.example.com/app?utm_source=x', attrs: { 'data-hash': '' } });
  page.w.history.replaceState({ current: '/' }, '', '#/');
  page.w.history.replaceState({}, '', '#!/');
  page.w.location.hash = '#/';
  page.w.dispatchEvent(new page.w.HashChangeEvent('hashchange'));
  page.w.history.pushState({ current: '/pricing' }, '', '#/pricing');
  page.w.history.pushState({ current: '/' }, '', '#/');
  await page.settle();
  expect(page.events().map((e) => [e.n, e.u])).toEqual([
    ['pageview', 'https://www.example.com/app?utm_source=x'],
    ['pageview', 'https://www.example.com/app?utm_source=x#/pricing'],
    ['pageview', 'https://www.example.com/app?utm_source=x#/'],
  ]);
});

test('without data-hash nothing changes: hash routes are no views', async () => {
  const page = await open({ url: 'https://www.example.com/app' });
  page.w.history.replaceState({}, '', '#/');
  page.w.history.pushState({}, '', '#/pricing');
  await page.settle();
  expect(page.events().map((e) => e.n)).toEqual(['pageview']);
});
