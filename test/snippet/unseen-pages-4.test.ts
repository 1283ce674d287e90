// Findings of the seventh unseen-pages round (see test/e2e/unseen-pages-7.test.ts), at the unit level: a reload, or a
// return through history to a page not kept in the back/forward cache, keeps the outside referrer the page first had,
// which is no new arrival: the visit keeps its campaign; a link is found on the click's composed path, across shadow
// roots (a link clicked on an icon component drawn in its own shadow root).
import { expect, test } from 'vitest';
import { carry, pagesOfTest, type TestPage } from './page.js';

const open = pagesOfTest();

/**
 * A page of the visit loaded as `type` says (performance.navigation.type: 0 a navigation, 1 a reload, 2 back or forward),
 * with `referrer`. (happy-dom's performance is node's, shared by every window: this page gets its own.)
 */
const load = (url: string, referrer: string, type: number, prev?: TestPage) =>
  open({
    url,
    storage: prev && carry(prev),
    before: (w) => {
      Object.defineProperty(w.document, 'referrer', { value: referrer });
      Object.defineProperty(w, 'performance', { value: { getEntriesByType: () => [{ name: url }], navigation: { type } }, configurable: true });
    },
  });

const LINKEDIN = 'https://www.linkedin.com/';

// (failed before its fix: the reloaded route, with LinkedIn as referrer at another address than the landing page,
// started a new session touch without the campaign)
test('a client-side route reloaded, or returned to through history, keeps the outside referrer: the session keeps its campaign', async () => {
  const landing = await load('https://www.example.com/?utm_source=linkedin&utm_campaign=q4', LINKEDIN, 0);
  landing.w.history.pushState({}, '', '/pricing');
  await landing.settle();
  const reloaded = await load('https://www.example.com/pricing', LINKEDIN, 1, landing);
  await reloaded.settle();
  const back = await load('https://www.example.com/features', LINKEDIN, 2, reloaded);
  back.w.funnelbeam('identify', 'sam@corp.example');
  await back.settle();
  for (const p of [reloaded, back]) for (const e of p.events()) expect([e.n, e.st]).toEqual([e.n, expect.objectContaining({ utm_source: 'linkedin', utm_campaign: 'q4' })]);
});

test('a reload with an outside referrer and nothing tracked before (a consent manager reloading the page once accepted) still lands with its referrer', async () => {
  const page = await load('https://www.example.com/pricing', LINKEDIN, 1);
  await page.settle();
  expect(page.events()[0].st).toEqual(expect.objectContaining({ url: 'https://www.example.com/pricing', ref: LINKEDIN }));
});

test('a new arrival from another outside page during a visit still starts a new session touch', async () => {
  const landing = await load('https://www.example.com/?utm_source=linkedin', LINKEDIN, 0);
  await landing.settle();
  const other = await load('https://www.example.com/blog', 'https://news.ycombinator.com/', 0, landing);
  await other.settle();
  expect(other.events()[0].st).toEqual(expect.objectContaining({ url: 'https://www.example.com/blog', ref: 'https://news.ycombinator.com/' }));
});

// Left out for its size (+26 B gzip: a referrer whose host is the page's, without "www.", or a subdomain of it, read as
// internal): a visitor who lands on www. from a campaign, reads the blog on blog. (another origin) and comes back to
// book a demo arrives with the blog as an outside referrer, which starts a new session touch without the campaign.
test.skip('a return from a subdomain of the site (blog.example.com to www.example.com) is no new arrival: the session keeps its campaign', async () => {
  const landing = await load('https://www.example.com/?utm_source=linkedin&utm_campaign=q4', LINKEDIN, 0);
  await landing.settle();
  const back = await load('https://www.example.com/demo', 'https://blog.example.com/post', 0, landing);
  await back.settle();
  expect(back.events()[0].st).toEqual(expect.objectContaining({ utm_source: 'linkedin', utm_campaign: 'q4' }));
});

// (failed before its fix: closest() stops at a shadow root, so the click did not find its link. The slotted label of a
// design system's link button is checked in Chromium only, test/e2e/unseen-pages-7.test.ts: happy-dom's event path
// does not pass through slots)
test('a click on an icon component (its SVG in its own shadow root) inside a plain link: an outbound link', async () => {
  const page = await open({
    html: `<a href="https://partner.example.org/"><ds-icon id="icon"></ds-icon></a>`,
    // (the page keeps itself: happy-dom would otherwise follow the link)
    before: (w) => {
      w.document.getElementById('icon')!.attachShadow({ mode: 'open' }).innerHTML = '<svg><path id="shape" d="M0 0h1v1H0z"/></svg>';
      w.document.addEventListener('click', (e: any) => e.preventDefault());
    },
  });
  page.w.document
    .getElementById('icon')!
    .shadowRoot!.getElementById('shape')!
    .dispatchEvent(new page.w.MouseEvent('click', { bubbles: true, composed: true, cancelable: true, button: 0 }));
  await page.settle();
  expect(page.events().filter((e) => e.n != 'pageview').map((e) => [e.n, e.p])).toEqual([['outbound', { url: 'https://partner.example.org/' }]]);
});
