// Form submits: newsletter/demo/other forms, valid submits only, email identifies, only marked fields are read.
import { afterEach, expect, test } from 'vitest';
import { openPage, type TestPage } from './page.js';

let page: TestPage;
afterEach(() => page?.close());

const submit = (id: string) => (page.w.document.getElementById(id) as any).requestSubmit();
const formEvents = () => page.events().filter((e) => e.n != 'pageview').map(({ n, f, em, tr, p }) => ({ n, f, em, tr, p }));

test('a valid newsletter form sends newsletter_signup with the email and marked fields only', async () => {
  page = await openPage({
    html: `<form id="f" data-funnelbeam="newsletter" action="/thanks">
      <input type="email" name="email" value="Jane@Example.com">
      <input name="first" value="Jane" data-funnelbeam-field="firstName">
      <input name="company" value="Acme" data-funnelbeam-field>
      <input name="secret_note" value="do not read">
      <input type="password" name="pw" value="hunter2" data-funnelbeam-field>
      <input name="card" autocomplete="cc-number" value="4111111111111111" data-funnelbeam-field>
      <input name="cvc" value="123" data-funnelbeam-field="cvc">
      <textarea name="msg">hello</textarea>
    </form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('f');
  await page.settle();
  expect(formEvents()).toEqual([
    { n: 'newsletter_signup', f: 'newsletter', em: 'Jane@Example.com', tr: { firstName: 'Jane', company: 'Acme' }, p: undefined },
  ]);
  const wire = JSON.stringify(page.sent.map((s) => s.body));
  for (const secret of ['hunter2', '4111111111111111', 'do not read', 'hello', '"123"']) expect(wire).not.toContain(secret);
});

test('a demo form sends demo_request; a text field named email identifies too', async () => {
  page = await openPage({
    html: `<form id="d" data-funnelbeam="demo"><input name="work_email" value=" cto@corp.io "><input name="size" value="50"></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('d');
  await page.settle();
  expect(formEvents()).toEqual([{ n: 'demo_request', f: 'demo', em: 'cto@corp.io', tr: undefined, p: undefined }]);
});

test('any other form with an email field sends form_submit; a form without one sends nothing', async () => {
  page = await openPage({
    html: `<form id="c"><input type="email" name="e" value="a@b.co"></form>
      <form id="s"><input type="search" name="q" value="pricing"></form>
      <form id="o"><input type="checkbox" name="email_optin" checked></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('c');
  submit('s');
  submit('o');
  await page.settle();
  expect(formEvents()).toEqual([{ n: 'form_submit', f: 'other', em: 'a@b.co', tr: undefined, p: undefined }]);
});

test('an invalid form (required field empty, even with novalidate) sends nothing', async () => {
  page = await openPage({
    html: `<form id="f" data-funnelbeam="newsletter" novalidate><input type="email" name="email" required value=""></form>
      <form id="g" data-funnelbeam="demo" novalidate><input type="email" name="email" value="not-an-email"></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('f');
  submit('g');
  await page.settle();
  expect(formEvents()).toEqual([]);
});

test('a form event is sent at once, before a full-page submit navigates away', async () => {
  page = await openPage({
    html: `<form id="f" data-funnelbeam="newsletter"><input type="email" name="email" value="x@y.io"></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  await page.settle();
  const before = page.sent.length;
  submit('f');
  expect(page.sent.length).toBe(before + 1);
  expect(page.sent.at(-1)!.body.e.map((e) => e.n)).toEqual(['newsletter_signup']);
});

test('an email that does not look like an address is not sent, the event still is', async () => {
  page = await openPage({
    html: `<form id="f" data-funnelbeam="newsletter"><input name="email" value="jane at example"></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('f');
  await page.settle();
  expect(formEvents()).toEqual([{ n: 'newsletter_signup', f: 'newsletter', em: undefined, tr: undefined, p: undefined }]);
});

test('marked checkboxes and radio buttons send the value of what is checked, nothing for what is not', async () => {
  page = await openPage({
    html: `<form id="f" data-funnelbeam="demo"><input type="email" name="email" value="a@b.co">
      <input type="checkbox" name="optin" value="yes" data-funnelbeam-field="marketingOptIn">
      <input type="checkbox" name="terms" value="accepted" checked data-funnelbeam-field="terms">
      <input type="radio" name="size" value="1-50" data-funnelbeam-field="companySize">
      <input type="radio" name="size" value="51-200" checked data-funnelbeam-field="companySize">
      <input type="radio" name="size" value="201+" data-funnelbeam-field="companySize">
      <select name="country" data-funnelbeam-field="country"><option value="US">US</option><option value="DE" selected>DE</option></select>
    </form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('f');
  await page.settle();
  expect(formEvents()).toEqual([
    { n: 'demo_request', f: 'demo', em: 'a@b.co', tr: { terms: 'accepted', companySize: '51-200', country: 'DE' }, p: undefined },
  ]);
});

test('a text field known as an email by its autocomplete or id identifies, as one named so does', async () => {
  page = await openPage({
    html: `<form id="a"><input autocomplete="email" value="auto@example.com"></form>
      <form id="i"><input id="contact-email" value="byid@example.com"></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('a');
  submit('i');
  await page.settle();
  expect(formEvents()).toEqual([
    { n: 'form_submit', f: 'other', em: 'auto@example.com', tr: undefined, p: undefined },
    { n: 'form_submit', f: 'other', em: 'byid@example.com', tr: undefined, p: undefined },
  ]);
});

test('a form marked with its own kind (even "constructor") is sent with that marker (the collector keeps it as props.form)', async () => {
  page = await openPage({
    html: `<form id="k" data-funnelbeam="constructor"><input type="email" name="email" value="k@example.com"></form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('k');
  await page.settle();
  expect(formEvents()).toEqual([{ n: 'form_submit', f: 'constructor', em: 'k@example.com', tr: undefined, p: undefined }]);
});

test('a marked password the visitor showed (its type switched to "text") or a marked card field is never sent, whatever the name says of it: pwd, pass1, user_pass, passwort, mot_de_passe, payment[cc_number], payment[cc_cid], cc-exp', async () => {
  // contract §3: password and card fields never, also when marked (README: "even when marked"); a shown password keeps
  // its name, and its autocomplete only where the site wrote one
  page = await openPage({
    html: `<form id="f">
      <input type="email" name="email" value="dev@startup.example" data-funnelbeam-field>
      <input name="company" value="Startup" data-funnelbeam-field>
      <input type="text" name="pwd" value="secret-1" data-funnelbeam-field>
      <input type="text" name="pass1" value="secret-2" data-funnelbeam-field>
      <input type="text" name="user_pass" value="secret-3" data-funnelbeam-field>
      <input type="text" name="passwort" value="secret-4" data-funnelbeam-field>
      <input type="text" name="mot_de_passe" value="secret-5" data-funnelbeam-field>
      <input type="text" name="payment[cc_number]" value="4111111111111111" data-funnelbeam-field>
      <input type="text" name="payment[cc_cid]" value="737" data-funnelbeam-field="cid">
      <input type="text" name="exp" autocomplete="cc-exp" value="08/29" data-funnelbeam-field>
      <input type="text" name="jobTitle" value="CTO" data-funnelbeam-field>
    </form>`,
    before: (w) => w.document.addEventListener('submit', (e: any) => e.preventDefault()),
  });
  submit('f');
  await page.settle();
  expect(formEvents()).toEqual([{ n: 'form_submit', f: 'other', em: 'dev@startup.example', tr: { company: 'Startup', jobTitle: 'CTO' }, p: undefined }]);
  const wire = JSON.stringify(page.sent.map((s) => s.body));
  for (const secret of ['secret-', '4111111111111111', '"737"', '08/29']) expect(wire).not.toContain(secret);
});
