// Snippet judge 22: the form rule "an address counts once per page path and form marker on a page" on single-page apps
// and real sign-up flows, in headless Chromium against the real collector. The expected events are worked out by hand
// from the contract (§2: data-hash makes `#/path` changes page changes; §3: one valid submit of a marked form is one
// newsletter_signup / demo_request, of another form with an email field one form_submit, its email identifying the
// visitor) and the README: what did the visitor do, and what must the collector store.
import { test } from 'vitest';
import type { Page } from 'playwright-core';
import type { StoredRow } from '../helpers/browser.js';
import { loaded, noEngagement, visitPage, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, waitFor, settled } = sites;

/** A page of the site once the snippet runs, with its uncaught errors collected. */
const visit = (origin: string, at = '/') => visitPage(sites.browser, origin + at);
/** The stored events without engagement: name, URL path, email (the identification). */
const stored = (rows: StoredRow[]) => noEngagement(rows).map((r) => [r.name, path(r), r.email]);

// The footer newsletter form and the router of a small SPA (history or hash routing); the routed view holds a demo form
// on /pricing whose own script refuses a send without a company (after the browser found the form valid: the snippet
// has counted it then), as Marketo and HubSpot do. Every form is sent by fetch, the page never reloads.
const app = (hash: boolean) => `<nav><a href="${hash ? '#' : ''}/blog/a" id="to-blog">Blog</a> <a href="${hash ? '#' : ''}/pricing" id="to-pricing">Pricing</a></nav>
  <main id="view"></main>
  <footer><form id="nl" data-funnelbeam="newsletter"><input type="email" name="email" id="nl-email" required><button id="nl-go">Subscribe</button><p id="nl-state"></p></form></footer>
  <script>
    var hash = ${hash};
    var route = function () { return hash ? location.hash.slice(1) || '/' : location.pathname; };
    var render = function () {
      var view = document.getElementById('view');
      view.innerHTML = route() == '/pricing'
        ? '<h1>Pricing</h1><form id="demo" data-funnelbeam="demo"><input type="email" name="email" id="demo-email" required><input name="company" id="demo-company"><button id="demo-go">Book a demo</button><p id="demo-state"></p></form>'
        : '<h1>Ten funnel metrics</h1><p>Text.</p>';
      document.body.dataset.route = route();
      var demo = document.getElementById('demo');
      if (demo) demo.addEventListener('submit', function (e) {
        e.preventDefault();
        var state = document.getElementById('demo-state');
        if (!demo.company.value) return void (state.textContent = 'Company is required');
        fetch('/api/demo', { method: 'POST', body: new FormData(demo) }).then(function () { state.textContent = 'Booked'; });
      });
    };
    document.querySelector('nav').addEventListener('click', function (e) {
      if (hash || !e.target.closest('a')) return;
      e.preventDefault();
      history.pushState({}, '', e.target.getAttribute('href'));
      render();
    });
    addEventListener('hashchange', render);
    var nl = document.getElementById('nl'), count = 0;
    nl.addEventListener('submit', function (e) {
      e.preventDefault();
      fetch('/api/newsletter', { method: 'POST', body: new FormData(nl) }).then(function () { document.getElementById('nl-state').textContent = 'Subscribed ' + ++count; });
    });
    render();
  </script>`;

/** Subscribes in the footer and waits for the site's answer (the n-th of the page). */
async function subscribe(page: Page, email: string, n: number) {
  await page.fill('#nl-email', email);
  await page.click('#nl-go');
  await page.waitForSelector(`#nl-state:text("Subscribed ${n}")`);
}
/** The demo form on /pricing: sent without a company (refused by the site), then the footer, then sent again with one. */
async function demoThenNewsletterThenDemo(page: Page, email: string, footerCount: number) {
  await page.fill('#demo-email', email);
  await page.click('#demo-go');
  await page.waitForSelector('#demo-state:text("Company is required")');
  await subscribe(page, email, footerCount);
  await page.fill('#demo-company', 'Corp');
  await page.click('#demo-go');
  await page.waitForSelector('#demo-state:text("Booked")');
}

