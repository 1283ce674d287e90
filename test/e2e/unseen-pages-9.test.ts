// Ninth round of pages the snippet had not seen: a campaign link through a shortener and the site's own redirect,
// identify() called by a tag manager with empty or padded values, a consent decline queued before the snippet loads,
// form fields as design systems draw them (an email field of a web component, form-associated or not, <input
// type="email" multiple>), routers that navigate through the Navigation API, a landing URL of 6,000 characters, in
// headless Chromium against the real collector. The expected events are worked out by hand from the contract (§2–§4)
// and the README before each run.
import { expect, test } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredRow } from '../helpers/browser.js';
import { STUB, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, serve, waitFor, settled, openLoaded: open } = sites;

const views = (rows: StoredRow[]) => named(rows, 'pageview').map(path);
const forms = (rows: StoredRow[]) => rows.filter((r) => r.form).map((r) => [r.name, r.form, r.email]);
/** A script that sends every form by fetch (an AJAX form plugin) and says so in the page. */
const ajaxForms = `<script>document.addEventListener('submit', async (e) => {
  e.preventDefault();
  await fetch('/send', { method: 'POST', body: new FormData(e.target) });
  e.target.insertAdjacentHTML('afterend', '<p class="done">Sent ' + e.target.id + '</p>');
});</script>`;
const accept = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
};
const redirect = (to: (req: IncomingMessage) => string, status = 302) => (req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { location: to(req) }).end();

test('a newsletter link through a link shortener on another origin (302) to an old campaign path the site redirects (301) to its landing page: the landing view carries the campaign and the click id, the newsletter page as its outside referrer, and a client-side route keeps them', async () => {
  const campaign = 'utm_source=newsletter&utm_medium=email&utm_campaign=q3-launch&gclid=CjwKCAiA-q3';
  const s = await site(
    {
      '/landing': {
        body: `<a id="pricing" href="/pricing">Pricing</a>
          <script>document.getElementById('pricing').onclick = (e) => { e.preventDefault(); history.pushState({}, '', '/pricing'); };</script>`,
      },
    },
    // the site's own redirect of a retired campaign path, keeping the query
    { '/promo/q3': redirect((req) => '/landing' + req.url!.slice('/promo/q3'.length), 301) },
  );
  const shortener = await serve({ '/r/q3': redirect(() => `${s.origin}/promo/q3?${campaign}`) });
  const mail = await serve({ '/inbox': `<!doctype html><title>inbox</title><a id="go" href="${shortener.origin}/r/q3">Read the launch post</a>` });
  const page = await sites.browser.newPage();
  await page.goto(mail.origin + '/inbox');
  await page.click('#go');
  await page.waitForURL('**/landing?*');
  await loaded(page);
  await page.click('#pricing');
  await waitFor(s, (r) => views(r).length >= 2);
  const rows = noEngagement(await settled(s));
  expect(views(rows)).toEqual([`/landing?${campaign}`, '/pricing']);
  expect(rows.map((r) => [r.utm_source, r.utm_medium, r.utm_campaign, r.click_id])).toEqual([
    ['newsletter', 'email', 'q3-launch', 'gclid'],
    ['newsletter', 'email', 'q3-launch', 'gclid'],
  ]);
  // (the newsletter page is on another origin: the browser's default policy sends its origin only, through both hops)
  expect(rows[0].referrer).toBe(mail.origin + '/');
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'newsletter', gclid: 'CjwKCAiA-q3', url: `${s.origin}/landing?${campaign}` });
  expect(JSON.stringify(rows[0].first_touch)).toContain(mail.origin);
  await page.close();
});

