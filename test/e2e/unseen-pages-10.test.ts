// Tenth round of pages the snippet had not seen: a visitor arriving from a Google search result (also through a
// text fragment on a hash-routed site), an old theme whose <head> holds <base target="_blank"> (every link opens a tab),
// a cookie banner that blocks the tag as type="text/plain" and swaps in a runnable copy on consent (Cookiebot's
// auto-blocking, Klaro, Complianz; also after an SPA route), a form page guarding unsaved input with a beforeunload
// prompt the visitor answers "Stay", a split-URL A/B test redirecting in <head>, a single-page app left in the
// background past 30 minutes, campaign values as links encode them, a form sent by a dispatched submit event, in
// headless Chromium against the real collector. The expected events are worked out by hand from the contract (§2–§4)
// and the README before each run.
import { expect, test } from 'vitest';
import type { StoredRow } from '../helpers/browser.js';
import { file, loaded, setHidden, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, serve, waitFor, settled, openLoaded: open } = sites;

const views = (rows: StoredRow[]) => named(rows, 'pageview').map(path);
const forms = (rows: StoredRow[]) => rows.filter((r) => r.form).map((r) => [r.name, r.email]);
const linkUrl = (r: StoredRow) => (r.props as { url?: string } | null)?.url?.replace(/:\d+/, ':PORT') ?? null;

test('a visitor from a Google search result (no campaign, the referrer https://www.google.com/ as Google sends it): the landing view carries that referrer and first touch, and a page loaded after it and a demo booked there keep Google as the first touch, with the landing page as their own referrer', async () => {
  const s = await site({
    '/blog/lead-scoring': { body: '<a id="demo" href="/demo">Book a demo</a>' },
    '/demo': {
      body: `<form id="book" data-funnelbeam="demo" onsubmit="event.preventDefault(); this.replaceWith('Thanks!')">
        <input type="email" name="email" value="ana@buyer.example" required><button id="send">Book</button></form>`,
    },
  });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/blog/lead-scoring', { referer: 'https://www.google.com/' });
  await loaded(page);
  expect(await page.evaluate(() => document.referrer)).toBe('https://www.google.com/');
  await page.click('#demo');
  await page.waitForURL('**/demo');
  await loaded(page);
  await page.click('#send');
  await waitFor(s, (r) => named(r, 'demo_request').length == 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.referrer.replace(s.origin, '')])).toEqual([
    ['pageview', '/blog/lead-scoring', 'https://www.google.com/'],
    ['pageview', '/demo', '/blog/lead-scoring'],
    ['demo_request', '/demo', '/blog/lead-scoring'],
  ]);
  expect(forms(rows)).toEqual([['demo_request', 'ana@buyer.example']]);
  // no campaign: nothing invented from the search referrer
  expect(rows.map((r) => [r.utm_source, r.utm_medium, r.utm_campaign, r.click_id])).toEqual(Array(3).fill([null, null, null, null]));
  // the touch is stored on the event that opened the session (the collector keeps it once per session)
  // README (Ingest): Google counts as search
  expect(rows[0].first_touch).toMatchObject({ ref: 'https://www.google.com/', channel: 'organic_search', url: s.origin + '/blog/lead-scoring' });
  expect(rows.slice(1).map((r) => r.first_touch)).toEqual([null, null]);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  await page.close();
});

