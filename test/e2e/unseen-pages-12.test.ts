// Twelfth round of pages the snippet had not seen: an old landing page served without a doctype (quirks mode, as
// email-tool templates still are) read to the middle, SvelteKit's hash links (the browser's own fragment navigation,
// then the router's replaceState of the same URL) around a goto(), forms validated the Bootstrap way (novalidate,
// checkValidity() in the submit handler), a React-controlled field filled through the value setter with no input event,
// a newsletter in a <dialog> whose field sits outside its <form> (form="…"), outbound links through redirect
// trackers, a single-page app routed while its tab is in the background, pages whose own script declares a global
// `var navigation` (which replaced the Navigation API's object, and made the snippet store nothing), and an Angular
// app landing on a trailing-slash address, in headless Chromium against the real collector. The expected events are worked out by hand from the
// contract (§2–§4) and the README before each run.
import { expect, test } from 'vitest';
import type { StoredRow } from '../helpers/browser.js';
import { doc, loaded, named, noEngagement, pathOf as path, setHidden, snippetSites, STUB } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf } = sites;

// the form's kind: its own marker (props.form, README) or the collector's kind
const forms = (rows: StoredRow[]) => rows.filter((r) => r.form).map((r) => [r.name, (r.props as { form?: string } | null)?.form ?? r.form, r.email]);
const linkUrl = (r: StoredRow) => (r.props as { url?: string } | null)?.url?.replace(/:\d+/, ':PORT') ?? null;

test('an old landing page served without a doctype (quirks mode: the body, not the root, is the scrolling element) read to the middle, then the tab hidden: the engagement\'s scroll is the share of the page seen', async () => {
  // 3,000 px of content in a 1280×720 window: scrolled to 1,140 px, the visitor has seen (1,140 + 720) / 3,000 = 62%
  const body = '<div style="height:3000px">Spring webinar</div>';
  const s = await serve({ '/': `<html><head><title>old</title><script defer ${tagOf()}></script></head><body style="margin:0">${body}</body></html>` });
  const page = await sites.browser.newPage();
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(s.origin + '/');
  await loaded(page);
  expect(await page.evaluate(() => document.compatMode)).toBe('BackCompat');
  await page.evaluate(() => scrollTo(0, 1140));
  await page.waitForFunction(() => scrollY == 1140);
  // (a scroll event is dispatched at the next frame)
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  // (a second rounded: 0.6 s visible is one)
  await page.waitForTimeout(600);
  await setHidden(page, true);
  const rows = await waitFor(s, (r) => named(r, 'engagement').length == 1);
  expect(named(rows, 'engagement').map((r) => (r.props as { scroll: number }).scroll)).toEqual([62]);
  await page.close();
});

/**
 * SvelteKit 2's client router as it handles links (client.js): a same-page hash link is left to the browser (a fragment
 * navigation: popstate, then hashchange), and on that hashchange the router replaces the entry with its own state
 * (the same URL); a link to another route is prevented, its page rendered and pushed with the router's indexes; a
 * popstate to another path is rendered again, nothing pushed.
 */
const SVELTEKIT = `<script>(() => {
  let i = 0, hashNavigating = false;
  history.replaceState({ 'sveltekit:history': i, 'sveltekit:navigation': i }, '', location.href);
  const render = () => (document.getElementById('app').innerHTML = location.pathname == '/blog'
    ? '<h1>/blog</h1><a id="comments" href="#comments">Comments</a><p style="height:2000px"></p><p id="comments-anchor">c</p><a id="home" href="/">Home</a>'
    : '<h1>/</h1><a id="features" href="#features">Features</a><p style="height:2000px"></p><p id="features-anchor">f</p><a id="blog" href="/blog">Blog</a>');
  addEventListener('DOMContentLoaded', render);
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a) return;
    const u = new URL(a.href);
    if (u.pathname == location.pathname && u.search == location.search && u.hash) { hashNavigating = true; return; }
    e.preventDefault();
    history.pushState({ 'sveltekit:history': ++i, 'sveltekit:navigation': ++i }, '', u.href);
    render();
    scrollTo(0, 0);
  });
  addEventListener('hashchange', () => {
    if (hashNavigating) {
      hashNavigating = false;
      history.replaceState({ ...history.state, 'sveltekit:history': ++i }, '', location.href);
    }
  });
  addEventListener('popstate', () => { if (document.querySelector('h1').textContent != location.pathname) render(); });
})();</script>`;

