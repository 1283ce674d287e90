// Fifth round of pages the snippet had not seen, aimed at the paths added for forms outside the document (same-origin
// iframes watched on each load, open shadow roots watched from each click, Ninja-style type="button" sends, SVG links)
// and at what B2B sites run around them (HubSpot's inline embed, an iframe form that moves to a second page, nested
// iframes and shadow roots, buttons with icons, multi-step React forms, a pricing toggle, docs anchors, gated content),
// in headless Chromium against the real collector: what the collector stores is what the visitor did. Each page does
// what the tool does, written by hand without the tool.
import { expect, test } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredRow } from '../helpers/browser.js';
import { doc, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, serve, waitFor, settled, openLoaded: open, tagOf } = sites;

const forms = (rows: StoredRow[]) => rows.filter((r) => r.form).map((r) => [r.name, path(r), r.email]);

/** A handler that reads a posted form, then answers with `html`. */
const posted = (html: string) => (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
};

// (failed before its fix: a static iframe loaded before the deferred snippet ran was never watched, nor an iframe in an iframe)
test('a same-origin iframe form that moves to a second page (step one posted, step two served by the site without the snippet), a form in an iframe nested in another, a video from another origin beside them: each submit counts once, as the embedding page\'s, and clicks on the page raise no error', async () => {
  const video = await serve({ '/embed/xyz': '<!doctype html><p>player</p>' });
  const step2 = doc('', '<form onsubmit="event.preventDefault()"><input type="email" name="work_email" value="step2@frame.example"><button id="two">finish</button></form>');
  const s = await site(
    {
      '/': {
        body: `<iframe id="flow" src="/embed/step1"></iframe><iframe src="${video.origin}/embed/xyz"></iframe><div id="wrap"></div><button id="play">play</button><script>addEventListener('load', () => {
          const outer = document.createElement('iframe'); outer.id = 'outer'; document.getElementById('wrap').append(outer);
          const inner = outer.contentDocument.createElement('iframe'); inner.id = 'inner'; outer.contentDocument.body.append(inner);
          inner.contentDocument.body.innerHTML = '<form onsubmit="event.preventDefault()"><input type="email" name="email" value="nested@frame.example"><button id="go">send</button></form>'; });</script>`,
      },
    },
    {
      '/embed/step1': doc('', '<form method="post" action="/embed/step2"><input type="email" name="email" value="step1@frame.example"><button id="one">next</button></form>'),
      '/embed/step2': posted(step2),
    },
  );
  const page = await sites.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() == 'error' && !m.location().url.endsWith('/favicon.ico') && errors.push(m.text()));
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.click('#play');
  await page.frameLocator('#flow').locator('#one').click();
  await page.frameLocator('#flow').locator('#two').click();
  await page.frameLocator('#outer').frameLocator('#inner').locator('#go').click();
  await page.click('#play');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 3, 3_000).catch(() => {});
  expect(forms(await settled(s))).toEqual([
    ['form_submit', '/', 'step1@frame.example'],
    ['form_submit', '/', 'step2@frame.example'],
    ['form_submit', '/', 'nested@frame.example'],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});

// (failed before its fix: an iframe written while the page was parsed fired its load before the snippet listened; the
// guard for a framed page still loading failed when the start-up scan watched it too: counted twice)
test('HubSpot\'s legacy embed called inline in the body (hbspt.forms.create writes its form into an iframe while the page is parsed, before the documented defer tag runs): its submit counts; a page of the site in an iframe, still loading (its own tag not yet run) when the embedding page\'s snippet starts, counts its form once, as its own', async () => {
  const slow = (ms: number) => (_req: IncomingMessage, res: ServerResponse) => setTimeout(() => res.writeHead(200, { 'content-type': 'text/javascript' }).end(''), ms);
  const s = await site(
    {
      '/': {
        body: `<div id="hs"></div><script>(() => {
          const f = document.createElement('iframe'); f.className = 'hs-form-iframe'; document.getElementById('hs').append(f);
          f.contentDocument.body.innerHTML = '<form class="hs-form" onsubmit="event.preventDefault()"><input type="email" name="email" value="inline@hubspot.example"><input type="submit" id="go" value="Submit"></form>';
        })();</script><iframe id="own" src="/embed/form"></iframe><script src="/top.js"></script>`,
      },
    },
    {
      // (the embedding page's parsing waits a moment, so the framed page is being parsed when its snippet starts)
      '/top.js': slow(300),
      '/embed/form': doc(`<script defer ${tagOf()}></script>`, '<form onsubmit="event.preventDefault()"><input type="email" name="email" value="own@site.example"><button id="send">send</button></form><script src="/frame.js"></script>'),
      '/frame.js': slow(1_500),
    },
  );
  const page = await open(s);
  await page.frameLocator('.hs-form-iframe').locator('#go').click();
  await page.frameLocator('#own').locator('#send').click();
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2, 3_000).catch(() => {});
  expect(forms(await settled(s))).toEqual([
    ['form_submit', '/', 'inline@hubspot.example'],
    ['form_submit', '/embed/form', 'own@site.example'],
  ]);
  await page.close();
});

