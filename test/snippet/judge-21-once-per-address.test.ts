// A finding of the twenty-first unseen-pages round (test/e2e/unseen-pages-21.test.ts), at the unit level: a form sent
// again with the same address is the same sign-up (Gravity Forms posting every page of a multi-page form, its form
// replaced each time; a double click; a send corrected after the site's own refusal), while another address, another
// kind of form, or another route of a single-page app is a new one. Expected values worked out by hand from contract §3
// (one valid submit, one event, the email identifying) and the README's form rules.
import { expect, test } from 'vitest';
import { pagesOfTest, type TestPage } from './page.js';

const open = pagesOfTest();
const el = (p: TestPage, id: string) => p.w.document.getElementById(id) as any;
const send = (p: TestPage, id: string) => el(p, id).requestSubmit();
const forms = (p: TestPage) => p.events().filter((e) => e.n != 'pageview').map((e) => [e.n, e.f, e.em ?? null, e.u.replace('https://www.example.com', '')]);
const noSend = { before: (w: any) => w.document.addEventListener('submit', (e: any) => e.preventDefault()) };

test('a contact form sent three times with one address is one form_submit; sent with another address, a second one', async () => {
  const p = await open({ html: '<form id="c"><input type="email" name="email" id="e" value="ana@corp.example"><button>Send</button></form>', ...noSend });
  send(p, 'c');
  send(p, 'c');
  send(p, 'c');
  el(p, 'e').value = 'bob@corp.example';
  send(p, 'c');
  await p.settle();
  expect(forms(p)).toEqual([
    ['form_submit', 'other', 'ana@corp.example', '/'],
    ['form_submit', 'other', 'bob@corp.example', '/'],
  ]);
});

test('a multi-page form replaced by its next page (Gravity Forms\' AJAX postback) with the address carried: one form_submit', async () => {
  const page1 = '<div id="w"><form id="g"><input type="email" name="input_1" value="gina@corp.example"><input name="input_3" value=""></form></div>';
  const p = await open({ html: page1, ...noSend });
  // "Next": jQuery's trigger('submit') runs form.submit() (no submit event), posting into the AJAX iframe
  el(p, 'g').submit();
  el(p, 'w').innerHTML = '<form id="g"><input type="email" name="input_1" value="gina@corp.example" style="display:none"><input name="input_3" value="Gravity Co"></form>';
  send(p, 'g');
  await p.settle();
  expect(forms(p)).toEqual([['form_submit', 'other', 'gina@corp.example', '/']]);
});

test('one address on one page in a newsletter form and a demo form: both count; a webinar form on another route of a single-page app: counts again', async () => {
  const p = await open({
    url: 'https://www.example.com/webinars/a',
    html:
      '<form id="n" data-funnelbeam="newsletter"><input type="email" name="email" value="sam@corp.example"></form>' +
      '<form id="d" data-funnelbeam="demo"><input type="email" name="email" value="sam@corp.example"></form>' +
      '<form id="w" data-funnelbeam="webinar"><input type="email" name="email" value="sam@corp.example"></form>',
    ...noSend,
  });
  send(p, 'n');
  send(p, 'd');
  send(p, 'w');
  p.w.history.pushState({}, '', '/webinars/b');
  send(p, 'w');
  send(p, 'w');
  await p.settle();
  expect(forms(p)).toEqual([
    ['newsletter_signup', 'newsletter', 'sam@corp.example', '/webinars/a'],
    ['demo_request', 'demo', 'sam@corp.example', '/webinars/a'],
    ['form_submit', 'webinar', 'sam@corp.example', '/webinars/a'],
    ['form_submit', 'webinar', 'sam@corp.example', '/webinars/b'],
  ]);
});

test('without an address the form rule holds: a marked form with no email field counts once; a form counted with an address is not counted again by its last step without the email field', async () => {
  const p = await open({
    html:
      '<form id="d" data-funnelbeam="demo"><input name="company" value="Corp"></form>' +
      '<form id="m"><div id="step"><input type="email" name="email" value="max@corp.example"></div><input name="size" value="50"></form>',
    ...noSend,
  });
  send(p, 'd');
  send(p, 'd');
  send(p, 'm');
  el(p, 'step').remove();
  send(p, 'm');
  await p.settle();
  expect(forms(p)).toEqual([
    ['demo_request', 'demo', null, '/'],
    ['form_submit', 'other', 'max@corp.example', '/'],
  ]);
});