test('an old theme whose <head> holds <base target="_blank"> (every link opens a tab): a price list is one download, a partner link one outbound, an internal link one view in its new tab with the first page as referrer, and the first page counts no second view', async () => {
  const partner = await serve({ '/elsewhere/partner': '<!doctype html><title>partner</title>partner' });
  const s = await site(
    {
      '/': {
        head: '<base target="_blank">',
        body: `<a id="prices" href="/files/price-list.pdf">Price list</a>
          <a id="partner" href="${partner.origin.replace('127.0.0.1', 'localhost')}/elsewhere/partner">Our partner</a>
          <a id="about" href="/about">About us</a>`,
      },
      '/about': { head: '<base target="_blank">', body: '<p>about</p>' },
    },
    { '/files/price-list.pdf': file },
  );
  const page = await open(s);
  await page.click('#prices');
  await page.click('#partner');
  await page.click('#about');
  await waitFor(s, (r) => views(r).length >= 2 && named(r, 'download').length >= 1 && named(r, 'outbound').length >= 1);
  const rows = noEngagement(await settled(s));
  const first = rows.filter((r) => path(r) == '/');
  expect(first.map((r) => [r.name, linkUrl(r)])).toEqual([
    ['pageview', null],
    ['download', 'http://127.0.0.1:PORT/files/price-list.pdf'],
    ['outbound', 'http://localhost:PORT/elsewhere/partner'],
  ]);
  expect(rows.filter((r) => path(r) == '/about').map((r) => [r.name, r.referrer])).toEqual([['pageview', s.origin + '/']]);
  expect(views(rows).sort()).toEqual(['/', '/about']);
  for (const tab of sites.browser.pages()) if (tab.url().startsWith(s.origin + '/about')) await tab.close();
  await page.close();
});

test('a cookie banner that blocks the tag (type="text/plain" data-cookieconsent="statistics", Cookiebot\'s auto-blocking; Klaro and Complianz do the same) and on "Accept" swaps in a runnable copy with every attribute: nothing is stored before, then one view of the landing page with its campaign (stripped from the address bar by the site meanwhile), and a newsletter sent after it', async () => {
  const campaign = 'utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm-q4&li_fat_id=abc-123';
  const tag = sites.tagOf();
  const s = await serve({
    '/landing': `<!doctype html><html><head><meta charset="utf-8"><title>landing</title>
      <script type="text/plain" data-cookieconsent="statistics" ${tag}></script>
      <script>history.replaceState(null, '', location.pathname);</script></head>
      <body><div id="banner">We use cookies <button id="accept">Accept all</button></div>
      <form id="news" data-funnelbeam="newsletter" onsubmit="event.preventDefault(); this.innerHTML = 'Subscribed'">
        <input type="email" name="email" value="lee@prospect.example" required><button id="join">Join</button></form>
      <script>document.getElementById('accept').onclick = () => {
        document.getElementById('banner').remove();
        for (const blocked of document.querySelectorAll('script[type="text/plain"][data-cookieconsent]')) {
          const run = document.createElement('script');
          for (const a of blocked.attributes) if (a.name != 'type') run.setAttribute(a.name, a.value);
          run.type = 'text/javascript';
          blocked.replaceWith(run);
        }
      };</script></body></html>`,
  });
  const page = await sites.browser.newPage();
  await page.goto(`${s.origin}/landing?${campaign}`);
  expect(await page.evaluate(() => location.search)).toBe('');
  expect(await page.evaluate(() => typeof (window as { funnelbeam?: unknown }).funnelbeam)).toBe('undefined');
  await page.click('#accept');
  await loaded(page);
  await page.click('#join');
  await waitFor(s, (r) => views(r).length == 1 && named(r, 'newsletter_signup').length == 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => r.name)).toEqual(['pageview', 'newsletter_signup']);
  expect(forms(rows)).toEqual([['newsletter_signup', 'lee@prospect.example']]);
  expect(rows.map((r) => [r.utm_source, r.utm_medium, r.utm_campaign, r.click_id])).toEqual(Array(2).fill(['linkedin', 'paid_social', 'abm-q4', 'li_fat_id']));
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'linkedin', li_fat_id: 'abc-123' });
  await page.close();
});