test('identify() from a tag manager whose variable was empty (undefined, the text "undefined", "", null, queued before the script loads) and then with an address copied from a field, padded and in capitals: the view, a download and the identify with the address are stored, the visitor tied to that lead, and no lead is made of the empty values', async () => {
  const s = await site(
    {
      '/': {
        head: `<script>${STUB}funnelbeam('identify', undefined);funnelbeam('identify', 'undefined');funnelbeam('identify', '', { company: 'Corp' });funnelbeam('identify', null);</script>`,
        body: `<button id="known" onclick="funnelbeam('identify', '  Sam.Lee@Corp.Example \\n', { firstName: 'Sam' })">I am Sam</button>
          <a id="guide" href="/files/guide.pdf" download>guide</a>`,
      },
    },
    { '/files/guide.pdf': (_q, res) => res.writeHead(200, { 'content-type': 'application/pdf' }).end('%PDF') },
  );
  const page = await open(s);
  await waitFor(s, (r) => views(r).length == 1);
  await page.click('#known');
  await page.click('#guide');
  await waitFor(s, (r) => r.some((x) => x.name == 'download') && r.some((x) => x.email));
  const rows = noEngagement(await settled(s));
  const withEmail = rows.filter((r) => r.email);
  expect(withEmail.map((r) => [r.name, r.email!.toLowerCase()])).toEqual([['identify', 'sam.lee@corp.example']]);
  expect(withEmail[0].traits).toMatchObject({ firstName: 'Sam' });
  expect(rows.filter((r) => r.name != 'identify').map((r) => r.name)).toEqual(['pageview', 'download']);
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  const leads = await sites.collector.running.db.all<{ email: string | null }>('SELECT email FROM leads WHERE site_id = ? AND email IS NOT NULL', [sites.collector.site.siteId]);
  expect(leads.map((l) => l.email!.toLowerCase())).not.toContain('undefined');
  expect(leads.map((l) => l.email!.toLowerCase())).toContain('sam.lee@corp.example');
  await page.close();
});

test('a decline queued before the snippet loads on a site that does not require consent (a CMP whose banner was answered on a page without the tag): nothing is stored on this page or the next, and no visitor id is kept', async () => {
  const s = await site({
    '/': { head: `<script>${STUB}funnelbeam('consent', false);funnelbeam('track', 'hero_seen');</script>`, body: '<a id="next" href="/next">next</a> <a id="pdf" href="/files/deck.pdf" download>deck</a>' },
    '/next': { body: '<p>next</p>' },
  });
  const page = await open(s, '/?utm_source=ads');
  await page.click('#pdf');
  await page.click('#next');
  await loaded(page);
  await page.evaluate(() => history.pushState({}, '', '/next/step'));
  const stored = await page.evaluate(() => localStorage._fb);
  expect(JSON.parse(stored)).toEqual({ c: 0 });
  expect(await page.evaluate(() => new Promise((r) => (window as any).funnelbeam('visitorId', r)))).toBeUndefined();
  expect(await settled(s, 1_000)).toEqual([]);
  await page.close();
});

test('form fields as design systems and invite forms draw them: an email field that is a form-associated custom element (Material Web\'s md-outlined-text-field), an invite form with <input type="email" multiple> holding two colleagues (README: an address the collector cannot use is dropped, the form still counts)', async () => {
  // a form-associated custom element: its value reaches the form through ElementInternals, its own input is in its
  // shadow root (as Material Web's text fields do)
  const element = `<script>customElements.define('md-outlined-text-field', class extends HTMLElement {
    static formAssociated = true;
    constructor() { super(); this.i = this.attachInternals(); this.attachShadow({ mode: 'open' }).innerHTML = '<input>'; this.shadowRoot.firstChild.oninput = () => this.i.setFormValue(this.value); }
    get type() { return this.getAttribute('type') || 'text'; }
    get name() { return this.getAttribute('name'); }
    get value() { return this.shadowRoot.firstChild.value; }
    set value(v) { this.shadowRoot.firstChild.value = v; this.i.setFormValue(v); }
    checkValidity() { return true; }
  });</script>`;
  const s = await site(
    {
      '/': {
        head: ajaxForms + element,
        body: `<form id="material" data-funnelbeam="demo"><md-outlined-text-field id="md" type="email" name="email"></md-outlined-text-field><button>Book a demo</button></form>
          <form id="invite"><input type="email" name="invite" multiple required><button>Invite</button></form>`,
      },
    },
    { '/send': accept },
  );
  const page = await open(s);
  await page.locator('#md input').fill('md@corp.example');
  await page.click('#material button');
  await page.waitForSelector('text=Sent material');
  await page.fill('#invite input', 'ana@corp.example, bo@corp.example');
  await page.click('#invite button');
  await page.waitForSelector('text=Sent invite');
  await waitFor(s, (r) => forms(r).length >= 2);
  expect(forms(await settled(s))).toEqual([
    ['demo_request', 'demo', 'md@corp.example'],
    ['form_submit', 'other', null],
  ]);
  await page.close();
});