test('a shadow root nested in a shadow root (a design-system form inside an app shell): a signup sent by Enter in the field, with no click before it, and by its button; a download link in the inner root', async () => {
  const s = await site(
    {
      '/': {
        body: `<app-shell></app-shell><script>
          customElements.define('lead-box', class extends HTMLElement { connectedCallback() { this.attachShadow({ mode: 'open' }).innerHTML =
            '<form data-funnelbeam="newsletter" onsubmit="event.preventDefault(); this.querySelector(\\'input\\').value = \\'again@shadow.example\\'"><input type="email" name="email" value="enter@shadow.example"><button id="join">join</button></form><a id="pdf" href="/files/guide.pdf">guide</a>'; } });
          customElements.define('app-shell', class extends HTMLElement { connectedCallback() { this.attachShadow({ mode: 'open' }).innerHTML = '<main><lead-box></lead-box></main>'; } });
        </script>`,
      },
    },
    { '/files/guide.pdf': file },
  );
  const page = await open(s);
  await page.locator('lead-box input').focus();
  await page.keyboard.press('Enter');
  await page.locator('lead-box #join').click();
  await page.locator('lead-box #pdf').click();
  await waitFor(s, (r) => named(r, 'download').length >= 1 && named(r, 'newsletter_signup').length >= 2, 3_000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.email ?? r.props?.url?.toString().replace(s.origin, '') ?? null])).toEqual([
    ['pageview', null],
    ['newsletter_signup', 'enter@shadow.example'],
    ['newsletter_signup', 'again@shadow.example'],
    ['download', '/files/guide.pdf'],
  ]);
  await page.close();
});

// (failed before its fix: a click on the icon or label inside a type=button control was not the control's)
test('type="button" controls as forms draw them: a Ninja-style send with an icon and a label inside (the click lands on them), once; in a form that has a submit button too, an "Add a colleague" button is no send, its submit is one', async () => {
  const s = await site({
    '/': {
      body: `<form id="nf"><input type="email" name="email" value="icon@ninja.example">
          <button type="button" id="send" style="padding:0"><svg width="40" height="40"><rect width="40" height="40"/></svg><span style="display:inline-block;width:200px;height:40px">Send</span></button></form>
        <form id="both" onsubmit="event.preventDefault()"><input type="email" name="email" value="both@forms.example">
          <button type="button" id="add" onclick="this.insertAdjacentHTML('beforebegin', '<input name=colleague>')"><span style="display:inline-block;width:200px;height:40px">Add a colleague</span></button>
          <input type="button" id="plain" value="Check availability"><button id="submit">Register</button></form>
        <script>document.getElementById('send').onclick = () => fetch('/ajax', { method: 'POST' }).catch(() => {});</script>`,
    },
  });
  const page = await open(s);
  await page.click('#send span');
  await page.click('#send svg');
  await page.click('#add span');
  await page.click('#plain');
  await page.click('#submit');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2, 3_000).catch(() => {});
  expect(forms(await settled(s))).toEqual([
    ['form_submit', '/', 'icon@ninja.example'],
    ['form_submit', '/', 'both@forms.example'],
  ]);
  await page.close();
});

// (failed before its fix: a marked multi-step form counted at its "Next", and again, without an email, at its submit)
test('a HubSpot v4-style multi-step form rendered in the page (React: step one holds the email and a type=button "Next", step two replaces the fields and holds the submit): one demo_request, with the email', async () => {
  const s = await site({
    '/demo': {
      body: `<div class="hsfc-Renderer"><form class="hsfc-Form" data-funnelbeam="demo" novalidate><div id="step"></div></form></div><script>
        const form = document.querySelector('form'); const step = document.getElementById('step'); let data = {};
        const one = () => step.innerHTML = '<input type="email" name="email" required><button type="button" class="hsfc-NextButton" id="next">Next</button>';
        const two = () => step.innerHTML = '<input type="text" name="company" required><button type="button" id="back">Back</button><button type="submit" id="send">Submit</button>';
        one();
        form.addEventListener('click', (e) => { if (e.target.id == 'next' && form.email.value) { data.email = form.email.value; two(); } if (e.target.id == 'back') one(); });
        form.addEventListener('submit', (e) => { e.preventDefault(); data.company = form.company.value; fetch('/submit', { method: 'POST', body: JSON.stringify(data) }).catch(() => {}); step.innerHTML = '<p id="done">Thanks</p>'; });
      </script>`,
    },
  });
  const page = await open(s, '/demo');
  await page.fill('input[name=email]', 'multi@step.example');
  await page.click('#next');
  await page.fill('input[name=company]', 'Acme');
  await page.click('#send');
  await page.waitForSelector('#done');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 1, 3_000);
  expect(forms(await settled(s))).toEqual([['demo_request', '/demo', 'multi@step.example']]);
  await page.close();
});

