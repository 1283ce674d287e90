// GET /api/visitors/{visitorId}/segments?site=SITE_KEY: what the snippet's `segments` call reads, open to the site's
// own pages (CORS for its domain and subdomains, like POST /e) with the public site key as the only credential.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ApiApp } from '../app.js';
import type { AppEnv, Deps } from '../context.js';
import { ApiError } from '../errors.js';
import { createSiteCache } from '../ingest/site-cache.js';
import { isOriginAllowed } from '../ingest/origin.js';
import { visitorSegments } from '../segments/segment-admin.js';
import { LIMITS } from '../../shared/limits.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const route = createRoute({
  method: 'get',
  path: '/api/visitors/{visitorId}/segments',
  tags: ['segments'],
  summary: "The segment keys of the visitor's current lead (for on-page retargeting). Auth: the public site key.",
  security: [{ siteKey: [] }],
  request: {
    params: z.object({ visitorId: z.string().min(1).max(LIMITS.idChars).openapi({ param: { name: 'visitorId', in: 'path' } }) }),
    query: z.object({ site: z.string().min(1).max(LIMITS.idChars).openapi({ param: { name: 'site', in: 'query' }, description: 'public site key' }) }),
  },
  responses: {
    200: { description: 'segment keys, empty for an unknown visitor', content: { 'application/json': { schema: z.object({ segments: z.array(z.string()) }) } } },
    400: { description: 'no site key or a malformed visitor id', content: { 'application/json': { schema: errorSchema } } },
    403: { description: 'the Origin is not the site or a subdomain', content: { 'application/json': { schema: errorSchema } } },
    404: { description: 'unknown site key', content: { 'application/json': { schema: errorSchema } } },
  },
});

function allowOrigin(c: Context<AppEnv>) {
  const origin = c.req.header('origin');
  if (origin) {
    c.header('Access-Control-Allow-Origin', origin);
    c.header('Vary', 'Origin');
  }
}

export function mountVisitorSegments(app: ApiApp, deps: Deps) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'siteKey', {
    type: 'apiKey',
    in: 'query',
    name: 'site',
    description: 'the public site key of the snippet tag (data-site); it only reads, and only from the site\'s own origins',
  });
  const findSite = createSiteCache(deps.db, 10_000, deps.now);

  // A plain GET needs no preflight; answer one anyway for pages that add headers through a proxy or wrapper.
  app.options('/api/visitors/:visitorId/segments', async (c) => {
    const site = await findSite(c.req.query('site') ?? '');
    if (site && isOriginAllowed(c.req.header('origin'), site)) {
      allowOrigin(c);
      c.header('Access-Control-Allow-Methods', 'GET, OPTIONS');
      c.header('Access-Control-Allow-Headers', c.req.header('access-control-request-headers') ?? '');
      c.header('Access-Control-Max-Age', '86400');
    }
    return c.body(null, 204);
  });

  app.openapi(route, async (c) => {
    const { visitorId } = c.req.valid('param');
    const site = await findSite(c.req.valid('query').site);
    if (!site) throw new ApiError(404, 'unknown_site', 'no site with this key');
    const origin = c.req.header('origin');
    if (!isOriginAllowed(origin, site)) throw new ApiError(403, 'origin_not_allowed', `origin ${origin} may not read segments of ${site.domain}`);
    allowOrigin(c);
    c.header('Cache-Control', 'no-store');
    return c.json({ segments: await visitorSegments(deps, site.siteId, visitorId) }, 200);
  });
}
