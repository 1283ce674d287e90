// Privacy: consent-required mode, opt-out, Global Privacy Control, Do Not Track, localhost and automation.
import { expect, test } from 'vitest';
import { pagesOfTest, carry } from './page.js';

const open = pagesOfTest();
const REQUIRED = { attrs: { 'data-consent': 'required' } };

test('with data-consent="required", nothing is sent or stored until consent; then the held view and events go out', async () => {
  const page = await open(REQUIRED);
  page.w.funnelbeam('track', 'held', { n: 1 });
  let id: unknown = 'not called';
  page.w.funnelbeam('visitorId', (v: unknown) => (id = v));
  await page.settle();
  expect(page.sent).toEqual([]);
  expect(page.w.localStorage.length).toBe(0);
  expect(id).toBe('not called');
  page.w.funnelbeam('consent', true);
  await page.settle();
  expect(page.events().map((e) => e.n)).toEqual(['pageview', 'held']);
  expect(id).toBe(page.sent[0].body.v);
  expect(page.state().c).toBe(1);
  // the decision is remembered on the next page
  const next = await open({ ...REQUIRED, storage: carry(page) });
  await next.settle();
  expect(next.events().map((e) => e.n)).toEqual(['pageview']);
});

test('denied consent drops what was held and sends nothing; callbacks get no visitor id', async () => {
  const page = await open(REQUIRED);
  page.w.funnelbeam('track', 'held');
  let id: unknown = 'not called';
  page.w.funnelbeam('visitorId', (v: unknown) => (id = v));
  page.w.funnelbeam('consent', false);
  page.w.funnelbeam('track', 'after');
  page.hide();
  await page.settle();
  expect(page.sent).toEqual([]);
  expect(id).toBeUndefined();
  expect(page.state()).toEqual({ c: 0 });
});

test("opting out (funnelbeam('consent', false)) persists and forgets the visitor; consent true turns tracking back on", async () => {
  const page = await open({});
  await page.settle();
  const before = page.state();
  expect(before.v).toBeTruthy();
  page.w.funnelbeam('consent', false);
  page.w.funnelbeam('track', 'ignored');
  await page.settle();
  expect(page.state()).toEqual({ c: 0 });
  const next = await open({ storage: carry(page) });
  next.w.funnelbeam('track', 'ignored');
  await next.settle();
  expect(next.sent).toEqual([]);
  next.w.funnelbeam('consent', true);
  await next.settle();
  expect(next.events().map((e) => e.n)).toEqual(['pageview']);
  expect(next.sent[0].body.v).not.toBe(before.v);
});

for (const [signal, set] of [
  ['Global Privacy Control', (w: any) => Object.defineProperty(w.navigator, 'globalPrivacyControl', { value: true })],
  ['Do Not Track', (w: any) => Object.defineProperty(w.navigator, 'doNotTrack', { value: '1' })],
  ['an automated browser (navigator.webdriver)', (w: any) => Object.defineProperty(w.navigator, 'webdriver', { value: true })],
] as const) {
  test(`${signal} silences the snippet, even if consent is given`, async () => {
    const page = await open({ before: set });
    page.w.funnelbeam('consent', true);
    page.w.funnelbeam('track', 'x');
    let segments: unknown;
    page.w.funnelbeam('segments', (s: unknown) => (segments = s));
    page.hide();
    await page.settle();
    expect(page.sent).toEqual([]);
    expect(page.fetched).toEqual([]);
    expect(segments).toEqual([]);
    expect(page.w.localStorage.length).toBe(0);
  });
}

for (const [signal, set] of [
  ['Global Privacy Control', (w: any) => Object.defineProperty(w.navigator, 'globalPrivacyControl', { value: true })],
  ['Do Not Track', (w: any) => Object.defineProperty(w.navigator, 'doNotTrack', { value: '1' })],
] as const) {
  test(`${signal} is the site's setting: data-privacy-signals="ignore" tracks the visitor, any other value does not`, async () => {
    const page = await open({ before: set, attrs: { 'data-privacy-signals': 'ignore' } });
    page.w.funnelbeam('track', 'x');
    await page.settle();
    expect(page.events().map((e) => e.n)).toEqual(['pageview', 'x']);
    const other = await open({ before: set, attrs: { 'data-privacy-signals': 'honour' } });
    other.w.funnelbeam('track', 'x');
    other.hide();
    await other.settle();
    expect(other.sent).toEqual([]);
  });
}

test('localhost and 127.0.0.1 are ignored unless data-local', async () => {
  for (const url of ['http://localhost:3000/', 'http://127.0.0.1:8080/x']) {
    const page = await open({ url });
    await page.settle();
    expect(page.sent).toEqual([]);
    const local = await open({ url, attrs: { 'data-local': '' } });
    await local.settle();
    expect(local.events().map((e) => e.n)).toEqual(['pageview']);
  }
});

test('data-local also lets an automated browser send', async () => {
  const page = await open({ attrs: { 'data-local': '' }, before: (w) => Object.defineProperty(w.navigator, 'webdriver', { value: true }) });
  await page.settle();
  expect(page.events().map((e) => e.n)).toEqual(['pageview']);
});
