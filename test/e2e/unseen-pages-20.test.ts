// Twentieth round of pages the snippet had not seen, on routers, the page's life and the JavaScript API: a router built
// on the Navigation API driven by the visitor's own links and forms (a link to the page shown, a query, back and
// traverseTo(), an intercepted reload, an auth guard that redirects before the URL commits with a precommitHandler, a
// search form sent through the router); the JavaScript API called before the tag loads on a fresh visitor (props of
// every type, wrong arguments, identify without an address, visitorId and segments callbacks, funnelbeam('page') for
// the steps of a calculator at one address); history.go() over several entries across hash routes, anchors, path routes and
// query pushes; a beforeunload prompt answered "Leave"; a reading report tracked from the page's own visibilitychange
// listener as the visitor leaves for good; an SPA tab frozen and resumed in the background. In headless Chromium
// against the real collector; the expected events are worked out by hand from the contract (§2–§4) and the README
// before each run.
import { expect, test } from 'vitest';
import type { StoredRow } from '../helpers/browser.js';
import { STUB, loaded, named, noEngagement, pathOf as path, setHidden, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, waitFor, settled, openLoaded: open } = sites;

const views = (rows: StoredRow[]) => named(rows, 'pageview').map(path);

// Contract §3: a view per pushState, replaceState that changes the path, popstate; README: where the Navigation API
// exists, "every same-document navigation counts too, so a router that … intercepts navigations is still seen", and a
// navigation counts "when the path or the query changed". A router that intercepts every navigation of the page (as
// routers built on the Navigation API do), the visitor using its links, its search form and back:
// - /app (landing), a link to /app/reports (a view), the same link clicked again (the page shown: the browser makes it
//   a replace; no view), a link to ?range=30d (a new query: a view), back (a view of /app/reports again), the app
//   refreshing its data with navigation.reload() (the same entry: no view), traverseTo() the first entry (a view of
//   /app);
// - an auth guard: /account redirected to /login by a precommitHandler, before the URL commits: the visitor only ever
//   saw /login, one view, whose referrer is /app (the view before it; /account was never shown);
// - the router's search form (GET, no email field: no form event) sent through the router: a view of /search?q=crm.
test('a router built on the Navigation API, driven by links, back, traverseTo(), reload(), a precommit redirect and a GET form: one view per address shown, none for the page shown again or refreshed', async () => {
  const router = `<script>navigation.addEventListener('navigate', (e) => {
    if (!e.canIntercept || e.hashChange || e.downloadRequest) return;
    const to = new URL(e.destination.url);
    const render = async () => { document.querySelector('h1').textContent = to.pathname + to.search; };
    if (to.pathname == '/account') e.intercept({ precommitHandler: (c) => c.redirect('/login'), handler: render });
    else e.intercept({ handler: render });
  });</script>`;
  const s = await site({
    '*': {
      head: router,
      body: `<h1>app</h1><a id="reports" href="/app/reports">Reports</a> <a id="range" href="/app/reports?range=30d">Last 30 days</a>
        <a id="account" href="/account">Account</a>
        <form id="search" action="/search"><input name="q"><button>Search</button></form>`,
    },
  });
  const page = await open(s, '/app');
  const nav = (code: string) => page.evaluate(`navigation.${code}.finished.then(() => location.pathname + location.search)`);
  await page.click('#reports');
  await page.waitForURL('**/app/reports');
  await page.click('#reports');
  await page.click('#range');
  await page.waitForURL('**/app/reports?range=30d');
  expect(await nav('back()')).toBe('/app/reports');
  expect(await nav('reload()')).toBe('/app/reports');
  expect(await nav('traverseTo(navigation.entries()[0].key)')).toBe('/app');
  await page.click('#account');
  await page.waitForURL('**/login');
  await page.fill('#search input', 'crm');
  await page.click('#search button');
  await page.waitForURL('**/search?q=crm');
  await waitFor(s, (r) => views(r).length >= 7);
  const rows = noEngagement(await settled(s, 400));
  expect(views(rows)).toEqual(['/app', '/app/reports', '/app/reports?range=30d', '/app/reports', '/app', '/login', '/search?q=crm']);
  const login = named(rows, 'pageview').find((r) => path(r) == '/login')!;
  expect(login.referrer).toBe(s.origin + '/app');
  expect(rows.filter((r) => r.name != 'pageview')).toEqual([]);
  await page.close();
});

