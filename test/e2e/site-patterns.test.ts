// The snippet on pages built the way real sites and tools build them (Next.js, Turbo, htmx, hash routers, view
// transitions; CF7, Webflow, HubSpot forms; consent managers; strict CSP, wrapped fetch, Prototype.js), written by hand
// without the frameworks (each page does what the framework does), in headless Chromium against the real collector.
import { expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { htmlPage, type StoredRow } from '../helpers/browser.js';
import { doc, file, js, named, pathOf as path, setHidden, snippetSites, STUB } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, serve, of, waitFor, settled, openLoaded: open, tagOf } = sites;

const views = (rows: StoredRow[]) => named(rows, 'pageview').map(path);
const redirect = (to: string, status = 302) => (_req: unknown, res: ServerResponse) => res.writeHead(status, { location: to }).end();
const drain = (req: IncomingMessage) => new Promise((r) => (req.resume(), req.on('end', r)));

// ---------------------------------------------------------------------------------------------------------------
// Routers
// ---------------------------------------------------------------------------------------------------------------

/** What the Next.js app router does: a replaceState of the same URL with its tree on load, prefetches of the linked
 * routes (RSC fetches), a pushState with its own state after rendering the next route, scroll to top, router.replace
 * of the query for search-as-you-type, popstate on back. */
const NEXT = `(() => {
  const tree = () => ({ __NA: true, __PRIVATE_NEXTJS_INTERNALS_TREE: ['', { children: [location.pathname, {}] }] });
  history.replaceState(tree(), '', location.href);
  const render = (p) => { document.getElementById('main').textContent = 'route ' + p; document.getElementById('main').style.height = p == '/blog' ? '6000px' : '200px'; };
  addEventListener('DOMContentLoaded', () => document.querySelectorAll('a[href^="/"]').forEach((a) => fetch(a.getAttribute('href') + '?_rsc=p', { headers: { RSC: '1', 'Next-Router-Prefetch': '1' } }).catch(() => {})));
  document.addEventListener('click', async (e) => {
    const a = e.target.closest('a[href^="/"]');
    if (!a || e.ctrlKey || e.metaKey || e.button) return;
    e.preventDefault();
    await fetch(a.getAttribute('href') + '?_rsc=n', { headers: { RSC: '1' } }).catch(() => {});
    render(a.pathname);
    queueMicrotask(() => { history.pushState(tree(), '', a.href); scrollTo(0, 0); });
  });
  addEventListener('popstate', () => render(location.pathname));
  window.search = (q) => history.replaceState(tree(), '', location.pathname + '?q=' + q);
})();`;

test('Next.js app router: its replaceState on load, prefetches, a UTM cleanup, pushes with its state, router.replace of the query, back: one view per route', async () => {
  const s = await site(
    { '*': { head: '<script src="/_next/app.js"></script>', body: '<nav><a id="blog" href="/blog">blog</a> <a id="pricing" href="/pricing">pricing</a></nav><main id="main">home</main>' } },
    { '/_next/app.js': js(NEXT) },
  );
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=linkedin&utm_medium=paid&utm_campaign=q3');
  await page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
  // the site's own tracking-parameter cleanup, right after load
  await page.evaluate(() => history.replaceState(history.state, '', '/'));
  await page.click('#blog');
  await page.waitForURL('**/blog');
  await page.evaluate(() => scrollTo(0, 6000));
  await page.waitForTimeout(1_200);
  await page.click('#pricing');
  await page.waitForURL('**/pricing');
  for (const q of ['e', 'en', 'ent']) await page.evaluate((v) => (window as unknown as { search(q: string): void }).search(v), q);
  await page.goBack();
  await page.waitForURL('**/blog');
  await waitFor(s, (r) => named(r, 'pageview').length >= 4);
  const rows = await settled(s);
  expect(views(rows)).toEqual(['/?utm_source=linkedin&utm_medium=paid&utm_campaign=q3', '/blog', '/pricing', '/blog']);
  // the campaign of the landing stays with the visitor after the cleanup
  expect(rows.every((r) => r.utm_source == 'linkedin' && r.utm_campaign == 'q3')).toBe(true);
  // the blog was read to the end before moving on
  expect(named(rows, 'engagement').filter((r) => path(r) == '/blog').map((r) => r.props?.scroll)).toContain(100);
  await page.close();
});

/** Activates a script the way Turbo and htmx do: a new element with the same attributes and text. */
const ACTIVATE = `const activate = (old) => { const s = document.createElement('script'); for (const a of old.attributes) s.setAttribute(a.name, a.value); s.textContent = old.textContent; old.replaceWith(s); };`;

/** What Turbo Drive does: replaceState on start; on a link click a pushState at once, then fetch, merge <head>
 * (new scripts appended and run, known ones kept), replace <body> (its scripts run), scroll to top; a redirected
 * visit replaces the URL; a form is posted by fetch and its redirect is pushed; back restores by popstate. */
