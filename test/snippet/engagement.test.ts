// Engagement: visible seconds and deepest scroll, sent when the page is hidden and before the next SPA view.
import { afterEach, expect, test } from 'vitest';
import { openPage, type TestPage } from './page.js';

let page: TestPage;
afterEach(() => page?.close());

const engagements = () => page.events().filter((e) => e.n == 'engagement').map((e) => [e.u, e.p]);
const scrollTo = (y: number) => {
  Object.defineProperty(page.w, 'scrollY', { value: y, configurable: true });
  page.w.dispatchEvent(new page.w.Event('scroll'));
};
const tall = (w: any) => Object.defineProperty(w.document.documentElement, 'scrollHeight', { value: 4 * w.innerHeight, configurable: true });

test('hiding the page sends engagement (seconds visible, max scroll %) by sendBeacon at once', async () => {
  page = await openPage({ url: 'https://www.example.com/guide', before: tall });
  scrollTo(page.w.innerHeight * 2);
  scrollTo(0);
  await page.settle(1600);
  page.hide();
  const last = page.sent.at(-1)!;
  expect(last.via).toBe('beacon');
  expect(engagements()).toEqual([['https://www.example.com/guide', { seconds: 2, scroll: 75 }]]);
});

test('hidden time does not count, and nothing is sent for less than a second', async () => {
  page = await openPage({ url: 'https://www.example.com/guide', before: tall });
  page.hide();
  await page.settle(1200);
  page.show();
  page.hide();
  expect(engagements()).toEqual([]);
});

test('an SPA navigation sends the previous view’s engagement with its URL before the new view', async () => {
  page = await openPage({ url: 'https://www.example.com/a', before: tall });
  await page.settle(1100);
  page.w.history.pushState({}, '', '/b');
  await page.settle();
  expect(page.events().map((e) => [e.n, e.u])).toEqual([
    ['pageview', 'https://www.example.com/a'],
    ['engagement', 'https://www.example.com/a'],
    ['pageview', 'https://www.example.com/b'],
  ]);
  expect(engagements()[0][1]).toEqual({ seconds: 1, scroll: 25 });
});

test('a short page counts as fully scrolled', async () => {
  page = await openPage({ before: (w) => Object.defineProperty(w.document.documentElement, 'scrollHeight', { value: w.innerHeight / 2 }) });
  await page.settle(1100);
  page.hide();
  expect(engagements()).toEqual([['https://www.example.com/', { seconds: 1, scroll: 100 }]]);
});

test('short glances add up: six visible stretches of 0.4 s send about 2.4 seconds in all, not 0 (each stretch was rounded on its own)', async () => {
  // (the page is visible from its load until the first hide)
  let visible = -Date.now();
  page = await openPage({ url: 'https://www.example.com/pricing', before: tall });
  page.hide();
  visible += Date.now();
  for (let i = 0; i < 6; i++) {
    const from = Date.now();
    page.show();
    await page.settle(400);
    page.hide();
    visible += Date.now() - from;
  }
  // (an event is in every batch that carried it: a beacon, then a later fetch)
  const sent = new Map(page.events().filter((e) => e.n == 'engagement').map((e) => [e.i, e.p as { seconds: number }]));
  const seconds = [...sent.values()].reduce((sum, p) => sum + p.seconds, 0);
  expect(seconds).toBeGreaterThanOrEqual(2);
  expect(Math.abs(seconds - visible / 1e3)).toBeLessThanOrEqual(1);
});
