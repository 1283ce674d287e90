// Hostile pages: environments that break careless scripts (Trusted Types and nonce CSP, globals replaced or broken by
// other scripts, storage cleared by another tab, sandboxed iframes, privacy signals,
// calls with arguments of the wrong kind, a collector or proxy that answers badly), in headless Chromium against the
// real collector. Each test checks that no error reaches the page, that the page's own scripts keep working, and what
// the collector stored.
import { expect, test } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pages, SiteServer } from '../helpers/browser.js';
import { doc, loaded, named, pathOf as path, snippetSites, STUB } from '../helpers/snippet-sites.js';
import { createSite } from '../../collector/admin.js';
import { CHROMIUM_PATH } from '../helpers/browser.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf } = sites;

/** A page opened with every uncaught error and console error recorded (the frames' too). */
async function watched(server: SiteServer, p = '/', init?: string) {
  const page = await sites.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  // (the browser's own "Failed to load resource" for the favicon the test servers lack is no error of the page's)
  page.on('console', (m) => m.type() == 'error' && !m.location().url.endsWith('/favicon.ico') && errors.push('console: ' + m.text() + ' ' + m.location().url));
  if (init) await page.addInitScript(init);
  await page.goto(server.origin + p);
  return { page, errors };
}

const withHeaders = (html: string, headers: Record<string, string>) => (_req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(html);

/** A first-party proxy path: /px/e forwarded to the collector as it came, /px/api/… answered by `answer`. */
const proxy = (answer: (req: IncomingMessage, res: ServerResponse) => void): Pages => ({
  '/px/e': (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const r = await fetch(sites.collector.url + '/e', {
        method: 'POST',
        body: Buffer.concat(chunks),
        headers: { 'content-type': 'text/plain', origin: String(req.headers.origin ?? ''), 'user-agent': String(req.headers['user-agent']) },
      });
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
    });
  },
  '*': answer,
});

// ---- differences found (each failed before its fix) ----

test('track with props JSON cannot write (a circular object, a BigInt): no error, the bad event is dropped, the view and later events are stored and the visitor is kept', async () => {
  const s = await serve({
    '/': doc(
      `<script>${STUB}const c = { name: 'loop' }; c.self = c; funnelbeam('track', 'circular', c); funnelbeam('track', 'bigint', { n: 10n }); funnelbeam('track', 'after', { ok: true });</script><script defer ${tagOf()}></script>`,
      `<a id="next" href="/next">next</a><script>window.pageOk = 1</script>`,
    ),
    '/next': doc(`<script defer ${tagOf()}></script>`),
  });
  const { page, errors } = await watched(s);
  await loaded(page);
  await page.waitForTimeout(500);
  await page.click('#next');
  await page.waitForURL('**/next');
  await loaded(page);
  await waitFor(s, (r) => r.some((e) => e.url.endsWith('/next')));
  const rows = (await settled(s)).filter((r) => r.name != 'engagement');
  expect(rows.map((r) => [r.name, path(r)])).toEqual([
    ['pageview', '/'],
    ['after', '/'],
    ['pageview', '/next'],
  ]);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  expect(errors).toEqual([]);
  await page.close();
});

test('consent with values other than true (the string "false", "denied" as Google Consent Mode writes it, 1, "yes", none): no grant, nothing sent or stored; only true grants', async () => {
  const s = await serve({
    '/': doc(`<script defer ${tagOf('data-consent="required"')}></script>`, `<script>${STUB}funnelbeam('track', 'held');</script>`),
  });
  const { page, errors } = await watched(s);
  await loaded(page);
  const call = (...a: unknown[]) => page.evaluate((a) => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam(...a), a);
  for (const odd of ['false', 'denied', 1, 'yes', undefined]) {
    await call('consent', odd);
    await call('track', 'odd_' + String(odd));
    // (each checked on its own, after the send's 300 ms: a later refusal would drop what an earlier grant sent)
    await page.waitForTimeout(600);
    expect([odd, await settled(s, 0), await page.evaluate(() => localStorage._fb ?? null)]).toEqual([odd, [], '{"c":0}']);
  }
  await call('consent', true);
  await call('track', 'granted');
  await waitFor(s, (r) => r.some((e) => e.name == 'granted'));
  expect((await settled(s)).map((r) => r.name)).toEqual(['granted']);
  expect(errors).toEqual([]);
  await page.close();
});