const TURBO = `(() => { ${ACTIVATE}
  const id = () => ({ turbo: { restorationIdentifier: Math.random().toString(36) } });
  history.replaceState(id(), '', location.href);
  const render = (html) => {
    const next = new DOMParser().parseFromString(html, 'text/html');
    const known = [...document.head.children].map((e) => e.outerHTML);
    for (const e of [...next.head.querySelectorAll('script, meta')]) if (!known.includes(e.outerHTML)) { document.head.append(document.adoptNode(e)); if (e.tagName == 'SCRIPT') activate(e); }
    document.title = next.title;
    document.body.replaceWith(document.adoptNode(next.body));
    document.body.querySelectorAll('script').forEach(activate);
    scrollTo(0, 0);
  };
  const visit = async (url, action) => {
    if (action) history.pushState(id(), '', url);
    const r = await fetch(url, { headers: { 'X-Turbo': '1' } });
    if (r.redirected) history.replaceState(id(), '', r.url);
    render(await r.text());
  };
  addEventListener('click', (e) => {
    const a = e.target.closest('a[href]');
    if (!a || e.defaultPrevented || e.button || e.ctrlKey || a.origin != location.origin || a.hasAttribute('download') || /\\.\\w+$/.test(a.pathname)) return;
    e.preventDefault();
    visit(a.href, 'advance');
  });
  addEventListener('submit', async (e) => {
    if (e.defaultPrevented) return;
    e.preventDefault();
    const r = await fetch(e.target.action, { method: 'POST', body: new FormData(e.target) });
    history.pushState(id(), '', r.url);
    render(await r.text());
  });
  addEventListener('popstate', (e) => e.state?.turbo && visit(location.href));
})();`;

test('Turbo Drive with the snippet in <head>: body swaps keep the listeners, the snippet runs once, a form post and back are seen', async () => {
  const head = `<script src="/turbo.js" defer></script><script defer ${tagOf()}></script>`;
  const body = (h: string) =>
    `<nav><a id="home" href="/">home</a> <a id="pricing" href="/pricing">pricing</a> <a id="deck" href="/files/deck.pdf">deck</a> <a id="partner" href="http://localhost:1/elsewhere">partner</a></nav><h1>${h}</h1>
    <form id="nl" action="/subscribe" method="post"><input type="email" name="email" value="turbo@corp.example" required><button id="join">join</button></form>`;
  const s = await serve({
    '/': doc(head, body('home'), 'Home'),
    '/pricing': doc(head + '<meta name="page" content="pricing">', body('pricing'), 'Pricing'),
    '/thanks': doc(head, body('thanks'), 'Thanks'),
    '/subscribe': async (req, res) => (await drain(req), res.writeHead(303, { location: '/thanks' }).end()),
    '/turbo.js': js(TURBO),
    '/files/deck.pdf': file,
  });
  const page = await open(s);
  await page.click('#pricing');
  await page.waitForSelector('meta[name=page]', { state: 'attached' });
  await page.click('#deck');
  await page.click('#partner', { button: 'middle' });
  await page.click('#join');
  await page.waitForURL('**/thanks');
  await page.waitForFunction(() => document.title == 'Thanks');
  await page.goBack();
  await page.waitForURL('**/pricing');
  await waitFor(s, (r) => named(r, 'pageview').length >= 4);
  const rows = await settled(s);
  expect(views(rows)).toEqual(['/', '/pricing', '/thanks', '/pricing']);
  expect(rows.filter((r) => !/pageview|engagement/.test(r.name)).map((r) => [r.name, path(r), r.email])).toEqual([
    ['download', '/pricing', null],
    ['outbound', '/pricing', null],
    ['form_submit', '/pricing', 'turbo@corp.example'],
  ]);
  expect(await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/s.js')).length)).toBe(1);
  await page.close();
});

// Known quirk, by contract ("replaceState when the path changes" is a view): Turbo pushes the link's URL before it
// fetches, then replaces it with the redirect's target, so a link that the server redirects stores both URLs.
test('Turbo Drive: a link the server redirects (/account to /login) stores the pushed and the replaced URL (contract: replaceState to a new path is a view)', async () => {
  const head = `<script src="/turbo.js" defer></script><script defer ${tagOf()}></script>`;
  const s = await serve({
    '/': doc(head, '<a id="account" href="/account">account</a>'),
    '/login': doc(head, '<h1>login</h1>', 'Login'),
    '/account': redirect('/login'),
    '/turbo.js': js(TURBO),
  });
  const page = await open(s);
  await page.click('#account');
  await page.waitForFunction(() => document.title == 'Login');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2);
  const rows = await settled(s);
  expect(views(rows)).toEqual(['/', '/account', '/login']);
  await page.close();
});

/** What htmx's hx-boost does: replaceState of the current URL on load, a fetch with HX-Request, the body's innerHTML
 * swapped (scripts in it run again), then a pushState of the response URL; back restores the cached body. */
const HTMX = `(() => { ${ACTIVATE}
  const cache = {};
  history.replaceState({ htmx: true }, '', location.href);
  const swap = (html) => { document.body.innerHTML = html; document.body.querySelectorAll('script').forEach(activate); };
  addEventListener('click', async (e) => {
    const a = e.target.closest('[hx-boost] a[href]');
    if (!a || e.button || a.origin != location.origin) return;
    e.preventDefault();
    cache[location.href] = document.body.innerHTML;
    const r = await fetch(a.href, { headers: { 'HX-Request': 'true', 'HX-Boosted': 'true' } });
    const next = new DOMParser().parseFromString(await r.text(), 'text/html');
    swap(next.body.innerHTML);
    document.title = next.title;
    history.pushState({ htmx: true }, '', r.url);
    scrollTo(0, 0);
  });
  addEventListener('popstate', (e) => e.state?.htmx && cache[location.href] && swap(cache[location.href]));
})();`;

