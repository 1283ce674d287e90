// Second round of pages the snippet had not seen (markup, routers, forms, consent across tabs, hostile globals), in
// headless Chromium against the real collector: what the collector stores is what the visitor did.
import { expect, test } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectorProxy, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, waitFor, settled, openLoaded: open } = sites;


// ---- differences found (each failed before its fix) ----

test('a newsletter form inside a web component\'s open shadow root counts, once, also after other clicks in that root', async () => {
  const s = await site({
    '/': {
      body: `<news-box></news-box><script>customElements.define('news-box', class extends HTMLElement { connectedCallback() {
        this.attachShadow({ mode: 'open' }).innerHTML = '<form data-funnelbeam="newsletter" onsubmit="event.preventDefault()"><input type="email" name="email" value="shadow@box.example"><button type="button" id="more">more</button><button id="join">join</button></form>'; } });</script>`,
    },
  });
  const page = await open(s);
  await page.locator('news-box').locator('#more').click();
  await page.locator('news-box').locator('#more').click();
  await page.locator('news-box').locator('#join').click();
  await waitFor(s, (r) => named(r, 'newsletter_signup').length >= 1, 3_000);
  expect(named(await settled(s), 'newsletter_signup').map((r) => r.email)).toEqual(['shadow@box.example']);
  await page.close();
});

