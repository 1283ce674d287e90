// Operations routes: liveness and Prometheus metrics.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { getDatabaseBytes, pingDatabase } from '../storage/db-health.js';

const health = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['ops'],
  summary: 'Liveness: the process answers and the database responds.',
  responses: {
    200: { description: 'alive', content: { 'application/json': { schema: z.object({ ok: z.boolean(), engine: z.string() }) } } },
    503: { description: 'database unreachable', content: { 'application/json': { schema: z.object({ ok: z.boolean(), engine: z.string() }) } } },
  },
});

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['ops'],
  summary: 'Prometheus text: events accepted, rejected by reason, flush batch size and latency, database size.',
  responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: z.string() } } } },
});

/** GET /openapi.json is served by app.ts (it needs every route mounted first); it is described here with the rest. */
const openapiDoc = {
  method: 'get' as const,
  path: '/openapi.json',
  tags: ['ops'],
  summary: 'This API description (OpenAPI 3.1). No key needed; the scope each route needs is in its security requirement.',
  responses: { 200: { description: 'the OpenAPI document', content: { 'application/json': { schema: z.object({}).passthrough() } } } },
};

export function mountOps(app: ApiApp, deps: Deps) {
  app.openAPIRegistry.registerPath(openapiDoc);
  deps.metrics.gauge('funnelbeam_database_bytes', () => getDatabaseBytes(deps.db));
  app.openapi(health, async (c) => {
    try {
      await pingDatabase(deps.db);
      return c.json({ ok: true, engine: deps.db.dialect }, 200);
    } catch {
      return c.json({ ok: false, engine: deps.db.dialect }, 503);
    }
  });
  app.openapi(metrics, async (c) => c.text(await deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
}
