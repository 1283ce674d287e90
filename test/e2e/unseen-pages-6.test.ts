// Sixth round of pages the snippet had not seen, built as today's B2B marketing sites are built (hash routers that
// normalize the landing URL at boot, docs sites whose version switcher changes only the query beside in-page anchors,
// forms from React Hook Form, Webflow and gated-content dialogs, download buttons and icon links, a snippet run before
// <body> exists), in headless Chromium against the real collector. The expected events are worked out by hand from the
// contract (§3) before each run: what the collector stores is what the visitor did. Each page does what its tool does,
// written by hand without the tool.
import { expect, test } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredRow } from '../helpers/browser.js';
import { doc, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, serve, waitFor, settled, openLoaded: open, tagOf } = sites;

const views = (rows: StoredRow[]) => named(rows, 'pageview').map(path);
const forms = (rows: StoredRow[]) => rows.filter((r) => r.form).map((r) => [r.name, r.form, r.email]);
/** A handler that reads a posted body, then answers 200 with `body`. */
const accept = (body = '{"ok":true}') => (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
};

// (failed before its fix: the router's boot replaceState from "/" to "/#/" stored a second view of the landing page)
test('hash routers that normalize the landing URL at boot, with data-hash (Vue Router createWebHashHistory: replaceState to "#/"; AngularJS hashbang: location.replace("#!/")): one view for the landing page, then one per route, back included', async () => {
  const s = await site({
    '/': {
      attrs: 'data-hash',
      // (a module script runs after the deferred snippet: the router boots once the snippet is listening)
      body: `<div id="app"></div><script type="module">
        history.replaceState({ back: null, current: '/', forward: null, position: history.length - 1, replaced: true, scroll: null }, '', '#/');
        window.vuePush = (to) => {
          history.replaceState({ ...history.state, forward: to, scroll: { left: 0, top: scrollY } }, '');
          history.pushState({ back: '/', current: to, forward: null, position: history.length, replaced: false, scroll: null }, '', '#' + to);
        };
      </script>`,
    },
    '/ng': {
      attrs: 'data-hash',
      body: `<div ng-view></div><script type="module">location.replace('#!/');</script>`,
    },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=newsletter&utm_campaign=q4');
  await loaded(page);
  await page.waitForURL(/#\/$/);
  await page.waitForTimeout(100);
  await page.evaluate(() => (window as unknown as { vuePush(to: string): void }).vuePush('/pricing'));
  await page.waitForTimeout(50);
  await page.evaluate(() => history.back());
  await page.waitForURL(/#\/$/);
  await page.waitForTimeout(50);
  await page.goto(s.origin + '/ng');
  await loaded(page);
  await page.waitForURL(/\/ng#!\/$/);
  await page.waitForTimeout(100);
  await page.evaluate(() => (location.hash = '#!/features'));
  await waitFor(s, (r) => views(r).length >= 5, 4_000).catch(() => {});
  const rows = await settled(s);
  expect(views(rows)).toEqual([
    '/?utm_source=newsletter&utm_campaign=q4',
    '/?utm_source=newsletter&utm_campaign=q4#/pricing',
    '/?utm_source=newsletter&utm_campaign=q4#/',
    '/ng',
    '/ng#!/features',
  ]);
  // the landing campaign stays with every view
  expect(named(rows, 'pageview').slice(0, 3).map((r) => r.utm_campaign)).toEqual(['q4', 'q4', 'q4']);
  await page.close();
});

test('a docs site: in-page anchors, a version switcher that pushes only the query, then back and forward across the anchor (no data-hash): a view per query, none per anchor', async () => {
  const s = await site({
    '/docs': {
      body: `<main style="height: 3000px"><a id="anchor" href="#install">Install</a><h2 id="install" style="margin-top: 2000px">Install</h2></main>
        <script>window.version = (v) => history.pushState({ v }, '', '/docs?version=' + v);</script>`,
    },
  });
  const page = await open(s, '/docs');
  await page.click('#anchor');
  await page.waitForURL('**/docs#install');
  await page.evaluate(() => (window as unknown as { version(v: string): void }).version('2'));
  await page.waitForTimeout(50);
  // back to the anchor (another query: a view), back again to the page without the anchor (same path and query: none)
  await page.evaluate(() => history.back());
  await page.waitForURL('**/docs#install');
  await page.waitForTimeout(50);
  await page.evaluate(() => history.back());
  await page.waitForURL(/\/docs$/);
  await page.waitForTimeout(50);
  await page.evaluate(() => history.forward());
  await page.waitForURL('**/docs#install');
  await page.waitForTimeout(50);
  await page.evaluate(() => history.forward());
  await page.waitForURL('**/docs?version=2');
  await waitFor(s, (r) => views(r).length >= 4, 4_000).catch(() => {});
  expect(views(await settled(s))).toEqual(['/docs', '/docs?version=2', '/docs#install', '/docs?version=2']);
  await page.close();
});

test('forms as today\'s sites build them: React Hook Form (noValidate, fetch) with a Webflow-style "E-mail Address" text field sent by Enter, a referral form with two email fields, a gated-content <dialog> sent by a button outside its form, a required select left empty then chosen, a free-mail check by setCustomValidity', async () => {
  const s = await site(
    {
      '/': {
        body: `<form id="rhf" noValidate><input name="firstName" value="Ana"><input type="text" name="E-mail Address" data-name="E-mail Address" id="wf-email"><button>Get started</button></form>
          <form id="refer" data-funnelbeam="referral"><input type="email" name="your_email" value="me@corp.example"><input type="email" name="colleague_email" value="friend@other.example"><button id="refer-go">Refer</button></form>
          <button id="open" onclick="document.getElementById('gate').showModal()">Get the report</button>
          <dialog id="gate"><form id="gate-form" data-funnelbeam="newsletter"><input type="email" name="work_email" value="reader@corp.example" required></form><button id="gate-go" form="gate-form">Download</button></dialog>
          <form id="demo" data-funnelbeam="demo" novalidate><input type="email" name="email" value="buyer@corp.example"><select name="size" required><option value="">Company size</option><option>51-200</option></select><button id="demo-go">Book</button></form>
          <form id="work"><input type="email" name="email" id="work-email" required><button id="work-go">Talk to sales</button></form>
          <script>
            for (const f of document.forms) f.addEventListener('submit', (e) => {
              e.preventDefault();
              if (!f.checkValidity()) return f.reportValidity?.();
              fetch('/api/submit', { method: 'POST', body: JSON.stringify(Object.fromEntries(new FormData(f))) });
              if (f.id == 'gate-form') document.getElementById('gate').close();
            });
            document.getElementById('work-email').addEventListener('input', (e) => e.target.setCustomValidity(/@gmail\\.com$/.test(e.target.value) ? 'Please use your work email' : ''));
          </script>`,
      },
    },
    { '/api/submit': accept() },
  );
  const page = await open(s);
  await page.fill('#wf-email', '  ana@acme.example ');
  await page.press('#wf-email', 'Enter');
  await page.click('#refer-go');
  await page.click('#open');
  await page.click('#gate-go');
  // the select is required: the first send is no valid submit
  await page.click('#demo-go');
  await page.selectOption('select[name=size]', '51-200');
  await page.click('#demo-go');
  // a free-mail address: the browser refuses the submit (custom validity), then a work address
  await page.fill('#work-email', 'kim@gmail.com');
  await page.click('#work-go');
  await page.fill('#work-email', 'kim@bigco.example');
  await page.click('#work-go');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 5, 4_000).catch(() => {});
  const rows = await settled(s);
  expect(forms(rows)).toEqual([
    ['form_submit', 'other', 'ana@acme.example'],
    ['form_submit', 'other', 'me@corp.example'],
    ['newsletter_signup', 'newsletter', 'reader@corp.example'],
    ['demo_request', 'demo', 'buyer@corp.example'],
    ['form_submit', 'other', 'kim@bigco.example'],
  ]);
  expect(named(rows, 'form_submit')[1].props).toMatchObject({ form: 'referral' });
  // no other field was read
  expect(rows.filter((r) => r.form).map((r) => r.traits)).toEqual([null, null, null, null, null]);
  await page.close();
});

test('download buttons and links as sites write them: a button calling window.open(pdf) and one setting location.href (no link: not a download, contract §3), a PDF link with ?dl=1#page=2 opened in a new tab, a link added after load whose SVG icon path is clicked, a blob: export with a download attribute, mailto: and tel: links (no host: nothing)', async () => {
  const s = await site(
    {
      '/': {
        body: `<button id="open-pdf" onclick="window.open('/files/brochure.pdf')">Brochure</button>
          <button id="nav-pdf" onclick="location.href = '/files/price-list.pdf'">Price list</button>
          <a id="guide" href="/files/Guide.PDF?dl=1#page=2" target="_blank" rel="noopener">Guide</a>
          <a id="mail" href="mailto:sales@corp.example?subject=Demo">Email sales</a> <a id="tel" href="tel:+15551234567">Call</a>
          <div id="later"></div><button id="export">Export</button>
          <script>
            setTimeout(() => (document.getElementById('later').innerHTML = '<a href="/files/security-whitepaper.pdf" class="btn"><span>Whitepaper</span><svg viewBox="0 0 24 24" width="24" height="24"><path id="icon-path" d="M0 0h24v24H0z"/></svg></a>'), 200);
            document.getElementById('export').onclick = () => {
              const a = document.createElement('a');
              a.href = URL.createObjectURL(new Blob(['id,email\\n1,a@b.example'], { type: 'text/csv' }));
              a.download = 'leads.csv';
              document.body.append(a); a.click(); a.remove();
            };
          </script>`,
      },
    },
    { '/files/brochure.pdf': file, '/files/price-list.pdf': file, '/files/Guide.PDF': file, '/files/security-whitepaper.pdf': file },
  );
  const page = await open(s);
  await page.click('#open-pdf');
  await page.click('#nav-pdf');
  await page.waitForTimeout(200);
  await page.click('#guide');
  await page.click('#mail').catch(() => {});
  await page.click('#tel').catch(() => {});
  await page.waitForSelector('#icon-path');
  await page.click('#icon-path');
  await page.click('#export');
  // (a deadline for a loaded CI machine: in one CI run the blob export's download was not stored within 4 s)
  await waitFor(s, (r) => named(r, 'download').length >= 3, 12_000).catch(() => {});
  const rows = noEngagement(await settled(s, 1_000)).filter((r) => path(r) == '/');
  expect(rows.map((r) => [r.name, String((r.props as { url?: string } | null)?.url ?? '').replace(s.origin, '').replace(/^blob:.*/, 'blob:')])).toEqual([
    ['pageview', ''],
    ['download', '/files/Guide.PDF?dl=1#page=2'],
    ['download', '/files/security-whitepaper.pdf'],
    ['download', 'blob:'],
  ]);
  for (const p of sites.browser.pages()) if (p != page && !p.isClosed()) await p.close();
  await page.close();
});

test('outbound links opened the ways visitors open them: target=_blank rel=noopener, ctrl-click, shift-click, middle-click (one event each), a right-click for the context menu (none), a keyboard Enter on a focused link', async () => {
  const away = await serve({ '/elsewhere/partner': '<!doctype html><p>partner</p>' });
  const s = await site({
    '/': {
      body: `<a id="blank" href="${away.origin}/elsewhere/partner?ref=a" target="_blank" rel="noopener noreferrer"><span>Partner <svg width="10" height="10"><path id="ext-icon" d="M0 0h10v10H0z"/></svg></span></a>
        <a id="plain" href="${away.origin}/elsewhere/partner?ref=b">Docs</a>
        <script>document.getElementById('plain').addEventListener('click', (e) => { if (!e.ctrlKey && !e.shiftKey && !e.metaKey) e.preventDefault(); });</script>`,
    },
  });
  const page = await open(s);
  await page.click('#ext-icon');
  await page.click('#plain', { modifiers: ['Control'] });
  await page.click('#plain', { modifiers: ['Shift'] });
  await page.click('#plain', { button: 'middle' });
  await page.click('#plain', { button: 'right' });
  await page.keyboard.press('Escape');
  await page.focus('#plain');
  await page.keyboard.press('Enter');
  await waitFor(s, (r) => named(r, 'outbound').length >= 5, 4_000).catch(() => {});
  const rows = await settled(s, 1_000);
  expect(named(rows, 'outbound').map((r) => String((r.props as { url: string }).url).replace(away.origin, ''))).toEqual([
    '/elsewhere/partner?ref=a',
    '/elsewhere/partner?ref=b',
    '/elsewhere/partner?ref=b',
    '/elsewhere/partner?ref=b',
    '/elsewhere/partner?ref=b',
  ]);
  for (const p of sites.browser.pages()) if (p != page && !p.isClosed()) await p.close();
  await page.close();
});

test('the snippet run before <body> exists (a plain synchronous tag high in <head>): the view, a form in a srcdoc iframe, a form and a download link in the body, engagement on leaving', async () => {
  const s = await serve({
    '/': doc(
      `<script ${tagOf()}></script><script>window.bodyAtRun = !!document.body;</script>`,
      `<iframe id="f" srcdoc="<form onsubmit='event.preventDefault()'><input type=email name=email value='frame@corp.example'><button id=go>go</button></form>"></iframe>
        <form id="nl" data-funnelbeam="newsletter" onsubmit="event.preventDefault()"><input type="email" name="email" value="body@corp.example"><button id="join">Join</button></form>
        <a id="dl" href="/files/one-pager.pdf" download>One-pager</a><div style="height: 3000px"></div>`,
    ),
    '/next': doc(`<script defer ${tagOf()}></script>`),
    '/files/one-pager.pdf': file,
  });
  const page = await open(s);
  expect(await page.evaluate(() => (window as unknown as { bodyAtRun: boolean }).bodyAtRun)).toBe(false);
  await page.frameLocator('#f').locator('#go').click();
  await page.click('#join');
  await page.click('#dl');
  await page.waitForTimeout(1_200);
  await page.goto(s.origin + '/next');
  await loaded(page);
  await waitFor(s, (r) => views(r).length >= 2 && named(r, 'engagement').length >= 1, 4_000).catch(() => {});
  const rows = await settled(s);
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['form_submit', '/', 'frame@corp.example'],
    ['newsletter_signup', '/', 'body@corp.example'],
    ['download', '/', null],
    ['engagement', '/', null],
    ['pageview', '/next', null],
  ]);
  await page.close();
});

// Contact Form 7 and Marketo mark their required fields with aria-required="true" only (the form is novalidate, the
// check is the tool's own, on its server for CF7), so a first send with a required field empty is a submit valid by
// every constraint the browser knows and counts (README, known gaps: reading aria-required="true" fields left empty as
// invalid costs 17 B gzip, and 27 B when hidden ones, Gravity Forms' and CF7 add-ons' conditional fields, are skipped,
// which is needed: without it a form with a hidden conditional field would never count at all). Since the twenty-first
// unseen-pages round an address counts once per page path and form marker on a page, so the corrected send with the
// same address is that same event: one form_submit.
test('Contact Form 7 (novalidate, required fields marked aria-required only, validated on its server): a send with the name empty, then with it filled, is one form_submit', async () => {
  const s = await site(
    {
      '/contact': {
        body: `<div class="wpcf7"><form action="/contact#wpcf7-f42-o1" method="post" class="wpcf7-form init" novalidate="novalidate">
          <p><label>Your name<br><span class="wpcf7-form-control-wrap" data-name="your-name"><input size="40" class="wpcf7-form-control wpcf7-text wpcf7-validates-as-required" aria-required="true" aria-invalid="false" value="" type="text" name="your-name"></span></label></p>
          <p><label>Your email<br><span class="wpcf7-form-control-wrap" data-name="your-email"><input size="40" class="wpcf7-form-control wpcf7-email wpcf7-validates-as-required wpcf7-text wpcf7-validates-as-email" aria-required="true" aria-invalid="false" value="" type="email" name="your-email"></span></label></p>
          <p style="display: none"><input class="wpcf7-form-control" aria-required="true" value="" type="text" name="conditional-company"></p>
          <p><input class="wpcf7-form-control wpcf7-submit has-spinner" type="submit" value="Send" id="send"></p></form></div>
          <script>document.querySelector('.wpcf7-form').addEventListener('submit', async (e) => {
            e.preventDefault();
            const r = await (await fetch('/wp-json/contact-form-7/v1/contact-forms/42/feedback', { method: 'POST', body: new FormData(e.target) })).json();
            e.target.dataset.status = r.status;
          });</script>`,
      },
    },
    {
      '/wp-json/contact-form-7/v1/contact-forms/42/feedback': (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const named = /name="your-name"\r\n\r\n(\S+)/.test(Buffer.concat(chunks).toString());
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: named ? 'mail_sent' : 'validation_failed' }));
        });
      },
    },
  );
  const page = await open(s, '/contact');
  await page.fill('input[name=your-email]', 'lena@corp.example');
  await page.click('#send');
  await page.waitForSelector('form[data-status=validation_failed]');
  await page.fill('input[name=your-name]', 'Lena');
  await page.click('#send');
  await page.waitForSelector('form[data-status=mail_sent]');
  await waitFor(s, (r) => r.some((e) => e.form), 3_000).catch(() => {});
  expect(forms(await settled(s))).toEqual([['form_submit', 'other', 'lena@corp.example']]);
  await page.close();
});