test('a page script that strips the campaign from the address bar before the deferred snippet runs: the campaign is kept', async () => {
  const s = await site({
    '*': { body: `<script>history.replaceState(null, '', location.pathname)</script><a id="next" href="/pricing">pricing</a>` },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/landing?utm_source=linkedin&utm_medium=paid&utm_campaign=abm&gclid=g1');
  await loaded(page);
  await page.click('#next');
  await page.waitForURL('**/pricing');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map((r) => [path(r), r.utm_source, r.utm_campaign, r.click_id])).toEqual([
    ['/landing', 'linkedin', 'abm', 'gclid'],
    ['/pricing', 'linkedin', 'abm', 'gclid'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'linkedin', gclid: 'g1' });
  await page.close();
});

test('an image map: <area href> links count as downloads and outbound links', async () => {
  const s = await site(
    {
      '/': {
        body: `<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="200" height="100" usemap="#m" alt="">
          <map name="m"><area id="pdf" shape="rect" coords="0,0,100,100" href="/files/brochure.pdf" alt="brochure"><area id="out" shape="rect" coords="100,0,200,100" href="http://localhost:1/elsewhere/map" alt="partner"></map>`,
      },
    },
    { '/files/brochure.pdf': file },
  );
  const page = await open(s);
  await page.mouse.click(50, 50, { button: 'middle' });
  await page.mouse.click(150, 50, { button: 'middle' });
  await waitFor(s, (r) => named(r, 'download').length >= 1 && named(r, 'outbound').length >= 1);
  const rows = await settled(s);
  expect(noEngagement(rows).map((r) => [r.name, r.props])).toEqual([
    ['pageview', null],
    ['download', { url: s.origin + '/files/brochure.pdf' }],
    ['outbound', { url: 'http://localhost:1/elsewhere/map' }],
  ]);
  await page.close();
});

// Known gap, left out: a tab does not take a consent given in another open tab until its next page (a `storage`
// listener costs 37 B gzip, needs a delay so the tabs' writes do not cross, and reads the stored text). Flip to test() to check a fix.
test.skip('consent required, two tabs: consent given in one tab is seen by the other, which stores what it held and what follows', async () => {
  const s = await site({
    '*': {
      attrs: 'data-consent="required"',
      body: `<button id="accept" onclick="funnelbeam('consent', true)">accept</button> <button id="cta" onclick="funnelbeam('track', 'cta')">cta</button>`,
    },
  });
  const a = await sites.browser.newPage();
  await a.goto(s.origin + '/a?utm_source=newsletter&utm_campaign=spring');
  await loaded(a);
  const b = await open(s, '/b');
  await b.click('#accept');
  await waitFor(s, (r) => named(r, 'pageview').some((e) => path(e) == '/b'));
  await a.click('#cta');
  await waitFor(s, (r) => named(r, 'cta').length >= 1);
  const rows = await settled(s);
  // (the tabs share one outbox, so either may send: compared in any order)
  expect(noEngagement(rows).map((r) => `${r.name} ${path(r)}`).sort()).toEqual(['cta /a?utm_source=newsletter&utm_campaign=spring', 'pageview /a?utm_source=newsletter&utm_campaign=spring', 'pageview /b']);
  // the held view keeps its campaign (what follows in that tab takes the stored visit of the tab that consented)
  expect(named(rows, 'pageview').find((r) => path(r).startsWith('/a'))).toMatchObject({ utm_source: 'newsletter', utm_campaign: 'spring' });
  // one visitor across the tabs
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  await a.close();
  await b.close();
});

test('a returning visitor on a site that has since turned on data-consent="required": what the page held before consent is stored on consent', async () => {
  const s = await site({
    '/old': {},
    '*': {
      attrs: 'data-consent="required"',
      body: `<button id="accept" onclick="funnelbeam('consent', true)">accept</button> <button id="push" onclick="history.pushState({}, '', '/features')">features</button>`,
    },
  });
  const page = await open(s, '/old');
  await waitFor(s, (r) => named(r, 'pageview').length >= 1);
  await page.goto(s.origin + '/home');
  await loaded(page);
  await page.click('#push');
  await page.click('#accept');
  await waitFor(s, (r) => named(r, 'pageview').length >= 3);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map(path)).toEqual(['/old', '/home', '/features']);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  await page.close();
});

test('a form checked only by the site (Contact Form 7: novalidate, no required attributes, errors shown after an AJAX round trip) sent empty, then filled: one form_submit', async () => {
  const s = await site({
    '/contact': {
      body: `<form class="wpcf7-form" novalidate onsubmit="event.preventDefault()"><input type="text" name="your-name" aria-required="true">
        <input type="email" name="your-email" aria-required="true"><input type="submit" id="send" value="Send"></form>`,
    },
  });
  const page = await open(s, '/contact');
  await page.click('#send');
  await page.fill('[name=your-name]', 'Ana');
  await page.fill('[name=your-email]', 'ana@cf7.example');
  await page.click('#send');
  await waitFor(s, (r) => named(r, 'form_submit').length >= 1);
  const rows = await settled(s);
  expect(named(rows, 'form_submit').map((r) => r.email)).toEqual(['ana@cf7.example']);
  await page.close();
});

test('forms sent by script: form.submit() from a button (Marketo style; jQuery .submit() ends in the same call), a validation library that cancels the submit event and calls form.submit() once valid: one event each', async () => {
  const thanks = (req: IncomingMessage, res: ServerResponse) => void (req.resume(), req.on('end', () => res.writeHead(200, { 'content-type': 'text/html' }).end('<title>thanks</title>thanks')));
  const s = await site(
    {
      '/marketo': {
        body: `<form id="mkto" action="/thanks" method="post" data-funnelbeam="demo"><input type="email" name="Email" value="m@marketo.example"><button type="button" id="go" onclick="this.form.submit()">send</button></form>`,
      },
      '/validate': {
        body: `<form id="v" action="/thanks" method="post" novalidate><input type="email" name="email" required value=""><button id="go">send</button></form>
          <script>document.getElementById('v').addEventListener('submit', (e) => { e.preventDefault(); const f = e.target; if (f.checkValidity()) f.submit(); });</script>`,
      },
    },
    { '/thanks': thanks },
  );
  const page = await open(s, '/marketo');
  await Promise.all([page.waitForURL('**/thanks'), page.click('#go')]);
  // (the thank-you page has no snippet, and the form's fetch was cancelled by leaving: the next page, left within a
  // second, sent nothing while that failure set a back-off)
  await page.goto(s.origin + '/validate');
  await loaded(page);
  // first sent empty (the library shows its errors), then filled in
  await page.click('#go');
  await page.fill('[name=email]', 'v@valid.example');
  await Promise.all([page.waitForURL('**/thanks'), page.click('#go')]);
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2);
  const rows = await settled(s);
  expect(rows.filter((r) => r.form).map((r) => [r.name, path(r), r.email])).toEqual([
    ['demo_request', '/marketo', 'm@marketo.example'],
    ['form_submit', '/validate', 'v@valid.example'],
  ]);
  await page.close();
});

