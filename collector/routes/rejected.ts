// GET /api/rejected: the site's rejected-events store, newest first (scope admin).
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { listRejected } from '../storage/rejected.js';

const route = createRoute({
  method: 'get',
  path: '/api/rejected',
  tags: ['ops'],
  summary: 'Rejected input with its reason and a truncated copy of the raw body, newest first.',
  security: [{ bearer: [] }],
  middleware: [requireScope('admin')] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      before: z.coerce.number().int().optional().openapi({ description: 'epoch ms: items received before this time' }),
      reason: z.string().max(64).optional(),
    }),
  },
  responses: {
    200: {
      description: 'rejected items',
      content: {
        'application/json': {
          schema: z.object({
            items: z.array(z.object({ id: z.string(), reason: z.string(), message: z.string(), route: z.string(), raw: z.string(), at: z.string() })),
            nextBefore: z.number().nullable(),
          }),
        },
      },
    },
  },
});

export function mountRejected(app: ApiApp, deps: Deps) {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const items = await listRejected(deps.db, c.var.siteId, q);
    return c.json(
      {
        items: items.map((i) => ({ ...i, at: new Date(i.at).toISOString() })),
        nextBefore: items.length === q.limit ? items[items.length - 1].at : null,
      },
      200,
    );
  });
}
