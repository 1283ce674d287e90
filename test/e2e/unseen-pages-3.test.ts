// Third round of pages the snippet had not seen (routers as Next.js, Vue Router, Angular and SvelteKit drive history;
// forms from Shopify, Netlify, Formspree; links and tags as sites write them; a collector far away, so that sends are
// still in flight when the visitor leaves; the back/forward cache really on), in headless Chromium against the real
// collector: what the collector stores is what the visitor did.
import { afterAll, expect, test } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectorProxy, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';
import { launchChromium } from '../helpers/browser.js';

const sites = snippetSites();
const { site, waitFor, settled, openLoaded: open } = sites;

/** A handler that reads a posted form, then answers with `html`. */
const posted = (html: () => string) => (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html()));
};

/**
 * A first-party proxy at /fb (the tag's data-api) that forwards beacons to the collector at once but answers the
 * browser only after `ms`: a collector far away, so that a send is still in flight when the visitor moves on.
 */
const slowProxy = (ms: number) => collectorProxy(() => sites.collector.url, '/fb', ms);

/**
 * Chromium as the shared harness launches it, but with the back/forward cache on: Playwright turns it off by default
 * (--disable-back-forward-cache), so a "back" there is a fresh load and never a restore.
 */
let bfcacheBrowser: BrowserContext | undefined;
const withBfcache = async (): Promise<BrowserContext> => (bfcacheBrowser ??= await launchChromium({ backForwardCache: true }));
afterAll(async () => {
  await bfcacheBrowser?.close();
});

/** What web-vitals (and many analytics tools) add to a page: a pagehide listener, which runs before visibilitychange. */
const webVitals = `<script>addEventListener('pagehide', (e) => { window.reported = e.persisted; }, true);</script>`;

// ---- differences found (each failed before its fix) ----

test('a send still in flight when a posted form leaves a page with a pagehide listener (web-vitals, another analytics tool: the cancelled fetch fails before the page is hidden) sets no back-off: the thank-you page, left within a second for another site, is stored', async () => {
  const away = await sites.serve({ '/elsewhere': '<!doctype html><p>partner</p>' });
  const s = await site(
    {
      '/': { attrs: 'data-api="/fb"', head: webVitals, body: `<form method="post" action="/thanks"><input type="email" name="email" value="posted@corp.example"><button id="send">send</button></form>` },
    },
    {
      '/fb/e': slowProxy(1_500),
      '/thanks': posted(() => (s.pages['/'] as string).replace(/<body>[^]*<\/body>/, `<body><a id="out" href="${away.origin}/elsewhere">partner</a></body>`)),
    },
  );
  const page = await open(s);
  // the view's send is answered: what follows starts from a clean state
  await expect.poll(() => page.evaluate(() => JSON.parse(localStorage._fb).q.length), { timeout: 5_000 }).toBe(0);
  // the submit's send is in flight (answered after 1.5 s) when the browser moves to /thanks and cancels it
  await Promise.all([page.waitForURL('**/thanks'), page.click('#send')]);
  await loaded(page);
  await page.waitForTimeout(500);
  await Promise.all([page.waitForURL(away.origin + '/elsewhere'), page.click('#out')]);
  await waitFor(s, (r) => named(r, 'outbound').length >= 1, 5_000);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => `${r.name} ${path(r)}`)).toEqual(['pageview /', 'form_submit /', 'pageview /thanks', 'outbound /thanks']);
  await page.close();
});

test('an outbound link followed while the view\'s send is still in flight, on a page with a pagehide listener: the outbound click is stored (the cancelled send set a back-off that kept the leaving page from beaconing it)', async () => {
  const away = await sites.serve({ '/elsewhere': '<!doctype html><p>partner</p>' });
  const s = await site({ '/': { attrs: 'data-api="/fb"', head: webVitals, body: `<a id="out" href="${away.origin}/elsewhere">partner</a>` } }, { '/fb/e': slowProxy(3_000) });
  const page = await open(s);
  // the view's send goes out 300 ms after load and is answered 3 s later: the visitor leaves before that
  await page.waitForTimeout(600);
  await Promise.all([page.waitForURL(away.origin + '/elsewhere'), page.click('#out')]);
  await waitFor(s, (r) => named(r, 'outbound').length >= 1, 5_000);
  expect(noEngagement(await settled(s)).map((r) => `${r.name} ${path(r)}`)).toEqual(['pageview /', 'outbound /']);
  await page.close();
});