// Contract §2 (the queue stub) and §4: track's props are "a flat object of strings, numbers, booleans"; README: props
// that are no object, and prop values other than strings, numbers and booleans, are dropped by the collector, the event
// kept; the snippet never throws into the page. On a fresh visitor, with every call made through the stub before the
// tag loads and again once it runs:
// - a track with values of every kind keeps its texts (the empty one too), numbers (0 and negatives too) and booleans
//   (false too); null, an object, an array, NaN and Infinity (no number a report can use) are dropped; a key left
//   undefined is no key;
// - a track whose props are a text is kept, without props;
// - calls with wrong arguments (no command, an unknown command, an upper-case one, track without a name or with a number
//   or blank name, identify with a text that is no address, visitorId and segments without a callback or
//   with a text for one) store nothing and throw nothing;
// - visitorId calls back the id the stored events carry (20 base36 characters), the same from the stub and after load;
// - segments calls back a list (a fresh visitor's) and pushes the same list to dataLayer;
// - funnelbeam('page') is "a manual pageview": a calculator that counts each of its two steps as a view at one address
//   (a virtual pageview) stores one view per call, at the page's address, its referrer that same address.
test('the JavaScript API through the stub on a fresh visitor: props of every type, wrong arguments, visitorId and segments callbacks, page() for the steps of a calculator at one address', async () => {
  const calls = `
    const answers = (window.answers = { ids: [], segments: [], threw: [] });
    const calls = () => {
      const fb = (...a) => { try { funnelbeam(...a); } catch (e) { answers.threw.push(String(e)); } };
      fb('track', 'Pricing Calculator Used', { plan: 'growth', seats: 25, price: 49.5, annual: true, trial: false, zero: 0,
        negative: -3, empty: '', missing: null, notDefined: undefined, nested: { a: 1 }, list: ['a'], nan: NaN, inf: Infinity });
      fb('track', 'Props As Text', 'pro');
      fb(); fb(null); fb({}); fb('nonsense', 1, 2); fb('TRACK', 'Upper Case');
      fb('track'); fb('track', 42); fb('track', '   ');
      fb('identify', 'not an address');
      fb('visitorId'); fb('visitorId', 'cb'); fb('segments'); fb('segments', 'cb');
      fb('visitorId', (id) => answers.ids.push(id));
      fb('segments', (list) => answers.segments.push(list));
    };`;
  const s = await site({
    '/': {
      head: `<script>${STUB}${calls} calls(); window.again = calls;</script>`,
      body: '<h1>pricing calculator</h1>',
    },
  });
  const errors: string[] = [];
  const page = await sites.browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.evaluate(() => (window as unknown as { again(): void }).again());
  await page.evaluate(() => [1, 2].forEach(() => (window as unknown as { funnelbeam(c: string): void }).funnelbeam('page')));
  type Answers = { ids: unknown[]; segments: unknown[]; threw: string[] };
  await page.waitForFunction(() => (window as unknown as { answers: Answers }).answers.segments.length >= 2);
  const answers = await page.evaluate(() => (window as unknown as { answers: Answers }).answers);
  await waitFor(s, (r) => noEngagement(r).length >= 7);
  const rows = noEngagement(await settled(s, 400));
  expect(errors).toEqual([]);
  expect(answers.threw).toEqual([]);
  expect(rows.map((r) => [r.name, path(r), r.referrer.replace(s.origin, '')])).toEqual([
    ['pageview', '/', ''],
    ['Pricing Calculator Used', '/', ''],
    ['Props As Text', '/', ''],
    ['Pricing Calculator Used', '/', ''],
    ['Props As Text', '/', ''],
    ['pageview', '/', '/'],
    ['pageview', '/', '/'],
  ]);
  const props = { plan: 'growth', seats: 25, price: 49.5, annual: true, trial: false, zero: 0, negative: -3, empty: '' };
  expect(rows.map((r) => r.props)).toEqual([null, props, null, props, null, null, null]);
  const visitor = rows[0].visitor_id;
  expect(visitor).toMatch(/^[0-9a-z]{20}$/);
  expect(new Set(rows.map((r) => r.visitor_id))).toEqual(new Set([visitor]));
  expect(answers.ids).toEqual([visitor, visitor]);
  expect(answers.segments.every(Array.isArray)).toBe(true);
  const pushed = await page.evaluate(() => ((window as unknown as { dataLayer?: { event: string; segments: unknown }[] }).dataLayer ?? []).filter((d) => d.event == 'funnelbeam_segments'));
  expect(pushed.map((d) => d.segments)).toEqual(expect.arrayContaining(answers.segments));
  await page.close();
});

