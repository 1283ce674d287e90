// GET /s.js: the snippet, built once per process from snippet/ with the release options (esbuild, then terser).
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { errorBody } from '../errors.js';

/** The snippet as sent: as built (identity) and compressed once, each with its own ETag (a representation's own). */
type Encoded = { body: string | Uint8Array<ArrayBuffer>; etag: string };
type Snippet = { identity: Encoded; br: Encoded; gzip: Encoded };

let built: Promise<Snippet> | null = null;

async function loadSnippet(): Promise<Snippet> {
  const { buildSnippet } = await import('../../scripts/build-snippet.js');
  const { code } = await buildSnippet({ write: true });
  const tag = createHash('sha256').update(code).digest('base64url').slice(0, 27);
  return {
    identity: { body: code, etag: `"${tag}"` },
    br: { body: new Uint8Array(brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })), etag: `"${tag}-br"` },
    gzip: { body: new Uint8Array(gzipSync(code, { level: 9 })), etag: `"${tag}-gz"` },
  };
}

/**
 * The coding of the snippet an Accept-Encoding asks for: br, else gzip, else none (a coding with `q=0` is refused).
 * Served as built, every page load of every visitor fetched about twice the bytes the snippet's size budget counts
 * (gzip -9), wherever no proxy in front compressed it (`npm start` as it is).
 */
export function snippetEncoding(accept: string | undefined): 'br' | 'gzip' | 'identity' {
  const q = new Map<string, number>();
  for (const part of (accept ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const weight = params.map((p) => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name) q.set(name.trim(), weight === undefined ? 1 : Number(weight));
  }
  const accepts = (coding: string) => (q.get(coding) ?? q.get('*') ?? 0) > 0;
  return accepts('br') ? 'br' : accepts('gzip') ? 'gzip' : 'identity';
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
    const coding = snippetEncoding(c.req.header('accept-encoding'));
    const sent = snippet[coding];
    c.header('Cache-Control', 'public, max-age=3600, stale-while-revalidate=86400');
    c.header('ETag', sent.etag);
    c.header('Vary', 'Accept-Encoding');
    c.header('Access-Control-Allow-Origin', '*');
    // embeddable by any site, also a cross-origin-isolated one (COEP require-corp) that pastes the tag as documented
    c.header('Cross-Origin-Resource-Policy', 'cross-origin');
    // RFC 9110 13.1.2: weak comparison, a list or "*": a proxy that compresses the script (nginx gzip) turns the ETag
    // into W/"…", which browsers then send back. Any coding's ETag names the same script.
    const inm = c.req.header('if-none-match');
    const tags = [snippet.identity.etag, snippet.br.etag, snippet.gzip.etag];
    if (inm && (inm.trim() === '*' || inm.split(',').some((t) => tags.includes(t.trim().replace(/^W\//, ''))))) return c.body(null, 304);
    if (coding !== 'identity') c.header('Content-Encoding', coding);
    return c.body(sent.body, 200, { 'Content-Type': 'application/javascript; charset=utf-8' });
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/s.js',
    tags: ['snippet'],
    summary: 'The tracking snippet (ETag and cache headers; 304 on If-None-Match; brotli or gzip as Accept-Encoding allows).',
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
