// A finding of the twenty-third unseen-pages round (test/e2e/unseen-pages-23.test.ts), at the unit level: with
// data-consent="required", a page that was not running through the visitor's decision (kept in the back/forward cache
// while the banner was answered on the next page; prerendered by speculation rules before the banner was answered on
// the page before) must act on the decision stored meanwhile once it is shown. Contract §2: hold events "until
// funnelbeam('consent', true)", drop them on false; README: the decision is remembered ("persists"). Expected values
// worked out by hand: a grant stored meanwhile sends what the page held and what it does from then on; a refusal, or
// no decision, sends nothing.
import { expect, test } from 'vitest';
import { pagesOfTest, type TestPage } from './page.js';

const open = pagesOfTest();
const required = { attrs: { 'data-consent': 'required' } };
const names = (p: TestPage) => p.events().map((e) => e.n);
/** What another page of the site stores when the visitor answers its banner (`c`: 1 granted, 0 refused). */
const decided = (p: TestPage, c: 0 | 1) => p.w.localStorage.setItem('_fb', JSON.stringify(c ? { c, v: 'lqz4m0a1b2c3d4e5f6g7' } : { c }));
/** The back/forward cache giving the page back (pageshow with persisted). */
const restore = (p: TestPage) => {
  const e = new p.w.Event('pageshow');
  Object.defineProperty(e, 'persisted', { value: true });
  p.w.dispatchEvent(e);
};
const activate = (p: TestPage) => {
  Object.defineProperty(p.w.document, 'prerendering', { value: false });
  p.w.document.dispatchEvent(new p.w.Event('prerenderingchange'));
};
const prerendered = { ...required, before: (w: any) => Object.defineProperty(w.document, 'prerendering', { value: true, configurable: true }) };

test('a held page restored from the back/forward cache after the visitor granted consent on the next page: its held view, the restored view and what follows are sent', async () => {
  const p = await open(required);
  p.hide();
  await p.settle();
  expect(p.sent).toEqual([]);
  decided(p, 1);
  restore(p);
  p.show();
  p.w.funnelbeam('track', 'after_restore');
  await p.settle();
  expect(names(p)).toEqual(['pageview', 'pageview', 'after_restore']);
  expect(p.state().c).toBe(1);
});

test('a held page restored after the visitor refused on the next page, or decided nothing: nothing is sent', async () => {
  for (const c of [0, undefined] as const) {
    const p = await open(required);
    if (c === 0) decided(p, c);
    restore(p);
    p.w.funnelbeam('track', 'after_restore');
    await p.settle();
    expect(p.sent).toEqual([]);
  }
});

test('a page prerendered before the visitor granted consent on the page that offered it: shown, it sends its view without another consent call', async () => {
  const p = await open(prerendered);
  decided(p, 1);
  activate(p);
  await p.settle();
  expect(names(p)).toEqual(['pageview']);
  expect(p.sent[0].body.v).toBe('lqz4m0a1b2c3d4e5f6g7');
});

test('a page prerendered before the visitor refused, or with no decision: shown, it sends nothing', async () => {
  for (const c of [0, undefined] as const) {
    const p = await open(prerendered);
    if (c === 0) decided(p, c);
    activate(p);
    p.w.funnelbeam('track', 'after');
    await p.settle();
    expect(p.sent).toEqual([]);
  }
});