test('SvelteKit (no data-hash): a hash link followed by the browser, the router replacing that entry with its state, a goto() to /blog, a hash link there, then back three times: a view per path (README: popstate counts when the path changes), none for the anchors', async () => {
  const s = await serve({ '*': doc(`${SVELTEKIT}<script defer ${tagOf()}></script>`, '<div id="app"></div>', 'svelte') });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  const at = (p: string) => page.waitForFunction((p) => location.pathname + location.hash == p && document.querySelector('h1')?.textContent == location.pathname, p);
  await page.click('#features');
  await at('/#features');
  await page.click('#blog');
  await at('/blog');
  await page.click('#comments');
  await at('/blog#comments');
  await page.goBack();
  await at('/blog');
  await page.goBack();
  await at('/#features');
  await page.goBack();
  await at('/');
  await waitFor(s, (r) => named(r, 'pageview').length >= 3);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r)])).toEqual([
    ['pageview', '/'],
    ['pageview', '/blog'],
    ['pageview', '/#features'],
  ]);
  // (the collector's path of an anchor's URL, without data-hash, is the page's)
  expect(rows.map((r) => r.path)).toEqual(['/', '/blog', '/']);
  await page.close();
});

test('forms as apps validate them: Bootstrap\'s pattern (novalidate, checkValidity() in the submit handler, sent by fetch when valid) tried empty, with "sam@" and with the company missing, then sent; a React-controlled field set through the value setter with no input event, sent by requestSubmit(); a newsletter in a <dialog> whose email field sits outside its <form> (form="…"): one event each, with its address', async () => {
  const body = `
    <form id="contact" class="needs-validation" novalidate action="/contact" method="post">
      <input type="email" id="email" name="email" required> <input id="company" name="company" required>
      <button id="send">Send</button></form>
    <form id="trial" data-funnelbeam="trial"><input type="email" id="work" name="work"><button id="start" type="submit">Start</button></form>
    <button id="open" type="button">Newsletter</button>
    <dialog id="nl-dialog"><label>Email <input type="email" id="nl-email" name="email" form="nl" required></label>
      <form id="nl" method="dialog" data-funnelbeam="newsletter"><button id="join">Join</button></form></dialog>
    <script>
      // Bootstrap 5's starter: invalid sends stopped and marked, a valid one sent (here by fetch, as the site's own script does)
      const contact = document.getElementById('contact');
      contact.addEventListener('submit', (e) => {
        e.preventDefault();
        if (contact.checkValidity()) fetch('/contact', { method: 'POST', body: new FormData(contact) }).then(() => (contact.outerHTML = '<p id="sent">Sent</p>'));
        contact.classList.add('was-validated');
      });
      // React: a controlled input's value written through the prototype's setter (no input event), its onSubmit prevents
      const trial = document.getElementById('trial');
      trial.addEventListener('submit', (e) => { e.preventDefault(); window.trialSent = true; });
      document.getElementById('open').onclick = () => document.getElementById('nl-dialog').showModal();
    </script>`;
  const s = await serve({
    '/contact': (req, res) => void req.resume().on('end', () => res.writeHead(200).end('ok')),
    '/': doc(`<script defer ${tagOf()}></script>`, body, 'forms'),
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.click('#send');
  await page.fill('#email', 'sam@');
  await page.click('#send');
  await page.fill('#email', 'sam@corp.example');
  await page.click('#send');
  expect(await page.evaluate(() => document.getElementById('contact')!.classList.contains('was-validated'))).toBe(true);
  await page.fill('#company', 'Corp');
  await page.click('#send');
  await page.waitForSelector('#sent');
  await page.evaluate(() => {
    const input = document.getElementById('work') as HTMLInputElement;
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, 'rea@react.example');
    (document.getElementById('trial') as HTMLFormElement).requestSubmit();
  });
  await page.waitForFunction(() => (window as { trialSent?: boolean }).trialSent);
  await page.click('#open');
  await page.fill('#nl-email', 'dia@dialog.example');
  await page.click('#join');
  await page.waitForFunction(() => !(document.getElementById('nl-dialog') as HTMLDialogElement).open);
  await waitFor(s, (r) => named(r, 'newsletter_signup').length >= 1);
  const rows = noEngagement(await settled(s));
  expect(forms(rows)).toEqual([
    ['form_submit', 'other', 'sam@corp.example'],
    ['form_submit', 'trial', 'rea@react.example'],
    ['newsletter_signup', 'newsletter', 'dia@dialog.example'],
  ]);
  await page.close();
});

test('outbound links through redirect trackers: the site\'s own /out?url=… (its host is the page\'s: no outbound, README), a link to another host\'s click tracker (one outbound, its URL the tracker\'s), and a partner link an affiliate script rewrites to its tracker on mousedown (one outbound, the URL clicked)', async () => {
  const tracker = await serve({ '*': '<!doctype html><title>elsewhere</title>elsewhere' });
  const t = tracker.origin.replace('127.0.0.1', 'localhost');
  const body = `
    <a id="own" href="/out?url=${encodeURIComponent('https://partner.example/')}" target="_blank">Partner (own redirect)</a>
    <a id="mailer" href="${t}/elsewhere/c?u=${encodeURIComponent('https://partner.example/')}" target="_blank">Partner (mailer)</a>
    <a id="aff" href="${t}/elsewhere/shop" target="_blank">Shop</a>
    <script>
      document.getElementById('aff').addEventListener('mousedown', (e) =>
        (e.currentTarget.href = '${t}/elsewhere/go?id=42&url=' + encodeURIComponent(e.currentTarget.href)));
    </script>`;
  const s = await serve({ '/out': (req, res) => void res.writeHead(302, { location: `${t}/elsewhere/partner` }).end(), '/': doc(`<script defer ${tagOf()}></script>`, body, 'links') });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.click('#own');
  await page.click('#mailer');
  await page.click('#aff');
  await waitFor(s, (r) => named(r, 'outbound').length >= 2);
  const rows = noEngagement(await settled(s));
  const tp = t.replace(/:\d+/, ':PORT');
  expect(rows.map((r) => [r.name, linkUrl(r)])).toEqual([
    ['pageview', null],
    ['outbound', `${tp}/elsewhere/c?u=https%3A%2F%2Fpartner.example%2F`],
    ['outbound', `${tp}/elsewhere/go?id=42&url=${encodeURIComponent(t + '/elsewhere/shop')}`],
  ]);
  await page.close();
});

test('a Next.js-style app whose session times out while the tab is in the background (router.replace to /login from a timer, the tab hidden): the login view is stored, and its engagement is the time seen after the visitor comes back, its scroll its own', async () => {
  // /app: 3,000 px read to the bottom (100%); /login: 3,000 px, shown from its top: (0 + 720) / 3,000 = 24%
  const s = await serve({
    '*': doc(`<style>body { margin: 0 }</style><script defer ${tagOf()}></script>`, '<div id="h" style="height:3000px">app</div>', 'app'),
  });
  const page = await sites.browser.newPage();
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(s.origin + '/app');
  await loaded(page);
  await page.evaluate(() => scrollTo(0, 3000));
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForTimeout(1000);
  await setHidden(page, true);
  await page.evaluate(() => {
    history.replaceState({ __NA: true, __PRIVATE_NEXTJS_INTERNALS_TREE: ['', { children: ['login', {}] }] }, '', '/login');
    document.getElementById('h')!.textContent = 'login';
    scrollTo(0, 0);
  });
  await page.waitForTimeout(1600);
  await setHidden(page, false);
  await page.waitForTimeout(1000);
  await setHidden(page, true);
  const rows = await waitFor(s, (r) => named(r, 'engagement').length >= 2);
  expect(named(rows, 'pageview').map(path)).toEqual(['/app', '/login']);
  const eng = named(rows, 'engagement').map((r) => [path(r), (r.props as { seconds: number; scroll: number }).seconds, (r.props as { scroll: number }).scroll]);
  expect(eng.map(([p, , sc]) => [p, sc])).toEqual([['/app', 100], ['/login', 24]]);
  // two visible seconds in all (two stretches of about one), none of the 1.6 s in the background
  expect(eng.map(([, sec]) => sec)).toEqual([1, 1]);
  await page.close();
});

// Angular's router normalizes the address at its first navigation (Location.normalize strips a trailing slash, then
// setBrowserUrl replaces the entry with the normalized path, as Angular users know it: angular/angular#16051); a static
// host that serves prerendered pages as folders (Firebase trailingSlash, Netlify pretty URLs, S3 + CloudFront) sends every
// /pricing to /pricing/ first, so each landing there is a replaceState from /pricing/ to /pricing. README counts a
// replaceState that changes the path as a view, which the collector's path (kept with its slash) agrees with; the visitor
// saw one page. Since the fourteenth round paths are compared without a trailing slash (pageview.ts): one view.
test('an Angular app prerendered on a host that adds a trailing slash (landing at /pricing/, the router replacing it with /pricing at boot), then a routerLink to /demo: one view of the landing page and one of /demo', async () => {
  const ANGULAR = `<script defer>addEventListener('DOMContentLoaded', () => setTimeout(() => {
    const normalized = location.pathname.replace(/\\/$/, '') || '/';
    history.replaceState({ navigationId: 1, ɵrouterPageId: 0 }, '', normalized + location.search + location.hash);
    document.getElementById('demo').onclick = (e) => { e.preventDefault(); history.pushState({ navigationId: 2, ɵrouterPageId: 1 }, '', '/demo'); };
    window.booted = true;
  }))</script>`;
  const s = await serve({ '*': doc(`<script defer ${tagOf()}></script>${ANGULAR}`, '<a id="demo" href="/demo">Book a demo</a>', 'angular') });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/pricing/?utm_source=linkedin');
  await loaded(page);
  await page.waitForFunction(() => (window as { booted?: boolean }).booted);
  expect(await page.evaluate(() => location.pathname)).toBe('/pricing');
  await page.click('#demo');
  await waitFor(s, (r) => named(r, 'pageview').some((v) => path(v) == '/demo'));
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source])).toEqual([
    ['pageview', '/pricing/?utm_source=linkedin', 'linkedin'],
    ['pageview', '/demo', 'linkedin'],
  ]);
  await page.close();
});