test('a tag manager that injects the tag only once the visitor accepts (Consent Mode update, a script element made in a dataLayer callback), after the page already stripped the campaign and routed to /pricing: the first view is /pricing, with the landing campaign; queued calls run', async () => {
  const s = await serve({
    '/': doc(
      `<script>window.dataLayer = []; window.funnelbeam = window.funnelbeam || function () { (funnelbeam.q = funnelbeam.q || []).push(arguments); };
        history.replaceState(null, '', location.pathname);
        window.gtmFire = () => { const s = document.createElement('script'); s.async = true; s.src = ${JSON.stringify(`${sites.collector.url}/s.js`)}; s.setAttribute('data-site', ${JSON.stringify(sites.collector.site.siteKey)}); s.setAttribute('data-local', ''); document.head.append(s); };
        window.accept = () => { dataLayer.push(['consent', 'update', { analytics_storage: 'granted' }]); setTimeout(gtmFire, 50); };</script>`,
      `<button id="route" onclick="history.pushState({}, '', '/pricing')">Pricing</button><button id="accept" onclick="accept()">Accept all</button>
        <script>funnelbeam('track', 'cta_seen', { variant: 'b' });</script>`,
    ),
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm&li_fat_id=li-1');
  await page.click('#route');
  await page.click('#accept');
  await loaded(page);
  await waitFor(s, (r) => r.some((e) => e.name == 'cta_seen'), 4_000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source, r.utm_campaign, r.click_id])).toEqual([
    // (the collector's click_id column names the kind of click id; its value is in the first touch)
    ['pageview', '/pricing', 'linkedin', 'abm', 'li_fat_id'],
    ['cta_seen', '/pricing', 'linkedin', 'abm', 'li_fat_id'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'linkedin' });
  expect(JSON.stringify(rows[0].first_touch)).toContain('li-1');
  expect(rows[1].props).toEqual({ variant: 'b' });
  await page.close();
});

test('htmx: a boosted newsletter form (AJAX post, the answer swapped into the body and its URL pushed) and an hx-post contact form replaced by its thank-you: one event per submit, one view per pushed URL', async () => {
  const s = await site(
    {
      '/': {
        body: `<div id="content"><form id="nl" action="/subscribe" method="post" data-funnelbeam="newsletter"><input type="email" name="email" value="boost@corp.example" required><button id="join">Join</button></form></div>
          <script>
            // hx-boost: the submit becomes an AJAX post, the answer's body swapped in, the response URL pushed
            document.body.addEventListener('submit', async (e) => {
              const f = e.target; e.preventDefault();
              if (f.dataset.hxPost) {
                const r = await fetch(f.dataset.hxPost, { method: 'POST', body: new URLSearchParams(new FormData(f)) });
                f.outerHTML = await r.text();
                return;
              }
              const r = await fetch(f.action, { method: 'POST', body: new URLSearchParams(new FormData(f)) });
              const html = await r.text();
              document.getElementById('content').innerHTML = new DOMParser().parseFromString(html, 'text/html').getElementById('content').innerHTML;
              history.pushState({ htmx: true }, '', r.url);
            });
          </script>`,
      },
    },
    {
      '/subscribe': (req: IncomingMessage, res: ServerResponse) => void (req.resume(), req.on('end', () => res.writeHead(303, { location: '/welcome' }).end())),
      '/welcome': `<!doctype html><div id="content"><p>Welcome!</p><form id="contact" data-hx-post="/contact" hx-swap="outerHTML"><input type="email" name="email" value="contact@corp.example"><textarea name="message">Hi</textarea><button id="send">Send</button></form></div>`,
      '/contact': accept('<p id="thanks">Thanks, we will be in touch.</p>'),
    },
  );
  const page = await open(s);
  await page.click('#join');
  await page.waitForURL('**/welcome');
  await page.click('#send');
  await page.waitForSelector('#thanks');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2, 4_000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['newsletter_signup', '/', 'boost@corp.example'],
    ['pageview', '/welcome', null],
    ['form_submit', '/welcome', 'contact@corp.example'],
  ]);
  // the message was never read
  expect(rows.map((r) => r.traits)).toEqual([null, null, null, null]);
  await page.close();
});