// ---- environments checked: no difference found ----

test('calls with arguments of the wrong kind (track with a number name, nested, array, function, Symbol and long props; identify with a number or a non-email; visitorId without a function; a segments callback that throws): no error reaches the page, what the collector takes is stored', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<script>${STUB}
        funnelbeam('track', 123);
        funnelbeam('track', 'nested', { ok: 'yes', n: 2, deep: { a: { b: 1 } }, list: [1, 2], f() {}, s: Symbol('x'), long: 'x'.repeat(5000) });
        funnelbeam('track', 'array_props', [1, 2, 3]);
        funnelbeam('track', 'string_props', 'plan=pro');
        funnelbeam('identify', 42);
        funnelbeam('identify', 'not-an-email', { company: 'Acme' });
        funnelbeam('visitorId', 'not a function');
        funnelbeam('segments', () => { throw new Error('the page callback throws'); });
        funnelbeam();
        funnelbeam({ track: 1 });
        funnelbeam('track', 'after');
        window.pageOk = 1;
      </script>`,
    ),
  });
  const { page, errors } = await watched(s);
  await loaded(page);
  await waitFor(s, (r) => r.some((e) => e.name == 'after'));
  const rows = (await settled(s, 1000)).filter((r) => r.name != 'engagement');
  expect(await page.evaluate(() => (window as { pageOk?: number }).pageOk)).toBe(1);
  expect(errors).toEqual([]);
  // the collector refuses alone the event with a number for a name and the identify calls without a usable email
  // (collector/ingest/salvage-event.ts), and drops props of the wrong kind: the rest of the batch is stored
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  expect(rows.map((r) => r.name).sort()).toEqual(['after', 'array_props', 'nested', 'pageview', 'string_props']);
  expect(byName.nested.props).toMatchObject({ ok: 'yes', n: 2 });
  expect(String(byName.nested.props?.long).length).toBeLessThanOrEqual(512);
  await page.close();
});

test('privacy signals: with Global Privacy Control or Do Not Track on, nothing is sent and nothing stored; visitorId calls back undefined, segments calls back [] and pushes nothing to dataLayer; the page works', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf()}></script>`,
      `<a id="pdf" href="/f.pdf" download>pdf</a><script>${STUB}
        window.got = {};
        funnelbeam('visitorId', (v) => (got.id = v === undefined ? 'undefined' : v));
        funnelbeam('segments', (l) => (got.segments = l));
        funnelbeam('track', 'signup', { plan: 'pro' });
        funnelbeam('identify', 'gpc@example.com');
        funnelbeam('consent', true);
        funnelbeam('page');
      </script>`,
    ),
  });
  for (const init of [
    `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })`,
    `Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })`,
  ]) {
    const page = await sites.browser.newPage();
    const errors: string[] = [];
    const sent: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => r.url().startsWith(sites.collector.url) && !r.url().endsWith('/s.js') && sent.push(r.url()));
    await page.addInitScript(init);
    await page.goto(s.origin + '/');
    await loaded(page);
    await page.waitForFunction(() => (window as { got?: { segments?: unknown } }).got?.segments);
    await page.click('#pdf').catch(() => {});
    await page.evaluate(() => history.pushState({}, '', '/spa'));
    await page.waitForTimeout(600);
    expect(await page.evaluate(() => [(window as { got?: unknown }).got, localStorage.length, (window as { dataLayer?: unknown }).dataLayer ?? null])).toEqual([{ id: 'undefined', segments: [] }, 0, null]);
    expect(sent).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }
  expect(await settled(s, 300)).toEqual([]);
});