// A classic script's top-level `var navigation = …` replaces window.navigation (a [Replaceable] attribute of the
// window, the Navigation API's object in Chromium; a plain global elsewhere) with its own value: a theme's menu script
// looking up a menu the page template does not have (null), and responsive-nav.js set up as its README shows
// (`var navigation = responsiveNav(".nav-collapse")`, a plain object).
test('pages whose own script declares a global `var navigation` (a WordPress theme\'s menu script on a template without that menu: null; responsive-nav.js as its README sets it up: a plain object), with a call queued before the snippet: the landing view, the queued event, a newsletter signup, a client-side route (pushState: the wrapped history method still sees it) and the engagement are stored on each', async () => {
  const RESPONSIVE_NAV = `function responsiveNav(selector) { return { toggle() {}, open() {}, close() {}, destroy() {}, handleEvent() {} }; }`;
  const page0 = (menu: string) =>
    doc(
      `<script>${STUB} funnelbeam('track', 'menu_ready');</script><script>${menu}</script><script defer ${tagOf()}></script>`,
      `<form id="nl" data-funnelbeam="newsletter" onsubmit="event.preventDefault(); this.replaceWith('Thanks')">
        <input type="email" id="email" name="email" required><button id="join">Join</button></form>`,
      'theme',
    );
  for (const [menu, email] of [
    [`var navigation = document.getElementById('site-navigation');`, 'wp@theme.example'],
    [`${RESPONSIVE_NAV} var navigation = responsiveNav('.nav-collapse', { animate: true });`, 'rn@theme.example'],
  ]) {
    const s = await serve({ '/': page0(menu) });
    const page = await sites.browser.newPage();
    await page.goto(s.origin + '/');
    await loaded(page);
    await page.fill('#email', email);
    await page.click('#join');
    await page.evaluate(() => history.pushState({}, '', '/thanks'));
    await page.waitForTimeout(1600);
    await setHidden(page, true);
    // (before the fix nothing at all was stored: the wait ends with what there is)
    const rows = await waitFor(s, (r) => named(r, 'engagement').some((e) => path(e) == '/thanks'), 3000).catch(() => settled(s));
    expect(noEngagement(rows).map((r) => [r.name, path(r), r.email])).toEqual([
      ['pageview', '/', null],
      ['menu_ready', '/', null],
      ['newsletter_signup', '/', email],
      ['pageview', '/thanks', null],
    ]);
    expect(named(rows, 'engagement').filter((e) => path(e) == '/thanks')).toHaveLength(1);
    await page.close();
  }
});
