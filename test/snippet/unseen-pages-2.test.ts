// Findings of the second unseen-pages round (see test/e2e/unseen-pages-2.test.ts), at the unit level: image-map links,
// the landing campaign read from the navigation entry, empty email fields, form.submit(), and consent
// given in another tab or on a page whose storage predates data-consent="required".
import { expect, test } from 'vitest';
import { pagesOfTest, type TestPage } from './page.js';

const open = pagesOfTest();
const REQUIRED = { attrs: { 'data-consent': 'required' } };
const el = (p: TestPage, id: string) => p.w.document.getElementById(id) as any;
const fire = (p: TestPage, id: string, type: 'submit' | 'formdata') => el(p, id).dispatchEvent(new p.w.Event(type, { bubbles: true, cancelable: true }));
const formEvents = (p: TestPage) => p.events().filter((e) => e.f).map(({ n, f, em }) => ({ n, f, em }));

test('an image map: a click on an <area href> is a download or an outbound link', async () => {
  const page = await open({ html: '<map name="m"><area id="pdf" href="/files/brochure.pdf"><area id="out" href="https://partner.example/x"></map>' });
  el(page, 'pdf').click();
  el(page, 'out').click();
  await page.settle();
  expect(page.events().slice(1).map((e) => [e.n, e.p])).toEqual([
    ['download', { url: 'https://www.example.com/files/brochure.pdf' }],
    ['outbound', { url: 'https://partner.example/x' }],
  ]);
});

test('the landing campaign comes from the navigation entry: a page script that stripped it from the address bar first loses nothing', async () => {
  const page = await open({
    url: 'https://www.example.com/landing',
    // (happy-dom's performance is node's, shared by every window: this page gets its own)
    before: (w) =>
      Object.defineProperty(w, 'performance', {
        value: { getEntriesByType: (type: string) => (type == 'navigation' ? [{ name: 'https://www.example.com/landing?utm_source=linkedin&gclid=g1' }] : []) },
        configurable: true,
      }),
  });
  await page.settle();
  const [view] = page.events();
  expect([view.u, view.ft, view.st]).toEqual([
    'https://www.example.com/landing',
    expect.objectContaining({ url: 'https://www.example.com/landing?utm_source=linkedin&gclid=g1', utm_source: 'linkedin', gclid: 'g1' }),
    expect.objectContaining({ utm_source: 'linkedin', gclid: 'g1' }),
  ]);
});

