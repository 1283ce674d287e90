// Fourteenth round of pages the snippet had not seen: routers that normalize the landing address's trailing slash at
// boot (Angular's Location.normalize strips it; a router set the other way adds it), a WordPress site whose
// optimizer delays every script until the visitor's first interaction (WP Rocket's "Delay JavaScript execution"),
// cross-document view transitions, web components rendered on the server (declarative shadow DOM) and a legacy tag
// container that writes the tag with document.write, in headless Chromium with the back/forward cache on, against the
// real collector. The expected events are worked out by hand from the contract (§2–§4) and the README before each run.
import { test, type ExpectStatic } from 'vitest';
import type { Page } from 'playwright-core';
import type { SiteServer } from '../helpers/browser.js';
import { doc, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

// one Chromium profile for the file with the back/forward cache on (Playwright turns it off by default)
const sites = snippetSites({ backForwardCache: true });
const { serve, waitFor, settled, tagOf, watched } = sites;


/** Back to the previous page, restored from the back/forward cache (its window state survived: no new load). */
async function backRestored(expect: ExpectStatic, page: Page, url: string) {
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForURL(url, { waitUntil: 'commit' });
  await expect.poll(() => page.evaluate(() => (window as { kept?: boolean }).kept ?? false)).toBe(true);
}

// Angular's router normalizes the address at its first navigation (Location.normalize strips a trailing slash, then
// setBrowserUrl replaces the entry with the normalized path: angular/angular#16051); a static host that serves
// prerendered pages as folders (Firebase trailingSlash, Netlify pretty URLs, S3 + CloudFront) sends every /pricing to
// /pricing/ first. A router set the other way (trailing slashes always) replaces /docs with /docs/ at its start. The
// visitor saw one page each time: one view (the README's known gap until this round: "comparing paths without a
// trailing slash costs 5 B gzip"). A later route to another path is a view.
test.concurrent('routers that normalize the trailing slash at boot: Angular landing at /pricing/ (replaced with /pricing), a router that adds the slash landing at /docs (replaced with /docs/), each then routed on: one view of the landing page and one of each route', async ({ expect }) => {
  const NORMALIZE = (add: boolean) => `<script defer>addEventListener('DOMContentLoaded', () => setTimeout(() => {
    const p = location.pathname, normalized = ${add ? `p.endsWith('/') ? p : p + '/'` : `p.replace(/\\/$/, '') || '/'`};
    history.replaceState({ navigationId: 1, ɵrouterPageId: 0 }, '', normalized + location.search + location.hash);
    document.getElementById('next').onclick = (e) => { e.preventDefault(); history.pushState({ navigationId: 2 }, '', e.target.getAttribute('href')); };
    window.booted = true;
  }))</script>`;
  const angular = await serve({ '*': doc(`<script defer ${tagOf()}></script>${NORMALIZE(false)}`, '<a id="next" href="/demo">Book a demo</a>', 'angular') });
  const slashed = await serve({ '*': doc(`<script defer ${tagOf()}></script>${NORMALIZE(true)}`, '<a id="next" href="/docs/install/">Install</a>', 'docs') });
  // (the two sites side by side, each in its own tab)
  const visit = async ([s, landing, normalized, next]: readonly [SiteServer, string, string, string]) => {
    const a = await watched(s.origin + landing);
    await loaded(a.page);
    await a.page.waitForFunction(() => (window as { booted?: boolean }).booted);
    expect(await a.page.evaluate(() => location.pathname)).toBe(normalized);
    await a.page.click('#next');
    await waitFor(s, (r) => named(r, 'pageview').some((v) => path(v) == next));
    const rows = noEngagement(await settled(s));
    expect(rows.map((r) => [r.name, path(r), r.utm_source])).toEqual([
      ['pageview', landing, 'linkedin'],
      ['pageview', next, 'linkedin'],
    ]);
    expect(a.errors).toEqual([]);
    await a.page.close();
  };
  await Promise.all([
    visit([angular, '/pricing/?utm_source=linkedin', '/pricing', '/demo']),
    visit([slashed, '/docs?utm_source=linkedin', '/docs/', '/docs/install/']),
  ]);
});

/**
 * WP Rocket's "Delay JavaScript execution" (RocketLazyLoadScripts 2.x, as WordPress sites serve it), written by hand with
 * what it does to a delayed script: every script typed "rocketlazyloadscript" runs only at the visitor's first interaction
 * (the first mousemove is ignored; keys, mouse buttons, touches, the wheel count), one after the other, each made anew
 * from the original's attributes (data-rocket-src becomes src); meanwhile EventTarget.prototype.addEventListener is
 * replaced: a window load or pageshow listener added once the visitor has acted is kept aside and added later under
 * the name "rocket-load" / "rocket-pageshow" (fired once, after the scripts ran), and a listener of an interaction event
 * (click, keydown…) is kept aside and added once every script ran; the interaction events themselves are held (a click's
 * default prevented) and dispatched again, as new events of the same kind, at the end.
 */
const WP_ROCKET = `<script>(() => {
  const userEvents = ['keydown', 'keyup', 'mousedown', 'mouseup', 'mousemove', 'touchstart', 'touchend', 'wheel', 'click'];
  const renamed = (type, target) => (target === window && /^(DOMContentLoaded|load|pageshow)$/.test(type)) || (target === document && /^(DOMContentLoaded|readystatechange)$/.test(type));
  const add = EventTarget.prototype.addEventListener;
  let acted = false, everythingLoaded = false, firstMousemoveIgnored = false, persisted = false;
  const savedListeners = [], savedEvents = [];
  add.call(window, 'pageshow', (e) => { persisted = e.persisted }, { isRocket: true });
  EventTarget.prototype.addEventListener = function (type, fn, options) {
    if ((options && options.isRocket) || (!renamed(type, this) && !userEvents.includes(type)) || (renamed(type, this) && !acted) || type.startsWith('rocket-') || everythingLoaded) return add.call(this, type, fn, options);
    savedListeners.push({ target: this, type, fn, options });
  };
  const addSaved = (target, type) => {
    for (const l of savedListeners.filter((l) => l.target === target && l.type === type)) {
      savedListeners.splice(savedListeners.indexOf(l), 1);
      add.call(target, 'rocket-' + type, l.fn, l.options);
    }
  };
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  const onUserEvent = (e) => {
    if (!acted) {
      if (e.type == 'mousemove' && !firstMousemoveIgnored) firstMousemoveIgnored = true;
      else if (e.type != 'keyup') (acted = true), loadEverythingNow();
    }
    if (e.type == 'click') e.preventDefault();
    e.stopPropagation();
    e.stopImmediatePropagation();
    savedEvents.push(e);
  };
  userEvents.forEach((t) => add.call(window, t, onUserEvent, { passive: false, isRocket: true }));
  async function loadEverythingNow() {
    for (const old of [...document.querySelectorAll('script[type=rocketlazyloadscript]')]) {
      await frame();
      await new Promise((resolve) => {
        const s = document.createElement('script');
        for (const a of old.attributes) if (a.name != 'type') s.setAttribute(a.name == 'data-rocket-src' ? 'src' : a.name, a.value);
        if (s.src) s.onload = s.onerror = resolve;
        else (s.text = old.text), resolve();
        old.replaceWith(s);
      });
    }
    await frame();
    addSaved(window, 'load');
    window.dispatchEvent(new Event('rocket-load'));
    await frame();
    addSaved(window, 'pageshow');
    const e = new Event('rocket-pageshow');
    e.persisted = persisted;
    window.dispatchEvent(e);
    everythingLoaded = true;
    EventTarget.prototype.addEventListener = add;
    for (const l of savedListeners.splice(0)) add.call(l.target, l.type, l.fn, l.options);
    userEvents.forEach((t) => removeEventListener(t, onUserEvent, { passive: false, isRocket: true }));
    for (const e of savedEvents.splice(0)) e.target.dispatchEvent(new window[e.constructor.name](e.type, e));
    window.rocketDone = true;
  }
})()</script>`;

// README (proposed this round): with the tag delayed, the snippet starts at the visitor's first interaction, with the
// landing page's campaign (read from the navigation entry) and the click that woke it (dispatched again by WP Rocket);
// a page the visitor leaves without touching it runs no snippet (no view), and a page restored from the back/forward
// cache is no view either (its pageshow listener was renamed "rocket-pageshow", fired once at start). With the tag
// excluded from the delay (WP Rocket's "Excluded JavaScript Files"), every view counts, the restore too, and so does
// the first click, which WP Rocket holds until its delayed scripts ran (the snippet's click listener with it).
test.concurrent('a WordPress site whose WP Rocket delays every script until the first interaction (Delay JavaScript execution), the tag delayed and then excluded: a guide downloaded as the first click, a page read without touching it, back to the landing page (restored from the back/forward cache), a call there', async ({ expect }) => {
  // (the two set-ups side by side, each in its own tab)
  const visit = async (delayed: boolean) => {
    const tag = delayed ? `<script type="rocketlazyloadscript" data-rocket-src="${sites.collector.url}/s.js" data-site="${sites.collector.site.siteKey}" data-local defer></script>` : `<script defer ${tagOf()}></script>`;
    // (a chat widget stays delayed in both cases: WP Rocket runs, and wraps addEventListener, either way)
    const head = WP_ROCKET + tag + `<script type="rocketlazyloadscript">window.chat = 'ready'</script>`;
    const s = await serve({
      '/': doc(head, '<a id="guide" href="/guide.pdf" download>Buyer guide</a> <a id="pricing" href="/pricing">Pricing</a>', 'home'),
      '/pricing': doc(head, '<h1>Pricing</h1>', 'pricing'),
      '/guide.pdf': file,
    });
    const landing = '/?utm_source=newsletter&utm_campaign=may';
    const a = await watched(s.origin + landing);
    if (!delayed) await loaded(a.page);
    await a.page.click('#guide');
    await a.page.waitForFunction(() => (window as { rocketDone?: boolean }).rocketDone);
    await waitFor(s, (r) => named(r, 'download').length == 1);
    await a.page.evaluate(() => ((window as { kept?: boolean }).kept = true));
    await Promise.all([a.page.waitForURL('**/pricing'), a.page.click('#pricing')]);
    // the visitor reads the pricing page without touching it
    if (!delayed) await loaded(a.page);
    await a.page.waitForTimeout(400);
    await backRestored(expect, a.page, s.origin + landing);
    await a.page.evaluate(() => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('track', 'chat_opened'));
    await waitFor(s, (r) => named(r, 'chat_opened').length == 1);
    const rows = noEngagement(await settled(s));
    expect(rows.map((r) => [r.name, path(r), r.utm_source])).toEqual(
      delayed
        ? [
            ['pageview', landing, 'newsletter'],
            ['download', landing, 'newsletter'],
            ['chat_opened', landing, 'newsletter'],
          ]
        : [
            ['pageview', landing, 'newsletter'],
            ['download', landing, 'newsletter'],
            ['pageview', '/pricing', 'newsletter'],
            ['pageview', landing, 'newsletter'],
            ['chat_opened', landing, 'newsletter'],
          ],
    );
    expect(named(rows, 'download')[0].props).toEqual({ url: s.origin + '/guide.pdf' });
    expect(await a.page.evaluate(() => (window as { chat?: string }).chat)).toBe('ready');
    expect(a.errors).toEqual([]);
    await a.page.close();
  };
  await Promise.all([visit(true), visit(false)]);
});

// Cross-document view transitions (@view-transition { navigation: auto }, as Astro, WordPress block themes and plain
// multi-page sites turn them on): the old page stays drawn until the new one is ready, and pageswap / pagereveal fire
// around the swap. Contract §3: a view per load, and one per back/forward cache restore.
test.concurrent('a multi-page site with cross-document view transitions (pageswap and pagereveal listeners naming the transition) from a Google Ads click: a view per page, a newsletter sent by fetch on the third, then back to the second (restored from the back/forward cache): a view of it again, every event with the click id', async ({ expect }) => {
  const VT = `<style>@view-transition { navigation: auto; }</style><script>
    addEventListener('pageswap', (e) => e.viewTransition?.types.add('forward'));
    addEventListener('pagereveal', (e) => { window.revealedWithTransition = !!e.viewTransition });
  </script><script defer ${tagOf()}></script>`;
  const s = await serve({
    '/': doc(VT, '<h1>Home</h1><a id="next" href="/features">Features</a>', 'home'),
    '/features': doc(VT, '<h1>Features</h1><a id="next" href="/pricing">Pricing</a>', 'features'),
    '/pricing': doc(
      VT,
      `<h1>Pricing</h1><form id="nl" data-funnelbeam="newsletter"><input type="email" name="email" required><button>Subscribe</button></form>
      <script>document.getElementById('nl').addEventListener('submit', (e) => { e.preventDefault(); fetch('/subscribe', { method: 'POST', body: new FormData(e.target) }).then(() => e.target.replaceWith('Thanks!')) })</script>`,
      'pricing',
    ),
    '/subscribe': (_req, res) => res.writeHead(204).end(),
  });
  const a = await watched(s.origin + '/?gclid=Cj0KCQ-vt');
  await loaded(a.page);
  await Promise.all([a.page.waitForURL('**/features'), a.page.click('#next')]);
  await loaded(a.page);
  await a.page.evaluate(() => ((window as { kept?: boolean }).kept = true));
  await Promise.all([a.page.waitForURL('**/pricing'), a.page.click('#next')]);
  await loaded(a.page);
  // (the page was revealed by a view transition: the site's pages are what the test says)
  expect(await a.page.evaluate(() => (window as { revealedWithTransition?: boolean }).revealedWithTransition)).toBe(true);
  await a.page.fill('#nl input', 'Dana@Initech.example');
  await a.page.click('#nl button');
  await a.page.waitForFunction(() => !document.getElementById('nl'));
  await backRestored(expect, a.page, s.origin + '/features');
  await waitFor(s, (r) => named(r, 'pageview').length == 4);
  const rows = noEngagement(await settled(s));
  // (the collector's click_id column names the kind of click id; its value is in the first touch)
  expect(rows.map((r) => [r.name, path(r), r.click_id])).toEqual([
    ['pageview', '/?gclid=Cj0KCQ-vt', 'gclid'],
    ['pageview', '/features', 'gclid'],
    ['pageview', '/pricing', 'gclid'],
    ['newsletter_signup', '/pricing', 'gclid'],
    ['pageview', '/features', 'gclid'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ gclid: 'Cj0KCQ-vt' });
  expect(named(rows, 'newsletter_signup')[0].email).toBe('dana@initech.example');
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// A legacy tag container (the pattern of Adobe DTM's synchronous loader and of old ad servers) writes the tag into the
// page with document.write while it is parsed, and writes content too (a brochure link); after a form is posted, the
// site answers with a thank-you page that sends the visitor on with <meta http-equiv="refresh" content="0; url=…">.
// Contract §3: a view per load (the thank-you page is a load, however short), the download, the demo request.
test.concurrent('a legacy container that writes the tag and a brochure link with document.write, a demo form posted to a thank-you page that moves on at once by meta refresh: the landing view, the download, the demo request, a view of the thank-you page and of the next', async ({ expect }) => {
  const WRITTEN_TAG = `<script>document.write('<script ${tagOf().replace(/"/g, '\\"')}><\\/script>')</script>`;
  const s = await serve({
    '/': doc(
      WRITTEN_TAG,
      `<script>document.write('<p><a id="brochure" href="/files/Brochure-2026.PDF">Brochure</a></p>')</script>
      <form id="demo" method="post" action="/thanks" data-funnelbeam="demo"><input type="email" name="email" required><input name="company"><button>Book a demo</button></form>`,
      'home',
    ),
    '/thanks': (req, res) => {
      req.resume();
      req.on('end', () =>
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(doc(`<meta http-equiv="refresh" content="0; url=/resources">${WRITTEN_TAG}`, '<p>Thanks, we will be in touch.</p>', 'thanks')),
      );
    },
    '/resources': doc(WRITTEN_TAG, '<h1>Resources</h1>', 'resources'),
    '/files/Brochure-2026.PDF': file,
  });
  const a = await watched(s.origin + '/?utm_source=partner&utm_medium=referral');
  await loaded(a.page);
  await a.page.click('#brochure');
  await a.page.fill('#demo input[type=email]', 'ravi@globex.example');
  await a.page.fill('#demo input[name=company]', 'Globex');
  await Promise.all([a.page.waitForURL('**/resources'), a.page.click('#demo button')]);
  await loaded(a.page);
  await waitFor(s, (r) => named(r, 'pageview').length == 3);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source])).toEqual([
    ['pageview', '/?utm_source=partner&utm_medium=referral', 'partner'],
    ['download', '/?utm_source=partner&utm_medium=referral', 'partner'],
    ['demo_request', '/?utm_source=partner&utm_medium=referral', 'partner'],
    ['pageview', '/thanks', 'partner'],
    ['pageview', '/resources', 'partner'],
  ]);
  expect(named(rows, 'demo_request')[0].email).toBe('ravi@globex.example');
  // the company was not marked data-funnelbeam-field: never read (contract §3)
  expect(named(rows, 'demo_request')[0].traits).toBeNull();
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Web components rendered on the server (Lit SSR, Enhance, WebC): their open shadow roots come in the HTML as
// declarative shadow DOM (<template shadowrootmode="open">), attached while the page is parsed, before any script.
// README: a form inside an open shadow root counts (its root is watched from the first click in it, and Enter in a
// field with a submit button clicks that button); a link inside one counts, also clicked on its slotted label.
test.concurrent('web components rendered on the server as declarative shadow DOM: a newsletter box sent by Enter in its field (no click before), a resource card whose download link wraps a slot, clicked on its slotted label: one signup with the address, one download', async ({ expect }) => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<newsletter-box><template shadowrootmode="open"><form data-funnelbeam="newsletter"><label>Email <input type="email" name="email" required></label><button>Subscribe</button></form></template></newsletter-box>
      <resource-card><template shadowrootmode="open"><a part="link" href="/files/roi-calculator.xlsx"><slot></slot></a></template><span id="label">ROI calculator</span></resource-card>
      <script>document.querySelector('newsletter-box').shadowRoot.querySelector('form').addEventListener('submit', (e) => { e.preventDefault(); e.target.replaceWith('Subscribed') })</script>`,
      'components',
    ),
    '/files/roi-calculator.xlsx': file,
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.locator('newsletter-box input').fill('lee@hooli.example');
  await a.page.locator('newsletter-box input').press('Enter');
  await a.page.waitForFunction(() => !document.querySelector('newsletter-box')!.shadowRoot!.querySelector('form'));
  await a.page.click('#label');
  await waitFor(s, (r) => named(r, 'download').length == 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.email, (r.props as { url?: string } | null)?.url ?? null])).toEqual([
    ['pageview', null, null],
    ['newsletter_signup', 'lee@hooli.example', null],
    ['download', null, s.origin + '/files/roi-calculator.xlsx'],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});