test('a pricing page whose monthly/annual toggle replaces the query (replaceState ?billing=annual) and Docusaurus docs (pushState between pages, "On this page" hash anchors, back): one view per page', async () => {
  const s = await site({
    '*': {
      body: `<a id="annual" href="#">annual</a> <a id="docs" href="/docs/intro">docs</a> <a id="install" href="#install">Install</a> <a id="api" href="/docs/api">api</a>
        <h2 id="install" style="margin-top:3000px">Install</h2><script>
        document.getElementById('annual').onclick = (e) => { e.preventDefault(); const u = new URL(location.href); u.searchParams.set('billing', 'annual'); history.replaceState(history.state, '', u); };
        document.addEventListener('click', (e) => { const a = e.target.closest('a[href^="/docs"]'); if (!a) return; e.preventDefault(); history.pushState({ key: Math.random() }, '', a.href); scrollTo(0, 0); });
        </script>`,
    },
  });
  const page = await open(s, '/pricing');
  await page.click('#annual');
  await page.click('#docs');
  await page.click('#install');
  await page.click('#api');
  await page.goBack();
  await page.waitForURL('**/docs/intro#install');
  await waitFor(s, (r) => named(r, 'pageview').length >= 4, 3_000).catch(() => {});
  expect(named(await settled(s), 'pageview').map(path)).toEqual(['/pricing', '/docs/intro', '/docs/api', '/docs/intro#install']);
  await page.close();
});

test('gated content: a Webflow-style form sent by AJAX reveals the whitepaper, a button-styled link with a download attribute to /download?file=…, and a PDF link: the form, then both downloads', async () => {
  const s = await site(
    {
      '/whitepaper': {
        body: `<div class="w-form"><form id="wf-form-Gate" data-name="Gate" onsubmit="event.preventDefault(); fetch('/gate', { method: 'POST', body: new FormData(this) }).then(() => { this.style.display = 'none'; document.querySelector('.w-form-done').style.display = 'block'; })">
          <input type="email" name="Email" data-name="Email" required><input type="submit" id="get" value="Get the report" class="w-button"></form>
          <div class="w-form-done" style="display:none"><a id="btn" class="w-button" download href="/download?file=state-of-b2b.pdf">Download</a> <a id="pdf" href="/assets/state-of-b2b.pdf">open the PDF</a></div></div>`,
      },
    },
    { '/gate': posted('{}'), '/download': file, '/assets/state-of-b2b.pdf': file },
  );
  const page = await open(s, '/whitepaper');
  await page.fill('input[name=Email]', 'gated@reader.example');
  await page.click('#get');
  await page.click('#btn');
  await page.click('#pdf');
  await waitFor(s, (r) => named(r, 'download').length >= 2, 3_000);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.email ?? String(r.props?.url ?? '').replace(s.origin, '')])).toEqual([
    ['pageview', ''],
    ['form_submit', 'gated@reader.example'],
    ['download', '/download?file=state-of-b2b.pdf'],
    ['download', '/assets/state-of-b2b.pdf'],
  ]);
  await page.close();
});

// Clicks inside an iframe never reach the embedding page's listeners, so the shadow root of a form inside an iframe is
// never watched. Listening for clicks on each watched iframe document as well (onClick made safe once, so that one
// listener serves them all) makes this pass for +12 B gzip, and also counts links clicked in same-origin iframes: measured
// and left out (a web component form inside a same-origin iframe is rare).
test.skip('a form in an open shadow root inside a same-origin iframe (a web component form in a widget frame written by script): the form counts', async () => {
  const s = await site({
    '/': {
      body: `<div id="w"></div><script>addEventListener('load', () => {
        const f = document.createElement('iframe'); f.id = 'widget'; document.getElementById('w').append(f);
        const host = f.contentDocument.createElement('div'); f.contentDocument.body.append(host);
        host.attachShadow({ mode: 'open' }).innerHTML = '<form onsubmit="event.preventDefault()"><input type="email" name="email" value="deep@widget.example"><button id="go">send</button></form>'; });</script>`,
    },
  });
  const page = await open(s);
  await page.frameLocator('#widget').locator('#go').click();
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 1, 3_000).catch(() => {});
  expect(forms(await settled(s))).toEqual([['form_submit', '/', 'deep@widget.example']]);
  await page.close();
});