// Known gap, left out: a tab does not take a consent given in another open tab until its next page (a `storage`
// listener costs 37 B gzip, needs a delay so the tabs' writes do not cross, and reads the stored text). Flip to test() to check a fix.
test.skip('consent refused, then granted in another tab: the refusing tab, still open on a later page, tracks from then on with its view', async () => {
  const s = await site({
    '*': {
      attrs: 'data-consent="required"',
      body: `<button id="accept" onclick="funnelbeam('consent', true)">accept</button> <button id="refuse" onclick="funnelbeam('consent', false)">refuse</button>
        <button id="cta" onclick="funnelbeam('track', 'cta')">cta</button> <a id="next" href="/c">next</a>`,
    },
  });
  const a = await open(s, '/a');
  await a.click('#refuse');
  await a.click('#next');
  await a.waitForURL('**/c');
  await loaded(a);
  await a.click('#cta');
  const b = await open(s, '/b');
  await b.click('#accept');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2);
  await a.click('#cta');
  await waitFor(s, (r) => named(r, 'cta').length >= 1);
  const rows = await settled(s);
  // (the tabs share one outbox, so either may send: compared in any order)
  expect(noEngagement(rows).map((r) => `${r.name} ${path(r)}`).sort()).toEqual(['cta /c', 'pageview /b', 'pageview /c']);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  await a.close();
  await b.close();
});

// ---- behaviours tried that already matched what happened (kept as regression checks) ----

test('forms as sites write them: Mailchimp (name=EMAIL, target=_blank), a honeypot email field, a confirm-email field, a named submit button, a <dialog> form', async () => {
  const s = await site({
    '/': {
      body: `<form id="mc" data-funnelbeam="newsletter" action="/subscribe" method="post" target="_blank" onsubmit="event.preventDefault()">
          <input type="email" name="EMAIL" id="mce-EMAIL" value="mc@chimp.example" required><div style="position: absolute; left: -5000px" aria-hidden="true"><input type="text" name="b_123_456" tabindex="-1" value=""></div>
          <button type="submit" name="subscribe" value="Subscribe" id="go-mc">Subscribe</button></form>
        <form id="hp" onsubmit="event.preventDefault()"><input type="email" name="email_confirm_hp" style="display: none" tabindex="-1" value="">
          <input type="email" name="email" value="real@person.example"><input type="email" name="email2" value="real@person.example"><button name="action" value="send" id="go-hp">send</button></form>
        <dialog id="dlg" open><form method="dialog" data-funnelbeam="demo"><input type="email" name="work-email" value="dialog@corp.example"><button id="go-dlg" value="ok">book</button></form></dialog>`,
    },
  });
  const page = await open(s);
  for (const id of ['#go-mc', '#go-hp', '#go-dlg']) await page.click(id);
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 3);
  const rows = await settled(s);
  expect(rows.filter((r) => r.form).map((r) => [r.name, r.email, r.traits])).toEqual([
    ['newsletter_signup', 'mc@chimp.example', null],
    ['form_submit', 'real@person.example', null],
    ['demo_request', 'dialog@corp.example', null],
  ]);
  expect(await page.evaluate(() => (document.getElementById('dlg') as HTMLDialogElement).open)).toBe(false);
  await page.close();
});