test('Trusted Types enforced (require-trusted-types-for \'script\') with a strict nonce CSP: the snippet loads with its nonce, violates nothing, and sends', async () => {
  const csp = `default-src 'none'; script-src 'nonce-n0nce' ${sites.collector.url}; connect-src ${sites.collector.url}; require-trusted-types-for 'script'; trusted-types 'none'`;
  const html = doc(
    `<script nonce="n0nce">window.violations = []; addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective + ' ' + e.blockedURI)); ${STUB} funnelbeam('track', 'tt_ok');</script><script nonce="n0nce" defer ${tagOf()}></script>`,
    `<a id="out" href="https://elsewhere.example/">out</a>`,
  );
  const s = await serve({ '/': withHeaders(html, { 'content-security-policy': csp }) });
  const { page, errors } = await watched(s);
  await loaded(page);
  await page.evaluate(() => history.pushState({}, '', '/route'));
  await waitFor(s, (r) => named(r, 'pageview').length == 2 && r.some((e) => e.name == 'tt_ok'));
  expect(await page.evaluate(() => (window as { violations?: string[] }).violations)).toEqual([]);
  expect(errors).toEqual([]);
  await page.close();
});

test('globals broken by other scripts: fetch that throws (an extension), Promise and URL replaced after the tag, a JSON polyfill, history.pushState replaced by a router after the tag: no error reaches the page, views arrive (by beacon when fetch is broken)', async () => {
  const hide = `Object.defineProperty(document, 'hidden', { value: true, configurable: true }); document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));`;
  const s = await serve({
    '/fetch': doc(`<script>const f = fetch; window.fetch = () => { throw new TypeError('blocked by an extension') };</script><script defer ${tagOf()}></script>`),
    '/late': doc(
      `<script defer ${tagOf()}></script>`,
      `<script>addEventListener('load', () => setTimeout(() => {
        window.Promise = function () { throw new Error('not a promise') };
        window.URL = function () { throw new Error('not a URL') };
        const json = JSON; window.JSON = { parse: (t) => json.parse(t), stringify: (v) => json.stringify(v) };
        const push = history.pushState; history.pushState = function (s, t, u) { window.pushed = u; return push.call(history, s, t, u) };
        window.ready = 1;
      }, 100));</script>`,
    ),
  });
  const a = await watched(s, '/fetch');
  await loaded(a.page);
  await a.page.waitForTimeout(500);
  await a.page.evaluate(hide);
  await waitFor(s, (r) => r.some((e) => e.url.endsWith('/fetch')));
  expect(a.errors).toEqual([]);
  await a.page.close();

  const b = await watched(s, '/late');
  // (not waitForFunction: its polling builds the page's Promise, which the page replaces meanwhile, so it threw at times)
  await b.page.waitForLoadState('load');
  await b.page.waitForTimeout(400);
  expect(await b.page.evaluate(() => (window as { ready?: number }).ready)).toBe(1);
  await b.page.evaluate(() => history.pushState({}, '', '/late/next'));
  await b.page.evaluate(() => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('track', 'late_ok', { a: 1 }));
  await waitFor(s, (r) => r.some((e) => e.name == 'late_ok'));
  const rows = (await settled(s)).filter((r) => r.url.includes('/late'));
  expect(rows.filter((r) => r.name != 'engagement').map((r) => [r.name, path(r)])).toEqual([
    ['pageview', '/late'],
    ['pageview', '/late/next'],
    ['late_ok', '/late/next'],
  ]);
  expect(await b.page.evaluate(() => (window as { pushed?: string }).pushed)).toBe('/late/next');
  expect(b.errors).toEqual([]);
  await b.page.close();
});

test('segments through a proxy that answers badly (a 500 with a JSON error, HTML 200, 202 with invalid JSON, a reset connection, 5 s late): the callback gets [] (or the late answer) and nothing odd goes to dataLayer', async () => {
  let mode = '';
  const s = await serve({
    '/': doc(`<script defer ${tagOf(`data-api="/px"`)}></script>`),
    ...proxy((req, res) => {
      if (mode == 'json500') res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
      else if (mode == 'html') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><p>Please sign in</p>');
      else if (mode == 'bad202') res.writeHead(202, { 'content-type': 'application/json' }).end('{"segments": [');
      else if (mode == 'reset') req.socket.destroy();
      else setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"segments":["late"]}'), 5000);
    }),
  });
  const { page, errors } = await watched(s);
  await loaded(page);
  for (const m of ['json500', 'html', 'bad202', 'reset', 'slow']) {
    mode = m;
    const got = await page.evaluate(
      () => new Promise((done) => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('segments', (l: unknown) => done([l, (window as { dataLayer?: unknown[] }).dataLayer?.length ?? 0]))),
    );
    expect([m, got]).toEqual([m, m == 'slow' ? [['late'], 1] : [[], 0]]);
  }
  // (the browser logs each 500 and reset as "Failed to load resource": its own message, not one of the snippet's)
  expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
  await page.close();
});