test('a form page that guards typed input with a beforeunload prompt: an outbound link clicked, the visitor answers "Stay", then sends the form: one outbound (counted at the click, contract §3), one form_submit, one view, and the page still works', async () => {
  const s = await site({
    '/contact': {
      body: `<a id="docs" href="http://localhost:1/elsewhere/docs">Docs</a>
        <form id="contact" onsubmit="event.preventDefault(); dirty = false; this.replaceWith('We will be in touch')">
          <input type="email" name="email" required><textarea name="message"></textarea><button id="send">Send</button></form>
        <script>var dirty = false; document.getElementById('contact').addEventListener('input', () => (dirty = true));
          addEventListener('beforeunload', (e) => { if (dirty) { e.preventDefault(); e.returnValue = ''; } });</script>`,
    },
  });
  const page = await open(s, '/contact');
  await page.fill('input[name=email]', 'kim@lead.example');
  await page.fill('textarea', 'Pricing for 40 seats?');
  const prompted = new Promise<string>((resolve) => page.once('dialog', (d) => (resolve(d.type()), void d.dismiss())));
  await page.click('#docs', { noWaitAfter: true });
  expect(await prompted).toBe('beforeunload');
  expect(path({ url: page.url() } as StoredRow)).toBe('/contact');
  await page.click('#send');
  await waitFor(s, (r) => named(r, 'form_submit').length == 1 && named(r, 'outbound').length >= 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, linkUrl(r)])).toEqual([
    ['pageview', null],
    ['outbound', 'http://localhost:PORT/elsewhere/docs'],
    ['form_submit', null],
  ]);
  expect(forms(rows)).toEqual([['form_submit', 'kim@lead.example']]);
  expect(JSON.stringify(rows)).not.toContain('40 seats');
  await page.close();
});

test('a split-URL A/B test (VWO, Optimizely: a synchronous script high in <head> sends half the visitors on with location.replace, keeping the query) from a Google Ads click and from a Google search: the original page is no view, the variant is the landing view with the campaign, and its referrer (the site\'s own page, as the browser sends it) is not an outside referral', async () => {
  const split = `<script>location.replace('/pricing-b' + location.search + location.hash)</script>`;
  const s = await site({
    '/pricing': { head: split, body: '<p>A</p>' },
    '/pricing-b': { body: '<p>B</p>' },
  });
  const campaign = 'utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0-ads';
  const page = await sites.browser.newPage();
  await page.goto(`${s.origin}/pricing?${campaign}`, { referer: 'https://www.google.com/' });
  await page.waitForURL('**/pricing-b?*');
  await loaded(page);
  await waitFor(s, (r) => views(r).length >= 1);
  let rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source, r.utm_medium, r.utm_campaign, r.click_id])).toEqual([
    ['pageview', `/pricing-b?${campaign}`, 'google', 'cpc', 'brand', 'gclid'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'google', gclid: 'Cj0-ads' });
  expect((rows[0].first_touch as { channel?: string }).channel).toBe('paid_search');
  expect(rows[0].referrer).toBe(`${s.origin}/pricing?${campaign}`);
  await page.close();

  // a search visitor (no campaign) on a fresh profile: Google's referrer went to the original page, which never ran
  // the snippet; the variant's referrer is the site itself, which must not make the visit a referral from the site
  const other = await sites.browser.browser()!.newContext();
  try {
    const organic = await other.newPage();
    await organic.goto(`${s.origin}/pricing`, { referer: 'https://www.google.com/' });
    await organic.waitForURL('**/pricing-b');
    await loaded(organic);
    await waitFor(s, (r) => views(r).length >= 2);
    rows = noEngagement(await settled(s)).slice(1);
    expect(rows.map((r) => [r.name, path(r), r.referrer])).toEqual([['pageview', '/pricing-b', s.origin + '/pricing']]);
    expect((rows[0].first_touch as { channel?: string }).channel).not.toBe('referral');
  } finally {
    await other.close();
  }
});