test('htmx hx-boost with the snippet in <body> (run again on every swap): one view per page, events after the swaps count once', async () => {
  const body = (h: string) =>
    `<div hx-boost="true"><a id="a" href="/a">a</a> <a id="b" href="/b">b</a></div><h1>${h}</h1><button id="cta" onclick="funnelbeam('track', 'cta', { on: '${h}' })">cta</button>
    <script defer ${tagOf()}></script>`;
  const s = await serve({ '/': doc('<script src="/htmx.js"></script>', body('home')), '/a': doc('', body('a'), 'A'), '/b': doc('', body('b'), 'B'), '/htmx.js': js(HTMX) });
  const page = await open(s);
  await page.click('#a');
  await page.waitForURL('**/a');
  await page.click('#cta');
  await page.click('#b');
  await page.waitForURL('**/b');
  await page.click('#cta');
  await page.goBack();
  await page.waitForURL('**/a');
  await waitFor(s, (r) => named(r, 'pageview').length >= 4 && named(r, 'cta').length >= 2);
  const rows = await settled(s);
  expect(views(rows)).toEqual(['/', '/a', '/b', '/a']);
  expect(named(rows, 'cta').map((r) => [path(r), r.props])).toEqual([
    ['/a', { on: 'a' }],
    ['/b', { on: 'b' }],
  ]);
  await page.close();
});