test('a sandboxed iframe (sandbox="allow-scripts": an opaque origin, whose beacons the collector always refuses, and storage that throws) loading the snippet: it stays silent (no request, no CORS error in the console), the frame\'s own script keeps running', async () => {
  const s = await serve({
    '/': doc('', `<iframe sandbox="allow-scripts" src="/inner"></iframe><script>window.msgs = []; addEventListener('message', (e) => msgs.push(e.data));</script>`),
    '/inner': doc(
      `<script>window.errs = []; addEventListener('error', (e) => errs.push(String(e.message))); addEventListener('unhandledrejection', (e) => errs.push(String(e.reason)));</script><script defer ${tagOf()}></script>`,
      `<a id="pdf" href="/f.pdf" onclick="return false">pdf</a><script>addEventListener('load', () => setTimeout(() => { funnelbeam('track', 'in_frame'); funnelbeam('visitorId', (v) => (window.id = String(v))); document.getElementById('pdf').dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true })); history.pushState({}, '', '/inner/2'); setTimeout(() => parent.postMessage({ errs, id, loaded: !!(window.funnelbeam && funnelbeam.l) }, '*'), 800); }, 100));</script>`,
    ),
  });
  const sent: string[] = [];
  const { page, errors } = await watched(s);
  page.on('request', (r) => r.url().startsWith(sites.collector.url) && !r.url().endsWith('/s.js') && sent.push(r.url()));
  await page.waitForFunction(() => (window as { msgs?: unknown[] }).msgs?.length);
  expect(await page.evaluate(() => (window as { msgs?: unknown[] }).msgs)).toEqual([{ errs: [], id: 'undefined', loaded: true }]);
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { value: true, configurable: true });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  });
  await page.waitForTimeout(300);
  expect(sent).toEqual([]);
  expect(errors).toEqual([]);
  expect(await settled(s, 0)).toEqual([]);
  await page.close();
});

test('the tag twice with two different site keys: the first copy runs alone (its key gets everything), the second does nothing and throws nothing', async () => {
  const other = await createSite(sites.collector.running.db, { domain: '127.0.0.1' });
  const s = await serve({ '/': doc(`<script defer ${tagOf()}></script><script defer ${tagOf('', other.siteKey).replace('s.js', 's.js?b')}></script>`, `<script>${STUB}funnelbeam('track','twice')</script>`) });
  const { page, errors } = await watched(s);
  await loaded(page);
  await waitFor(s, (r) => r.some((e) => e.name == 'twice'));
  const rows = (await settled(s)).filter((r) => r.name != 'engagement');
  expect(rows.map((r) => r.name)).toEqual(['pageview', 'twice']);
  const otherRows = await sites.collector.running.db.all<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE site_id = ?', [other.siteId]);
  expect(Number(otherRows[0].n)).toBe(0);
  expect(errors).toEqual([]);
  await page.close();
});

test('a page that swaps document.body (an SPA re-render) keeps being tracked: a download in the new body is stored', async () => {
  const s = await serve({
    '/': doc(`<script defer ${tagOf()}></script>`, `<p>old</p>`),
  });
  const { page, errors } = await watched(s);
  await loaded(page);
  await page.evaluate(() => {
    const b = document.createElement('body');
    b.innerHTML = '<a id="pdf" href="/report.pdf" onclick="return false">report</a>';
    document.body = b;
  });
  await page.evaluate(() => document.getElementById('pdf')!.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true })));
  await waitFor(s, (r) => r.some((e) => e.name == 'download'));
  expect(errors).toEqual([]);
  await page.close();
});