// A marketer's reading: a footer newsletter sent on /blog/a and again after routing to /pricing is a sign-up on each page,
// as on a site whose pages load (each page view counts its own sends). On /pricing the demo request refused by the site
// and sent again once corrected is one demo request, also with the footer sent between the two; the footer sent on
// /pricing counts there, once. Each event carries the address (it identifies the lead).
test.concurrent('history-routed SPA: footer newsletter on /blog/a and on /pricing, a demo refused by the site, the footer, the demo corrected: one event per page and form, each identified', async ({ expect }) => {
  const s = await site({ '/blog/a': { body: app(false) } }, { '/api/newsletter': (_q, r) => r.end('{}'), '/api/demo': (_q, r) => r.end('{}') });
  const { page, errors } = await visit(s.origin, '/blog/a');
  await subscribe(page, 'nina@corp.example', 1);
  await page.click('#to-pricing');
  await page.waitForSelector('body[data-route="/pricing"]');
  await subscribe(page, 'nina@corp.example', 2);
  await demoThenNewsletterThenDemo(page, 'nina@corp.example', 3);
  await waitFor(s, (r) => r.filter((e) => e.name == 'newsletter_signup').length >= 2 && r.some((e) => e.name == 'demo_request'));
  const rows = await settled(s);
  expect(stored(rows)).toEqual([
    ['pageview', '/blog/a', null],
    ['newsletter_signup', '/blog/a', 'nina@corp.example'],
    ['pageview', '/pricing', null],
    ['newsletter_signup', '/pricing', 'nina@corp.example'],
    ['demo_request', '/pricing', 'nina@corp.example'],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});

// The same app routed by hash with data-hash: each `#/route` is a page (contract §2), so the footer counts on each route
// as it does with history routing; the demo flow the same way.
test.concurrent('hash-routed SPA with data-hash: the same flows count the same per #/ route', async ({ expect }) => {
  const s = await site({ '/': { body: app(true), attrs: 'data-hash' } }, { '/api/newsletter': (_q, r) => r.end('{}'), '/api/demo': (_q, r) => r.end('{}') });
  const { page, errors } = await visit(s.origin, '/#/blog/a');
  await subscribe(page, 'hugo@corp.example', 1);
  await page.click('#to-pricing');
  await page.waitForSelector('body[data-route="/pricing"]');
  await subscribe(page, 'hugo@corp.example', 2);
  await demoThenNewsletterThenDemo(page, 'hugo@corp.example', 3);
  await waitFor(s, (r) => r.filter((e) => e.name == 'newsletter_signup').length >= 2 && r.some((e) => e.name == 'demo_request'));
  const rows = await settled(s);
  expect(stored(rows)).toEqual([
    ['pageview', '/#/blog/a', null],
    ['newsletter_signup', '/#/blog/a', 'hugo@corp.example'],
    ['pageview', '/#/pricing', null],
    ['newsletter_signup', '/#/pricing', 'hugo@corp.example'],
    ['demo_request', '/#/pricing', 'hugo@corp.example'],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});

// A trade-show kiosk's "get in touch" page, rendered like React: each successful send replaces the form by a new, empty
// form element for the next person. Ana sends; Ben sends; Ben, unsure, sends his address again in the new form (the
// same sign-up: no new event). At another page load a visitor sends "tom@gmial.com", sees the typo on the thank-you
// ("we wrote to tom@gmial.com") and sends the corrected address: a second, different address, which identifies him.
test.concurrent('kiosk and React re-render: two people on one page each counted with their own address, a resend of the same address in the re-rendered form is none; a typo corrected after a send counts the corrected address', async ({ expect }) => {
  const body = `<div id="root"></div>
    <script>
      var n = 0;
      var mount = function () {
        var root = document.getElementById('root');
        root.innerHTML = '<form id="f' + n + '"><input type="email" name="email" class="em" required placeholder="Work email"><button class="go">Keep me posted</button></form><p id="done">' + n + '</p>';
        root.querySelector('form').addEventListener('submit', function (e) {
          e.preventDefault();
          var form = this, email = form.email.value;
          fetch('/api/lead', { method: 'POST', body: new FormData(form) }).then(function () { n++; mount(); document.getElementById('done').textContent = n + ' we wrote to ' + email; });
        });
      };
      mount();
    </script>`;
  const s = await site({ '/booth': { body }, '/contact': { body } }, { '/api/lead': (_q, r) => r.end('{}') });
  const { page, errors } = await visit(s.origin, '/booth');
  const send = async (email: string, n: number) => {
    await page.fill('.em', email);
    await page.click('.go');
    await page.waitForSelector(`#done:text("${n} we wrote")`);
  };
  await send('ana@visitor.example', 1);
  await send('ben@visitor.example', 2);
  await send('ben@visitor.example', 3);
  await page.goto(s.origin + '/contact');
  await loaded(page);
  await send('tom@gmial.com', 1);
  await send('tom@gmail.com', 2);
  await waitFor(s, (r) => r.some((e) => e.email == 'tom@gmail.com'));
  const rows = await settled(s);
  expect(stored(rows)).toEqual([
    ['pageview', '/booth', null],
    ['form_submit', '/booth', 'ana@visitor.example'],
    ['form_submit', '/booth', 'ben@visitor.example'],
    ['pageview', '/contact', null],
    ['form_submit', '/contact', 'tom@gmial.com'],
    ['form_submit', '/contact', 'tom@gmail.com'],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});