test('hostile globals: enumerable Object.prototype and Array.prototype additions (old libraries), a sendBeacon that throws (an extension): events still reach the collector', async () => {
  const s = await site({
    '/': {
      head: `<script>Object.prototype.each = function () {}; Array.prototype.remove = function () {}; Array.prototype.last = function () { return this[this.length - 1]; };
        navigator.sendBeacon = () => { throw new TypeError('blocked by an extension'); };</script>`,
      body: `<button id="cta" onclick="funnelbeam('track', 'cta', { plan: 'pro' })">cta</button> <a id="next" href="/next">next</a>`,
    },
    '/next': { body: 'next' },
  });
  const page = await open(s);
  await page.click('#cta');
  await page.waitForTimeout(1_100);
  // leaving: the beacon throws, so the engagement goes with the next page's first send
  await page.click('#next');
  await page.waitForURL('**/next');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2 && named(r, 'engagement').length >= 1);
  const rows = await settled(s);
  expect(rows.map((r) => [r.name, path(r), r.props])).toEqual([
    ['pageview', '/', null],
    ['cta', '/', { plan: 'pro' }],
    ['engagement', '/', expect.objectContaining({ seconds: expect.any(Number) })],
    ['pageview', '/next', null],
  ]);
  await page.close();
});

// (not tried: an inline onclick= handler, whose scope reads document.funnelbeam first, which a form or an iframe named
// funnelbeam shadows: the page's own call fails there, with or without the snippet)
test('an element id and an iframe name that shadow the global (id="funnelbeam", <iframe name="funnelbeam">): the API is the snippet\'s', async () => {
  const s = await site({
    '/': { body: `<div id="funnelbeam"></div><iframe name="funnelbeam" src="about:blank"></iframe><button id="cta">cta</button>
      <script>document.getElementById('cta').addEventListener('click', () => funnelbeam('track', 'cta'))</script>` },
  });
  const page = await open(s);
  await page.click('#cta');
  await waitFor(s, (r) => named(r, 'cta').length >= 1);
  expect(noEngagement(await settled(s)).map((r) => r.name)).toEqual(['pageview', 'cta']);
  await page.close();
});

test('links a router handles: a download and an outbound link whose click the router prevents (it opens them itself), a link with nested spans and an svg icon', async () => {
  const s = await site(
    {
      '/': {
        head: `<script>addEventListener('click', (e) => { const a = e.target.closest('a[data-router]'); if (a) { e.preventDefault(); e.stopPropagation(); } }, true);</script>`,
        body: `<a id="dl" data-router href="/files/Report-2025.XLSX?v=3#sheet2"><span><svg width="16" height="16"><use href="#i"/><rect id="icon" width="16" height="16"/></svg><span id="label">report</span></span></a>
          <a id="out" data-router href="https://localhost:1/elsewhere/partner?ref=x"><span id="out-label">partner</span></a>`,
      },
    },
    { '/files/Report-2025.XLSX': file },
  );
  const page = await open(s);
  await page.click('#icon');
  await page.click('#out-label');
  await waitFor(s, (r) => named(r, 'download').length >= 1 && named(r, 'outbound').length >= 1);
  const rows = await settled(s);
  expect(noEngagement(rows).map((r) => [r.name, r.props])).toEqual([
    ['pageview', null],
    ['download', { url: s.origin + '/files/Report-2025.XLSX?v=3#sheet2' }],
    ['outbound', { url: 'https://localhost:1/elsewhere/partner?ref=x' }],
  ]);
  await page.close();
});