// (failed before its fix: a[href] does not match an SVG link written with xlink:href)
test('links in inline SVG as design tools export them (an <a xlink:href> in a diagram: a PDF and a partner site) count as a download and an outbound link', async () => {
  const s = await site(
    {
      '/': {
        body: `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="400" height="100">
          <a xlink:href="/files/architecture.pdf" id="pdf"><rect width="100" height="100"/></a>
          <a xlink:href="https://partner.example/integrations" target="_blank" id="partner"><rect x="200" width="100" height="100"/></a></svg>`,
      },
    },
    { '/files/architecture.pdf': file },
  );
  const page = await open(s);
  await page.click('#pdf rect');
  await page.click('#partner rect');
  await waitFor(s, (r) => named(r, 'outbound').length >= 1, 3_000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, String(r.props?.url ?? '').replace(s.origin, '')])).toEqual([
    ['pageview', ''],
    ['download', '/files/architecture.pdf'],
    ['outbound', 'https://partner.example/integrations'],
  ]);
  await page.close();
});

test('a demo form handed to Chili Piper (the form sent by AJAX, then the scheduler in a cross-origin iframe whose booking the site forwards as the README says): the demo request with its email, then the booking as a custom event', async () => {
  const chili = await serve({
    '/router/inbound': `<!doctype html><button id="slot">Tue 10:00</button><script>document.getElementById('slot').onclick = () => parent.postMessage({ action: 'booked', args: { slot: 'tue-10' } }, '*');</script>`,
  });
  const s = await site(
    {
      '/demo': {
        body: `<form id="hs-demo" data-funnelbeam="demo"><input type="email" name="email" required><input name="company" data-funnelbeam-field="company"><button id="book">Book a demo</button></form><div id="cp"></div>
          <script>document.getElementById('hs-demo').addEventListener('submit', (e) => { e.preventDefault();
            fetch('/lead', { method: 'POST', body: new FormData(e.target) }).then(() => {
              document.getElementById('cp').innerHTML = '<iframe id="chilipiper" src="${chili.origin}/router/inbound?email=' + encodeURIComponent(e.target.email.value) + '"></iframe>'; }); });
          addEventListener('message', (e) => { if (e.origin == '${chili.origin}' && e.data.action == 'booked') funnelbeam('track', 'meeting_booked', { slot: e.data.args.slot }); });</script>`,
      },
    },
    { '/lead': posted('{}') },
  );
  const page = await open(s, '/demo');
  await page.fill('input[name=email]', 'vp@buyer.example');
  await page.fill('input[name=company]', 'Buyer Inc');
  await page.click('#book');
  await page.frameLocator('#chilipiper').locator('#slot').click();
  await waitFor(s, (r) => named(r, 'meeting_booked').length >= 1, 3_000);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.email, r.traits ?? r.props])).toEqual([
    ['pageview', null, null],
    ['demo_request', 'vp@buyer.example', { company: 'Buyer Inc' }],
    ['meeting_booked', null, { slot: 'tue-10' }],
  ]);
  await page.close();
});

// The iframe's load event stops at the shadow root, the start-up scan of the document's iframes does not enter shadow
// roots, and the visitor's clicks are inside the frame: the root is never watched. A focusin listener watching the root
// of what gains focus (+14 B gzip) did not make it pass (Chromium fired nothing the embedding page saw as focus moved
// into the frame); walking every open shadow root at start and on each load, not measured, would cost more: left out.
test.skip('a form iframe inside a web component\'s open shadow root (a <lead-form> element wrapping HubSpot\'s iframe embed): its submit counts', async () => {
  const s = await site({
    '/': {
      body: `<lead-form></lead-form><script>customElements.define('lead-form', class extends HTMLElement { connectedCallback() {
        const f = document.createElement('iframe'); f.id = 'hs'; this.attachShadow({ mode: 'open' }).append(f);
        setTimeout(() => f.contentDocument.body.innerHTML = '<form onsubmit="event.preventDefault()"><input type="email" name="email" value="wrapped@hubspot.example"><button id="go">send</button></form>', 200); } });</script>`,
    },
  });
  const page = await open(s);
  await page.frameLocator('lead-form #hs').locator('input').fill('wrapped@hubspot.example');
  await page.frameLocator('lead-form #hs').locator('#go').click();
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 1, 3_000).catch(() => {});
  expect(forms(await settled(s))).toEqual([['form_submit', '/', 'wrapped@hubspot.example']]);
  await page.close();
});