test('storage cleared by another tab while the page runs (a "clear site data" script, localStorage.clear()): later events are stored with the same visitor', async () => {
  const s = await serve({ '/': doc(`<script defer ${tagOf()}></script>`), '/other': doc('', '<p>other tab</p>') });
  const { page, errors } = await watched(s);
  await loaded(page);
  await waitFor(s, (r) => r.length > 0);
  const other = await sites.browser.newPage();
  await other.goto(s.origin + '/other');
  await other.evaluate(() => localStorage.clear());
  await page.evaluate(() => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('track', 'after_clear'));
  await waitFor(s, (r) => r.some((e) => e.name == 'after_clear'));
  const rows = (await settled(s)).filter((r) => r.name != 'engagement');
  expect(rows.map((r) => r.name)).toEqual(['pageview', 'after_clear']);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  expect(errors).toEqual([]);
  await other.close();
  await page.close();
});

// Known gap, not fixed: document.open() erases every listener of the window and the document (HTML spec), so after a
// page rewrites itself that way clicks, submits and SPA views are no longer seen (commands still work). Wrapping
// document.open to wire the listeners again costs 27 B gzip. Flip to test() to check a fix.
test.skip('a page that rewrites itself with document.open() after load: nothing throws, clicks are still seen, the API works', async () => {
  const s = await serve({ '/': doc(`<script defer ${tagOf()}></script>`, `<p>old</p>`) });
  const { page, errors } = await watched(s);
  await loaded(page);
  await page.evaluate(() => {
    document.open();
    document.write('<!doctype html><body><a id="pdf" href="/report.pdf" onclick="return false">report</a><script>window.rewritten = 1<\/script></body>');
    document.close();
  });
  await page.evaluate(() => document.getElementById('pdf')!.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true })));
  await page.evaluate(() => (window as unknown as { funnelbeam: (...a: unknown[]) => void }).funnelbeam('track', 'after_open'));
  await waitFor(s, (r) => r.some((e) => e.name == 'after_open'));
  const rows = (await settled(s)).filter((r) => r.name != 'engagement');
  expect(await page.evaluate(() => (window as { rewritten?: number }).rewritten)).toBe(1);
  expect(rows.map((r) => r.name)).toEqual(['pageview', 'download', 'after_open']);
  expect(errors).toEqual([]);
  await page.close();
});

test('an automated browser (navigator.webdriver) on a real host name, not localhost: nothing is sent without data-local, and the page works; with data-local it sends', async () => {
  // a browser of its own that resolves a real-looking host name to this machine, so that only webdriver is in play
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP www.hostile.test 127.0.0.1'],
  });
  try {
    const site = await createSite(sites.collector.running.db, { domain: 'www.hostile.test' });
    const tag = (local: string) => `src="${sites.collector.url}/s.js" data-site="${site.siteKey}" ${local}`;
    const s = await serve({
      '/plain': doc(`<script defer ${tag('')}></script>`, `<script>${STUB}funnelbeam('track', 'plain'); window.pageOk = 1</script>`),
      '/local': doc(`<script defer ${tag('data-local')}></script>`, `<script>${STUB}funnelbeam('track', 'local')</script>`),
    });
    const page = await browser.newPage({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36' });
    const errors: string[] = [];
    const sent: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => r.url().startsWith(sites.collector.url) && !r.url().endsWith('/s.js') && sent.push(r.url()));
    await page.goto(`http://www.hostile.test:${s.port}/plain`);
    await loaded(page);
    expect(await page.evaluate(() => [navigator.webdriver, location.hostname, (window as { pageOk?: number }).pageOk])).toEqual([true, 'www.hostile.test', 1]);
    await page.waitForTimeout(700);
    expect([sent, await page.evaluate(() => Object.keys(localStorage))]).toEqual([[], []]);
    await page.goto(`http://www.hostile.test:${s.port}/local`);
    await loaded(page);
    const count = async () => Number((await sites.collector.running.db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND name = 'local'`, [site.siteId]))[0].n);
    for (let i = 0; i < 50 && !(await count()); i++) await page.waitForTimeout(100);
    expect(await count()).toBe(1);
    const plain = await sites.collector.running.db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND url LIKE '%/plain'`, [site.siteId]);
    expect(Number(plain[0].n)).toBe(0);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }
});
