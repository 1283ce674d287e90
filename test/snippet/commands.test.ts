// The JavaScript API and the pre-load queue: track, identify, page, visitorId, segments; never throws.
import { afterEach, expect, test } from 'vitest';
import { openPage, type TestPage } from './page.js';

let page: TestPage;
afterEach(() => page?.close());

const STUB = 'window.funnelbeam=window.funnelbeam||function(){(funnelbeam.q=funnelbeam.q||[]).push(arguments)}';

test('calls queued by the stub before the snippet loads run after the first view, in order', async () => {
  page = await openPage({
    before: (w) => {
      w.eval(STUB);
      w.funnelbeam('track', 'early', { plan: 'pro' });
      w.funnelbeam('identify', 'jane@example.com', { company: 'Acme' });
    },
  });
  await page.settle();
  expect(page.events().map(({ n, p, em, tr }) => ({ n, p, em, tr }))).toEqual([
    { n: 'pageview', p: undefined, em: undefined, tr: undefined },
    { n: 'early', p: { plan: 'pro' }, em: undefined, tr: undefined },
    { n: 'identify', p: undefined, em: 'jane@example.com', tr: { company: 'Acme' } },
  ]);
});

test("funnelbeam('track', name, props) sends a custom event with its props on the current page", async () => {
  page = await openPage({ url: 'https://www.example.com/pricing' });
  page.w.funnelbeam('track', 'plan_selected', { plan: 'team', seats: 5, annual: true });
  await page.settle();
  expect(page.events()[1]).toEqual({
    i: expect.any(String),
    n: 'plan_selected',
    t: expect.any(Number),
    u: 'https://www.example.com/pricing',
    r: '',
    p: { plan: 'team', seats: 5, annual: true },
    ft: expect.any(Object),
    st: expect.any(Object),
  });
});

test("funnelbeam('visitorId', cb) gives the id the events carry", async () => {
  page = await openPage({});
  let id: unknown;
  page.w.funnelbeam('visitorId', (v: unknown) => (id = v));
  await page.settle();
  expect(id).toMatch(/^[a-z0-9]{20}$/);
  expect(page.sent[0].body.v).toBe(id);
});

test('the visitor id is stored as the page loads, before its first send: a tab opened from it at once takes the same id', async () => {
  page = await openPage({});
  // nothing sent yet (events wait 300 ms), but the id is in the shared storage already
  expect(page.sent).toHaveLength(0);
  const stored = page.state().v;
  expect(stored).toMatch(/^[a-z0-9]{20}$/);
  const second = await openPage({ storage: { _fb: page.w.localStorage.getItem('_fb')! } });
  await page.settle();
  await second.settle();
  expect(page.sent[0].body.v).toBe(stored);
  expect(second.sent[0].body.v).toBe(stored);
  await second.close();
});

test("funnelbeam('segments', cb) reads the visitor's segments, calls back and pushes them to dataLayer", async () => {
  page = await openPage({ before: (w) => (w.dataLayer = [{ event: 'gtm.js' }]) });
  let segments: unknown;
  page.w.funnelbeam('segments', (s: unknown) => (segments = s));
  await page.settle();
  const v = page.state().v;
  expect(page.fetched).toEqual([`https://collector.example.com/api/visitors/${v}/segments?site=pk_test`]);
  expect(segments).toEqual(['pricing_no_demo']);
  expect(page.w.dataLayer).toEqual([{ event: 'gtm.js' }, { event: 'funnelbeam_segments', segments: ['pricing_no_demo'] }]);
});

test('segments calls back with [] when the collector cannot answer, and pushes nothing', async () => {
  page = await openPage({ before: (w) => (w.fetch = (async () => { throw new TypeError('Failed to fetch'); }) as never) });
  let segments: unknown;
  page.w.funnelbeam('segments', (s: unknown) => (segments = s));
  await page.settle();
  expect(segments).toEqual([]);
  expect(page.w.dataLayer).toBeUndefined();
});

test('bad calls never throw into the page', async () => {
  page = await openPage({});
  const errors: unknown[] = [];
  page.w.addEventListener('error', (e: unknown) => errors.push(e));
  for (const args of [[], ['nope'], ['track'], ['track', 42], ['visitorId'], ['segments'], ['visitorId', 'not a function'], ['identify']]) {
    expect(() => page.w.funnelbeam(...args)).not.toThrow();
  }
  expect(() => page.w.funnelbeam('visitorId', () => { throw new Error('page bug'); })).not.toThrow();
  await page.settle();
  expect(errors).toEqual([]);
});

test('a second copy of the snippet on the page does nothing', async () => {
  page = await openPage({});
  const script = page.w.document.createElement('script');
  script.setAttribute('data-site', 'pk_test');
  script.setAttribute('data-api', 'https://collector.example.com');
  script.textContent = page.w.document.querySelector('script')!.textContent!;
  page.w.document.head.appendChild(script);
  await page.settle();
  expect(page.events().map((e) => e.n)).toEqual(['pageview']);
});

test('without data-site the snippet stays silent', async () => {
  page = await openPage({ attrs: { 'data-site': '' } });
  page.w.funnelbeam('track', 'x');
  await page.settle();
  expect(page.sent).toEqual([]);
});
