// Eleventh round of pages the snippet had not seen: Hotwire Turbo Drive (links and forms of every page fetched, the
// body replaced and its scripts run again, the URL pushed; the snippet's tag at the end of the body), pages whose
// scripts read a form's values with new FormData(form) without sending it (htmx 2's request from a field inside a form,
// an unsaved-changes guard, a form-analytics tool), and forms sent by form.submit() (a Marketo-style form whose submit
// button named "submit" hides the method, a web component sending the form of its open shadow root), in headless
// Chromium against the real collector. The expected events are worked out by hand from the contract (§2–§4)
// and the README before each run.
import { expect, test } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredRow } from '../helpers/browser.js';
import { doc, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf } = sites;

const forms = (rows: StoredRow[]) => rows.filter((r) => r.form).map((r) => [r.name, path(r), r.email]);
const linkUrl = (r: StoredRow) => (r.props as { url?: string } | null)?.url?.replace(/^http:\/\/127\.0\.0\.1:\d+/, '') ?? null;
const accept = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>ok</p>'));
};

/**
 * Turbo Drive as it works (hotwired/turbo, BrowserAdapter.visitStarted: issueRequest, then changeHistory, then the
 * render once the answer is in): a left click on a same-origin link to a page (not a file, no target, no download
 * attribute) is prevented, the page fetched, the URL pushed (replaced for data-turbo-action="replace"), the new <body>
 * put in place of the old one with its scripts made anew so that they run; a POST form is sent by fetch with
 * new FormData(form, submitter) and its redirect visited ("advance"); back restores the page (a cache miss: fetched).
 */
const TURBO = `<script>(() => {
  const id = () => Math.random().toString(36).slice(2);
  history.replaceState({ turbo: { restorationIdentifier: id() } }, '', location.href);
  const render = (html) => {
    const d = new DOMParser().parseFromString(html, 'text/html');
    document.title = d.title;
    const body = document.adoptNode(d.body);
    for (const old of body.querySelectorAll('script')) {
      const s = document.createElement('script');
      for (const a of old.attributes) s.setAttribute(a.name, a.value);
      s.textContent = old.textContent;
      // (counted for the test: the snippet's tag, run again)
      if (s.dataset.site) s.onload = () => (window.tagRuns = (window.tagRuns || 0) + 1);
      old.replaceWith(s);
    }
    document.body.replaceWith(body);
  };
  const visit = async (url, action, answer) => {
    const html = answer || fetch(url, { headers: { accept: 'text/html, application/xhtml+xml' } }).then((r) => r.text());
    history[action == 'replace' ? 'replaceState' : 'pushState']({ turbo: { restorationIdentifier: id() } }, '', url);
    render(await html);
  };
  addEventListener('click', (e) => {
    const a = e.target.closest?.('a[href]:not([target^=_]):not([download])');
    if (!a || e.defaultPrevented || e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const u = new URL(a.href);
    if (u.origin != location.origin || /\\.(?!html?$)\\w+$/.test(u.pathname)) return;
    e.preventDefault();
    visit(u.href, a.dataset.turboAction);
  });
  document.addEventListener('submit', async (e) => {
    const form = e.target;
    if (e.defaultPrevented || form.method != 'post') return;
    e.preventDefault();
    const r = await fetch(form.action, { method: 'POST', body: new FormData(form, e.submitter), headers: { accept: 'text/vnd.turbo-stream.html, text/html' } });
    if (r.redirected) visit(r.url, 'advance', r.text());
  });
  addEventListener('popstate', (e) => e.state?.turbo && fetch(location.href).then((r) => r.text()).then(render));
})();</script>`;

