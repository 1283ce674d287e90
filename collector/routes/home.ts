// GET /: the first address `npm start` prints. A small page of links (health, snippet, API docs, and the demo while
// it is on) instead of a 404 for a newcomer who opens it; it names no site, key or data.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';

const home = createRoute({
  method: 'get',
  path: '/',
  tags: ['ops'],
  summary: 'A page of links for a person who opens the collector: the demo (while on), health, snippet, API description, metrics.',
  responses: { 200: { description: 'an HTML page', content: { 'text/html': { schema: z.string() } } } },
});

const link = (href: string, label: string) => `<li><a href="${href}">${label}</a> <code>${href}</code></li>`;

export function homePage(demo: boolean): string {
  const links = [
    demo ? link('/demo/', 'Demo marketing site (tracked by the demo site)') : '',
    link('/healthz', 'Health'),
    link('/s.js', 'Snippet'),
    link('/openapi.json', 'API description (OpenAPI 3.1)'),
    link('/metrics', 'Metrics (Prometheus)'),
  ].join('');
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>Funnelbeam collector</title>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Funnelbeam collector</h1><ul>${links}</ul>
<p>API keys: <code>npm run admin -- key create --site &lt;siteId&gt; --scopes admin</code>; see the README.</p></body></html>`;
}

export function mountHome(app: ApiApp, demo: boolean) {
  const page = homePage(demo);
  app.openapi(home, (c) => c.html(page, 200));
}