test('a React Router app: pushState with state objects, a query-only change, the title set after the push, a replace that strips the campaign, back and forward', async () => {
  const s = await site({
    '*': {
      body: `<script>
        const go = (to, replace) => { history[replace ? 'replaceState' : 'pushState']({ usr: null, key: Math.random().toString(36).slice(2), idx: history.length }, '', to); setTimeout(() => (document.title = 'page ' + to), 0); };
        window.go = go;
      </script><button id="a" onclick="go('/products')">a</button><button id="b" onclick="go('/products?color=red')">b</button><button id="c" onclick="go('/products/42')">c</button>`,
    },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=google&utm_medium=cpc&utm_campaign=brand');
  await loaded(page);
  await page.evaluate(() => (window as unknown as { go(to: string, r: boolean): void }).go('/', true));
  for (const id of ['#a', '#b', '#c']) await page.click(id);
  await page.goBack();
  await page.waitForURL('**/products?color=red');
  await page.goForward();
  await page.waitForURL('**/products/42');
  await waitFor(s, (r) => named(r, 'pageview').length >= 6);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map((r) => [path(r), r.utm_source])).toEqual([
    ['/?utm_source=google&utm_medium=cpc&utm_campaign=brand', 'google'],
    ['/products', 'google'],
    ['/products?color=red', 'google'],
    ['/products/42', 'google'],
    ['/products?color=red', 'google'],
    ['/products/42', 'google'],
  ]);
  await page.close();
});

test('the back/forward cache: leaving a page and coming back with the back button stores a view for each showing', async () => {
  const s = await site({ '/': { body: '<a id="next" href="/next">next</a>' }, '/next': { body: 'next' } });
  const page = await open(s);
  await page.click('#next');
  await page.waitForURL('**/next');
  await loaded(page);
  await page.goBack();
  await page.waitForURL(s.origin + '/');
  await waitFor(s, (r) => named(r, 'pageview').length >= 3);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map(path)).toEqual(['/', '/next', '/']);
  await page.close();
});

test('a first-party proxy: the script and the beacons go through a path of the site itself (data-api="/fb")', async () => {
  const proxy = collectorProxy(() => sites.collector.url);
  const tag = `src="/fb/s.js" data-api="/fb" data-site="${sites.collector.site.siteKey}" data-local`;
  const s = await sites.serve({
    '/': `<!doctype html><html><head><script defer ${tag}></script></head><body><a id="pdf" href="/files/a.pdf">pdf</a> <a id="next" href="/next">next</a></body></html>`,
    '/next': `<!doctype html><html><head><script defer ${tag}></script></head><body>next</body></html>`,
    '/fb/s.js': proxy,
    '/fb/e': proxy,
    '/files/a.pdf': file,
  });
  const page = await open(s);
  const direct: string[] = [];
  page.on('request', (r) => r.url().startsWith(sites.collector.url) && direct.push(r.url()));
  await page.click('#pdf');
  await page.click('#next');
  await page.waitForURL('**/next');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2 && named(r, 'download').length >= 1);
  expect(noEngagement(await settled(s)).map((r) => `${r.name} ${path(r)}`)).toEqual(['pageview /', 'download /', 'pageview /next']);
  expect(direct).toEqual([]);
  await page.close();
});

// (headless Chromium may not prerender; then this is a plain navigation: the unit tests cover prerendering itself)
test('a page offered for prerendering by speculation rules: one view, counted when the visitor opens it, with its campaign', async () => {
  const s = await site({
    '/': { head: `<script type="speculationrules">{"prerender": [{"source": "list", "urls": ["/next?utm_source=spec"]}]}</script>`, body: '<a id="next" href="/next?utm_source=spec">next</a>' },
    '/next': { body: 'next' },
  });
  const page = await open(s);
  // time for the prerender to run (its view must wait for the activation)
  await page.waitForTimeout(1_500);
  await waitFor(s, (r) => named(r, 'pageview').length >= 1);
  expect(named(await settled(s), 'pageview').map(path)).toEqual(['/']);
  await page.click('#next');
  await page.waitForURL('**/next?utm_source=spec');
  await waitFor(s, (r) => named(r, 'pageview').length >= 2);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map((r) => [path(r), r.utm_source])).toEqual([
    ['/', null],
    ['/next?utm_source=spec', 'spec'],
  ]);
  await page.close();
});
