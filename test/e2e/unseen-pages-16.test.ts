// Sixteenth round of pages the snippet had not seen: a page hardened the way SES `lockdown()` leaves it (MetaMask Snaps,
// Agoric and LavaMoat-built apps: every JavaScript intrinsic frozen before any other script runs), and the history
// wrappers other tools put around pushState and replaceState on the same page as the tag: GA4's enhanced measurement
// and single-spa (which dispatches a popstate event after every URL change it sees) wrapped before the tag, a session
// replay tool after it, in headless Chromium against the real collector. The expected events are worked out by hand from
// the contract (§2–§4) and the README before each run.
import { expect, test } from 'vitest';
import { doc, file, loaded, named, noEngagement, pathOf as path, setHidden, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf, watched } = sites;

const ok = (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');

/**
 * What SES lockdown() does to the realm, as far as a script of the page can see: every intrinsic (constructors, their
 * prototypes, JSON, Math, Reflect, and everything reachable from them) frozen, so that assigning a property that a frozen
 * prototype holds throws in strict code (the "override mistake"). The DOM is left as it is.
 */
const LOCKDOWN = `<script>(() => {
  const seen = new Set();
  const harden = (o) => {
    if (o == null || (typeof o != 'object' && typeof o != 'function') || seen.has(o)) return;
    seen.add(o);
    Object.freeze(o);
    for (const k of Reflect.ownKeys(o)) { const d = Object.getOwnPropertyDescriptor(o, k); if ('value' in d) harden(d.value); else { harden(d.get); harden(d.set); } }
    harden(Object.getPrototypeOf(o));
  };
  [Object, Array, Function, String, Number, Boolean, Symbol, BigInt, RegExp, Promise, JSON, Math, Reflect, Date, Error, TypeError, RangeError, SyntaxError,
   Map, Set, WeakMap, WeakSet, ArrayBuffer, Uint8Array, DataView, Proxy, [][Symbol.iterator](), new Map().entries(), (async () => {}), function* () {}].forEach(harden);
  window.lockedDown = Object.isFrozen(Object.prototype) && Object.isFrozen(Array.prototype);
})();</script>`;

// Contract §4: the snippet never throws into the page. §3: a view on load and per pushState, outbound and download
// clicks, a newsletter_signup with its email, engagement when the page is hidden; §3 also: every event carries the
// landing campaign.
test('a page hardened as SES lockdown() leaves it (every JavaScript intrinsic frozen before the tag): no error, and the landing view with its campaign, a routed view, an outbound link, a download, a newsletter signup and the engagement are stored', async () => {
  const s = await serve({
    '*': doc(
      `${LOCKDOWN}<script defer ${tagOf()}></script>`,
      `<a id="pricing" href="/pricing">Pricing</a> <a id="partner" href="https://partner.example/integrations">Partner</a>
       <a id="pdf" href="/files/brochure.pdf">Brochure</a>
       <form id="nl" data-funnelbeam="newsletter"><input type="email" name="email" id="email" required><button>Join</button></form>
       <script>
         document.getElementById('pricing').onclick = (e) => { e.preventDefault(); history.pushState({ idx: 1 }, '', '/pricing'); };
         document.getElementById('partner').onclick = (e) => e.preventDefault();
         document.getElementById('pdf').onclick = (e) => e.preventDefault();
         document.getElementById('nl').onsubmit = (e) => { e.preventDefault(); fetch('/api/subscribe', { method: 'POST', body: new FormData(e.target) }); e.target.replaceWith('Thanks'); };
       </script>`,
      'locked down',
    ),
    '/files/brochure.pdf': file,
    '/api/subscribe': ok,
  });
  const a = await watched(s.origin + '/?utm_source=snaps&utm_medium=directory');
  await loaded(a.page);
  expect(await a.page.evaluate(() => (window as { lockedDown?: boolean }).lockedDown)).toBe(true);
  await a.page.waitForTimeout(1100);
  await a.page.click('#pricing');
  await a.page.click('#partner');
  await a.page.click('#pdf');
  await a.page.fill('#email', 'lee@snaps.example');
  await a.page.click('#nl button');
  await setHidden(a.page, true);
  await waitFor(s, (r) => named(r, 'newsletter_signup').length == 1 && named(r, 'engagement').length >= 1);
  const rows = await settled(s);
  expect(noEngagement(rows).map((r) => [r.name, path(r), r.email, r.utm_source, r.utm_medium])).toEqual([
    ['pageview', '/?utm_source=snaps&utm_medium=directory', null, 'snaps', 'directory'],
    ['pageview', '/pricing', null, 'snaps', 'directory'],
    ['outbound', '/pricing', null, 'snaps', 'directory'],
    ['download', '/pricing', null, 'snaps', 'directory'],
    ['newsletter_signup', '/pricing', 'lee@snaps.example', 'snaps', 'directory'],
  ]);
  expect(named(rows, 'outbound')[0].props).toEqual({ url: 'https://partner.example/integrations' });
  expect(named(rows, 'download')[0].props).toEqual({ url: `${s.origin}/files/brochure.pdf` });
  // the landing view's visible second and more, sent before the routed view
  expect(named(rows, 'engagement').map((r) => path(r))[0]).toBe('/?utm_source=snaps&utm_medium=directory');
  expect(a.errors).toEqual([]);
  await a.page.close();
});

/** GA4's enhanced measurement (page changes based on browser history events) as gtag.js wraps history. */
const GA4 = `<script>(() => {
  window.dataLayer = window.dataLayer || [];
  for (const m of ['pushState', 'replaceState']) {
    const orig = history[m];
    history[m] = function (state, title, url) {
      const before = location.href, r = orig.apply(this, arguments);
      if (location.href != before) dataLayer.push({ event: 'gtm.historyChange-v2', 'gtm.historyChangeSource': m, 'gtm.newUrl': location.href, 'gtm.oldUrl': before });
      return r;
    };
  }
})();</script>`;
/** single-spa's navigation-events.js: after a pushState or replaceState that changed the URL, a popstate event of its own. */
const SINGLE_SPA = `<script>(() => {
  const patched = (orig, name) => function () {
    const before = location.href, r = orig.apply(this, arguments);
    if (location.href != before) { const e = new PopStateEvent('popstate', { state: history.state }); e.singleSpa = true; e.singleSpaTrigger = name; window.dispatchEvent(e); }
    return r;
  };
  history.pushState = patched(history.pushState, 'pushState');
  history.replaceState = patched(history.replaceState, 'replaceState');
  window.spaPops = 0;
  addEventListener('popstate', (e) => { if (e.singleSpa) window.spaPops++; });
})();</script>`;
/** A session replay tool loaded after the tag, wrapping whatever history.pushState is by then. */
const REPLAY_AFTER = `<script>addEventListener('load', () => { for (const m of ['pushState', 'replaceState']) { const orig = history[m]; history[m] = function () { window.replayed = (window.replayed || 0) + 1; return orig.apply(this, arguments); }; } window.replayReady = true; });</script>`;

// README: a view per pushState that changes the path or the query, per replaceState that changes the path, per popstate
// that lands on another address; a same-URL push and a replace of the query alone are none. Other tools' wrappers
// change nothing of that, nor does a popstate event single-spa makes up after each URL change.
test('history wrapped by other tools around the tag (GA4 enhanced measurement and single-spa before it, a session replay after it): a view per pushed path, none for a replace of the query alone that single-spa answers with a popstate, one for a replace to a new path, one for the back button', async () => {
  const s = await serve({ '*': doc(`${GA4}${SINGLE_SPA}<script defer ${tagOf()}></script>${REPLAY_AFTER}`, '<main id="app">app</main>', 'micro-frontends') });
  const a = await watched(s.origin + '/?utm_source=partner');
  await loaded(a.page);
  await a.page.waitForFunction(() => (window as { replayReady?: boolean }).replayReady);
  const nav = (m: 'pushState' | 'replaceState', url: string) => a.page.evaluate(([m, url]) => history[m as 'pushState']({ app: url }, '', url), [m, url]);
  await nav('pushState', '/pricing');
  await nav('replaceState', '/pricing?plan=annual');
  await nav('pushState', '/pricing?plan=annual');
  await nav('pushState', '/docs');
  await nav('replaceState', '/docs/start');
  await a.page.goBack({ waitUntil: 'commit' });
  await a.page.waitForFunction(() => location.pathname == '/pricing');
  await waitFor(s, (r) => named(r, 'pageview').length >= 4);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.referrer.replace(s.origin, ''), r.utm_source])).toEqual([
    ['pageview', '/?utm_source=partner', '', 'partner'],
    ['pageview', '/pricing', '/?utm_source=partner', 'partner'],
    // (an SPA view's referrer is the previous view, whose address a replace of the query alone left as it was)
    ['pageview', '/docs', '/pricing', 'partner'],
    ['pageview', '/docs/start', '/docs', 'partner'],
    ['pageview', '/pricing?plan=annual', '/docs/start', 'partner'],
  ]);
  // the other tools saw every change too: GA4 the four calls that changed the URL, single-spa as many popstates, the
  // replay tool all five calls
  expect(await a.page.evaluate(() => [(window as unknown as { dataLayer: { event: string }[] }).dataLayer.filter((d) => d.event == 'gtm.historyChange-v2').length, (window as { spaPops?: number }).spaPops, (window as { replayed?: number }).replayed])).toEqual([4, 4, 5]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Contract §4: the snippet never gets in the page's way. A site that writes its own error message for each `invalid`
// event (a validation script appending "Please enter your email" under the field) shows one per send, as without the
// tag: the browser fires one at each invalid field when a form is sent without novalidate, and a novalidate form's own
// script fires them with its checkValidity(); the snippet's own check of the form fires none.
test('a site that appends its own error message at each invalid event (a form sent empty without novalidate, a novalidate form checked by its script, a submit button whose click the script handles): one message per field per send, as without the tag', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<form id="plain" action="/thanks"><input type="email" name="email" required><button id="plain-go">Join</button></form>
       <form id="nov" novalidate action="/thanks"><input type="email" name="email" required><input name="name" required><button id="nov-go">Send</button></form>
       <form id="clicked" action="/thanks"><input type="email" name="email" required><button type="submit" id="clicked-go">Book</button></form>
       <script>
         window.messages = { plain: 0, nov: 0, clicked: 0 };
         for (const f of document.forms) f.addEventListener('invalid', (e) => { e.preventDefault(); messages[f.id]++; e.target.insertAdjacentHTML('afterend', '<small>Please fill this in</small>'); }, true);
         document.getElementById('nov').addEventListener('submit', (e) => { e.preventDefault(); e.target.checkValidity(); });
         document.getElementById('clicked-go').addEventListener('click', (e) => { e.preventDefault(); e.target.form.checkValidity(); });
       </script>`,
      'errors',
    ),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  for (const id of ['plain-go', 'nov-go', 'clicked-go']) await a.page.click('#' + id);
  // (a task for anything the snippet would do after a click)
  await a.page.waitForTimeout(100);
  expect(await a.page.evaluate(() => (window as unknown as { messages: Record<string, number> }).messages)).toEqual({ plain: 1, nov: 2, clicked: 1 });
  const rows = noEngagement(await settled(s, 300));
  expect(rows.map((r) => r.name)).toEqual(['pageview']);
  expect(a.errors).toEqual([]);
  await a.page.close();
});
