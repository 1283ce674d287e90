// The snippet in headless Chromium against the real collector: what visitors do is what gets stored.
import { expect, test } from 'vitest';
import { named, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, of, waitFor, open } = sites;

test('a page load stores one pageview with the page URL and referrer', async () => {
  const s = await site({ '/': { body: '<a id="go" href="/pricing">pricing</a>' }, '/pricing': {} });
  const page = await open(s);
  await page.click('#go');
  const rows = await waitFor(s, (r) => named(r, 'pageview').length == 2);
  expect(named(rows, 'pageview').map((r) => [path(r), r.referrer])).toEqual([
    ['/', ''],
    ['/pricing', s.origin + '/'],
  ]);
  expect(rows[0].is_bot).toBe(0);
  await page.close();
});

test('SPA navigation: pushState, replaceState to a new path and back are views; a query-only replaceState is not', async () => {
  const s = await site({
    '*': {
      body: `<button id="push" onclick="history.pushState({}, '', '/app/projects')">p</button>
        <button id="filter" onclick="history.replaceState({}, '', '/app/projects?sort=name')">f</button>
        <button id="replace" onclick="history.replaceState({}, '', '/app/settings')">r</button>`,
    },
  });
  const page = await open(s, '/app');
  await page.click('#push');
  await page.click('#filter');
  await page.click('#replace');
  await page.goBack();
  const rows = await waitFor(s, (r) => named(r, 'pageview').length >= 4);
  await page.waitForTimeout(400);
  expect(named(of(s)(await sites.collector.events()), 'pageview').map(path)).toEqual(['/app', '/app/projects', '/app/settings', '/app']);
  expect(rows.length).toBeGreaterThan(0);
  await page.close();
});

test('routers the history wrapper cannot see: a pushState bound before the snippet ran, and a Navigation API intercept', async () => {
  const s = await site({
    '*': {
      // this inline script runs before the deferred snippet, so the router holds the original pushState
      head: `<script>
        const push = history.pushState.bind(history);
        addEventListener('click', (e) => {
          const a = e.target.closest('a.route');
          if (a) e.preventDefault(), push({}, '', a.href);
        });
        navigation.addEventListener('navigate', (e) => {
          if (new URL(e.destination.url).pathname.startsWith('/next/')) e.intercept({ handler: async () => {} });
        });
      </script>`,
      body: '<a class="route" id="bound" href="/app/bound">bound</a> <a id="intercepted" href="/next/intercepted">next</a>',
    },
  });
  const page = await open(s, '/app');
  await page.click('#bound');
  await page.click('#intercepted');
  await page.waitForURL(/\/next\/intercepted$/);
  await page.goBack();
  const rows = await waitFor(s, (r) => named(r, 'pageview').length >= 4);
  await page.waitForTimeout(400);
  expect(named(of(s)(await sites.collector.events()), 'pageview').map(path)).toEqual(['/app', '/app/bound', '/next/intercepted', '/app/bound']);
  expect(rows.length).toBeGreaterThan(0);
  await page.close();
});

test("links inside a web component's shadow root count: a download and an outbound link", async () => {
  const s = await site({
    '/': {
      body: `<x-card></x-card><script>
        customElements.define('x-card', class extends HTMLElement {
          connectedCallback() {
            this.attachShadow({ mode: 'open' }).innerHTML = '<a id="pdf" href="/files/sheet.pdf"><svg width="20" height="20"><rect id="icon" width="20" height="20"/></svg></a> <a id="out" href="http://localhost:1/elsewhere">partner</a>';
          }
        });
      </script>`,
    },
  });
  const page = await open(s);
  await page.locator('x-card #icon').click({ button: 'middle' });
  await page.locator('x-card #out').click({ button: 'middle' });
  const rows = await waitFor(s, (r) => named(r, 'download').length >= 1 && named(r, 'outbound').length >= 1);
  expect(named(rows, 'download').map((r) => r.props)).toEqual([{ url: s.origin + '/files/sheet.pdf' }]);
  expect(named(rows, 'outbound').map((r) => r.props)).toEqual([{ url: 'http://localhost:1/elsewhere' }]);
  await page.close();
});

test('hash mode: #/routes are views', async () => {
  const s = await site({ '/': { attrs: 'data-hash', body: '<a id="a" href="#/pricing">a</a><a id="b" href="#/contact">b</a>' } });
  const page = await open(s, '/#/home');
  await page.click('#a');
  await page.click('#b');
  const rows = await waitFor(s, (r) => named(r, 'pageview').length >= 3);
  expect(named(rows, 'pageview').map((r) => [path(r), r.path])).toEqual([
    ['/#/home', '/home'],
    ['/#/pricing', '/pricing'],
    ['/#/contact', '/contact'],
  ]);
  await page.close();
});