test('a form sent with its email field empty (a site that validates by script) is no submit; filled in, it is one; a honeypot left empty is no email field', async () => {
  const page = await open({
    html: `<form id="f" novalidate><input type="email" name="email_hp" value=""><input type="email" name="email" value=""></form>
      <form id="n" data-funnelbeam="newsletter"><input type="text" name="EMAIL" value="  "></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  fire(page, 'f', 'submit');
  fire(page, 'n', 'submit');
  el(page, 'f').elements.email.value = 'ana@corp.example';
  fire(page, 'f', 'submit');
  await page.settle();
  expect(formEvents(page)).toEqual([{ n: 'form_submit', f: 'other', em: 'ana@corp.example' }]);
});

test('form.submit() (no submit event) counts; a formdata event alone (new FormData(form): htmx 2, an unsaved-changes guard, a form-analytics tool reading the values) is no submit', async () => {
  // (a validation library's cancelled submit followed by form.submit() counting once is judged in Chromium,
  // test/e2e/unseen-pages-2.test.ts: happy-dom calls a prototype method with its own element, not the proxy the page
  // holds and events carry, so the two are never the same form here)
  const page = await open({
    html: `<form id="script" data-funnelbeam="demo"><input type="email" name="email" value="m@marketo.example"></form>
      <form id="read"><input type="email" name="email" value="r@read.example"></form>`,
  });
  el(page, 'script').submit();
  fire(page, 'read', 'formdata');
  await page.settle();
  expect(formEvents(page)).toEqual([{ n: 'demo_request', f: 'demo', em: 'm@marketo.example' }]);
});

// A tab holding for consent takes a consent given in another open tab (a `storage` listener, +22 B gzip with the visitor id
// made at the grant, so that the two tabs' first sends do not each make one; crossing writes of the outbox are absorbed by
// its joining of what each tab holds: test/e2e/privacy-judge-3.test.ts).
test('consent required: consent stored by another tab reaches a waiting tab (storage event), which sends what it held, then its queued commands', async () => {
  const page = await open({ ...REQUIRED, url: 'https://www.example.com/a?utm_source=news' });
  page.w.funnelbeam('track', 'queued');
  await page.settle();
  expect(page.sent).toEqual([]);
  // the other tab consents: it stores its state with c: 1
  const other = { v: 'visitor-of-tab-b', c: 1, q: [] };
  page.w.localStorage.setItem('_fb', JSON.stringify(other));
  page.w.dispatchEvent(new page.w.StorageEvent('storage', { key: '_fb', newValue: JSON.stringify(other) }));
  // (taken a moment later, then batched)
  await page.settle(500);
  expect(page.sent.map((s) => [s.body.v, s.body.e.map((e) => e.n)])).toEqual([['visitor-of-tab-b', ['pageview', 'queued']]]);
  expect(page.events()[0].ft).toMatchObject({ utm_source: 'news' });
  // a later refusal there is read by track() as before
  page.w.localStorage.setItem('_fb', '{"c":0}');
  page.w.funnelbeam('track', 'after');
  await page.settle();
  expect(page.sent).toHaveLength(1);
});

test('consent required on a site whose visitor has state from before (no decision stored): every event held before consent is sent', async () => {
  const stored = { v: 'returning', f: { url: 'https://www.example.com/old', at: 1 }, s: { url: 'https://www.example.com/old', at: 1 }, a: 1, q: [] };
  const page = await open({ ...REQUIRED, storage: { _fb: JSON.stringify(stored) } });
  page.w.history.pushState({}, '', '/features');
  page.w.funnelbeam('track', 'queued');
  await page.settle();
  expect(page.sent).toEqual([]);
  page.w.funnelbeam('consent', true);
  await page.settle();
  expect(page.sent.map((s) => [s.body.v, s.body.e.map((e) => [e.n, new URL(e.u).pathname])])).toEqual([
    [
      'returning',
      [
        ['pageview', '/'],
        ['pageview', '/features'],
        ['queued', '/features'],
      ],
    ],
  ]);
});

test('a fetch cancelled because the page is being left (a link followed, a form posted) sets no back-off for the next pages', async () => {
  const page = await open({
    status: 'network' as never,
    // the answer comes after the page was hidden, as a cancelled fetch's does
    before: (w) => {
      const sent = w.fetch;
      w.fetch = (async (...a: unknown[]) => (await new Promise((r) => setTimeout(r, 100)), sent(...(a as [never])))) as never;
    },
  });
  page.w.funnelbeam('track', 'cta');
  await page.settle(320);
  page.hide();
  await page.settle(200);
  expect(page.sent.map((s) => s.via).sort()).toEqual(['beacon', 'fetch']);
  expect([page.state().b, page.state().n]).toEqual([undefined, undefined]);
  // a failure while the page is visible still backs off
  page.show();
  page.w.funnelbeam('track', 'again');
  await page.settle(600);
  expect(page.state().n).toBe(1);
});

// Known gap, left out: a tab does not take a consent given in another open tab until its next page (a `storage`
// listener costs 37 B gzip, needs a delay so the tabs' writes do not cross, and reads the stored text). Flip to test() to check a fix.
test.skip('consent refused on this page, then granted in another tab: this tab tracks again (its view went with the refusal)', async () => {
  const page = await open(REQUIRED);
  page.w.funnelbeam('consent', false);
  page.w.funnelbeam('track', 'refused');
  page.w.localStorage.setItem('_fb', '{"c":1}');
  page.w.dispatchEvent(new page.w.StorageEvent('storage', { key: '_fb', newValue: '{"c":1}' }));
  await page.settle(150);
  page.w.funnelbeam('track', 'granted');
  await page.settle();
  expect(page.events().map((e) => e.n)).toEqual(['granted']);
});

test('each batch carries the device clock when sent (t) and, with data-local, l: what the collector needs to correct times and to keep a headless browser on a data-local page from being a bot', async () => {
  const before = Date.now();
  const local = await open({ attrs: { 'data-local': '' } });
  await local.settle();
  expect(local.sent[0].body).toMatchObject({ l: '', t: expect.toSatisfy((t: number) => t >= before && t <= Date.now()) });
  const plain = await open({});
  await plain.settle();
  expect('l' in plain.sent[0].body).toBe(false);
});
