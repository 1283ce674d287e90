// A page's own end-of-visit report, tracked from its visibilitychange listener as the page turns hidden (as the Page
// Lifecycle guidance has pages send one): it leaves with the hide's beacon, since a page being left or closed runs no
// timer after that. Contract §4: the snippet sends "with sendBeacon falling back to fetch keepalive"; README: "When the
// page is hidden or left, the whole outbox goes by sendBeacon". The browser fires visibilitychange at the document, and
// it bubbles (HTML: "fire an event named visibilitychange at document, with its bubbles attribute initialized to true").
import { expect, test } from 'vitest';
import { pagesOfTest } from './page.js';

const open = pagesOfTest();

test('what the page tracks from its own visibilitychange listeners on the document as it turns hidden (one added before the tag, one after) is in the beacon sent at the hide', async () => {
  const page = await open({
    url: 'https://www.example.com/blog/lead-scoring',
    before: (w) =>
      w.document.addEventListener('visibilitychange', () => {
        if (w.document.visibilityState == 'hidden') w.funnelbeam('track', 'Article Read', { percent: 60 });
      }),
  });
  // (a bundle that loads after the tag: a video player reporting the seconds watched)
  page.w.document.addEventListener('visibilitychange', () => {
    if (page.w.document.hidden) page.w.funnelbeam('track', 'Video Watched', { seconds: 42 });
  });
  await page.settle();
  const before = page.sent.length;
  page.hide();
  // (at once: a page being left runs no timer after its hide)
  const beaconed = page.sent.slice(before).filter((s) => s.via == 'beacon').flatMap((s) => s.body.e);
  expect(beaconed.map((e) => [e.n, e.p])).toEqual([
    ['Article Read', { percent: 60 }],
    ['Video Watched', { seconds: 42 }],
  ]);
});

test('a report tracked at a hide of the tab (the visitor switching tabs, not leaving): sent by beacon at the hide, then cleared from the outbox by the next answered send', async () => {
  const page = await open({
    before: (w) =>
      w.document.addEventListener('visibilitychange', () => {
        if (w.document.hidden) w.funnelbeam('track', 'Tab Left');
      }),
  });
  await page.settle();
  page.hide();
  page.show();
  await page.settle();
  // the view by fetch at load; the report by beacon at the hide, then once more by fetch (a beacon has no answer, so it
  // stays in the outbox until an answered send): nothing else, and the outbox is empty once answered
  expect(page.sent.map((s) => [s.via, s.body.e.map((e) => e.n).join()])).toEqual([
    ['fetch', 'pageview'],
    ['beacon', 'Tab Left'],
    ['fetch', 'Tab Left'],
  ]);
  expect(page.state().q).toEqual([]);
});
