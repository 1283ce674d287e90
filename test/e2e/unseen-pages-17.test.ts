// Seventeenth round of pages the snippet had not seen: campaign landings that the site sends on at once (a language
// redirect in <head> that drops the query before the tag runs, a redirect after load), click ids of every ad platform
// the README lists and one it does not (twclid), an internal link whose template writes empty UTM fields, a second tab
// opened directly during a campaign visit; download links written relatively (`../`) and opened by middle-click,
// ctrl-click and the keyboard, mailto:/tel: links; a history traversal across a reload, and a hashbang (`#!/`) router
// with data-hash driven by links, location.hash, pushState and navigation.navigate(). In headless Chromium against the
// real collector; the expected events are worked out by hand from the contract (§2–§4) and the README before each run.
import { expect, test } from 'vitest';
import { doc, file, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf, watched } = sites;
const views = (rows: { name: string }[]) => named(rows as never, 'pageview');

// Contract §3: every event carries the visitor's first-touch and session-touch UTM parameters and click ids, "kept from
// the landing page onward". A site whose <head> sends a visitor on to a language page at once (`location.replace('/en/')`,
// the query dropped, before the deferred tag ran) hands that page its own landing URL as referrer: the campaign is in
// it. Expected: the first stored view, /en/, carries google / cpc / the gclid, and so does a demo page after it.
test('a campaign landing that the site redirects in <head> before the tag runs (location.replace to a language page, the query dropped): the language page\'s view and the next page keep the campaign and the click id', async () => {
  const s = await serve({
    '/': doc(`<script>location.replace('/en/')</script><script defer ${tagOf()}></script>`, '<p>redirecting</p>', 'root'),
    '/en/': doc(`<script defer ${tagOf()}></script>`, '<a id="demo" href="/en/demo">Book a demo</a>', 'home'),
    '/en/demo': doc(`<script defer ${tagOf()}></script>`, '<p>demo</p>', 'demo'),
  });
  const a = await watched(s.origin + '/?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=EAIaIQ1');
  await a.page.waitForURL('**/en/');
  await loaded(a.page);
  await Promise.all([a.page.waitForURL('**/en/demo'), a.page.click('#demo')]);
  await loaded(a.page);
  await waitFor(s, (r) => views(r).length == 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source, r.utm_medium, r.utm_campaign, r.click_id])).toEqual([
    ['pageview', '/en/', 'google', 'cpc', 'brand', 'gclid'],
    ['pageview', '/en/demo', 'google', 'cpc', 'brand', 'gclid'],
  ]);
  expect(rows[0].first_touch).toMatchObject({ utm_source: 'google', gclid: 'EAIaIQ1' });
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Static site generators write a moved page as a redirect page without the site's template (Hugo's `aliases`, Jekyll's
// redirect_from): a meta refresh (and a script) to the new address, the query dropped. A newsletter link to the old
// address lands on the new page, the campaign only in the referrer (the redirect page). Expected: the new page's view
// carries newsletter / email / spring.
test('a newsletter link to a moved post (a Hugo alias page: meta refresh to the new address, no tag, the query dropped): the new page\'s view keeps the campaign', async () => {
  const s = await serve({
    '/old-post/': `<!DOCTYPE html><html lang="en-us"><head><title>/blog/new-post/</title><link rel="canonical" href="/blog/new-post/"><meta name="robots" content="noindex"><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/blog/new-post/"></head></html>`,
    '/blog/new-post/': doc(`<script defer ${tagOf()}></script>`, '<p>post</p>', 'post'),
  });
  const a = await watched(s.origin + '/old-post/?utm_source=newsletter&utm_medium=email&utm_campaign=spring');
  await a.page.waitForURL('**/blog/new-post/');
  await loaded(a.page);
  const rows = noEngagement(await waitFor(s, (r) => views(r).length == 1));
  expect(rows.map((r) => [r.name, path(r), r.utm_source, r.utm_medium, r.utm_campaign])).toEqual([['pageview', '/blog/new-post/', 'newsletter', 'email', 'spring']]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// The same redirect made after the tag started (a DOMContentLoaded handler: deferred scripts run before it), so the
// landing view is counted on a page that is left at once: it must still arrive (kept in the outbox, sent when the page
// is hidden or from the next page), then the page it went to, both with the campaign.
test('a campaign landing redirected by the page\'s DOMContentLoaded handler (after the tag started): the landing view and the next view both arrive with the campaign', async () => {
  const s = await serve({
    '/lp': doc(
      `<script defer ${tagOf()}></script><script>document.addEventListener('DOMContentLoaded', function () { location.replace('/welcome') })</script>`,
      '<p>lp</p>',
      'lp',
    ),
    '/welcome': doc(`<script defer ${tagOf()}></script>`, '<p>welcome</p>', 'welcome'),
  });
  const a = await watched(s.origin + '/lp?utm_source=linkedin&utm_medium=paid_social&utm_campaign=q4&li_fat_id=LF1');
  await a.page.waitForURL('**/welcome');
  await loaded(a.page);
  await waitFor(s, (r) => views(r).length == 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.utm_source, r.utm_campaign, r.click_id])).toEqual([
    ['pageview', '/lp?utm_source=linkedin&utm_medium=paid_social&utm_campaign=q4&li_fat_id=LF1', 'linkedin', 'q4', 'li_fat_id'],
    ['pageview', '/welcome', 'linkedin', 'q4', 'li_fat_id'],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// README: the touches carry the click ids gclid, gbraid, wbraid, fbclid, msclkid, li_fat_id and ttclid. X's twclid is
// not in that list: a landing with only a twclid is no campaign (no click id, no UTM), and a twclid beside a listed one
// is not kept. Each landing on an origin of its own (a new visitor each).
test('click ids of each ad platform on landings: gbraid, wbraid, fbclid, msclkid and ttclid are kept in the session and first touch; X\'s twclid (not listed in the README) is not', async () => {
  const page = doc(`<script defer ${tagOf()}></script>`, '<p>lp</p>', 'lp');
  const cases: [string, string | null][] = [
    ['gbraid=GB1', 'gbraid'],
    ['wbraid=WB1&twclid=TW0', 'wbraid'],
    ['fbclid=FB1', 'fbclid'],
    ['msclkid=MS1', 'msclkid'],
    ['ttclid=TT1', 'ttclid'],
    ['twclid=TW1', null],
  ];
  const servers = await Promise.all(cases.map(() => serve({ '/lp': page })));
  const pages = await Promise.all(servers.map((s, k) => watched(s.origin + '/lp?' + cases[k][0])));
  await Promise.all(pages.map((a) => loaded(a.page)));
  for (const [k, s] of servers.entries()) {
    const [row] = await waitFor(s, (r) => views(r).length == 1);
    const [query, id] = cases[k];
    const value = id && new URLSearchParams(query).get(id);
    expect([row.click_id, row.utm_source, id && row.first_touch?.[id]], query).toEqual([id, null, value]);
    expect(row.first_touch?.twclid, query).toBeUndefined();
  }
  for (const a of pages) expect(a.errors).toEqual([]), await a.page.close();
});

// README: "The session touch lasts until 30 minutes pass without activity or a new campaign lands." An internal link
// whose CMS template writes the UTM fields empty (`?utm_source=&utm_medium=`) brings no campaign, so the visit keeps
// google / cpc. A second tab the visitor opens by typing the address (no referrer, no campaign) a minute later is the same
// visit: session touch google. A later tab from another campaign (bing) is a new session touch; the first touch stays
// google.
test('a campaign visit: an internal link with empty UTM fields (a CMS template), a new tab opened directly, then a tab from another campaign: the session touch is kept until the new campaign, the first touch stays', async () => {
  const page = (body = '') => doc(`<script defer ${tagOf()}></script>`, body, 'p');
  const s = await serve({
    '/': page('<a id="pricing" href="/pricing?utm_source=&utm_medium=&utm_campaign=">Pricing</a>'),
    '/pricing': page(),
    '/docs': page(),
    '/blog': page(),
  });
  const a = await watched(s.origin + '/?utm_source=google&utm_medium=cpc');
  await loaded(a.page);
  await Promise.all([a.page.waitForURL('**/pricing*'), a.page.click('#pricing')]);
  await loaded(a.page);
  await waitFor(s, (r) => views(r).length == 2);
  const b = await watched(s.origin + '/docs');
  await loaded(b.page);
  await waitFor(s, (r) => views(r).length == 3);
  const c = await watched(s.origin + '/blog?utm_source=bing&utm_medium=cpc');
  await loaded(c.page);
  await waitFor(s, (r) => views(r).length == 4);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [path(r), r.utm_source || null, r.utm_medium || null])).toEqual([
    ['/?utm_source=google&utm_medium=cpc', 'google', 'cpc'],
    ['/pricing?utm_source=&utm_medium=&utm_campaign=', 'google', 'cpc'],
    ['/docs', 'google', 'cpc'],
    ['/blog?utm_source=bing&utm_medium=cpc', 'bing', 'cpc'],
  ]);
  // one visitor throughout (the tabs share the origin's storage); the bing view opens a session: first touch google
  expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1);
  expect(rows[3].first_touch).toMatchObject({ utm_source: 'google' });
  for (const x of [a, b, c]) expect(x.errors).toEqual([]), await x.page.close();
});

// Contract §3: `download` is a click on a link with a listed extension (query and hash ignored); README: middle-click
// included (for links), the keyboard too. A relative `../files/guide.pdf` on /docs/v2/setup is /docs/files/guide.pdf.
// mailto: and tel: links have no host: neither outbound nor a download. Expected: four downloads of the resolved URL
// (left click, middle-click, ctrl-click, Enter on the focused link), nothing for mailto/tel.
test('a relative download link (../files/guide.pdf) clicked, middle-clicked, ctrl-clicked and opened with Enter, beside mailto: and tel: links: four downloads of the resolved URL, nothing else', async () => {
  const s = await serve({
    '/docs/v2/setup': doc(
      `<script defer ${tagOf()}></script>`,
      `<a id="pdf" href="../files/guide.pdf?v=2#p3">Guide</a>
       <a id="mail" href="mailto:sales@example.com?subject=Demo">Mail us</a> <a id="tel" href="tel:+15550100">Call</a>
       <script>for (const id of ['pdf', 'mail', 'tel']) document.getElementById(id).addEventListener('click', (e) => e.preventDefault())</script>`,
      'setup',
    ),
    '/docs/files/guide.pdf': file,
  });
  const a = await watched(s.origin + '/docs/v2/setup');
  await loaded(a.page);
  await a.page.click('#pdf');
  await a.page.click('#pdf', { button: 'middle' });
  await a.page.click('#pdf', { modifiers: ['Control'] });
  await a.page.focus('#pdf');
  await a.page.keyboard.press('Enter');
  await a.page.click('#mail');
  await a.page.click('#tel');
  await waitFor(s, (r) => named(r, 'download').length == 4);
  const rows = noEngagement(await settled(s));
  const url = s.origin + '/docs/files/guide.pdf?v=2#p3';
  expect(rows.map((r) => [r.name, r.props?.url ?? null])).toEqual([
    ['pageview', null],
    ['download', url],
    ['download', url],
    ['download', url],
    ['download', url],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Contract §3: a pageview on load (a reload is a load) and on popstate. Expected for /app → push /app/a → push /app/b → reload → history.go(-2) → history.forward(): views /app,
// /app/a, /app/b, /app/b (the reload), /app, /app/a; each traversal, whether the browser answers it in the document or
// by loading the page again, is one view.
test('history traversal across a reload: pushes to /app/a and /app/b, a reload, history.go(-2), then history.forward(): one view each', async () => {
  const s = await serve({ '*': doc(`<script defer ${tagOf()}></script>`, '<p>app</p>', 'app') });
  const a = await watched(s.origin + '/app');
  await loaded(a.page);
  await a.page.evaluate(() => (history.pushState({ n: 1 }, '', '/app/a'), history.pushState({ n: 2 }, '', '/app/b')));
  await waitFor(s, (r) => views(r).length == 3);
  await a.page.reload();
  await loaded(a.page);
  await waitFor(s, (r) => views(r).length == 4);
  await a.page.evaluate(() => history.go(-2));
  await a.page.waitForURL(/\/app$/);
  await loaded(a.page);
  await waitFor(s, (r) => views(r).length == 5);
  await a.page.evaluate(() => history.forward());
  await a.page.waitForURL('**/app/a');
  await loaded(a.page);
  await waitFor(s, (r) => views(r).length == 6);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r)])).toEqual([
    ['pageview', '/app'],
    ['pageview', '/app/a'],
    ['pageview', '/app/b'],
    ['pageview', '/app/b'],
    ['pageview', '/app'],
    ['pageview', '/app/a'],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});

// Contract §2: data-hash treats hash route changes as page changes; README: the collector reads `#!/route` as the path,
// and a router's boot to `#!/` is the landing view. An AngularJS-style hashbang app: landing at `/` rewritten to `#!/`,
// a link to `#!/pricing`, `location.hash = '#!/docs/intro'`, a pushState to `#!/contact` (no hashchange fires for it), a
// `navigation.navigate('#!/signup')`, then history.back(): one view each, paths /, /pricing, /docs/intro, /contact,
// /signup, /contact.
test('a hashbang router with data-hash: boot to #!/, a link, location.hash, pushState of a #!/ URL, navigation.navigate(), back: one view each, stored at the route\'s path', async () => {
  const s = await serve({
    '/': doc(
      `<script defer ${tagOf('data-hash')}></script><script>if (!location.hash) location.replace('#!/')</script>`,
      '<a id="pricing" href="#!/pricing">Pricing</a>',
      'ng',
    ),
  });
  const a = await watched(s.origin + '/');
  await loaded(a.page);
  await a.page.click('#pricing');
  await waitFor(s, (r) => views(r).length == 2);
  await a.page.evaluate(() => (location.hash = '#!/docs/intro'));
  await waitFor(s, (r) => views(r).length == 3);
  await a.page.evaluate(() => history.pushState(null, '', '#!/contact'));
  await waitFor(s, (r) => views(r).length == 4);
  await a.page.evaluate(() => (window as unknown as { navigation: { navigate(u: string): unknown } }).navigation.navigate('#!/signup'));
  await waitFor(s, (r) => views(r).length == 5);
  await a.page.evaluate(() => history.back());
  await waitFor(s, (r) => views(r).length == 6);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, r.path])).toEqual([
    ['pageview', '/'],
    ['pageview', '/pricing'],
    ['pageview', '/docs/intro'],
    ['pageview', '/contact'],
    ['pageview', '/signup'],
    ['pageview', '/contact'],
  ]);
  expect(a.errors).toEqual([]);
  await a.page.close();
});