test('data-downloads written as a user might, "*.PDF, *.key" (globs, upper case): listed files are downloads, and outbound links still count (the list made an invalid pattern, which stopped every link event)', async () => {
  const s = await site(
    {
      '/': {
        attrs: 'data-downloads="*.PDF, *.key"',
        body: `<a id="pdf" href="/files/guide.pdf">guide</a> <a id="key" href="/files/Deck.KEY">deck</a> <a id="zip" href="/files/kit.zip">kit</a> <a id="out" href="http://localhost:1/elsewhere/out">out</a>`,
      },
    },
    { '/files/guide.pdf': file, '/files/Deck.KEY': file, '/files/kit.zip': file },
  );
  const page = await open(s);
  for (const id of ['#pdf', '#key', '#zip', '#out']) await page.click(id, { button: 'middle' });
  await waitFor(s, (r) => named(r, 'outbound').length >= 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, (r.props as { url?: string } | null)?.url?.replace(/^http:\/\/[^/]+/, '') ?? null])).toEqual([
    ['pageview', null],
    ['download', '/files/guide.pdf'],
    ['download', '/files/Deck.KEY'],
    ['outbound', '/elsewhere/out'],
  ]);
  await page.close();
});

// Known gap, left out: patching HTMLAnchorElement.prototype.click to see a link that is not in the document costs 77 B
// gzip. Flip to test() to check a fix.
test.skip('a report built in the page and saved by FileSaver-style code (a download link made by script, clicked while not in the document) counts as a download', async () => {
  const s = await site({
    '/': {
      body: `<button id="export" onclick="const a = document.createElement('a'); a.href = URL.createObjectURL(new Blob(['a,b'], { type: 'text/csv' })); a.download = 'leads.csv'; a.click()">export</button>`,
    },
  });
  const page = await open(s);
  await page.click('#export');
  await waitFor(s, (r) => named(r, 'download').length >= 1, 3_000);
  expect(named(await settled(s), 'download').map((r) => (r.props as { url: string }).url.startsWith('blob:' + s.origin))).toEqual([true]);
  await page.close();
});

// ---- behaviours tried that already matched what happened (kept as regression checks) ----

test('a Next.js Pages Router app from a gclid landing: its replaceState on hydration, router.push with `as`, a shallow router.replace of the query, back, then a controlled form sent by fetch', async () => {
  const s = await site({
    '*': {
      body: `<script>
        let key = 0;
        const state = (as) => ({ url: as, as, options: { shallow: false, locale: undefined }, __N: true, key: String(++key) });
        addEventListener('load', () => history.replaceState(state(location.pathname + location.search), '', location.href));
        window.next = { router: {
          push: (url, as) => (history.pushState(state(as || url), '', as || url), scrollTo(0, 0)),
          replace: (url) => history.replaceState(state(url), '', url),
          // a "clean URL" effect many apps run after reading the campaign
          clean: () => history.replaceState(state(location.pathname), '', location.pathname),
        } };
      </script>
      <form id="signup" onsubmit="event.preventDefault(); fetch('/api/subscribe', { method: 'POST', body: new FormData(this) }).catch(() => {})">
        <label>Work email <input type="email" name="email" value="nextjs@corp.example" required></label><button id="join">join</button>
      </form>`,
    },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0KCQ');
  await loaded(page);
  await page.evaluate(async () => {
    const r = (window as unknown as { next: { router: Record<string, (a?: string, b?: string) => void> } }).next.router;
    const steps = [() => r.clean(), () => r.push('/blog/[slug]?slug=hello', '/blog/hello'), () => r.replace('/blog/hello?tab=comments'), () => r.push('/pricing')];
    for (const step of steps) step(), await new Promise((res) => setTimeout(res, 5));
  });
  await page.goBack();
  await page.waitForURL('**/blog/hello?tab=comments');
  await page.click('#join');
  await waitFor(s, (r) => named(r, 'form_submit').length >= 1 && named(r, 'pageview').length >= 4);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source, r.click_id])).toEqual([
    ['pageview', '/?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0KCQ', 'google', 'gclid'],
    ['pageview', '/blog/hello', 'google', 'gclid'],
    ['pageview', '/pricing', 'google', 'gclid'],
    ['pageview', '/blog/hello?tab=comments', 'google', 'gclid'],
    ['form_submit', '/blog/hello?tab=comments', 'google', 'gclid'],
  ]);
  expect(rows.at(-1)!.email).toBe('nextjs@corp.example');
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  await page.close();
});

