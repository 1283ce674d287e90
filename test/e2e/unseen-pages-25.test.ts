// Twenty-fifth round of pages the snippet had not seen: a page a reader comes back to after a long while by a reload
// that is no new click (a phone's browser reloading a tab it discarded in the background; a desktop browser restoring
// its tabs at start). In headless Chromium against the real collector; the expected values are worked out by hand from
// the contract (§3: every event carries the session-touch parameters) and the README before each run.
import { test } from 'vitest';
import { doc, loaded, setHidden, snippetSites } from '../helpers/snippet-sites.js';

const sites = snippetSites();
const { serve, waitFor, settled, tagOf } = sites;

// README (What the snippet records): "A reload, or a return through history to a page the browser did not keep in its
// back/forward cache, brings back the outside referrer the page first had …: while a visit is under way it is no new
// arrival", and "the session touch lasts until 30 minutes pass without activity or a new campaign lands". A reader on a
// phone comes from a Google result to a blog post, switches to another app (the page hidden), and comes back an hour
// later; the browser had discarded the tab meanwhile and reloads it (the Google referrer sent again), and the reader
// goes on to /pricing. No visit was under way any more: the reload is a new arrival from Google, so the new session's
// touch is Google's and the collector files the returning views under organic search, as it filed the first one; not
// as a direct visit, which is what a reload within the visit keeps (the visit's own touch).
test('a post opened from a Google result, the tab hidden for an hour and reloaded by the browser (a discarded tab), then /pricing: the new session comes from Google (organic search), not direct', async ({ expect }) => {
  const s = await serve({ '*': doc(`<script defer ${tagOf()}></script>`, '<article><h1>Ten funnel metrics</h1><a id="pricing" href="/pricing">Pricing</a></article>', 'post') });
  const page = await sites.browser.newPage();
  await page.goto(s.origin + '/blog/ten-funnel-metrics', { referer: 'https://www.google.com/' });
  await loaded(page);
  await waitFor(s, (r) => r.some((e) => e.name == 'pageview'));
  await page.waitForTimeout(1_100);
  await setHidden(page, true);
  await waitFor(s, (r) => r.some((e) => e.name == 'engagement'));
  // the hour in the background: the visit's last activity (the engagement sent as the page was hidden) moves an hour into
  // the past (Playwright's fake clock would also fake away performance.navigation, which tells a reload)
  await page.evaluate(() => {
    const state = JSON.parse(localStorage._fb);
    state.a -= 3600e3;
    localStorage._fb = JSON.stringify(state);
  });
  await page.reload();
  await loaded(page);
  expect(await page.evaluate(() => [performance.navigation.type, document.referrer])).toEqual([1, 'https://www.google.com/']);
  await page.click('#pricing');
  await page.waitForURL('**/pricing');
  await loaded(page);
  await waitFor(s, (r) => r.filter((e) => e.name == 'pageview').length == 3);
  await settled(s);
  const views = await sites.collector.running.db.all<{ url: string; channel: string }>(
    `SELECT url, channel FROM events WHERE site_id = ? AND name = 'pageview' ORDER BY at, received_at`,
    [sites.collector.site.siteId],
  );
  expect(views.map((v) => [new URL(v.url).pathname, v.channel])).toEqual([
    ['/blog/ten-funnel-metrics', 'organic_search'],
    ['/blog/ten-funnel-metrics', 'organic_search'],
    ['/pricing', 'organic_search'],
  ]);
  await page.close();
});
