// Findings of the unseen-pages round (see test/e2e/unseen-pages.test.ts), at the unit level: consent-held events,
// values left for the collector to cut, and batches that halve when sends keep failing.
import { expect, test } from 'vitest';
import { pagesOfTest } from './page.js';

const open = pagesOfTest();
const REQUIRED = { attrs: { 'data-consent': 'required' } };

test('consent required: views, clicks and submits before the decision are held in memory (not stored, not sent, not even on hide) and go out on consent', async () => {
  const page = await open({
    ...REQUIRED,
    url: 'https://www.example.com/?utm_source=ads',
    html: '<a id="pdf" href="/deck.pdf">deck</a><form data-funnelbeam="newsletter"><input type="email" name="email" value="held@example.com"></form>',
  });
  page.w.history.replaceState({}, '', '/'); // the page drops the campaign from the address bar
  page.w.history.pushState({}, '', '/pricing');
  (page.w.document.getElementById('pdf') as unknown as HTMLElement).click();
  page.w.document.querySelector('form')!.dispatchEvent(new page.w.Event('submit', { bubbles: true, cancelable: true }));
  page.hide();
  page.show();
  await page.settle();
  expect(page.sent).toEqual([]);
  expect(page.w.localStorage.length).toBe(0);
  page.w.funnelbeam('consent', true);
  await page.settle();
  const events = page.events();
  expect(events.map((e) => [e.n, new URL(e.u).pathname])).toEqual([
    ['pageview', '/'],
    ['pageview', '/pricing'],
    ['download', '/pricing'],
    ['newsletter_signup', '/pricing'],
  ]);
  expect(events.every((e) => e.ft?.utm_source == 'ads')).toBe(true);
  expect(page.state().q).toEqual([]);
});

test('consent required and then refused: what was held is dropped, nothing is ever sent', async () => {
  const page = await open({ ...REQUIRED, html: '<a id="pdf" href="/deck.pdf">deck</a>' });
  (page.w.document.getElementById('pdf') as unknown as HTMLElement).click();
  page.w.funnelbeam('consent', false);
  page.hide();
  await page.settle();
  expect(page.sent).toEqual([]);
  expect(page.state()).toEqual({ c: 0 });
});

test('a long marked field value, a long link URL and an email the collector finds unusable are sent as they are (the collector cuts and drops, and keeps the event)', async () => {
  const long = 'x'.repeat(900);
  const page = await open({
    html: `<a id="out" href="https://partner.example/?q=${long}">out</a>
      <form data-funnelbeam="demo"><input type="text" name="email" value="sam@corp.example;"><textarea name="m" data-funnelbeam-field="message">${long}</textarea></form>`,
  });
  (page.w.document.getElementById('out') as unknown as HTMLElement).click();
  page.w.document.querySelector('form')!.dispatchEvent(new page.w.Event('submit', { bubbles: true, cancelable: true }));
  await page.settle();
  const [out, demo] = page.events().slice(1);
  expect(out.p!.url).toBe(`https://partner.example/?q=${long}`);
  expect(demo).toMatchObject({ n: 'demo_request', f: 'demo', em: 'sam@corp.example;', tr: { message: long } });
});

test('sends that keep failing halve the batch from the second failure on (a batch too large for the collector gets through)', async () => {
  let calls = 0;
  const page = await open({ status: () => (++calls <= 2 ? 'network' : 202) });
  for (let i = 0; i < 59; i++) page.w.funnelbeam('track', 'e' + i);
  // the first send, then retries after 2 s and 4 s
  await page.settle(6800);
  expect(page.sent.map((s) => s.body.e.length)).toEqual([50, 50, 25, 35]);
  expect(page.state().q).toEqual([]);
}, 15_000);