// Gap left, measured: a form in an open shadow root is seen once a click in that root made it watched (README); Enter
// in a form with a submit button clicks that button (implicit submission), so only a form without one, sent by Enter
// before any click in its root (a keyboard user who tabbed into the field), is missed. A focusin listener watching the
// focused element's root costs 17 B gzip.
test.skip('a web-component newsletter box without a submit button (one email field, sent by Enter), reached by the keyboard alone: its signup counts', async () => {
  const s = await site({
    '/': {
      body: `<news-box></news-box><script>customElements.define('news-box', class extends HTMLElement { connectedCallback() {
        this.attachShadow({ mode: 'open' }).innerHTML = '<form data-funnelbeam="newsletter"><input type="email" name="email" placeholder="you@work.com" required></form>';
        this.shadowRoot.querySelector('form').addEventListener('submit', (e) => { e.preventDefault(); e.target.replaceWith('Thanks!'); });
      } });</script>`,
    },
  });
  const page = await open(s);
  await page.keyboard.press('Tab');
  await page.keyboard.type('keys@corp.example');
  await page.keyboard.press('Enter');
  await waitFor(s, (r) => r.some((e) => e.form), 3_000).catch(() => {});
  expect(forms(await settled(s))).toEqual([['newsletter_signup', 'newsletter', 'keys@corp.example']]);
  await page.close();
});
