// GET /api/rejected: the site's rejected-events store, newest first (scope admin).
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { listRejected } from '../storage/rejected.js';
import { ApiError } from '../errors.js';
import { decodeCursor, encodeCursor } from '../leads/cursor.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const route = createRoute({
  method: 'get',
  path: '/api/rejected',
  tags: ['ops'],
  summary: 'Rejected input with its reason and a truncated copy of the raw body, newest first.',
  security: [{ bearer: ['admin'] }],
  middleware: [requireScope('admin')] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: z.string().max(1024).optional().openapi({ description: 'the `nextCursor` of the previous page' }),
      before: z.coerce.number().int().optional().openapi({ description: 'epoch ms: items received before this time (`cursor` also keeps items of the same millisecond)' }),
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
            nextCursor: z.string().nullable(),
            nextBefore: z.number().nullable(),
          }),
        },
      },
    },
    400: { description: 'bad query or cursor', content: { 'application/json': { schema: errorSchema } } },
    401: { description: 'missing or unknown key', content: { 'application/json': { schema: errorSchema } } },
    403: { description: 'key lacks the admin scope', content: { 'application/json': { schema: errorSchema } } },
  },
});

export function mountRejected(app: ApiApp, deps: Deps) {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const parts = q.cursor === undefined ? undefined : decodeCursor(q.cursor, ['number', 'string']);
    if (parts === null) throw new ApiError(400, 'invalid_cursor', 'cursor is not one this API returned');
    const after = parts ? { at: parts[0] as number, id: parts[1] as string } : undefined;
    const items = await listRejected(deps.db, c.var.siteId, { ...q, after });
    const last = items.length === q.limit ? items[items.length - 1] : undefined;
    return c.json(
      {
        items: items.map((i) => ({ ...i, at: new Date(i.at).toISOString() })),
        nextCursor: last ? encodeCursor([last.at, last.id]) : null,
        nextBefore: last ? last.at : null,
      },
      200,
    );
  });
}
