// Nineteenth round of pages the snippet had not seen, on the markup of links and forms: a form sent by a script's
// requestSubmit() after a CAPTCHA or an async check (the submit button's click cancelled first, or the form's submit
// event), an AJAX form whose submit button outside it (form="…") has its click cancelled, an old theme's image submit
// button (<input type="image">) whose click a jQuery handler cancels, links of a CMS written with whitespace and line
// breaks around their address in inline SVG and in an image map (protocol-relative, `../`, a `download` <area>), and
// download links a Java servlet site writes with its session id (`;jsessionid=…`), a work-email pattern refusing a
// free-mail address, a field outside its form sent by Enter; and two gaps measured and left out (requestSubmit(button)
// after a cancelled click; a form with no submit button counted at the click of a component library's type=button
// select trigger), in headless Chromium against the real collector. The expected events are worked out by hand from
// the contract (§2–§4) and the README before each run.
import { expect, test } from 'vitest';
import type { ServerResponse, IncomingMessage } from 'node:http';
import { doc, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf, watched } = sites;

/** A page answering any method (a form's POST included), the body read first. */
const page = (html: string) => (req: IncomingMessage, res: ServerResponse) =>
  void req.resume().on('end', () => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));

// Contract §3: newsletter_signup is the valid submit of a form marked newsletter: the visitor sent it once. Google's
// reCAPTCHA v3 documentation binds the challenge to the submit button's click (`e.preventDefault()`, then
// `grecaptcha.execute(…).then(token => …)`), and sites then send the form with `form.requestSubmit()` (which, unlike
// form.submit(), runs the browser's validation and the form's submit listeners). README lists this as a known gap
// ("a page that cancels the click and later sends the form with requestSubmit() counts it twice"): fixed in this round.
// Expected: one newsletter_signup with the address, then the thank-you page's view.
test('a newsletter form whose submit button\'s click is cancelled for a reCAPTCHA token, then sent with form.requestSubmit() once the token came: one newsletter_signup, then the thank-you view', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<form id="nl" data-funnelbeam="newsletter" action="/thanks" method="post">
         <input type="email" name="email" id="email" required><input type="hidden" name="g-recaptcha-response" id="token">
         <button type="submit" id="join">Join</button></form>
       <script>
         document.getElementById('join').addEventListener('click', function (e) {
           e.preventDefault();
           var form = this.form;
           // grecaptcha.execute(siteKey, { action: 'submit' }).then(function (token) { … })
           setTimeout(function () { document.getElementById('token').value = 'tok-1'; form.requestSubmit(); }, 250);
         });
       </script>`,
      'home',
    ),
    '/thanks': page(doc(`<script defer ${tagOf()}></script>`, '<p>Thanks</p>', 'thanks')),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.fill('#email', 'nina@news.example');
  await Promise.all([a.page.waitForURL('**/thanks'), a.page.click('#join')]);
  await loaded(a.page);
  await waitFor(s, (r) => named(r, 'pageview').length == 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['newsletter_signup', '/', 'nina@news.example'],
    ['pageview', '/thanks', null],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// The same with the challenge bound to the form's submit event (Cloudflare Turnstile's and many reCAPTCHA guides'
// pattern: the first submit is cancelled while the token is fetched, then `form.requestSubmit()` sends it for real).
// README: "a validation library or CAPTCHA that cancels the submit event and then calls form.submit() counts once";
// the visitor pressed Book once. Expected: one demo_request with the address and the marked company, then the thank-you
// view.
test('a demo form whose submit event is cancelled while a Turnstile token is fetched, then sent again with form.requestSubmit(): one demo_request, then the thank-you view', async () => {
  const s = await serve({
    '/demo': doc(
      `<script defer ${tagOf()}></script>`,
      `<form id="demo" data-funnelbeam="demo" action="/booked" method="post">
         <input type="email" name="work_email" id="email" required>
         <input name="company" id="company" data-funnelbeam-field required>
         <input type="hidden" name="cf-turnstile-response" id="token">
         <button id="book">Book a demo</button></form>
       <script>
         document.getElementById('demo').addEventListener('submit', function (e) {
           if (document.getElementById('token').value) return;
           e.preventDefault();
           var form = this;
           setTimeout(function () { document.getElementById('token').value = 'tok-2'; form.requestSubmit(); }, 250);
         });
       </script>`,
      'demo',
    ),
    '/booked': page(doc(`<script defer ${tagOf()}></script>`, '<p>Booked</p>', 'booked')),
  });
  const a = await watched(s.origin + '/demo');
  await loaded(a.page);
  await a.page.fill('#email', 'omar@buyer.example');
  await a.page.fill('#company', 'Buyer Ltd');
  await Promise.all([a.page.waitForURL('**/booked'), a.page.click('#book')]);
  await loaded(a.page);
  await waitFor(s, (r) => named(r, 'pageview').length == 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email, r.traits])).toEqual([
    ['pageview', '/demo', null, null],
    ['demo_request', '/demo', 'omar@buyer.example', { company: 'Buyer Ltd' }],
    ['pageview', '/booked', null, null],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Forms whose controls sit outside the <form> element (a page builder's layout: the form is an empty shell in the
// header, the fields and the button in the hero, tied by form="…"), sent by jQuery from the button's click
// (`e.preventDefault(); $.post(…)`: no submit event). README: such a form counts when valid with an address, once per
// form on a page, read as the visitor left it at the click. An old theme's newsletter with an image submit button
// (`<input type="image">`, a submit button by the HTML standard) sent the same way. Expected: the contact form once
// (form_submit with its address, its second click not again), the newsletter once; an image button clicked on a form
// whose address is empty counts nothing.
test('AJAX forms whose submit control\'s click is cancelled: a submit button and an email field outside the form (form="…"), an <input type="image"> submit button, and an image button with the address left empty', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<header><form id="lead" action="/lead" method="post"></form><form id="side" action="/side"></form></header>
       <section class="hero">
         <input type="email" name="email" id="lead-email" form="lead" required>
         <button type="submit" form="lead" id="lead-send">Talk to sales</button>
       </section>
       <aside>
         <form id="nl" data-funnelbeam="newsletter" action="/subscribe"><input type="email" name="email" id="nl-email">
           <input type="image" id="nl-go" src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" alt="Subscribe" width="30" height="30"></form>
         <input type="email" name="email" id="side-email" form="side"><input type="image" form="side" id="side-go" src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" alt="Go" width="30" height="30">
       </aside>
       <p id="status"></p>
       <script>
         for (const id of ['lead-send', 'nl-go', 'side-go'])
           document.getElementById(id).addEventListener('click', function (e) {
             e.preventDefault();
             // $.post(this.form.action, $(this.form).serialize())
             fetch(this.form.action, { method: 'POST', body: new URLSearchParams(new FormData(this.form)) }).catch(function () {});
             document.getElementById('status').textContent = 'Thanks!';
           });
       </script>`,
      'home',
    ),
    '/lead': page('ok'),
    '/subscribe': page('ok'),
    '/side': page('ok'),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.fill('#lead-email', 'lena@corp.example');
  await a.page.click('#lead-send');
  await a.page.click('#lead-send');
  await a.page.fill('#nl-email', 'ivan@old.example');
  await a.page.click('#nl-go');
  await a.page.click('#side-go');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.form, r.email])).toEqual([
    ['pageview', null, null],
    ['form_submit', 'other', 'lena@corp.example'],
    ['newsletter_signup', 'newsletter', 'ivan@old.example'],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Contract §3: a download is a click on a link with a listed extension (query and hash ignored), an outbound link one to
// another host. A CMS writes attributes as its editors typed them: spaces, tabs and line breaks around the address (the
// browser's URL parser drops them: the link goes where it says). Links drawn in inline SVG (an infographic's clickable
// regions: `a.href` is an SVGAnimatedString there, not a string) and the <area> regions of an image map, written so:
// a brochure `../` up, a protocol-relative partner address, an <area download> of a page that serves a file. Expected,
// in click order: download …/files/brochure.pdf, outbound //localhost:1/…, download of the price list .XLSX (its query
// and hash ignored), outbound from the image map, download of the <area download> address, and the SVG link to the
// site's own page counts nothing.
test('links written with whitespace and line breaks around their address, in inline SVG and in an image map: downloads (`../`, an upper-case extension with a query, <area download>) and protocol-relative outbound links', async () => {
  const s = await serve({
    '/en/products/overview': doc(
      `<script defer ${tagOf()}></script>`,
      `<svg width="400" height="60" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
         <a id="svg-pdf" href="
            ../files/brochure.pdf
         "><rect id="svg-pdf-shape" x="0" width="60" height="60"/></a>
         <a id="svg-out" xlink:href="	//localhost:1/elsewhere/partner?ref=infographic " target="_blank"><rect id="svg-out-shape" x="80" width="60" height="60"/></a>
         <a id="svg-xlsx" href=" /files/Prices-2026.XLSX?v=2#eu"><text id="svg-xlsx-text" x="160" y="30">prices</text></a>
         <a id="svg-own" href=" /en/pricing "><rect id="svg-own-shape" x="300" width="60" height="60"/></a>
       </svg>
       <img id="map" src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" usemap="#m" width="300" height="60" alt="map">
       <map name="m">
         <area id="area-out" shape="rect" coords="0,0,100,60" href="
           //localhost:1/elsewhere/reseller " target="_blank" alt="reseller">
         <area id="area-dl" shape="rect" coords="100,0,200,60" href=" /export?format=csv " download alt="export">
       </map>`,
      'overview',
    ),
    '/en/files/brochure.pdf': file,
    '/files/Prices-2026.XLSX': file,
    '/export': file,
    '/en/pricing': doc(`<script defer ${tagOf()}></script>`, '<p>pricing</p>', 'pricing'),
  });
  const a = await watched(s.origin + '/en/products/overview');
  await loaded(a.page);
  for (const id of ['#svg-pdf-shape', '#svg-out-shape', '#svg-xlsx-text']) await a.page.click(id);
  // an <area> has no box of its own: the image is clicked where each region lies
  const box = (await a.page.locator('#map').boundingBox())!;
  for (const x of [50, 150]) await a.page.mouse.click(box.x + x, box.y + 30);
  await waitFor(s, (r) => r.filter((e) => e.name != 'pageview' && e.name != 'engagement').length >= 5);
  await Promise.all([a.page.waitForURL('**/en/pricing'), a.page.click('#svg-own-shape')]);
  await loaded(a.page);
  await waitFor(s, (r) => named(r, 'pageview').length == 2);
  const rows = noEngagement(await settled(s));
  const origin = s.origin;
  expect(rows.map((r) => [r.name, path(r), r.props?.url ?? null])).toEqual([
    ['pageview', '/en/products/overview', null],
    ['download', '/en/products/overview', `${origin}/en/files/brochure.pdf`],
    ['outbound', '/en/products/overview', 'http://localhost:1/elsewhere/partner?ref=infographic'],
    ['download', '/en/products/overview', `${origin}/files/Prices-2026.XLSX?v=2#eu`],
    ['outbound', '/en/products/overview', 'http://localhost:1/elsewhere/reseller'],
    ['download', '/en/products/overview', `${origin}/export?format=csv`],
    ['pageview', '/en/pricing', null],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// A Java servlet site (Tomcat, a Liferay or OpenCms portal) rewrites every link of a visitor's first page with the new
// session's id as a path parameter (`/docs/datasheet.pdf;jsessionid=…`), since it cannot yet know that cookies work:
// on the landing page every download link looks so. Contract §3: a download is a link with a listed extension, "query
// and hash ignored"; the visitor downloaded a PDF and a ZIP. Expected: two downloads with their addresses as written.
test('download links of a Java servlet site\'s landing page, rewritten with the session id (`;jsessionid=…`): each counts as a download', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<a id="pdf" href="/docs/datasheet.pdf;jsessionid=8F3A2C1D9E">Datasheet (PDF)</a>
       <a id="zip" href="/docs/sdk-2.1.zip;jsessionid=8F3A2C1D9E?dl=1">SDK</a>
       <a id="page" href="/docs/overview;jsessionid=8F3A2C1D9E" onclick="event.preventDefault()">Overview</a>`,
      'home',
    ),
    '/docs/datasheet.pdf;jsessionid=8F3A2C1D9E': file,
    '/docs/sdk-2.1.zip;jsessionid=8F3A2C1D9E': file,
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  for (const id of ['#pdf', '#zip', '#page']) await a.page.click(id);
  await waitFor(s, (r) => named(r, 'download').length >= 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.props?.url ?? null])).toEqual([
    ['pageview', null],
    ['download', `${s.origin}/docs/datasheet.pdf;jsessionid=8F3A2C1D9E`],
    ['download', `${s.origin}/docs/sdk-2.1.zip;jsessionid=8F3A2C1D9E?dl=1`],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// ---- behaviours tried that already matched what happened (kept as regression checks) ----

// B2B demo forms refuse free-mail addresses with a pattern on the email field ("please use your work email"): the
// browser blocks the send, so nothing was submitted (contract §3: a valid submit). A newsletter whose field sits outside
// its <form> (form="nl") is sent by Enter in that field (implicit submission sends the field's form). Expected: no event
// for the gmail attempt, one demo_request with the work address, one newsletter_signup with its address.
test('a demo form whose work-email pattern refuses a gmail address (the browser blocks the send), then sent with a work address; a newsletter field outside its form (form="…") sent by Enter', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<form id="demo" data-funnelbeam="demo" onsubmit="event.preventDefault()">
         <input type="email" name="email" id="work" required pattern="[^@]+@(?!gmail\\.com$)[^@]+" title="Please use your work email">
         <button type="submit" id="book">Book</button></form>
       <form id="nl" data-funnelbeam="newsletter" onsubmit="event.preventDefault()"></form>
       <footer><input type="email" id="nl-email" name="email" form="nl"><button form="nl" id="nl-go">Join</button></footer>`,
      'home',
    ),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.fill('#work', 'sam@gmail.com');
  await a.page.click('#book');
  expect(await a.page.evaluate(() => (document.getElementById('work') as HTMLInputElement).validity.patternMismatch)).toBe(true);
  await a.page.fill('#work', 'sam@corp.example');
  await a.page.click('#book');
  await a.page.fill('#nl-email', 'enter@news.example');
  await a.page.press('#nl-email', 'Enter');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.email])).toEqual([
    ['pageview', null],
    ['demo_request', 'sam@corp.example'],
    ['newsletter_signup', 'enter@news.example'],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// ---- known gaps, measured in this round and left out for their size (skipped; flip to test() to check a fix) ----

// A page that cancels the submit button's click and later sends the form with that button as submitter
// (`form.requestSubmit(button)`, which keeps the button's name and value in what is sent) counted it twice, at the click
// and at the submit event, which the snippet cannot tell from a second click of that button. Closed in the twenty-first
// unseen-pages round (+7 B gzip): an address counts once per page path and form marker on a page, so the double click
// is one event too (black-box-journeys-6 changed with it).
test('a contact form whose submit button\'s click is cancelled for a CAPTCHA, then sent with form.requestSubmit(button): one form_submit', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<form id="c" onsubmit="event.preventDefault()"><input type="email" name="email" id="c-email" required>
         <button type="submit" id="c-go" name="intent" value="contact">Send</button></form>
       <script>
         document.getElementById('c-go').addEventListener('click', function (e) {
           e.preventDefault();
           var b = this;
           setTimeout(function () { b.form.requestSubmit(b); }, 200);
         });
       </script>`,
      'home',
    ),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.fill('#c-email', 'sub@corp.example');
  await a.page.click('#c-go');
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = noEngagement(await settled(s, 900));
  expect(rows.map((r) => [r.name, r.email])).toEqual([
    ['pageview', null],
    ['form_submit', 'sub@corp.example'],
  ]);
  await a.page.close();
});

// Found in this round, left out for its size: a demo form sent by script from a type=button control (no submit button:
// README's Ninja Forms rule) whose other controls are type=button too, as component libraries draw them (Radix's and
// shadcn's Select trigger `<button type="button" role="combobox" aria-expanded>`, Headless UI's Listbox button, a
// Radix Checkbox or Switch, a date picker's popover trigger): the form counts at the first of those clicked with a valid
// address, before the visitor sent it and with the fields filled by then (a visitor who opens the size list and leaves
// is a demo request). Expected: nothing at the list's click, one demo_request at "Book a demo" with both marked fields.
// Skipping type=button controls with a role (`[type=button]:not([role])`) costs 10 B gzip and misses Headless UI's and
// the popovers' triggers (aria-expanded, no role); with `:not([role],[aria-expanded])`, 22 B. Flip to test() to check a fix.
test.skip('a React demo form with no submit button (sent by a type=button "Book a demo") whose company-size select is a Radix-style type=button combobox: nothing when the list is opened, one demo_request with the marked fields at Book', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<form id="demo" data-funnelbeam="demo">
         <input type="email" name="email" id="email" required>
         <button type="button" id="size" role="combobox" aria-controls="size-list" aria-expanded="false" data-state="closed" onclick="document.getElementById('size-list').hidden = false">Company size</button>
         <ul id="size-list" role="listbox" hidden><li role="option" id="opt" onclick="document.getElementById('size-value').value = '51-200'; this.parentNode.hidden = true">51-200</li></ul>
         <input type="hidden" name="size" id="size-value" data-funnelbeam-field="company_size">
         <input name="company" id="company" data-funnelbeam-field>
         <button type="button" id="book" onclick="fetch('/demo', { method: 'POST', body: new FormData(this.form) }).catch(function () {})">Book a demo</button></form>`,
      'home',
    ),
    '/demo': page('ok'),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.fill('#email', 'ria@corp.example');
  await a.page.click('#size');
  await a.page.click('#opt');
  await a.page.fill('#company', 'Corp');
  expect(noEngagement(await settled(s)).map((r) => r.name)).toEqual(['pageview']);
  await a.page.click('#book');
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.email, r.traits])).toEqual([
    ['pageview', null, null],
    ['demo_request', 'ria@corp.example', { company_size: '51-200', company: 'Corp' }],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});