test('Vue Router 4 (a same-URL replaceState saving the scroll before each push, router.replace, router.go(-1)), Angular (replaceState on boot, pushState with navigationId) and a SvelteKit shallow pushState("")', async () => {
  const s = await site({
    '*': {
      body: `<script>
        window.vue = {
          push(to) { history.replaceState({ ...history.state, forward: to, scroll: { left: 0, top: scrollY } }, ''); history.pushState({ back: location.pathname, current: to, forward: null, position: history.length, replaced: false, scroll: null }, '', to); },
          replace(to) { history.replaceState({ ...history.state, current: to, replaced: true }, '', to); },
        };
        window.ng = { boot() { history.replaceState({ navigationId: 1 }, '', location.pathname); }, go(to, id) { history.pushState({ navigationId: id }, '', to); } };
        window.kit = { shallow() { history.pushState({ 'sveltekit:states': { modal: true } }, ''); } };
      </script>`,
    },
  });
  const page = await open(s, '/app');
  await page.evaluate(async () => {
    const w = window as unknown as Record<string, Record<string, (a?: string, b?: number) => void>>;
    // (a few milliseconds apart: the stored events are read back in time order)
    const steps = [() => w.ng.boot(), () => w.vue.push('/app/features'), () => w.vue.push('/app/features/sso'), () => w.vue.replace('/app/login'), () => w.kit.shallow(), () => w.ng.go('/app/pricing', 2)];
    for (const step of steps) step(), await new Promise((r) => setTimeout(r, 5));
  });
  await page.evaluate(() => history.go(-1));
  await page.waitForURL('**/app/login');
  await waitFor(s, (r) => named(r, 'pageview').length >= 6);
  const rows = await settled(s);
  expect(named(rows, 'pageview').map((r) => [path(r), r.referrer.replace(s.origin, '')])).toEqual([
    ['/app', ''],
    ['/app/features', '/app'],
    ['/app/features/sso', '/app/features'],
    ['/app/login', '/app/features/sso'],
    ['/app/pricing', '/app/login'],
    ['/app/login', '/app/pricing'],
  ]);
  await page.close();
});

test('forms that leave the page: a Shopify footer newsletter (contact[email], posted to /contact), a Netlify form (data-netlify, a honeypot, the email inside its label), a Formspree form posted to another origin', async () => {
  const away = await sites.serve({ '/f/xyz': posted(() => '<!doctype html><p>thanks</p>') });
  const s = await site(
    {
      '/': {
        body: `<form method="post" action="/contact#contact_form" id="ContactFooter" accept-charset="UTF-8" class="footer__newsletter newsletter-form">
            <input type="hidden" name="form_type" value="customer"><input type="hidden" name="utf8" value="✓"><input type="hidden" name="contact[tags]" value="newsletter">
            <input id="NewsletterForm--footer" type="email" name="contact[email]" class="field__input" value="shopify@corp.example" aria-required="true" autocorrect="off" autocapitalize="off" autocomplete="email" placeholder="Email" required>
            <button type="submit" id="Subscribe" name="commit">Subscribe</button></form>`,
      },
      '/netlify': {
        body: `<form name="contact" method="POST" data-netlify="true" netlify-honeypot="bot-field" action="/thanks">
            <input type="hidden" name="form-name" value="contact"><p hidden><label>Don't fill this out: <input name="bot-field"></label></p>
            <p><label>Your Email: <input type="email" name="email" value="netlify@corp.example"></label></p><p><button id="send">Send</button></p></form>`,
      },
      '/formspree': {
        body: `<form action="${away.origin}/f/xyz" method="POST"><label>Your email: <input type="email" name="email" value="formspree@corp.example"></label>
            <label>Your message: <textarea name="message">hello</textarea></label><button id="send" type="submit">Send</button></form>`,
      },
    },
    {
      '/contact': posted(() => s.pages['/'] as string),
      '/thanks': posted(() => s.pages['/'] as string),
    },
  );
  const page = await open(s);
  await Promise.all([page.waitForURL('**/contact#contact_form'), page.click('#Subscribe')]);
  await loaded(page);
  await page.goto(s.origin + '/netlify');
  await loaded(page);
  await Promise.all([page.waitForURL('**/thanks'), page.click('#send')]);
  await loaded(page);
  await page.goto(s.origin + '/formspree');
  await loaded(page);
  await Promise.all([page.waitForURL(away.origin + '/f/xyz'), page.click('#send')]);
  await waitFor(s, (r) => named(r, 'form_submit').length >= 3);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['form_submit', '/', 'shopify@corp.example'],
    ['pageview', '/contact#contact_form', null],
    ['pageview', '/netlify', null],
    ['form_submit', '/netlify', 'netlify@corp.example'],
    ['pageview', '/thanks', null],
    ['pageview', '/formspree', null],
    ['form_submit', '/formspree', 'formspree@corp.example'],
  ]);
  // nothing but the email was read (the message is no marked field)
  expect(rows.map((r) => r.traits)).toEqual(rows.map(() => null));
  await page.close();
});