test('downloads: a listed extension in upper case with a query string, and a link with a download attribute', async () => {
  const file = (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment' }).end('file');
  const s = await site(
    { '/': { body: '<a id="pdf" href="/files/Guide.PDF?v=2">guide</a> <a id="attr" href="/export" download="data.csv">export</a> <a id="html" href="/about">about</a>' } },
    { '/files/Guide.PDF': file, '/export': file },
  );
  const page = await open(s);
  await page.click('#pdf');
  await page.click('#attr');
  const rows = await waitFor(s, (r) => named(r, 'download').length >= 2);
  expect(named(rows, 'download').map((r) => r.props)).toEqual([{ url: s.origin + '/files/Guide.PDF?v=2' }, { url: s.origin + '/export' }]);
  await page.close();
});

test('outbound: a middle-click on a link to another host', async () => {
  const s = await site({ '/': { body: '<a id="out" href="http://localhost:1/elsewhere">partner</a>' } });
  const page = await open(s);
  await page.click('#out', { button: 'middle' });
  const rows = await waitFor(s, (r) => named(r, 'outbound').length >= 1);
  expect(named(rows, 'outbound').map((r) => r.props)).toEqual([{ url: 'http://localhost:1/elsewhere' }]);
  await page.close();
});

test('forms: newsletter and demo forms store their events and identify by email; an invalid form stores nothing', async () => {
  const s = await site({
    '/': {
      body: `<form id="news" data-funnelbeam="newsletter" action="/thanks" method="post"><input type="email" name="email" required><button>join</button></form>
        <form id="bad" data-funnelbeam="demo" action="/thanks" method="post"><input type="email" name="email" required><button id="badgo">go</button></form>
        <form id="demo" data-funnelbeam="demo" action="/thanks" method="post"><input type="email" name="work_email" required>
          <input name="company" data-funnelbeam-field="company"><input type="password" name="pw" data-funnelbeam-field><input name="phone"><button>book</button></form>`,
    },
    '/thanks': {},
  });
  const page = await open(s);
  await page.click('#badgo'); // required field empty: the browser blocks the submit
  await page.fill('#news [name=email]', 'reader@example.com');
  await page.press('#news [name=email]', 'Enter');
  await page.waitForURL('**/thanks**');
  await page.goBack();
  await page.fill('#demo [name=work_email]', 'CTO@Corp.example');
  await page.fill('#demo [name=company]', 'Corp');
  await page.fill('#demo [name=pw]', 'hunter2');
  await page.fill('#demo [name=phone]', '+1 555 0100');
  await page.click('#demo button');
  await page.waitForURL('**/thanks**');
  const rows = await waitFor(s, (r) => r.filter((e) => e.form).length >= 2);
  expect(rows.filter((e) => e.form).map((r) => [r.name, r.form, r.email, r.traits])).toEqual([
    ['newsletter_signup', 'newsletter', 'reader@example.com', null],
    ['demo_request', 'demo', 'cto@corp.example', { company: 'Corp' }],
  ]);
  const stored = JSON.stringify(of(s)(await sites.collector.events()));
  expect(stored).not.toContain('hunter2');
  expect(stored).not.toContain('555 0100');
  await page.close();
});

test('forms as other sites write them: marked radio and checkbox fields send what is checked, an email known by autocomplete identifies', async () => {
  const s = await site({
    '/': {
      body: `<form id="demo" data-funnelbeam="demo" action="/thanks" method="post">
          <input autocomplete="email" id="f1" required>
          <label><input type="checkbox" name="optin" value="yes" data-funnelbeam-field="marketingOptIn"> news</label>
          <label><input type="checkbox" name="terms" value="ok" data-funnelbeam-field="terms" required> terms</label>
          <label><input type="radio" name="size" value="1-50" data-funnelbeam-field="companySize"> small</label>
          <label><input type="radio" name="size" value="51-200" data-funnelbeam-field="companySize"> mid</label>
          <label><input type="radio" name="size" value="201+" data-funnelbeam-field="companySize"> large</label>
          <button id="go"><span>Book a demo</span></button></form>`,
    },
    '/thanks': {},
  });
  const page = await open(s);
  await page.fill('#f1', 'buyer@shop.example');
  await page.check('input[name=terms]');
  await page.check('input[value="51-200"]');
  await page.click('#go span');
  await page.waitForURL('**/thanks**');
  const rows = await waitFor(s, (r) => named(r, 'demo_request').length >= 1);
  expect(named(rows, 'demo_request').map((r) => [r.form, r.email, r.traits])).toEqual([
    ['demo', 'buyer@shop.example', { terms: 'ok', companySize: '51-200' }],
  ]);
  await page.close();
});

test('a custom event with props, and identify with traits', async () => {
  const s = await site({
    '/': {
      body: `<button id="cta" onclick="funnelbeam('track', 'pricing_cta', { plan: 'team', seats: 12, annual: true })">cta</button>
        <button id="who" onclick="funnelbeam('identify', 'ana@example.com', { firstName: 'Ana', company: 'Initech' })">who</button>`,
      head: `<script>window.funnelbeam=window.funnelbeam||function(){(funnelbeam.q=funnelbeam.q||[]).push(arguments)}</script>`,
    },
  });
  const page = await open(s);
  await page.click('#cta');
  await page.click('#who');
  const rows = await waitFor(s, (r) => r.length >= 3);
  expect(rows.map((r) => [r.name, r.props, r.email, r.traits])).toEqual([
    ['pageview', null, null, null],
    ['pricing_cta', { plan: 'team', seats: 12, annual: true }, null, null],
    ['identify', null, 'ana@example.com', { firstName: 'Ana', company: 'Initech' }],
  ]);
  await page.close();
});

test('UTM parameters of the landing page are kept to a form submit three pages later', async () => {
  const s = await site({
    '/': { body: '<a id="next" href="/features">features</a>' },
    '/features': { body: '<a id="next" href="/pricing">pricing</a>' },
    '/pricing': { body: '<a id="next" href="/contact">contact</a>' },
    '/contact': { body: '<form data-funnelbeam="demo" onsubmit="event.preventDefault()"><input type="email" name="email" value="lead@example.com"><button id="send">send</button></form>' },
  });
  const page = await open(s, '/?utm_source=linkedin&utm_medium=paid&utm_campaign=q3-launch&li_fat_id=abc123');
  for (let i = 0; i < 3; i++) await Promise.all([page.waitForNavigation(), page.click('#next')]);
  await page.click('#send');
  const rows = await waitFor(s, (r) => named(r, 'demo_request').length == 1);
  const demo = named(rows, 'demo_request')[0];
  expect(path(demo)).toBe('/contact');
  expect([demo.utm_source, demo.utm_medium, demo.utm_campaign, demo.click_id]).toEqual(['linkedin', 'paid', 'q3-launch', 'li_fat_id']);
  // the first touch rides on the session's opening event and on the visitor row
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'linkedin', utm_campaign: 'q3-launch', li_fat_id: 'abc123' });
  const visitor = await sites.collector.running.db.get<{ first_touch: string }>('SELECT first_touch FROM visitors WHERE site_id = ? AND visitor_id = ?', [sites.collector.site.siteId, demo.visitor_id]);
  expect(JSON.parse(visitor!.first_touch)).toMatchObject({ utm_source: 'linkedin', utm_medium: 'paid', li_fat_id: 'abc123' });
  await page.close();
});