test('Hotwire Turbo Drive (every page fetched, its body put in place of the old one with the snippet\'s tag at its end run again, the URL pushed; data-turbo-action="replace"; a demo form posted by fetch and its 303 visited; a PDF link and a download-attribute link with no extension left to the browser; back): one view per page, the demo request once, each download and the outbound link once', async () => {
  const partner = await serve({ '/elsewhere/partner': '<!doctype html><title>partner</title>partner' });
  const body = (p: string) =>
    ({
      '/': `<h1>/</h1><a id="features" href="/features">Features</a> <a id="guide" href="/files/guide.pdf">Guide (PDF)</a>
        <a id="partner" href="${partner.origin}/elsewhere/partner" target="_blank" rel="noopener">Partner</a>`,
      '/features': '<h1>/features</h1><a id="pricing" href="/pricing" data-turbo-action="replace">Pricing</a>',
      '/pricing': '<h1>/pricing</h1><a id="demo" href="/demo"><span>Book a demo</span></a>',
      '/demo': `<h1>/demo</h1><form id="book" action="/demo" method="post" data-funnelbeam="demo">
        <input type="email" name="email" value="tess@turbo.example" required><button id="send" name="commit" value="Book">Book</button></form>`,
      '/thanks': '<h1>/thanks</h1><a id="export" href="/files/export?id=7" download>Your agenda</a>',
    })[p] ?? '<h1>404</h1>';
  const s = await serve({
    '/files/guide.pdf': file,
    '/files/export': file,
    '*': (req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (req.method == 'POST') return req.resume().on('end', () => res.writeHead(303, { location: '/thanks' }).end());
      // Turbo's own script in <head> (kept across visits), the snippet's tag at the end of <body> (run again by each render)
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(doc(TURBO, body(p) + `<script defer ${tagOf()}></script>`, p));
    },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  const at = (p: string) => page.waitForFunction((p) => location.pathname == p && document.querySelector('h1')?.textContent == p, p);
  await Promise.all([page.waitForEvent('download'), page.click('#guide')]);
  await page.click('#partner');
  await page.click('#features');
  await at('/features');
  await page.click('#pricing');
  await at('/pricing');
  await page.click('#demo span');
  await at('/demo');
  await page.click('#send');
  await at('/thanks');
  await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  await page.goBack();
  await at('/demo');
  await waitFor(s, (r) => named(r, 'pageview').length >= 6);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), linkUrl(r)])).toEqual([
    ['pageview', '/', null],
    ['download', '/', '/files/guide.pdf'],
    ['outbound', '/', '/elsewhere/partner'],
    ['pageview', '/features', null],
    ['pageview', '/pricing', null],
    ['pageview', '/demo', null],
    ['demo_request', '/demo', null],
    ['pageview', '/thanks', null],
    ['download', '/thanks', '/files/export?id=7'],
    ['pageview', '/demo', null],
  ]);
  expect(forms(rows)).toEqual([['demo_request', '/demo', 'tess@turbo.example']]);
  // each view's referrer is the view before it (README: an SPA view's referrer is the previous view)
  expect(named(rows, 'pageview').map((r) => r.referrer.replace(s.origin, ''))).toEqual(['', '/', '/features', '/pricing', '/demo', '/thanks']);
  // the tag ran again at each of the five renders, and counted nothing more
  expect(await page.evaluate(() => (window as { tagRuns?: number }).tagRuns)).toBe(5);
  await page.close();
});