test('forms as sites write them: a <button form> outside its form, requestSubmit() from a custom button, an autocomplete="username" email, a formnovalidate button (a demo form sent with a required field empty is not a demo request)', async () => {
  const s = await site({
    '/': {
      body: `<form id="hero" data-funnelbeam="newsletter" onsubmit="event.preventDefault()"><input type="email" name="email" autocomplete="username" value="outside@corp.example"></form>
        <button id="outside" form="hero">Subscribe</button>
        <form id="trial" data-funnelbeam="trial" onsubmit="event.preventDefault()"><label><span>Email</span><input type="email" name="work_email" value="trial@corp.example" required></label></form>
        <div role="button" id="custom" onclick="document.getElementById('trial').requestSubmit()">Start trial</div>
        <form id="demo" data-funnelbeam="demo" onsubmit="event.preventDefault()"><input type="email" name="email" value="draft@corp.example" required><input name="company" required>
          <button id="draft" formnovalidate>Save draft</button></form>`,
    },
  });
  const page = await open(s);
  await page.click('#outside');
  await page.click('#custom');
  await page.click('#draft');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2);
  const rows = await settled(s);
  expect(rows.filter((e) => e.form).map((r) => [r.name, r.form, r.email])).toEqual([
    ['newsletter_signup', 'newsletter', 'outside@corp.example'],
    ['form_submit', 'other', 'trial@corp.example'],
  ]);
  expect(named(rows, 'form_submit')[0].props).toMatchObject({ form: 'trial' });
  await page.close();
});

test('links as sites write them: an icon sprite (svg <use href>) inside a download link, one to the same host name on another port and one to another name of the same machine (a subdomain: another host, so outbound), rel="external" to the same host (not outbound), a download link added after load', async () => {
  const s = await site(
    {
      '/': {
        body: `<a id="sub" href="">docs</a> <a id="port" href="http://127.0.0.1:1/elsewhere/port">port</a> <a id="ext" rel="external" href="/partners">partners</a>
          <a href="/files/brochure.pdf"><svg width="16" height="16"><defs><rect id="square" width="16" height="16"/></defs><use id="icon" href="#square"/></svg></a>
          <div id="later"></div>
          <script>
            document.getElementById('sub').href = location.href.replace('127.0.0.1', 'localhost') + 'elsewhere/docs';
            setTimeout(() => (document.getElementById('later').innerHTML = '<a id="report" href="/files/Report.PDF?v=2#page=3"><img alt="" width="20" height="20" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><span id="caption">report</span></a>'), 300);
          </script>`,
      },
    },
    { '/files/Report.PDF': file, '/files/brochure.pdf': file },
  );
  const page = await open(s);
  await page.evaluate(() => document.getElementById('ext')!.addEventListener('click', (e) => e.preventDefault()));
  // an icon sprite: the click lands on an svg <use href>, itself an element with an href, inside the link
  await page.click('#icon', { button: 'middle' });
  await page.click('#sub', { button: 'middle' });
  await page.click('#port', { button: 'middle' });
  await page.click('#ext');
  await page.click('#caption');
  await waitFor(s, (r) => named(r, 'download').length >= 1 && named(r, 'outbound').length >= 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, (r.props as { url?: string } | null)?.url?.replace(/:\d+/, ':PORT') ?? null])).toEqual([
    ['pageview', null],
    ['download', 'http://127.0.0.1:PORT/files/brochure.pdf'],
    ['outbound', 'http://localhost:PORT/elsewhere/docs'],
    ['outbound', 'http://127.0.0.1:PORT/elsewhere/port'],
    ['download', 'http://127.0.0.1:PORT/files/Report.PDF?v=2#page=3'],
  ]);
  await page.close();
});