test('a router built on the Navigation API (navigation.navigate with intercept): a push to a new path and to a new query are views, a replace of the query is none, a replace to a new path is one (README: replaceState that changes the path), back is one', async () => {
  const s = await site({
    '*': {
      head: `<script>navigation.addEventListener('navigate', (e) => { if (e.canIntercept && !e.hashChange && !e.downloadRequest) e.intercept({ handler: async () => { document.title = new URL(e.destination.url).pathname; } }); });</script>`,
      body: `<button id="push" onclick="navigation.navigate('/docs')">docs</button>
        <button id="query" onclick="navigation.navigate('/docs?v=2')">v2</button>
        <button id="sort" onclick="navigation.navigate('/docs?v=2&sort=new', { history: 'replace' })">sort</button>
        <button id="moved" onclick="navigation.navigate('/docs/v2', { history: 'replace' })">moved</button>`,
    },
  });
  const page = await open(s, '/');
  for (const id of ['#push', '#query', '#sort', '#moved']) await page.click(id);
  await page.waitForURL('**/docs/v2');
  await page.goBack();
  await page.waitForURL('**/docs');
  await waitFor(s, (r) => views(r).length >= 5);
  expect(views(noEngagement(await settled(s)))).toEqual(['/', '/docs', '/docs?v=2', '/docs/v2', '/docs']);
  await page.close();
});

test('a form drawn with Shoelace 2 (<sl-input type="email" name="email">: a web component that is not form-associated, its value added to the form by a formdata listener, its own input in its shadow root) beside a marked select and an SVG icon in its button: the newsletter signup carries the address and the country', async () => {
  // sl-input as Shoelace 2 writes it: the host has type, name and value properties; the form learns its value only
  // through the formdata event (FormControlController); the submit button is a native button here
  const element = `<script>customElements.define('sl-input', class extends HTMLElement {
    constructor() { super(); this.attachShadow({ mode: 'open' }).innerHTML = '<input part="input">'; }
    connectedCallback() { this.closest('form')?.addEventListener('formdata', (e) => this.name && e.formData.append(this.name, this.value)); }
    get type() { return this.getAttribute('type') || 'text'; }
    get name() { return this.getAttribute('name') || ''; }
    get value() { return this.shadowRoot.firstChild.value; }
    set value(v) { this.shadowRoot.firstChild.value = v; }
  });</script>`;
  const s = await site(
    {
      '/': {
        head: ajaxForms + element,
        body: `<form id="shoelace" data-funnelbeam="newsletter"><sl-input id="sl" type="email" name="email"></sl-input>
          <select name="country" data-funnelbeam-field="country"><option value="DE">Germany</option><option value="FR" selected>France</option></select>
          <button>Subscribe <svg viewBox="0 0 8 8" width="8"><style type="text/css">path{fill:red}</style><filter id="f"><feTurbulence type="turbulence"/></filter><path d="M0 0h8v8z"/></svg></button></form>`,
      },
    },
    { '/send': accept },
  );
  const page = await open(s);
  await page.locator('#sl input').fill('sl@corp.example');
  await page.click('#shoelace button');
  await page.waitForSelector('text=Sent shoelace');
  await waitFor(s, (r) => forms(r).length >= 1);
  const rows = await settled(s);
  expect(forms(rows)).toEqual([['newsletter_signup', 'newsletter', 'sl@corp.example']]);
  // (every element of the form is read as well: the options of the marked select, the icon's SVG, add nothing)
  expect(rows.find((r) => r.form)!.traits).toEqual({ country: 'FR' });
  await page.close();
});

test('a landing URL of 6,000 characters (a programmatic ad\'s tracking link, under the 8 KB a web server takes): a download clicked, then an outbound link followed in the same tab at once: the view, the download and the outbound click are stored', async () => {
  const campaign = 'utm_source=dsp&utm_medium=display&utm_campaign=retarget&ctx=' + 'a1b2c3d4e5'.repeat(600);
  const away = await serve({ '/partner': '<!doctype html><title>partner</title><p>partner</p>' });
  const s = await site(
    { '/': { body: `<a id="sheet" href="/files/datasheet.pdf">datasheet</a> <a id="partner" href="${away.origin}/partner">partner</a>` } },
    { '/files/datasheet.pdf': (_q, res) => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment' }).end('file') },
  );
  const page = await sites.browser.newPage();
  await page.goto(`${s.origin}/?${campaign}`);
  await loaded(page);
  await waitFor(s, (r) => views(r).length == 1);
  await page.click('#sheet');
  await page.click('#partner');
  await page.waitForURL('**/partner');
  const rows = await waitFor(s, (r) => r.some((x) => x.name == 'outbound'), 4_000);
  expect(noEngagement(rows).map((r) => [r.name, r.utm_campaign])).toEqual([
    ['pageview', 'retarget'],
    ['download', 'retarget'],
    ['outbound', 'retarget'],
  ]);
  await page.close();
});
