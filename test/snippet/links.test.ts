// Link clicks: downloads by extension or download attribute, outbound links (also middle-click).
import { afterEach, expect, test } from 'vitest';
import { openPage, type TestPage } from './page.js';

let page: TestPage;
afterEach(() => page?.close());

const LINKS = `
  <a id="pdf" href="/files/Whitepaper.PDF?utm=x#p2"><span id="inner">Get it</span></a>
  <a id="blob" href="/export" download="report.csv">Export</a>
  <a id="out" href="https://partner.example.org/page">Partner</a>
  <a id="in" href="/pricing">Pricing</a>
  <a id="mail" href="mailto:sales@example.com">Mail</a>
  <a id="zip" href="/a.zip">zip</a>
  <a id="page" href="/docs.html">docs</a>`;

// the page keeps itself (as an SPA would); happy-dom would otherwise navigate away on each click
const stay = { before: (w: any) => ['click', 'auxclick'].forEach((t) => w.document.addEventListener(t, (e: any) => e.preventDefault())) };

const click = (id: string, button = 0, type = 'click') =>
  page.w.document.getElementById(id)!.dispatchEvent(new page.w.MouseEvent(type, { bubbles: true, cancelable: true, button }));

const linkEvents = () => page.events().filter((e) => e.n != 'pageview').map((e) => [e.n, e.p]);

test('a click on a listed extension (upper-case, with query and hash) sends download with the link URL at once', async () => {
  page = await openPage({ html: LINKS, ...stay });
  await page.settle();
  page.w.document.getElementById('inner')!.dispatchEvent(new page.w.MouseEvent('click', { bubbles: true, button: 0 }));
  // sent without waiting for the batching moment: the visitor may be leaving
  expect(page.sent.at(-1)!.body.e.map((e) => e.n)).toEqual(['download']);
  expect(linkEvents()).toEqual([['download', { url: 'https://www.example.com/files/Whitepaper.PDF?utm=x#p2' }]]);
});

test('a link with a download attribute is a download whatever its URL', async () => {
  page = await openPage({ html: LINKS, ...stay });
  click('blob');
  await page.settle();
  expect(linkEvents()).toEqual([['download', { url: 'https://www.example.com/export' }]]);
});

test('a click to another host is outbound; middle-click (auxclick) too; right-click, internal and mailto links are not', async () => {
  page = await openPage({ html: LINKS, ...stay });
  click('out');
  click('out', 1, 'auxclick');
  click('out', 2, 'auxclick');
  click('in');
  click('mail');
  click('page');
  await page.settle();
  expect(linkEvents()).toEqual([
    ['outbound', { url: 'https://partner.example.org/page' }],
    ['outbound', { url: 'https://partner.example.org/page' }],
  ]);
});

test('data-downloads replaces the extension list', async () => {
  page = await openPage({ html: LINKS, attrs: { 'data-downloads': 'zip, .html' }, ...stay });
  click('pdf');
  click('zip');
  click('page');
  await page.settle();
  expect(linkEvents().map((e) => e[0])).toEqual(['download', 'download']);
  expect(linkEvents().map((e) => (e[1] as { url: string }).url)).toEqual(['https://www.example.com/a.zip', 'https://www.example.com/docs.html']);
});

test('data-downloads written as globs or with other separators ("*.PDF; *.zip|.html") lists the same extensions, and outbound links still count', async () => {
  page = await openPage({ html: LINKS, attrs: { 'data-downloads': '*.PDF; *.zip|.html' }, ...stay });
  for (const id of ['pdf', 'zip', 'page', 'in', 'out']) click(id);
  await page.settle();
  expect(linkEvents().map((e) => [e[0], (e[1] as { url: string }).url.replace('https://www.example.com', '')])).toEqual([
    ['download', '/files/Whitepaper.PDF?utm=x#p2'],
    ['download', '/a.zip'],
    ['download', '/docs.html'],
    ['outbound', 'https://partner.example.org/page'],
  ]);
});

test('the click is never prevented, so navigation is not delayed', async () => {
  page = await openPage({ html: LINKS });
  let prevented: boolean | undefined;
  page.w.document.addEventListener('click', (e: any) => {
    prevented = e.defaultPrevented;
    e.preventDefault();
  });
  page.w.document.getElementById('out')!.dispatchEvent(new page.w.MouseEvent('click', { bubbles: true, cancelable: true, button: 0 }));
  expect(prevented).toBe(false);
  expect(page.events().map((e) => e.n)).toContain('outbound');
});

test('a click outside any link sends nothing and throws nothing', async () => {
  page = await openPage({ html: '<p id="p">text</p>' });
  const errors: unknown[] = [];
  page.w.addEventListener('error', (e) => errors.push(e));
  click('p');
  await page.settle();
  expect(linkEvents()).toEqual([]);
  expect(errors).toEqual([]);
});