test('events of a click are delivered when the visitor navigates away at once', async () => {
  const s = await site({
    '/': {
      body: `<a id="out" href="http://localhost:${0}/elsewhere">partner</a>
        <button id="cta" onclick="funnelbeam('track', 'leaving_cta'); location.href = '/next'">go</button>`,
    },
    '/next': {},
  }, { '/elsewhere': '<p>elsewhere</p>' });
  // the outbound link goes to this same server under another host name, so it really navigates
  s.pages['/'] = (s.pages['/'] as string).replace('http://localhost:0/', `http://localhost:${s.port}/`);
  const page = await open(s);
  await page.click('#cta');
  await page.waitForURL('**/next');
  await page.goBack();
  await Promise.all([page.waitForURL('**/elsewhere'), page.click('#out')]);
  const rows = await waitFor(s, (r) => named(r, 'leaving_cta').length == 1 && named(r, 'outbound').length == 1);
  expect(named(rows, 'outbound')[0].props).toEqual({ url: `http://localhost:${s.port}/elsewhere` });
  await page.close();
});

test("funnelbeam('segments') reads the visitor's segments from the collector and pushes them to dataLayer", async () => {
  const s = await site({ '/': { body: '' } });
  const page = await open(s);
  await waitFor(s, (r) => r.length >= 1);
  const result = await page.evaluate(
    () => new Promise((resolve) => (window as any).funnelbeam('segments', (segments: unknown) => resolve({ segments, dataLayer: (window as any).dataLayer }))),
  );
  expect(result).toEqual({ segments: expect.any(Array), dataLayer: [{ event: 'funnelbeam_segments', segments: (result as { segments: unknown }).segments }] });
  await page.close();
});
