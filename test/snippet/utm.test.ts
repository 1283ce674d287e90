// Attribution: first touch and session touch from the landing page, carried by every later event.
import { expect, test } from 'vitest';
import { pagesOfTest, type TestPage } from './page.js';
import { CLICK_IDS, UTM_KEYS } from '../../shared/events.js';
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';

const open = pagesOfTest();

/** the next page of the same visit: same localStorage, the previous URL as referrer */
async function next(prev: TestPage | undefined, url: string, referrer = '') {
  const storage: Record<string, string> = prev ? { _fb: prev.w.localStorage.getItem('_fb')! } : {};
  const page = await open({ url, storage, before: (w) => Object.defineProperty(w.document, 'referrer', { value: referrer }) });
  await page.settle();
  return page;
}

const LANDING =
  'https://www.example.com/?utm_source=linkedin&utm_medium=paid&utm_campaign=q3&utm_term=crm&utm_content=ad1&li_fat_id=abc&gclid=g1&utm_id=9&ref=x';

test('UTM parameters and click ids of the landing page are kept as first and session touch on every later event', async () => {
  const a = await next(undefined, LANDING, 'https://www.linkedin.com/feed');
  const b = await next(a, 'https://www.example.com/pricing', LANDING);
  const c = await next(b, 'https://www.example.com/demo', 'https://www.example.com/pricing');
  c.w.funnelbeam('track', 'cta');
  await c.settle();
  const touch = {
    url: LANDING,
    at: expect.any(Number),
    ref: 'https://www.linkedin.com/feed',
    utm_source: 'linkedin',
    utm_medium: 'paid',
    utm_campaign: 'q3',
    utm_term: 'crm',
    utm_content: 'ad1',
    li_fat_id: 'abc',
    gclid: 'g1',
    utm_id: '9',
  };
  for (const e of [...a.events(), ...b.events(), ...c.events()]) {
    expect(e.ft).toEqual(touch);
    expect(e.st).toEqual(touch);
  }
  expect(c.events().map((e) => e.n)).toEqual(['pageview', 'cta']);
});

test('a later visit from a new campaign starts a new session touch; the first touch stays', async () => {
  const a = await next(undefined, 'https://www.example.com/?utm_source=google&utm_medium=cpc');
  const b = await next(a, 'https://www.example.com/blog?utm_source=newsletter&utm_medium=email', 'https://mail.example.net/');
  const [e] = b.events();
  expect(e.ft).toMatchObject({ utm_source: 'google', utm_medium: 'cpc' });
  expect(e.st).toEqual({ url: 'https://www.example.com/blog?utm_source=newsletter&utm_medium=email', ref: 'https://mail.example.net/', at: expect.any(Number), utm_source: 'newsletter', utm_medium: 'email' });
});

test('a reload of the landing page keeps the same session touch', async () => {
  const a = await next(undefined, 'https://www.example.com/?utm_source=google');
  const b = await next(a, 'https://www.example.com/?utm_source=google');
  expect(b.events()[0].st).toEqual(a.events()[0].st);
});

test('after 30 minutes without events, the next page starts a session at itself', async () => {
  const a = await next(undefined, 'https://www.example.com/?utm_source=google');
  const state = a.state();
  state.a -= SESSION_TIMEOUT_MS + 1000;
  a.w.localStorage.setItem('_fb', JSON.stringify(state));
  const b = await next(a, 'https://www.example.com/pricing', 'https://www.example.com/');
  const [e] = b.events();
  expect(e.st).toEqual({ url: 'https://www.example.com/pricing', at: expect.any(Number) });
  expect(e.ft).toMatchObject({ utm_source: 'google' });
});

test('a direct visit has a touch with only the landing URL; internal referrers are not touches', async () => {
  const a = await next(undefined, 'https://www.example.com/features', 'https://www.example.com/');
  expect(a.events()[0].ft).toEqual({ url: 'https://www.example.com/features', at: expect.any(Number) });
});

test('every UTM key and click id of shared/events.ts is kept', async () => {
  const keys = [...UTM_KEYS, ...CLICK_IDS];
  const a = await next(undefined, 'https://www.example.com/?' + keys.map((k) => `${k}=v_${k}`).join('&'));
  expect(a.events()[0].ft).toEqual({ url: expect.any(String), at: expect.any(Number), ...Object.fromEntries(keys.map((k) => [k, 'v_' + k])) });
});

test('a session still active just under the timeout keeps its touch', async () => {
  const a = await next(undefined, 'https://www.example.com/?utm_source=google');
  const state = a.state();
  state.a -= SESSION_TIMEOUT_MS - 60_000;
  a.w.localStorage.setItem('_fb', JSON.stringify(state));
  const b = await next(a, 'https://www.example.com/pricing', 'https://www.example.com/');
  expect(b.events()[0].st).toMatchObject({ utm_source: 'google' });
});
