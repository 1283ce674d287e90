// GET /s.js: the snippet, built once per process from snippet/ with the release options (esbuild, then terser).
import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { errorBody } from '../errors.js';

let built: Promise<{ code: string; etag: string }> | null = null;

async function loadSnippet() {
  const { buildSnippet } = await import('../../scripts/build-snippet.js');
  const { code } = await buildSnippet({ write: true });
  return { code, etag: '"' + createHash('sha256').update(code).digest('base64url').slice(0, 27) + '"' };
}

export function mountSnippet(app: ApiApp, deps: Deps) {
  app.get('/s.js', async (c) => {
    built ??= loadSnippet();
    let snippet;
    try {
      snippet = await built;
    } catch (err) {
      built = null;
      deps.log.error('snippet build failed', { error: (err as Error).message });
      return c.json(errorBody('snippet_unavailable', 'the snippet could not be built'), 503);
    }
    c.header('Cache-Control', 'public, max-age=3600, stale-while-revalidate=86400');
    c.header('ETag', snippet.etag);
    c.header('Access-Control-Allow-Origin', '*');
    // embeddable by any site, also a cross-origin-isolated one (COEP require-corp) that pastes the tag as documented
    c.header('Cross-Origin-Resource-Policy', 'cross-origin');
    // RFC 9110 13.1.2: weak comparison, a list or "*": a proxy that compresses the script (nginx gzip) turns the ETag
    // into W/"…", which browsers then send back
    const inm = c.req.header('if-none-match');
    if (inm && (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === snippet.etag))) return c.body(null, 304);
    return c.body(snippet.code, 200, { 'Content-Type': 'application/javascript; charset=utf-8' });
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/s.js',
    tags: ['snippet'],
    summary: 'The tracking snippet (ETag and cache headers; 304 on If-None-Match).',
    responses: {
      200: { description: 'JavaScript', content: { 'application/javascript': { schema: z.string() } } },
      304: { description: 'not modified' },
      503: {
        description: 'the snippet could not be built (retried on the next request)',
        content: { 'application/json': { schema: z.object({ error: z.object({ code: z.string(), message: z.string() }) }) } },
      },
    },
  });
}
