// Twenty-fourth round of pages the snippet had not seen: the Next.js App Router (14.1 and later) as it drives history:
// its HistoryUpdater writing `{__NA, __PRIVATE_NEXTJS_INTERNALS_TREE}` states after each commit, a replaceState of the
// landing address at hydration, and its wrappers around history.pushState and replaceState (installed before the
// deferred tag, as Next's async chunks run first) that keep the router in step with a page's own history calls and
// commit them again as replaces; a popstate without its state reloads the page. Rewritten by hand from its source
// (app-router.tsx), in headless Chromium against the real collector; the expected views are worked out by hand from the
// contract (§3: pushState, replaceState when the path changes, popstate) and the README (a push that changes the query
// is a view, a replace of the query alone is none, a same-URL replace none).
import { test } from 'vitest';
import { doc, loaded, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf } = sites;

const nextApp = `<script>
  // Next.js App Router (14.1+): its HistoryUpdater writes {__NA, __PRIVATE_NEXTJS_INTERNALS_TREE} states, and it wraps
  // the page's own history calls so that a push or replace from outside keeps the router in step
  (function () {
    var tree = function () { return ['', { children: [location.pathname, {}] }] };
    var st = function () { return { __NA: true, __PRIVATE_NEXTJS_INTERNALS_TREE: tree() } };
    var push = history.pushState.bind(history), replace = history.replaceState.bind(history);
    var render = function () { document.getElementById('view').textContent = location.pathname + location.search; };
    // the latest commit wins: one made while another waits for its timer supersedes it (that timer then finds none)
    var pending = null;
    var commit = function (url, mode) { pending = { url: url, mode: mode }; setTimeout(function () { render(); var p = pending; pending = null; if (!p) return; (p.mode == 'push' ? push : replace)(st(), '', p.url); render(); }, 20); };
    history.pushState = function (data, u, url) { if (data && data.__NA) return push(data, u, url); push(Object.assign({}, data, st()), u, url); if (url) commit(url, 'replace'); };
    history.replaceState = function (data, u, url) { if (data && data.__NA) return replace(data, u, url); replace(Object.assign({}, data, st()), u, url); if (url) commit(url, 'replace'); };
    addEventListener('popstate', function (e) { if (!e.state) return; if (!e.state.__NA) return location.reload(); render(); });
    window.router = { push: function (u) { commit(u, 'push') }, replace: function (u) { commit(u, 'replace') }, refresh: function () { commit(location.pathname + location.search, 'replace') } };
    addEventListener('DOMContentLoaded', function () { replace(st(), '', location.href); render(); });
  })();
</script>`;

// The visitor lands from a campaign on /, the app routes to /pricing (router.push), picks the team plan (router.replace
// of the query), the page refreshes its server data (router.refresh: a replace of the same URL), a pricing widget of
// the page's own pushes ?plan=pro and then replaces it with ?plan=pro&x=1, the app routes to /demo, then back and
// forward. Views: / (the landing; hydration's replace of the same URL is none), /pricing (push), none for the team plan
// (a replace of the query), none for the refresh, /pricing?plan=pro (the widget's push: a new query; Next's replace
// of it after the commit is the same URL), none for its replace of the query, /demo (push), /pricing?plan=pro&x=1
// (back: popstate to another path), /demo (forward): six, each with the landing campaign.
test('a Next.js App Router app: router.push, router.replace of the query, router.refresh, the page\'s own pushState and replaceState through Next\'s wrappers, back and forward: one view per address shown, none for replaces of the query or the same URL', async ({ expect }) => {
  const s = await serve({ '*': doc(`${nextApp}<script defer ${tagOf()}></script>`, '<main id="view"></main>', 'next') });
  const page = await sites.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(s.origin + '/?utm_source=x');
  await loaded(page);
  // each step once the router committed it (its HistoryUpdater runs 20 ms later)
  const step = async (f: string, shown: string) => {
    await page.evaluate(f);
    await page.waitForFunction((u) => document.getElementById('view')!.textContent == u && location.pathname + location.search == u, shown);
  };
  await step(`router.push('/pricing')`, '/pricing');
  await step(`router.replace('/pricing?plan=team')`, '/pricing?plan=team');
  await step(`router.refresh()`, '/pricing?plan=team');
  await step(`history.pushState(null, '', '/pricing?plan=pro')`, '/pricing?plan=pro');
  await step(`history.replaceState(null, '', '/pricing?plan=pro&x=1')`, '/pricing?plan=pro&x=1');
  await step(`router.push('/demo')`, '/demo');
  await step(`history.back()`, '/pricing?plan=pro&x=1');
  await step(`history.forward()`, '/demo');
  await waitFor(s, (r) => r.filter((e) => e.name == 'pageview').length >= 6);
  const rows = noEngagement(await settled(s)).sort((a, b) => a.at - b.at);
  expect(rows.map((r) => [r.name, path(r), r.utm_source])).toEqual([
    ['pageview', '/?utm_source=x', 'x'],
    ['pageview', '/pricing', 'x'],
    ['pageview', '/pricing?plan=pro', 'x'],
    ['pageview', '/demo', 'x'],
    ['pageview', '/pricing?plan=pro&x=1', 'x'],
    ['pageview', '/demo', 'x'],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});