test('scripts that read a form\'s values with new FormData(form) without sending it: htmx 2 checking an address as it is typed (hx-post on the field: the request carries the closest form\'s values), an unsaved-changes guard snapshotting a known visitor\'s prefilled form at load and at each keystroke, a form-analytics tool reading each submit in the capture phase before the snippet: no form event until the visitor sends, then the signup once, its address a lead; the prefilled form, never sent, nothing and no lead', async () => {
  const page0 = `<form id="signup" data-funnelbeam="newsletter" hx-post="/subscribe">
      <input type="email" id="email" name="email" required hx-post="/subscribe/check" hx-trigger="change"> <span id="hint"></span>
      <button id="join">Join</button></form>
    <form id="profile" action="/profile" method="post">
      <input type="email" name="work_email" value="known@visitor.example"> <input id="company" name="company" value="Acme">
      <button>Save</button></form>
    <script>
      // a form-analytics tool: every submit's values, read in the capture phase on the window (before the document's
      // listeners, the snippet's among them)
      addEventListener('submit', (e) => (window.fields = [...new FormData(e.target)].length), true);
      const signup = document.getElementById('signup'), profile = document.getElementById('profile');
      // htmx 2 (getInputValues: a request other than GET from an element inside a form carries the form, processInputValue
      // reads it with new FormData(form)), on the field's change
      document.getElementById('email').addEventListener('change', async () => {
        const r = await fetch('/subscribe/check', { method: 'POST', body: new FormData(signup) });
        document.getElementById('hint').textContent = 'checked ' + (await r.text()).length;
      });
      // hx-post on the form: its submit prevented, the values read the same way, the answer swapped in
      signup.addEventListener('submit', async (e) => {
        e.preventDefault();
        await fetch('/subscribe', { method: 'POST', body: new FormData(signup) });
        signup.outerHTML = '<p id="done">Subscribed</p>';
      });
      // an unsaved-changes guard: the values as loaded, compared at each keystroke
      const snapshot = () => JSON.stringify([...new FormData(profile)]);
      let saved;
      addEventListener('DOMContentLoaded', () => (saved = snapshot()));
      profile.addEventListener('input', () => (window.dirty = snapshot() != saved));
    </script>`;
  const s = await serve({
    '/subscribe/check': accept,
    '/subscribe': accept,
    '/': doc(`<script defer ${tagOf()}></script>`, page0, 'newsletter'),
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.fill('#email', 'hana@htmx.example');
  await page.focus('#company');
  await page.waitForFunction(() => document.getElementById('hint')!.textContent!.startsWith('checked'));
  await page.type('#company', ' Labs');
  expect(await page.evaluate(() => (window as { dirty?: boolean }).dirty)).toBe(true);
  // (the view is stored; anything the reads above made would have been sent with it by now)
  await waitFor(s, (r) => named(r, 'pageview').length == 1);
  expect(forms(noEngagement(await settled(s)))).toEqual([]);
  await page.click('#join');
  await page.waitForSelector('#done');
  await waitFor(s, (r) => named(r, 'newsletter_signup').length >= 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['newsletter_signup', '/', 'hana@htmx.example'],
  ]);
  expect(await page.evaluate(() => (window as { fields?: number }).fields)).toBe(1);
  // contract §3: a submitted form's email identifies the visitor; an address in a form never sent identifies no one
  const leads = await sites.collector.running.db.all<{ email: string }>('SELECT email FROM leads WHERE site_id = ? AND email IS NOT NULL', [sites.collector.site.siteId]);
  expect(leads.map((l) => l.email.toLowerCase())).toContain('hana@htmx.example');
  expect(leads.map((l) => l.email.toLowerCase())).not.toContain('known@visitor.example');
  await page.close();
});

test('forms that scripts send with form.submit() (no submit event): a Marketo-style form posted into a hidden iframe, whose submit button named "submit" hides form.submit (so the script calls HTMLFormElement.prototype.submit.call(form)), sent from a link; a web component whose open shadow root holds a newsletter form its own script sends (the call-to-action button outside the component calls its send(), no click inside it): one event each, with its address', async () => {
  const s = await serve({
    '/mkto': accept,
    '/subscribed': accept,
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<iframe name="sink" hidden></iframe>
      <form id="mkto" action="/mkto" method="post" target="sink" data-funnelbeam="demo">
        <input type="email" name="Email" value="mia@mkto.example" required> <input type="submit" name="submit" value="Request a demo"></form>
      <a id="send-mkto" href="#">Request a demo</a>
      <news-box id="box"></news-box> <button id="cta">Get the newsletter</button>
      <script>
        document.getElementById('send-mkto').addEventListener('click', (e) => {
          e.preventDefault();
          const form = document.getElementById('mkto');
          HTMLFormElement.prototype.submit.call(form);
          form.insertAdjacentHTML('afterend', '<p id="sent">Thanks</p>');
        });
        customElements.define('news-box', class extends HTMLElement {
          connectedCallback() {
            this.attachShadow({ mode: 'open' }).innerHTML =
              '<form action="/subscribed" method="post" data-funnelbeam="newsletter"><input type="email" name="email" required></form>';
          }
          send() {
            const form = this.shadowRoot.querySelector('form');
            if (form.reportValidity()) form.submit();
          }
        });
        document.getElementById('cta').addEventListener('click', () => document.getElementById('box').send());
      </script>`,
      'forms by script',
    ),
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.click('#send-mkto');
  await page.waitForSelector('#sent');
  await page.fill('news-box input', 'sofia@shadow.example');
  await page.click('#cta');
  await page.waitForURL('**/subscribed');
  await waitFor(s, (r) => named(r, 'newsletter_signup').length >= 1, 3000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['demo_request', '/', 'mia@mkto.example'],
    ['newsletter_signup', '/', 'sofia@shadow.example'],
  ]);
  await page.close();
});

// Known gap, left out: a form in an open shadow root sent by form.requestSubmit() from outside the root, with no click
// inside it before, fires its submit event in a root that is not watched (wrapping requestSubmit to watch the form's
// root first costs 29 B gzip). Flip to test() to check a fix.
test.skip('a web component whose shadow-root newsletter form is sent by requestSubmit() from the page\'s call-to-action button (no click inside the component): one newsletter_signup', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<news-box id="box"></news-box> <button id="cta">Get the newsletter</button>
      <script>
        customElements.define('news-box', class extends HTMLElement {
          connectedCallback() {
            this.attachShadow({ mode: 'open' }).innerHTML = '<form data-funnelbeam="newsletter"><input type="email" name="email" required></form>';
            this.shadowRoot.querySelector('form').addEventListener('submit', (e) => {
              e.preventDefault();
              this.shadowRoot.innerHTML = '<p>Subscribed</p>';
              document.title = 'sent';
            });
          }
          send() {
            this.shadowRoot.querySelector('form').requestSubmit();
          }
        });
        document.getElementById('cta').addEventListener('click', () => document.getElementById('box').send());
      </script>`,
      'shadow requestSubmit',
    ),
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.fill('news-box input', 'rui@shadow.example');
  await page.click('#cta');
  await page.waitForFunction(() => document.title == 'sent');
  await waitFor(s, (r) => named(r, 'newsletter_signup').length >= 1, 3000).catch(() => {});
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['newsletter_signup', '/', 'rui@shadow.example'],
  ]);
  await page.close();
});
