// The demo marketing site at /demo/, tracked by the demo site created on first start.
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { DEMO_FILES, DEMO_PAGES, DEMO_SCRIPT, DEMO_SITE_NAME, demoPdf, renderDemoPage } from '../demo/pages.js';
import { getSiteByName } from '../storage/sites.js';
import { errorBody } from '../errors.js';

export function mountDemo(app: ApiApp, deps: Deps) {
  let siteKey: string | null = null;
  const pages = new Map(DEMO_PAGES.map((p) => [p.path, p]));
  // its query kept: a campaign link typed without the slash (`/demo?utm_source=…`) landed as a direct visit
  app.get('/demo', (c) => c.redirect('/demo/' + new URL(c.req.url).search, 301));
  app.get('/demo/*', async (c) => {
    const path = c.req.path;
    const file = DEMO_FILES[path];
    if (file) return c.body(new Uint8Array(demoPdf(file)), 200, { 'Content-Type': 'application/pdf' });
    if (path === '/demo/demo.js') return c.body(DEMO_SCRIPT, 200, { 'Content-Type': 'application/javascript; charset=utf-8' });
    const page = pages.get(path) ?? pages.get(path.replace(/\.html$/, ''));
    // a page asked for as a folder (`/demo/pricing/`, as a hand-typed address often is): its address, whose relative
    // links and script resolve as the page expects; its query (a campaign's UTM) kept
    if (!page && path.endsWith('/') && pages.has(path.slice(0, -1))) return c.redirect(path.slice(0, -1) + new URL(c.req.url).search, 301);
    if (!page) return c.json(errorBody('not_found', `no demo page ${path}`), 404);
    siteKey ??= (await getSiteByName(deps.db, DEMO_SITE_NAME))?.siteKey ?? null;
    if (!siteKey) return c.json(errorBody('not_found', 'the demo site is not created (start with DEMO=1)'), 404);
    return c.html(renderDemoPage(page, siteKey));
  });
}