// Contract §4: identify "ties this visitor, past and future, to a lead" by its email; README: identify() with a text
// that holds no address is refused by the collector. A tag manager's identify tag whose email variable is unset calls
// identify with nothing (or with traits alone, from a form callback that lost the address): there is no address to tie
// the visitor to, so, as with a text that is no address, nothing is stored; the view and a real identify later are.
test('identify() with no address at all (a tag manager variable left unset, with or without traits): nothing is stored for it, as for a text that is no address', async () => {
  const s = await site({
    '/': {
      head: `<script>${STUB}funnelbeam('identify');funnelbeam('identify', undefined, { company: 'Corp' });funnelbeam('identify', 'no address', { company: 'Corp' });</script>`,
      body: `<button id="known" onclick="funnelbeam('identify', 'ana@corp.example')">I am Ana</button>`,
    },
  });
  const page = await open(s);
  await page.click('#known');
  await waitFor(s, (r) => r.some((x) => x.email));
  const rows = noEngagement(await settled(s, 400));
  expect(rows.map((r) => [r.name, r.email])).toEqual([
    ['pageview', null],
    ['identify', 'ana@corp.example'],
  ]);
  await page.close();
});

// Contract §3: a view per pushState, popstate and, with data-hash, hashchange; README: a navigation counts "when the
// path or the query changed", a replaceState only when the path changed, an in-page anchor without data-hash is no view.
// history.go(n) jumps over several entries at once, across a hash route and a path route: one view where it lands, when
// that address differs from the one shown.
// - with data-hash: /docs, #/install (a hash route: a view), a push to /blog, go(-2) (to /docs: a view), go(2) (to
//   /blog: a view), go(-1) (to /docs#/install: a view);
// - without it: /docs, #install (an anchor: none), a search's push of /blog?page=1 at once replaced with its sort added
//   (one view, of the pushed address), a push of ?page=2 (a view), go(-3) (to /docs: a view), go(1) (to the anchor:
//   none), go(2) (to /blog?page=2: a view), go(-1) (to /blog?page=1&sort=new: a new query, a view).
test('history.go() over several entries across hash routes, anchors, path routes and query pushes (a push replaced at once): one view where each jump lands on another address', async () => {
  const body = '<h1>docs</h1><h2 id="install">Install</h2><div style="height: 3000px"></div>';
  const hashed = await site({ '*': { attrs: 'data-hash', body } });
  const plain = await site({ '*': { body } });
  const jump = async (page: Awaited<ReturnType<typeof open>>, code: string, to: string) => {
    await page.evaluate(code);
    await page.waitForURL((u) => u.href.slice(u.origin.length) == to);
  };
  const a = await open(hashed, '/docs');
  await jump(a, `location.hash = '#/install'`, '/docs#/install');
  await jump(a, `history.pushState({}, '', '/blog')`, '/blog');
  await jump(a, 'history.go(-2)', '/docs');
  await jump(a, 'history.go(2)', '/blog');
  await jump(a, 'history.go(-1)', '/docs#/install');
  const b = await open(plain, '/docs');
  await jump(b, `location.hash = '#install'`, '/docs#install');
  await jump(b, `history.pushState({}, '', '/blog?page=1'); history.replaceState({}, '', '/blog?page=1&sort=new')`, '/blog?page=1&sort=new');
  await jump(b, `history.pushState({}, '', '/blog?page=2')`, '/blog?page=2');
  await jump(b, 'history.go(-3)', '/docs');
  await jump(b, 'history.go(1)', '/docs#install');
  await jump(b, 'history.go(2)', '/blog?page=2');
  await jump(b, 'history.go(-1)', '/blog?page=1&sort=new');
  await waitFor(hashed, (r) => named(r, 'pageview').length >= 5);
  await waitFor(plain, (r) => named(r, 'pageview').length >= 5);
  const urls = (rows: StoredRow[]) => named(rows, 'pageview').map((r) => r.url.slice(r.url.indexOf('/', 8)));
  expect(urls(await settled(hashed, 400))).toEqual(['/docs', '/docs#/install', '/blog', '/docs', '/blog', '/docs#/install']);
  expect(urls(await settled(plain, 0))).toEqual(['/docs', '/blog?page=1', '/blog?page=2', '/docs', '/blog?page=2', '/blog?page=1&sort=new']);
  await a.close();
  await b.close();
});