test('hash routers with data-hash: Vue (pushState of #/ URLs), Angular (location.hash), a router.back() and history.go(-1)', async () => {
  const s = await site({
    '/': {
      attrs: 'data-hash',
      body: `<button id="vue" onclick="history.pushState({ back: '/#/', current: '/about', position: 1 }, '', '/#/about')">vue</button>
        <button id="ng" onclick="location.hash = '#/pricing'">ng</button>
        <button id="back" onclick="history.back()">back</button> <button id="go" onclick="history.go(-1)">go</button>`,
    },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/#/');
  await page.click('#vue');
  await page.click('#ng');
  await page.waitForURL('**/#/pricing');
  await page.click('#back');
  await page.waitForURL('**/#/about');
  await page.click('#go');
  await page.waitForURL(/#\/$/);
  await waitFor(s, (r) => named(r, 'pageview').length >= 5);
  expect(views(await settled(s))).toEqual(['/#/', '/#/about', '/#/pricing', '/#/about', '/#/']);
  await page.close();
});

test('a Vue hash router without data-hash: one view (hash routes need data-hash)', async () => {
  const s = await site({ '/': { body: `<button id="vue" onclick="history.pushState({}, '', '/#/about')">vue</button>` } });
  const page = await open(s);
  await page.click('#vue');
  await waitFor(s, (r) => named(r, 'pageview').length >= 1);
  expect(views(await settled(s))).toEqual(['/']);
  await page.close();
});

test('Astro-style view transitions (pushState inside document.startViewTransition) and Gatsby/Docusaurus (pushState then scrollTo): one view each, scroll depth per view', async () => {
  const s = await site({
    '*': {
      body: `<main id="main" style="height: 5000px">long article</main>
        <button id="astro" onclick="document.startViewTransition(async () => { const r = await fetch('/short'); history.pushState({ index: 1, scrollX: 0, scrollY: 0 }, '', '/short'); document.getElementById('main').style.height = '100px'; })">astro</button>
        <button id="gatsby" onclick="history.pushState({ key: 'k1' }, '', '/docs'); document.getElementById('main').style.height = '3000px'; scrollTo(0, 0)">gatsby</button>`,
    },
  });
  const page = await open(s, '/article');
  await page.evaluate(() => scrollTo(0, 5000));
  await page.waitForTimeout(1_200);
  await page.evaluate(() => document.getElementById('astro')!.scrollIntoView());
  await page.click('#astro');
  await page.waitForURL('**/short');
  await page.waitForTimeout(1_200);
  await page.click('#gatsby');
  await page.waitForTimeout(1_200);
  await setHidden(page, true);
  await waitFor(s, (r) => named(r, 'engagement').length >= 3);
  const rows = await settled(s);
  expect(views(rows)).toEqual(['/article', '/short', '/docs']);
  const scroll = Object.fromEntries(named(rows, 'engagement').map((r) => [path(r), r.props?.scroll]));
  expect(scroll['/article']).toBe(100);
  expect(scroll['/short']).toBe(100);
  // the docs page was left at its top: a window of 720 of 3,000-odd pixels
  expect(scroll['/docs']).toBeLessThan(30);
  await page.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Forms from tools
// ---------------------------------------------------------------------------------------------------------------

test('forms from tools: Contact Form 7 (AJAX, novalidate, reset), Webflow (Email, replaced by a success message), HubSpot (rendered by script after load), a footer newsletter on two pages', async () => {
  const footer = `<footer><form class="newsletter" onsubmit="event.preventDefault(); fetch('/subscribe', { method: 'POST', body: new FormData(this) }).then(() => this.reset())">
    <input type="email" name="EMAIL" placeholder="you@work" required><button>subscribe</button></form></footer>`;
  const s = await site(
    {
      '/contact': {
        body: `<div class="wpcf7"><form class="wpcf7-form" novalidate action="/contact#wpcf7-f1" method="post" data-status="init">
            <input type="hidden" name="_wpcf7" value="12"><input type="text" name="your-name" value="Ana" required>
            <input type="email" name="your-email" value="ana@cf7.example" required><textarea name="your-message">hi</textarea><input type="submit" id="cf7" value="Send">
          </form></div>
          <script>document.querySelector('.wpcf7-form').addEventListener('submit', (e) => { e.preventDefault(); const f = e.target; fetch('/wp-json/contact-form-7/v1/contact-forms/12/feedback', { method: 'POST', body: new FormData(f) }).then(() => { f.reset(); f.dataset.status = 'sent'; }); });</script>
          ${footer}`,
      },
      '/webflow': {
        body: `<div class="w-form"><form id="email-form" name="email-form" data-name="Email Form" method="get">
            <input type="text" class="w-input" maxlength="256" name="Name" data-name="Name" value="Bo"><input type="email" class="w-input" maxlength="256" name="Email" data-name="Email" value="bo@webflow.example" required>
            <input type="submit" id="wf" value="Submit" class="w-button"></form><div class="w-form-done" hidden>Thank you!</div></div>
          <script>document.getElementById('email-form').addEventListener('submit', (e) => { e.preventDefault(); fetch('/api/v1/form/site', { method: 'POST', body: new FormData(e.target) }).catch(() => {}); e.target.style.display = 'none'; e.target.nextElementSibling.hidden = false; });</script>
          ${footer}`,
      },
      '/hubspot': {
        body: `<div id="hs-form"></div>
          <script>addEventListener('load', () => setTimeout(() => {
            document.getElementById('hs-form').innerHTML = '<form novalidate class="hs-form" id="hsForm_1"><div class="hs_email"><label>Email*</label><input id="email-1" name="email" required type="email" class="hs-input" inputmode="email" autocomplete="email" value=""></div><div class="hs_firstname"><input id="firstname-1" name="firstname" type="text" value="Cy"></div><input type="submit" id="hs" value="Submit"></form>';
            document.getElementById('hsForm_1').addEventListener('submit', (e) => { e.preventDefault(); if (!e.target.checkValidity()) return; fetch('/submissions/v3/integration/submit', { method: 'POST', body: '{}' }).catch(() => {}); e.target.outerHTML = '<div class="submitted-message">Thanks</div>'; });
          }, 300));</script>
          ${footer}`,
      },
    },
    { '/subscribe': (req, res) => void drain(req).then(() => res.writeHead(204).end()) },
  );
  const page = await open(s, '/contact');
  await page.click('#cf7');
  await page.fill('footer input', 'reader@footer.example');
  await page.click('footer button');
  await page.goto(s.origin + '/webflow');
  await page.click('#wf');
  await page.fill('footer input', 'reader@footer.example');
  await page.click('footer button');
  await page.goto(s.origin + '/hubspot');
  await page.waitForSelector('#hs');
  // submitted empty first (HubSpot shows its errors), then filled in
  await page.click('#hs');
  await page.fill('#email-1', 'cy@hubspot.example');
  await page.click('#hs');
  await waitFor(s, (r) => named(r, 'form_submit').length >= 5);
  const rows = await settled(s);
  expect(named(rows, 'form_submit').map((r) => [path(r), r.email, r.traits])).toEqual([
    ['/contact', 'ana@cf7.example', null],
    ['/contact', 'reader@footer.example', null],
    ['/webflow', 'bo@webflow.example', null],
    ['/webflow', 'reader@footer.example', null],
    ['/hubspot', 'cy@hubspot.example', null],
  ]);
  // what a form could leak into (ids and times left out: a random id may hold "hi")
  expect(JSON.stringify(rows.map((r) => [r.url, r.email, r.traits, r.props]))).not.toMatch(/Ana|"Bo"|"Cy"|hi/);
  await page.close();
});

test('email fields as tools write them: type=text name=email inputmode=email, type=email autocomplete=username (a login: form_submit, the password never read); a search form is no form_submit', async () => {
  const s = await site({
    '/': {
      body: `<form id="a" onsubmit="event.preventDefault()"><input type="text" name="email" inputmode="email" value="text@mode.example"><button id="go-a">go</button></form>
        <form id="login" onsubmit="event.preventDefault()"><input type="email" name="login" autocomplete="username" value="user@login.example"><input type="password" name="password" autocomplete="current-password" value="s3cret-pw"><button id="go-login">sign in</button></form>
        <form id="search" role="search" onsubmit="event.preventDefault()"><input type="search" name="q" value="pricing for teams"><button id="go-search">search</button></form>
        <form id="search2" action="/search" onsubmit="event.preventDefault()"><input type="text" name="s" placeholder="Search..." value="webinar"><button id="go-s">search</button></form>`,
    },
  });
  const page = await open(s);
  for (const id of ['#go-a', '#go-login', '#go-search', '#go-s']) await page.click(id);
  await waitFor(s, (r) => named(r, 'form_submit').length >= 2);
  const rows = await settled(s);
  expect(rows.filter((r) => r.form).map((r) => [r.name, r.email])).toEqual([
    ['form_submit', 'text@mode.example'],
    ['form_submit', 'user@login.example'],
  ]);
  expect(JSON.stringify(rows.map((r) => [r.url, r.email, r.traits, r.props]))).not.toMatch(/s3cret|pricing for teams|webinar/);
  await page.close();
});

// Was a known gap: form.submit() fires no submit event (it fires formdata, which the snippet now also reads).
test('a Marketo/jQuery-style form sent by form.submit() counts', async () => {
  const s = await site(
    { '/': { body: `<form id="mkto" action="/thanks" method="post"><input type="email" name="Email" value="m@marketo.example"><button type="button" id="go" onclick="this.form.submit()">send</button></form>` } },
    // the thank-you page carries the tag, as a site's does: the submit goes out by the keepalive fetch as the form
    // leaves, or (if the browser dropped that request, as a loaded machine's did once) from the outbox on this page
    {
      '/thanks': (req, res) =>
        void drain(req).then(() =>
          res.writeHead(200, { 'content-type': 'text/html' }).end(htmlPage({ src: `${sites.collector.url}/s.js`, site: sites.collector.site.siteKey, body: 'thanks' })),
        ),
    },
  );
  const page = await open(s);
  await page.click('#go');
  await waitFor(s, (r) => named(r, 'form_submit').length >= 1);
  expect(named(await settled(s), 'form_submit').map((r) => r.email)).toEqual(['m@marketo.example']);
  await page.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Consent managers
// ---------------------------------------------------------------------------------------------------------------

test('a CMP that grants before the snippet loads (queue stub, remembered decision): the landing view with its campaign is stored, and every later page', async () => {
  const s = await serve({
    '/cmp.js': js(`${STUB} if (localStorage.cmp == 'yes') funnelbeam('consent', true); document.addEventListener('click', (e) => e.target.id == 'accept' && (localStorage.cmp = 'yes', funnelbeam('consent', true)));`),
    '*': doc(`<script src="/cmp.js"></script><script defer ${tagOf('data-consent="required"')}></script>`, '<button id="accept">accept all</button> <a id="next" href="/next">next</a>'),
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=google&utm_medium=cpc&gclid=abc');
  await page.click('#accept');
  await page.click('#next');
  await page.waitForURL('**/next');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2);
  const rows = await settled(s);
  // (the collector's click_id column names the kind of click id; its value is in the first touch of the first row)
  expect(named(rows, 'pageview').map((r) => [path(r), r.utm_source, r.click_id])).toEqual([
    ['/?utm_source=google&utm_medium=cpc&gclid=abc', 'google', 'gclid'],
    ['/next', 'google', 'gclid'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ gclid: 'abc', utm_source: 'google' });
  await page.close();
});

test('consent required, the visitor browses to a second page before accepting: what was held on the first page is gone (nothing may be stored before consent), the second page counts', async () => {
  const s = await site({ '*': { attrs: 'data-consent="required"', body: `<a id="next" href="/pricing">pricing</a> <button id="accept" onclick="funnelbeam('consent', true)">accept</button>` } });
  const page = await sites.browser.newPage();
  const sent: string[] = [];
  page.on('request', (r) => r.url() == sites.collector.url + '/e' && sent.push(r.url()));
  await page.goto(s.origin + '/?utm_source=newsletter&utm_campaign=launch');
  await page.waitForTimeout(1_100);
  await page.click('#next');
  await page.waitForURL('**/pricing');
  expect(sent).toEqual([]);
  expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
  await page.click('#accept');
  await waitFor(s, (r) => named(r, 'pageview').length >= 1);
  const rows = await settled(s);
  // its campaign is not lost: with no visit under way, the campaign is read from a referrer of the site's own (README)
  expect(rows.map((r) => [r.name, path(r), r.utm_source])).toEqual([['pageview', '/pricing', 'newsletter']]);
  await page.close();
});

test('a CMP that grants, then the visitor revokes: nothing after the revocation is stored, on this page or the next, and a later grant starts a new visitor from that page', async () => {
  const s = await site({
    '*': {
      body: `<button id="grant" onclick="funnelbeam('consent', true)">grant</button> <button id="revoke" onclick="funnelbeam('consent', false)">revoke</button>
        <button id="cta" onclick="funnelbeam('track', 'cta')">cta</button> <a id="next" href="/next">next</a>`,
    },
  });
  const page = await open(s);
  await page.click('#grant');
  await page.click('#cta');
  await waitFor(s, (r) => named(r, 'cta').length == 1);
  const first = await page.evaluate(() => JSON.parse(localStorage._fb).v);
  await page.click('#revoke');
  await page.click('#cta');
  await page.click('#next');
  await page.waitForURL('**/next');
  await page.click('#cta');
  await page.waitForTimeout(800);
  expect(await page.evaluate(() => localStorage._fb)).toBe('{"c":0}');
  await page.click('#grant');
  await page.click('#cta');
  await waitFor(s, (r) => named(r, 'cta').length >= 2);
  const rows = await settled(s);
  expect(rows.filter((r) => r.name != 'engagement').map((r) => [r.name, path(r), r.visitor_id == first])).toEqual([
    ['pageview', '/', true],
    ['cta', '/', true],
    // granted again on this page: its view counts from then on
    ['pageview', '/next', false],
    ['cta', '/next', false],
  ]);
  await page.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Page conditions
// ---------------------------------------------------------------------------------------------------------------

test('a strict CSP (script-src self + collector, connect-src collector, no inline script) with the stub in a file, and a <base href> pointing elsewhere', async () => {
  const csp = () => `default-src 'none'; script-src 'self' ${sites.collector.url}; connect-src ${sites.collector.url}; require-trusted-types-for 'script'`;
  const html = (head: string, body: string) => (_req: unknown, res: ServerResponse) =>
    res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': csp() }).end(doc(head, body));
  const violations: string[] = [];
  const s = await serve({
    '/': html(
      `<script src="/stub.js"></script><script defer ${tagOf()}></script>`,
      `<a id="pdf" href="/files/price-list.pdf">prices</a> <form id="f" action="/thanks"><input type="email" name="email" value="csp@strict.example"><button id="go">send</button></form>`,
    ),
    '/based': html(`<base href="http://localhost:1/elsewhere/"><script defer ${tagOf()}></script>`, `<a id="rel" href="docs/intro">relative (goes elsewhere)</a>`),
    '/stub.js': js(`${STUB} funnelbeam('track', 'csp_ready'); document.addEventListener('securitypolicyviolation', (e) => console.log('CSP', e.violatedDirective, e.blockedURI)); document.addEventListener('submit', (e) => e.preventDefault());`),
    '/files/price-list.pdf': file,
  });
  const page = await sites.browser.newPage();
  page.on('console', (m) => m.text().startsWith('CSP') && violations.push(m.text()));
  await page.goto(s.origin + '/');
  await page.click('#pdf');
  await page.click('#go');
  await page.evaluate(() => new Promise((r) => (window as unknown as { funnelbeam(...a: unknown[]): void }).funnelbeam('segments', r)));
  await page.goto(s.origin + '/based');
  await page.click('#rel', { button: 'middle' });
  await waitFor(s, (r) => named(r, 'outbound').length >= 1);
  const rows = await settled(s);
  // (the first view and the queued csp_ready can share a millisecond: compared in any order)
  expect(rows.filter((r) => r.name != 'engagement').map((r) => `${r.name} ${path(r)}`).sort()).toEqual(
    ['pageview /', 'csp_ready /', 'download /', 'form_submit /', 'pageview /based', 'outbound /based'].sort(),
  );
  expect(named(rows, 'outbound')[0].props).toEqual({ url: 'http://localhost:1/elsewhere/docs/intro' });
  expect(violations).toEqual([]);
  await page.close();
});

test('a page inside an iframe of another origin: its views, form and engagement are stored with the embedding page as referrer', async () => {
  const inner = await site({ '/embed': { body: `<form id="f" onsubmit="event.preventDefault()"><input type="email" name="email" value="embedded@frame.example"><button id="go">send</button></form>` } });
  const outer = await serve({ '/': doc('', `<iframe id="frame" src="${inner.origin}/embed" width="400" height="200"></iframe>`) });
  const page = await sites.browser.newPage();
  await page.goto(outer.origin + '/');
  const frame = page.frameLocator('#frame');
  await frame.locator('#go').click();
  await waitFor(inner, (r) => named(r, 'form_submit').length >= 1);
  const rows = await settled(inner);
  expect(rows.filter((r) => r.name != 'engagement').map((r) => [r.name, path(r), r.referrer, r.email])).toEqual([
    ['pageview', '/embed', outer.origin + '/', null],
    ['form_submit', '/embed', outer.origin + '/', 'embedded@frame.example'],
  ]);
  await page.close();
});

test("another tool's wrappers: fetch wrapped (a RUM agent), sendBeacon wrapped without returning its result; events arrive once each", async () => {
  const wrap = `const f = window.fetch; window.fetch = function (input, init) { window.seen = (window.seen || 0) + 1; return f.apply(this, arguments).then((r) => r); };
    const b = navigator.sendBeacon; navigator.sendBeacon = function (url, data) { b.call(navigator, url, data); };`;
  const s = await site({ '*': { head: `<script>${wrap}</script>`, body: `<button id="cta" onclick="funnelbeam('track', 'cta')">cta</button> <a id="next" href="/next">next</a>` } });
  const page = await open(s);
  await page.click('#cta');
  await page.waitForTimeout(1_100);
  await page.click('#next');
  await page.waitForURL('**/next');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2 && named(r, 'engagement').length >= 1);
  const rows = await settled(s);
  expect(rows.map((r) => [r.name, path(r)])).toEqual([
    ['pageview', '/'],
    ['cta', '/'],
    ['engagement', '/'],
    ['pageview', '/next'],
  ]);
  expect(await page.evaluate(() => (window as unknown as { seen: number }).seen)).toBeGreaterThan(0);
  await page.close();
});

// Known gap, not fixed: Prototype.js up to 1.6.1 (2009; 1.7 dropped it) gives arrays a toJSON that returns a string, so
// the outbox is sent (and stored) as a string and nothing is ever stored. A JSON.stringify replacer that skips toJSON,
// function (k) { return this[k] }, in store.ts and send.ts fixes it for 22 B gzip. Flip to test() to check a fix.
test.skip('old libraries that change built-ins: Prototype.js 1.6 (Array.prototype.toJSON returning a string), an Object.prototype extension', async () => {
  const prototype = `Array.prototype.toJSON = function () { return '[' + this.map((v) => JSON.stringify(v)).join(', ') + ']'; };
    Object.defineProperty(Object.prototype, 'extend', { value: function () {}, enumerable: false, writable: true, configurable: true });
    Object.prototype.clone = function () { return this; };`;
  const s = await site({
    '*': {
      head: `<script>${prototype}</script>`,
      body: `<form id="f" data-funnelbeam="demo" onsubmit="event.preventDefault()"><input type="email" name="email" value="legacy@proto.example"><button id="go">book</button></form> <a id="next" href="/next">next</a>`,
    },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=bing');
  await page.click('#go');
  await page.click('#next');
  await page.waitForURL('**/next');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2, 5_000);
  const rows = await settled(s);
  expect(rows.filter((r) => r.name != 'engagement').map((r) => [r.name, path(r), r.utm_source])).toEqual([
    ['pageview', '/?utm_source=bing', 'bing'],
    ['demo_request', '/?utm_source=bing', 'bing'],
    ['pageview', '/next', 'bing'],
  ]);
  await page.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Engagement over time and length
// ---------------------------------------------------------------------------------------------------------------

test('a page open for hours: engaged seconds count visible time only (a hidden hour is not engaged), each stretch sent when the page is hidden', async () => {
  const s = await site({ '/': { body: '<article style="height: 4000px">long read</article>' } });
  const page = await sites.browser.newPage();
  await page.clock.install();
  await page.goto(s.origin + '/');
  await page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
  await page.clock.runFor(5 * 60_000);
  await page.evaluate(() => scrollTo(0, 1000));
  await page.clock.runFor(60_000);
  await setHidden(page, true);
  await page.clock.runFor(60 * 60_000);
  await setHidden(page, false);
  await page.clock.runFor(90_000);
  await setHidden(page, true);
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => named(r, 'engagement').length >= 2);
  const rows = await settled(s);
  // (the fake clock runs the page's timers, but the real time Playwright spends between its steps can leak a second in
  // under load: each stretch is its whole visible time, give or take that second)
  const seconds = named(rows, 'engagement').map((r) => r.props!.seconds as number);
  expect(seconds).toHaveLength(2);
  expect(seconds[0] - 360).toBeGreaterThanOrEqual(0);
  expect(seconds[0] - 360).toBeLessThanOrEqual(1);
  expect(seconds[1] - 90).toBeGreaterThanOrEqual(0);
  expect(seconds[1] - 90).toBeLessThanOrEqual(1);
  expect(named(rows, 'engagement')[0].props!.scroll).toBeGreaterThan(30);
  await page.close();
});

test('an infinite-scroll feed that grows as it is read: the deepest scroll is the share of what was loaded when it was reached', async () => {
  const s = await site({
    '/': {
      body: `<div id="feed"><div style="height: 3000px">batch 1</div></div>
        <script>addEventListener('scroll', () => { if (scrollY + innerHeight > document.documentElement.scrollHeight - 200) { const d = document.createElement('div'); d.style.height = '3000px'; d.textContent = 'more'; document.getElementById('feed').append(d); } });</script>`,
    },
  });
  const page = await open(s);
  for (let i = 0; i < 3; i++) {
    await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
    await page.waitForTimeout(150);
  }
  // and back up to the top to read something again, then leave
  await page.evaluate(() => scrollTo(0, 0));
  await page.waitForTimeout(1_000);
  await setHidden(page, true);
  await waitFor(s, (r) => named(r, 'engagement').length >= 1);
  const rows = await settled(s);
  expect(named(rows, 'engagement').map((r) => r.props!.scroll)).toEqual([100]);
  expect(await page.evaluate(() => document.getElementById('feed')!.children.length)).toBeGreaterThan(2);
  await page.close();
});

test('a link opened in a background tab: the time before the visitor switches to it is not engaged', async () => {
  const s = await site({ '/': { body: '<p>opened with ctrl-click</p>' } });
  const page = await sites.browser.newPage();
  await page.addInitScript(() => {
    Object.defineProperty(document, 'hidden', { value: true, configurable: true });
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
  });
  await page.clock.install();
  await page.goto(s.origin + '/');
  await page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
  await page.clock.runFor(10 * 60_000);
  await setHidden(page, false);
  await page.clock.runFor(45_000);
  await setHidden(page, true);
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => named(r, 'engagement').length >= 1);
  const rows = await settled(s);
  expect(named(rows, 'engagement').map((r) => r.props!.seconds)).toEqual([45]);
  await page.close();
});

// Known gap, not fixed: in an app-shell layout the document never scrolls (an inner element with overflow: auto does),
// so the page always measures as 100% seen. Measuring the scrolled element instead would make every horizontal
// carousel or code block read as 100% too. Measuring <main> only when the document cannot scroll passes this test for
// +41 B gzip (and a querySelector on every scroll event); app shells are rare on marketing pages, so it was left out.
// Flip to test() to check a fix.
test.skip('an app-shell layout that scrolls an inner <main>: the scroll depth is that of <main>', async () => {
  const s = await site({ '/': { body: `<style>body { margin: 0 } main { height: 100vh; overflow: auto }</style><main id="main"><div style="height: 8000px">long docs</div></main>` } });
  const page = await open(s);
  await page.waitForTimeout(1_100);
  await setHidden(page, true);
  await waitFor(s, (r) => named(r, 'engagement').length >= 1);
  expect(named(await settled(s), 'engagement').map((r) => r.props!.scroll)).toEqual([expect.toSatisfy((n: number) => n < 20)]);
  await page.close();
});

test('a CMP wired to report its state on every load (OneTrust-style OptanonWrapper: false while undecided, then true): with data-consent="required" the landing view is lost at the first false (contract: false drops what was held)', async () => {
  const s = await serve({
    '/cmp.js': js(`${STUB} window.OptanonWrapper = () => funnelbeam('consent', (localStorage.groups || ',C0001,').includes(',C0002,'));
      addEventListener('DOMContentLoaded', () => OptanonWrapper()); document.addEventListener('click', (e) => e.target.id == 'accept' && ((localStorage.groups = ',C0001,C0002,'), OptanonWrapper()));`),
    '*': doc(`<script src="/cmp.js"></script><script defer ${tagOf('data-consent="required"')}></script>`, '<button id="accept">accept all</button> <a id="next" href="/next">next</a>'),
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=google&utm_medium=cpc');
  await page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
  await page.click('#accept');
  // the visitor stays on the landing page a moment after accepting: what it records after the grant (its engagement)
  // keeps its campaign (README), so the session /next continues is google's; without the wait the test raced it
  await page.waitForTimeout(800);
  await page.click('#next');
  await page.waitForURL('**/next');
  await waitFor(s, (r) => named(r, 'pageview').length >= 1);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map((r) => [path(r), r.utm_source])).toEqual([['/next', 'google']]);
  await page.close();
});

// ---- differences found (each failed before its fix) ----

test('forms rendered by script inside same-origin iframes (HubSpot\'s default embed; one written by document.write, whose load fires twice) count once each; a cross-origin iframe and images are left alone without an error', async () => {
  const away = await serve({ '/form': '<form onsubmit="event.preventDefault()"><input type="email" name="email" value="away@other.example"><button id="away">send</button></form>' });
  const s = await site(
    {
      '/': {
        body: `<img src="/pixel.gif"><div id="hs"></div><iframe id="other" src="${away.origin}/form"></iframe><script>addEventListener('load', () => {
          const f = document.createElement('iframe'); f.className = 'hs-form-iframe'; document.getElementById('hs').append(f);
          f.contentDocument.body.innerHTML = '<form id="hsForm" onsubmit="event.preventDefault()"><input type="email" name="email" value="framed@hubspot.example"><button id="go">submit</button></form>';
          const w = document.createElement('iframe'); w.id = 'written'; document.body.append(w); const d = w.contentDocument;
          d.open(); d.write('<form data-funnelbeam="demo" onsubmit="event.preventDefault()"><input type="email" name="email" value="written@frame.example"><button id="book">book</button></form><img src="/pixel.gif">'); d.close(); });</script>`,
      },
    },
    { '/pixel.gif': (_req, res) => res.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')) },
  );
  const page = await sites.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(s.origin + '/');
  await page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
  await page.frameLocator('.hs-form-iframe').locator('#go').click();
  await page.frameLocator('#written').locator('#book').click();
  await page.frameLocator('#other').locator('#away').click();
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2, 3_000);
  const rows = await settled(s);
  expect(rows.filter((r) => r.form).map((r) => [r.name, path(r), r.email])).toEqual([
    ['form_submit', '/', 'framed@hubspot.example'],
    ['demo_request', '/', 'written@frame.example'],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});

test('a same-origin iframe showing a page of the site that loads the snippet itself (a form plugin\'s iframe embed): its form counts once, as that page\'s', async () => {
  const s = await site({
    '/': { body: `<iframe id="embed" src="/embed/form"></iframe>` },
    '/embed/form': { body: `<form onsubmit="event.preventDefault()"><input type="email" name="email" value="embedded@site.example"><button id="go">send</button></form>` },
  });
  const page = await open(s);
  await page.frameLocator('#embed').locator('#go').click();
  await waitFor(s, (r) => named(r, 'form_submit').length >= 1, 3_000);
  const rows = await settled(s);
  expect(named(rows, 'form_submit').map((r) => [path(r), r.email])).toEqual([['/embed/form', 'embedded@site.example']]);
  await page.close();
});

test('a visitor from a campaign reads one page for 40 minutes (visible, no events meanwhile), then books a demo: still the same visit, the campaign kept', async () => {
  const s = await site({
    '*': {
      body: `<article style="height: 6000px">a long case study</article><a id="demo" href="/demo">book a demo</a>
        <form data-funnelbeam="demo" onsubmit="event.preventDefault()"><input type="email" name="email" value="reader@long.example"><button id="book">book</button></form>`,
    },
  });
  const page = await sites.browser.newPage();
  await page.clock.install();
  await page.goto(s.origin + '/case-study?utm_source=linkedin&utm_medium=paid&utm_campaign=abm');
  await page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
  await page.clock.runFor(1_000);
  await page.clock.runFor(40 * 60_000);
  await page.click('#demo');
  await page.waitForURL('**/demo');
  await page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);
  await page.click('#book');
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => named(r, 'demo_request').length >= 1);
  const rows = await settled(s);
  // 2,401 visible seconds; real time leaking into the fake clock under load may add one
  const seconds = named(rows, 'engagement').map((r) => r.props!.seconds as number);
  expect(seconds).toHaveLength(1);
  expect([2_401, 2_402]).toContain(seconds[0]);
  expect(rows.filter((r) => r.name != 'engagement').map((r) => [r.name, path(r), r.utm_source, r.utm_campaign])).toEqual([
    ['pageview', '/case-study?utm_source=linkedin&utm_medium=paid&utm_campaign=abm', 'linkedin', 'abm'],
    ['pageview', '/demo', 'linkedin', 'abm'],
    ['demo_request', '/demo', 'linkedin', 'abm'],
  ]);
  await page.close();
});

test('consent revoked in another tab of the site: the tab still open stores nothing more (it reads the stored refusal)', async () => {
  const s = await site({
    '*': { body: `<button id="revoke" onclick="funnelbeam('consent', false)">revoke</button> <button id="cta" onclick="funnelbeam('track', 'cta')">cta</button> <a id="next" href="/next">next</a>` },
  });
  const a = await open(s, '/a');
  // /a's view sent before /b opens (two tabs writing the shared outbox in the same few milliseconds: transport-judge-3's
  // subject, not this test's)
  await waitFor(s, (r) => named(r, 'pageview').length >= 1);
  const b = await open(s, '/b');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2);
  await b.click('#revoke');
  await a.click('#cta');
  await a.click('#next');
  await a.waitForURL('**/next');
  await a.click('#cta');
  const rows = await settled(s, 1_000);
  // (two tabs share one outbox, so either may send both views: compared in any order)
  expect(rows.filter((r) => r.name != 'engagement').map((r) => `${r.name} ${path(r)}`).sort()).toEqual(['pageview /a', 'pageview /b']);
  // the refusal is stored and nothing of the visitor is kept (an answer of a send in flight when it was refused may
  // write its empty outbox and back-off beside it)
  const stored = JSON.parse(await a.evaluate(() => localStorage._fb));
  expect(stored.c).toBe(0);
  expect(stored.v).toBeUndefined();
  expect(stored.q ?? []).toEqual([]);
  expect(Object.keys(stored).filter((k) => !['c', 'q', 'n', 'b'].includes(k))).toEqual([]);
  await a.close();
  await b.close();
});

/** A cross-origin-isolated page (COOP same-origin + COEP require-corp), as sites using SharedArrayBuffer or
 * WebAssembly threads serve it. */
const isolated = (tag: string) => (_req: unknown, res: ServerResponse) =>
  res
    .writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' })
    .end(doc(`<script defer ${tag}></script>`, '<p>isolated</p>'));

test('a cross-origin-isolated page loading the snippet with crossorigin (CORS mode, GET /s.js allows any origin): it loads and sends', async () => {
  const s = await serve({ '/': isolated('crossorigin ' + tagOf()) });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await waitFor(s, (r) => named(r, 'pageview').length >= 1, 4_000);
  await page.close();
});

// Found on this round: GET /s.js sent no Cross-Origin-Resource-Policy header, so a cross-origin-isolated page that
// pasted the documented tag (no crossorigin attribute) blocked the script and nothing was tracked.
test('a cross-origin-isolated page with the documented tag (no crossorigin attribute): the snippet loads and sends', async () => {
  const s = await serve({ '/': isolated(tagOf()) });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await waitFor(s, (r) => named(r, 'pageview').length >= 1, 4_000);
  await page.close();
});
