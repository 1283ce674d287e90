// Fifteenth round of pages the snippet had not seen: AJAX forms sent from their submit button's own click handler (the
// jQuery-era `$('#btn').click(function (e) { e.preventDefault(); $.post(…) })`, Vue's `<button type="submit"
// @click.prevent>`: the click's default is prevented, so the browser fires no submit event), beside buttons of a form
// that send nothing (a password "eye", an "Apply coupon" button); a page hardened the way SES `lockdown()` leaves it
// (Object, Array, Function, String, RegExp, Promise, JSON and Math frozen); and history wrappers of other analytics
// tools (GA4's enhanced measurement, Segment) put around pushState before and after the tag, in headless Chromium
// against the real collector. The expected events are worked out by hand from the contract (§2–§4) and the README
// before each run.
import { expect, test } from 'vitest';
import { doc, loaded, named, noEngagement, pathOf as path, setHidden, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf, watched } = sites;

const ok = (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');

// Contract §3: `newsletter_signup` / `demo_request` is a valid submit of a form so marked, and the form's email field
// identifies the visitor. A site that sends its form from the submit button's click handler (preventDefault there, then
// fetch) never lets the browser fire a submit event, yet the visitor sent the form: the signup is what happened. A
// button of a form that sends nothing (a password field's "show" toggle, an "Apply coupon" button: no type attribute,
// their click prevented so that they do not submit) is no send.
test('AJAX forms sent from their submit button\'s click handler (the click prevented, no submit event): a jQuery-era newsletter (input type=submit, $.post then a thank-you), a Vue demo form (button type=submit @click.prevent, sent by Enter in the email field), a React trial form emptied and swapped for a thank-you as it is sent; a login\'s password "show" button and a checkout\'s "Apply coupon" button send nothing', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<div id="nl-box"><form id="nl" data-funnelbeam="newsletter" action="/subscribe" method="post">
         <input type="email" name="EMAIL" id="nl-email" required placeholder="you@company.com">
         <input type="hidden" name="action" value="mc_subscribe"><input type="hidden" name="id" value="a1b2c3">
         <input type="submit" id="nl-go" value="Subscribe"></form></div>
       <form id="login" action="/login" method="post">
         <input type="email" name="username" autocomplete="username" id="login-email">
         <input type="password" name="password" id="pw"><button class="eye" id="eye">show</button>
         <button type="submit">Log in</button></form>
       <form id="checkout" action="/order" method="post">
         <input type="email" name="billing_email" id="co-email" required>
         <input name="coupon" id="coupon"><button id="apply">Apply coupon</button>
         <button type="submit">Place order</button></form>
       <script>
         // jQuery-era: $('#nl-go').click(function (e) { e.preventDefault(); $.post('/subscribe', $form.serialize(), …) })
         document.getElementById('nl-go').addEventListener('click', function (e) {
           e.preventDefault();
           var f = this.form;
           if (!f.checkValidity()) return f.reportValidity();
           fetch('/subscribe', { method: 'POST', body: new URLSearchParams(new FormData(f)) }).then(function () {
             document.getElementById('nl-box').innerHTML = '<p id="nl-thanks">Thanks for subscribing!</p>';
           });
         });
         document.getElementById('eye').onclick = function (e) { e.preventDefault(); var p = document.getElementById('pw'); p.type = p.type == 'password' ? 'text' : 'password'; };
         document.getElementById('apply').addEventListener('click', function (e) { e.preventDefault(); fetch('/coupon', { method: 'POST', body: this.form.coupon.value }); });
       </script>`,
      'home',
    ),
    // a Vue 3 component as it renders (the model read in the handler, the form swapped for a thank-you after the answer)
    '/demo': doc(
      `<script defer ${tagOf()}></script>`,
      `<div id="app"><form id="demo" data-funnelbeam="demo" action="/demo" method="post">
         <input type="text" name="company" id="company"><input type="email" name="email" id="demo-email" required>
         <button type="submit" id="book">Book a demo</button></form></div>
       <script>
         var model = { company: '', email: '' };
         document.getElementById('company').oninput = function (e) { model.company = e.target.value; };
         document.getElementById('demo-email').oninput = function (e) { model.email = e.target.value; };
         // @click.prevent="send"
         document.getElementById('book').addEventListener('click', function (e) {
           e.preventDefault();
           fetch('/api/demo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(model) })
             .then(function () { document.getElementById('app').innerHTML = '<p id="booked">We will be in touch</p>'; });
         });
       </script>`,
      'demo',
    ),
    // React 18 as it renders a controlled form: the handler posts without waiting and sets its state (the fields emptied,
    // the form swapped for a thank-you), which React writes to the DOM in a microtask, before any timer of the page runs
    '/trial': doc(
      `<script defer ${tagOf()}></script>`,
      `<div id="root"><form id="trial" data-funnelbeam="trial"><input type="email" name="email" id="trial-email" required>
         <button type="submit" id="start">Start free trial</button></form><p id="started" hidden>Check your inbox</p></div>
       <script>
         document.getElementById('start').addEventListener('click', (e) => {
           e.preventDefault();
           const form = e.currentTarget.form;
           fetch('/api/trial', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: form.email.value }) });
           queueMicrotask(() => { form.reset(); form.hidden = true; document.getElementById('started').hidden = false; });
         });
       </script>`,
      'trial',
    ),
    '/api/trial': ok,
    '/subscribe': ok,
    '/coupon': ok,
    '/api/demo': ok,
  });
  const a = await watched(s.origin + '/?utm_source=newsletter');
  await loaded(a.page);
  // the password "show" toggle and the coupon, with every field filled: nothing is sent
  await a.page.fill('#login-email', 'sam@login.example');
  await a.page.fill('#pw', 'hunter2');
  await a.page.click('#eye');
  await a.page.fill('#co-email', 'sam@checkout.example');
  await a.page.fill('#coupon', 'SPRING10');
  await a.page.click('#apply');
  // the newsletter: first sent empty (the page's own check refuses it), then filled
  await a.page.click('#nl-go');
  await a.page.fill('#nl-email', 'ana@news.example');
  await a.page.click('#nl-go');
  await a.page.waitForSelector('#nl-thanks');
  await Promise.all([a.page.waitForURL('**/demo'), a.page.evaluate(() => (location.href = '/demo'))]);
  await loaded(a.page);
  await a.page.fill('#company', 'Acme');
  await a.page.fill('#demo-email', 'bo@acme.example');
  await a.page.press('#demo-email', 'Enter');
  await a.page.waitForSelector('#booked');
  await waitFor(s, (r) => named(r, 'demo_request').length > 0);
  await Promise.all([a.page.waitForURL('**/trial'), a.page.evaluate(() => (location.href = '/trial'))]);
  await loaded(a.page);
  await a.page.fill('#trial-email', 'cy@trial.example');
  await a.page.click('#start');
  await a.page.waitForSelector('#started');
  await waitFor(s, (r) => named(r, 'form_submit').length > 0);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email, r.utm_source])).toEqual([
    ['pageview', '/?utm_source=newsletter', null, 'newsletter'],
    ['newsletter_signup', '/?utm_source=newsletter', 'ana@news.example', 'newsletter'],
    ['pageview', '/demo', null, 'newsletter'],
    ['demo_request', '/demo', 'bo@acme.example', 'newsletter'],
    ['pageview', '/trial', null, 'newsletter'],
    ['form_submit', '/trial', 'cy@trial.example', 'newsletter'],
  ]);
  // (a form marked with a kind of its own is a form_submit of kind "other" whose props.form is the marker: README)
  expect(rows.map((r) => r.form)).toEqual([null, 'newsletter', null, 'demo', null, 'other']);
  expect(named(rows, 'form_submit')[0].props).toEqual({ form: 'trial' });
  // no field but the email is read (contract §3): not the company, the coupon or the password
  expect(rows.map((r) => r.traits)).toEqual([null, null, null, null, null, null]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Google's invisible reCAPTCHA bound to a submit button (grecaptcha.render('send', { callback })) takes the button's
// click (its default prevented) and, once the challenge is solved, calls the site's callback, which posts the form with
// form.submit() as Google's documentation shows. The visitor sent the form once: one form_submit with the email
// (README: form.submit() is seen, and a submit already counted is not counted again), then the thank-you page's view.
test('an invisible reCAPTCHA on a contact form\'s submit button (the click prevented, the challenge solved later, then the documented form.submit()): one form_submit with the email, then the thank-you view', async () => {
  const s = await serve({
    '/contact': doc(
      `<script defer ${tagOf()}></script>`,
      `<form id="contact" action="/thanks" method="post">
         <input name="name" value="Sam"><input type="email" name="email" id="email" required>
         <button type="submit" id="send">Send</button></form>
       <script>
         // what recaptcha/api.js does for a button rendered as an invisible widget
         document.getElementById('send').addEventListener('click', function (e) {
           e.preventDefault();
           if (!this.form.reportValidity()) return;
           setTimeout(function onSubmit(token) { document.getElementById('contact').submit(); }, 300);
         });
       </script>`,
      'contact',
    ),
    '/thanks': (req, res) => void req.resume().on('end', () => res.writeHead(200, { 'content-type': 'text/html' }).end(doc(`<script defer ${tagOf()}></script>`, '<p>Thanks</p>', 'thanks'))),
  });
  const a = await watched(s.origin + '/contact');
  await loaded(a.page);
  await a.page.fill('#email', 'sam@contact.example');
  await Promise.all([a.page.waitForURL('**/thanks'), a.page.click('#send')]);
  await loaded(a.page);
  await waitFor(s, (r) => named(r, 'pageview').length == 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/contact', null],
    ['form_submit', '/contact', 'sam@contact.example'],
    ['pageview', '/thanks', null],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});