// Contract §3: "No other field value is ever read" than a submitted form's email; a form left unsent identifies
// nobody. A contact page guards typed input with a beforeunload prompt; the visitor types an address, follows a link to
// another page of the site and answers "Leave": the contact page's view and its engagement, the next page's view (its
// referrer the contact page), and nothing of the typed address.
test('a form page guarding typed input with a beforeunload prompt, the visitor typing an address and answering "Leave": the next page is a view, the contact page has its engagement, and the unsent address is nowhere', async () => {
  const s = await site({
    '/contact': {
      body: `<a id="pricing" href="/pricing">Pricing</a>
        <form id="contact" method="post" action="/thanks"><input type="email" name="email" required><button>Send</button></form>
        <script>var dirty = false; document.getElementById('contact').addEventListener('input', () => (dirty = true));
          addEventListener('beforeunload', (e) => { if (dirty) { e.preventDefault(); e.returnValue = ''; } });</script>`,
    },
    '/pricing': { body: '<h1>pricing</h1>' },
  });
  const page = await sites.browser.newPage();
  await page.clock.install();
  await page.goto(s.origin + '/contact');
  await loaded(page);
  await page.fill('input[name=email]', 'lee@prospect.example');
  await page.clock.runFor(3_000);
  const prompted = new Promise<string>((resolve) => page.once('dialog', (d) => (resolve(d.type()), void d.accept())));
  await Promise.all([page.waitForURL('**/pricing'), page.click('#pricing', { noWaitAfter: true })]);
  expect(await prompted).toBe('beforeunload');
  await loaded(page);
  await waitFor(s, (r) => named(r, 'pageview').length >= 2 && named(r, 'engagement').length >= 1);
  const rows = await settled(s, 400);
  expect(rows.map((r) => [r.name, path(r), r.referrer.replace(s.origin, '')])).toEqual([
    ['pageview', '/contact', ''],
    ['engagement', '/contact', ''],
    ['pageview', '/pricing', '/contact'],
  ]);
  expect((named(rows, 'engagement')[0].props as { seconds: number }).seconds).toBeGreaterThanOrEqual(3);
  expect(JSON.stringify(rows)).not.toContain('prospect.example');
  await page.close();
});

