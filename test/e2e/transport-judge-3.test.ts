// An outside judge of the snippet's shared outbox (README "Transport", "Where the visitor id lives") in real Chromium
// against the real collector: tabs of one site opened at the same moment, as a visitor middle-clicking a list of
// articles opens them. Each tab's renderer keeps its own copy of the site's localStorage, so a tab writing the one
// outbox entry before it has seen another tab's write must not drop that tab's events. Expected by hand: every tab's
// view is stored (README: "Every event is written to a local outbox first", each kept until an answer settles it).
import { expect, test } from 'vitest';
import { loaded, noEngagement, pathOf, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { site, waitFor, settled } = sites;

test('six tabs of the site opened at the same moment (a visitor middle-clicking a list of articles), three times over: every tab\'s view is stored, once', async () => {
  const paths = ['/p1', '/p2', '/p3', '/p4', '/p5', '/p6'];
  const missing: string[] = [];
  for (let round = 0; round < 3; round++) {
    const s = await site(Object.fromEntries(paths.map((p) => [p, { body: p }])));
    const tabs = await Promise.all(paths.map(() => sites.browser.newPage()));
    await Promise.all(tabs.map((t, i) => t.goto(s.origin + paths[i]).then(() => loaded(t))));
    // a lost view never comes: 4 s is many times the 300 ms batching moment
    await waitFor(s, (r) => noEngagement(r).length >= paths.length, 4000).catch(() => undefined);
    await Promise.all(tabs.map((t) => t.close()));
    // closing the tabs beacons what is still in the outbox
    const all = noEngagement(await settled(s, 500));
    expect(new Set(all.map((r) => r.event_id)).size).toBe(all.length);
    for (const p of paths) if (!all.some((r) => pathOf(r) == p)) missing.push(`round ${round}: ${p}`);
  }
  expect(missing).toEqual([]);
});