test('the same blocked tag swapped in by the banner only after the visitor moved on inside a single-page app (a pushState to /pricing, then "Accept"): one view, of the page shown, with the landing campaign; a later route is a view too', async () => {
  const campaign = 'utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm-q4';
  const s = await serve({
    '/landing': `<!doctype html><html><head><meta charset="utf-8"><title>app</title>
      <script type="text/plain" data-cookieconsent="statistics" ${sites.tagOf()}></script></head>
      <body><button id="accept">Accept all</button>
      <script>document.getElementById('accept').onclick = () => {
        for (const blocked of document.querySelectorAll('script[type="text/plain"][data-cookieconsent]')) {
          const run = document.createElement('script');
          for (const a of blocked.attributes) if (a.name != 'type') run.setAttribute(a.name, a.value);
          blocked.replaceWith(run);
        }
      };</script></body></html>`,
  });
  const page = await sites.browser.newPage();
  await page.goto(`${s.origin}/landing?${campaign}`);
  await page.evaluate(() => history.pushState({}, '', '/pricing'));
  await page.click('#accept');
  await loaded(page);
  await page.evaluate(() => history.pushState({}, '', '/demo'));
  await waitFor(s, (r) => views(r).length >= 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source, r.utm_campaign])).toEqual([
    ['pageview', '/pricing', 'linkedin', 'abm-q4'],
    ['pageview', '/demo', 'linkedin', 'abm-q4'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'linkedin', url: `${s.origin}/landing?${campaign}` });
  await page.close();
});

test('a long single-page-app visit from a campaign: the tab left in the background for 31 minutes (on the page\'s clock), then a client-side route: README ends the session touch after 30 minutes without activity, so that view opens a second session, without the campaign; the first touch stays', async () => {
  const campaign = 'utm_source=newsletter&utm_medium=email&utm_campaign=webinar';
  const s = await site({ '/app': { body: '<p>dashboard</p>' } });
  const page = await sites.browser.newPage();
  await page.clock.install();
  await page.goto(`${s.origin}/app?${campaign}`);
  await loaded(page);
  await page.evaluate(() => history.pushState({}, '', '/app/reports'));
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => views(r).length == 2);
  await setHidden(page, true);
  // the hide beacon (time seen on /app/reports) is sent before the clock moves on, and stored before the route's fetch
  // (which resends it) in every run seen: waited for, so each run judges that order (the other order, and where the
  // route's view lands on the collector's clock, are judged in test/ingest/hidden-tab-device-clock.test.ts)
  await waitFor(s, (r) => named(r, 'engagement').some((x) => path(x) == '/app/reports'));
  await page.clock.runFor(31 * 60_000);
  await setHidden(page, false);
  await page.evaluate(() => history.pushState({}, '', '/app/pricing'));
  await page.clock.runFor(1_000);
  await waitFor(s, (r) => views(r).length == 3);
  const rows = named(await settled(s), 'pageview');
  // (sorted by path: the collector places each event in time by the device clock, which jumped 31 minutes; on the
  // collector's clock the route's view may land before, among or after the first session's views, which all ran within
  // a second: the device clock's 31 idle minutes open its session wherever it lands)
  expect(rows.map((r) => [path(r), r.utm_source, r.utm_campaign]).sort()).toEqual([
    ['/app/pricing', null, null],
    ['/app/reports', 'newsletter', 'webinar'],
    [`/app?${campaign}`, 'newsletter', 'webinar'],
  ]);
  const sessions = await sites.collector.running.db.all<{ path: string; session_id: string }>(
    "SELECT path, session_id FROM events WHERE site_id = ? AND visitor_id = ? AND name = 'pageview'",
    [sites.collector.site.siteId, rows[0].visitor_id],
  );
  const session = Object.fromEntries(sessions.map((x) => [x.path, x.session_id]));
  expect(session['/app/reports']).toBe(session['/app']);
  expect(session['/app/pricing']).not.toBe(session['/app']);
  expect(new Set(sessions.map((x) => x.session_id)).size).toBe(2);
  // the hide beacon's engagement (time already spent on /app/reports) stays in the first session, gluing nothing
  const hidden = await sites.collector.running.db.all<{ session_id: string }>(
    "SELECT session_id FROM events WHERE site_id = ? AND visitor_id = ? AND name = 'engagement' AND path = '/app/reports'",
    [sites.collector.site.siteId, rows[0].visitor_id],
  );
  expect(hidden.map((x) => x.session_id)).toContain(session['/app']);
  await page.close();
});