test('calls before the script loads: identify then track through the queue stub, with an async tag and a data-api holding a path and trailing slashes', async () => {
  const proxy = collectorProxy(() => sites.collector.url, '/proxy/fb');
  const tag = `src="${sites.collector.url}/s.js" data-site="${sites.collector.site.siteKey}" data-local`;
  const s = await sites.serve({
    '/': `<!doctype html><html><head><script>window.funnelbeam=window.funnelbeam||function(){(funnelbeam.q=funnelbeam.q||[]).push(arguments)};
        funnelbeam('identify', 'known@corp.example', { firstName: 'Kim', company: 'Initech' }); funnelbeam('track', 'app_opened', { plan: 'team' });</script>
      <script async ${tag} data-api="${'http://127.0.0.1:PORT'}/proxy/fb//"></script></head><body>app</body></html>`,
    '/proxy/fb/e': proxy,
  });
  s.pages['/'] = (s.pages['/'] as string).replace('PORT', String(s.port));
  const page = await open(s);
  await waitFor(s, (r) => r.length >= 3);
  const rows = await settled(s);
  // (the queued calls run in the same millisecond: the stored order between them is not the order of the calls)
  expect(rows.map((r) => [r.name, r.email, r.traits, r.props]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
    ['app_opened', null, null, { plan: 'team' }],
    ['identify', 'known@corp.example', { firstName: 'Kim', company: 'Initech' }, null],
    ['pageview', null, null, null],
  ]);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  await page.close();
});

test('the back/forward cache with a send in flight on a page with a pagehide listener: a download clicked just before following a link, then back; what the restored page does is sent while it stays open', async () => {
  const s = await site(
    {
      '/': { attrs: 'data-api="/fb"', head: webVitals, body: `<a id="pdf" href="/files/deck.pdf" download>deck</a> <a id="next" href="/next">next</a> <button id="cta" onclick="funnelbeam('track', 'cta_clicked')">cta</button>` },
      '/next': { attrs: 'data-api="/fb"', body: 'next' },
    },
    { '/fb/e': slowProxy(1_500), '/files/deck.pdf': file },
  );
  const page = await (await withBfcache()).newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  await expect.poll(() => page.evaluate(() => JSON.parse(localStorage._fb).q.length), { timeout: 5_000 }).toBe(0);
  // the download's send is in flight when the page goes into the cache
  await page.evaluate(() => (document.getElementById('pdf')!.click(), document.getElementById('next')!.click()));
  await page.waitForURL('**/next');
  await loaded(page);
  await page.waitForTimeout(2_500);
  await page.goBack({ waitUntil: 'commit' }); // (a restore fires no load event)
  await page.waitForURL(s.origin + '/', { waitUntil: 'commit' });
  // restored from the cache, not loaded again (its pagehide said so)
  expect(await page.evaluate(() => (window as { reported?: boolean }).reported)).toBe(true);
  await page.waitForTimeout(300);
  await page.click('#cta');
  // the page stays visible: no hiding sends it, the restored page's own send must
  await waitFor(s, (r) => named(r, 'cta_clicked').length >= 1, 5_000);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => `${r.name} ${path(r)}`)).toEqual(['pageview /', 'download /', 'pageview /next', 'pageview /', 'cta_clicked /']);
  await page.close();
});

test('the back/forward cache really on (Playwright turns it off): a page and an SPA route restored by the back button are a view each, and the restored page keeps tracking', async () => {
  const s = await site({
    '/': { body: `<a id="next" href="/next">next</a> <button id="route" onclick="history.pushState({}, '', '/app/b')">route</button> <button id="cta" onclick="funnelbeam('track', 'cta_clicked')">cta</button>` },
    '/next': { body: '<a id="back" href="javascript:history.back()">back</a>' },
  });
  const page = await (await withBfcache()).newPage();
  await page.goto(s.origin + '/');
  await loaded(page);
  const leaveAndComeBack = async (from: string) => {
    await page.evaluate(() => ((window as { kept?: boolean }).kept = true));
    await Promise.all([page.waitForURL('**/next'), page.click('#next')]);
    await loaded(page);
    await page.goBack({ waitUntil: 'commit' }); // (a restore fires no load event)
    await page.waitForURL(s.origin + from, { waitUntil: 'commit' });
    // a restore, not a new load: the page's own state survived
    await expect.poll(() => page.evaluate(() => (window as { kept?: boolean }).kept ?? false)).toBe(true);
  };
  await leaveAndComeBack('/');
  await page.click('#route');
  await leaveAndComeBack('/app/b');
  await page.click('#cta');
  await waitFor(s, (r) => named(r, 'cta_clicked').length >= 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => `${r.name} ${path(r)}`)).toEqual(['pageview /', 'pageview /next', 'pageview /', 'pageview /app/b', 'pageview /next', 'pageview /app/b', 'cta_clicked /app/b']);
  await page.close();
});
