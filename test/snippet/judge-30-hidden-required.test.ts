// A finding of the twenty-sixth unseen-pages round (test/e2e/unseen-pages-26.test.ts), at the unit level: a `required`
// control that the form's conditional logic hides (display: none on it or on its wrapper) is not shown to the visitor,
// and the form's own validation (jQuery Validate's ignore ":hidden", Parsley's excluded ":hidden") skips it: a send
// with it empty is a valid submit (contract §3) when every shown control is valid. Expected values worked out by hand.
import { afterEach, expect, test } from 'vitest';
import { openPage, type TestPage } from './page.js';

let page: TestPage;
afterEach(() => page?.close());

const submit = (id: string) => (page.w.document.getElementById(id) as any).requestSubmit();
const formEvents = () => page.events().filter((e) => e.n != 'pageview').map(({ n, f, em }) => ({ n, f, em }));
const noSend = { before: (w: any) => w.document.addEventListener('submit', (e: any) => e.preventDefault()) };

test('a novalidate demo form whose required State select is hidden with its wrapper, and one whose required field is hidden itself: both count', async () => {
  page = await openPage({
    html: `<form id="a" data-funnelbeam="demo" novalidate><input type="email" name="email" required value="lena@acme.de">
        <div class="conditional" style="display: none"><select name="state" required><option value="" selected>Choose</option><option>CA</option></select></div></form>
      <form id="b" novalidate><input type="email" name="email" value="kai@acme.de"><input name="vat" required style="display: none"></form>`,
    ...noSend,
  });
  submit('a');
  submit('b');
  await page.settle();
  expect(formEvents()).toEqual([
    { n: 'demo_request', f: 'demo', em: 'lena@acme.de' },
    { n: 'form_submit', f: 'other', em: 'kai@acme.de' },
  ]);
});

test('the same form with the State select shown and empty sends nothing; chosen, it counts', async () => {
  page = await openPage({
    html: `<form id="a" data-funnelbeam="demo" novalidate><input type="email" name="email" required value="sam@acme.com">
        <div class="conditional"><select id="state" name="state" required><option value="" selected>Choose</option><option>CA</option></select></div></form>`,
    ...noSend,
  });
  submit('a');
  await page.settle();
  expect(formEvents()).toEqual([]);
  (page.w.document.getElementById('state') as any).value = 'CA';
  submit('a');
  await page.settle();
  expect(formEvents()).toEqual([{ n: 'demo_request', f: 'demo', em: 'sam@acme.com' }]);
});

test('a hidden field that is invalid does not make a shown invalid email valid: visibility only skips, never accepts', async () => {
  page = await openPage({
    html: `<form id="a" data-funnelbeam="newsletter" novalidate><input type="email" name="email" required value="">
        <input name="hp" required style="display: none"></form>`,
    ...noSend,
  });
  submit('a');
  await page.settle();
  expect(formEvents()).toEqual([]);
});