test('campaign values as ad platforms and marketers encode them (a space as + and as %20, an en dash and an ampersand escaped, a stray % in "50%off" that is no escape): the view and a later download are stored with the values as the visitor\'s link meant them', async () => {
  const query = 'utm_source=linkedin&utm_medium=paid%20social&utm_campaign=Q4+ABM+%E2%80%93+R%26D&utm_content=50%off';
  const s = await site({ '/offer': { body: '<a id="deck" href="/files/deck.pdf">deck</a>' } }, { '/files/deck.pdf': file });
  const page = await open(s, `/offer?${query}`);
  await page.click('#deck');
  await waitFor(s, (r) => named(r, 'download').length == 1);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.utm_source, r.utm_medium, r.utm_campaign])).toEqual([
    ['pageview', 'linkedin', 'paid social', 'Q4 ABM – R&D'],
    ['download', 'linkedin', 'paid social', 'Q4 ABM – R&D'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ utm_content: '50%off', utm_campaign: 'Q4 ABM – R&D' });
  await page.close();
});

test('a Google result that scrolls to the quoted text (a text fragment, #:~:text=…) on a hash-routed docs site (data-hash): one view of the page, no view for the fragment, the referrer Google', async () => {
  const s = await site({ '/docs/setup': { attrs: 'data-hash', body: '<p style="margin-top: 3000px">install the snippet in the head of every page</p>' } });
  const page = await sites.browser.newPage();
  await page.goto(`${s.origin}/docs/setup#:~:text=install%20the%20snippet`, { referer: 'https://www.google.com/' });
  await loaded(page);
  await page.evaluate(() => history.pushState({}, '', '#/guides/forms'));
  await waitFor(s, (r) => views(r).length >= 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.referrer.replace(s.origin, '')])).toEqual([
    ['pageview', '/docs/setup', 'https://www.google.com/'],
    ['pageview', '/docs/setup#/guides/forms', '/docs/setup'],
  ]);
  await page.close();
});

test('a form a site sends by dispatching its own submit event (new Event("submit", { bubbles: true, cancelable: true }), the usual way to reach a React onSubmit from Ctrl+Enter in a textarea), its handler posting by fetch: one form_submit with the address', async () => {
  const s = await site(
    {
      '/contact': {
        body: `<form id="ask" onsubmit="event.preventDefault(); fetch('/send', { method: 'POST', body: new FormData(this) }).then(() => (document.getElementById('done').textContent = 'sent'))">
            <input type="email" name="email" value="pat@lead.example" required><textarea id="msg" name="message">Hello</textarea><button>Send</button></form><p id="done"></p>
          <script>document.getElementById('msg').addEventListener('keydown', (e) => {
            if (e.key == 'Enter' && e.ctrlKey) { e.preventDefault(); document.getElementById('ask').dispatchEvent(new Event('submit', { bubbles: true, cancelable: true })); }
          });</script>`,
      },
    },
    { '/send': (req, res) => (req.resume(), req.on('end', () => res.writeHead(200).end('ok'))) },
  );
  const page = await open(s, '/contact');
  await page.focus('#msg');
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => document.getElementById('done')!.textContent == 'sent');
  await waitFor(s, (r) => r.some((x) => x.form));
  const rows = noEngagement(await settled(s));
  expect(forms(rows)).toEqual([['form_submit', 'pat@lead.example']]);
  expect(JSON.stringify(rows)).not.toContain('Hello');
  await page.close();
});