// Contract §4: the snippet sends "with sendBeacon falling back to fetch keepalive"; README: "When the page is hidden or
// left, the whole outbox goes by sendBeacon". The Page Lifecycle guidance (web.dev) has pages report the end of a visit
// from their own visibilitychange listener when the page turns hidden, the last event a page reliably gets: a reading
// report tracked there, as the visitor follows a link to another site or closes the tab and never comes back, is an
// event of the page being left, and leaves with it. Two sites (each its own storage, so no later page of the site
// sends what the first one kept): the report is stored for each.
test('a reading report tracked from the page\'s own visibilitychange listener as the page turns hidden, the visitor leaving for another site or closing the tab for good: the report is stored', async () => {
  const away = await sites.serve({ '/elsewhere': '<!doctype html><p>partner</p>' });
  const article = {
    body: `<a id="out" href="${away.origin}/elsewhere">Our partner</a><article>a long read</article>
      <script>document.addEventListener('visibilitychange', () => {
        if (document.visibilityState == 'hidden') funnelbeam('track', 'Article Read', { percent: 60 });
      });</script>`,
  };
  const left = await site({ '/article': article });
  const closed = await site({ '/article': article });
  const a = await open(left, '/article');
  await waitFor(left, (r) => views(r).length == 1);
  await a.click('#out');
  await a.waitForURL('**/elsewhere');
  const b = await open(closed, '/article');
  await waitFor(closed, (r) => views(r).length == 1);
  await b.close({ runBeforeUnload: true });
  const reports = (rows: StoredRow[]) => named(rows, 'Article Read').map((r) => [path(r), r.props]);
  const read = async (s: typeof left) => reports(await waitFor(s, (r) => reports(r).length > 0, 3_000).catch(() => settled(s, 0)));
  expect(await read(left)).toEqual([['/article', { percent: 60 }]]);
  expect(await read(closed)).toEqual([['/article', { percent: 60 }]]);
  await a.close();
});

// README: "Engaged seconds are the page's visible time: each visible stretch is added unrounded", and each view's
// engagement is sent before the next SPA view. Chrome's page lifecycle freezes a tab that stays in the background (a
// freeze event once it is hidden) and resumes it (resume, then visible again): that time is not visible. 5 s on /, the
// tab switched away for 10 minutes (frozen, resumed), 2 s more on /, a route to /guide, 3 s there, hidden: / 7 s
// (5 + 2), /guide 3 s; the views / and /guide.
test('an SPA tab switched away, frozen and resumed as Chrome\'s page lifecycle does, then routed: the first view\'s seconds join across the frozen stretch, the route gets its own', async () => {
  const s = await site({ '*': { body: '<h1>guide</h1>' } });
  const page = await sites.browser.newPage();
  await page.clock.install();
  await page.goto(s.origin + '/');
  await loaded(page);
  await page.clock.runFor(5_000);
  await setHidden(page, true);
  await page.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await page.clock.runFor(600_000);
  await page.evaluate(() => document.dispatchEvent(new Event('resume')));
  await setHidden(page, false);
  await page.clock.runFor(2_000);
  await page.evaluate(() => history.pushState({}, '', '/guide'));
  await page.clock.runFor(3_000);
  await setHidden(page, true);
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => named(r, 'engagement').length >= 3);
  const rows = await settled(s, 400);
  // (sorted: the collector places events by the device clock, corrected by its distance from the collector's at each
  // send, which the fake clock's ten-minute jump in a second of real time upsets; the first engagement is sent when the
  // tab is switched away, the rest of / at the route)
  expect(views(rows).sort()).toEqual(['/', '/guide']);
  const seconds = named(rows, 'engagement').map((r) => `${path(r)} ${(r.props as { seconds: number }).seconds}`);
  expect(seconds.sort()).toEqual(['/ 2', '/ 5', '/guide 3']);
  await page.close();
});
