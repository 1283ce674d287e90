// GET /api/funnel (scope audiences:read): the funnel report. HTTP in, domain call, JSON out.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { ApiError } from '../errors.js';
import { ATTRIBUTIONS, BREAKDOWNS, getFunnelReport } from '../reports/get-funnel-report.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const stageSchema = z
  .object({
    stage: z.string(),
    count: z.number().openapi({ description: 'leads in this stage now' }),
    entered: z.number().openapi({ description: 'leads that entered this stage in from..to' }),
    reached: z.number().openapi({ description: 'leads created in from..to that reached this stage or a later one' }),
    conversionNext: z.number().nullable().openapi({ description: 'reached(next stage) / reached(this stage)' }),
    conversionCumulative: z.number().nullable().openapi({ description: 'reached(this stage) / reached(first stage)' }),
    timeInStage: z
      .object({ p50: z.number().nullable(), p90: z.number().nullable(), n: z.number() })
      .openapi({ description: 'ms from entering the stage to entering the next, for leads that entered it in from..to and moved on' }),
  })
  .openapi('FunnelStage');

const route = createRoute({
  method: 'get',
  path: '/api/funnel',
  tags: ['funnel'],
  summary: 'Per stage: leads now, entries in the period, next-step and cumulative conversion, p50/p90 time in stage; optional breakdown.',
  security: [{ bearer: ['audiences:read'] }],
  middleware: [requireScope('audiences:read')] as const,
  request: {
    query: z.object({
      from: z.string().max(64).optional().openapi({ description: 'inclusive; ISO 8601 or epoch ms; default: 30 days before to; must be before to (else 400)' }),
      to: z.string().max(64).optional().openapi({ description: 'exclusive; ISO 8601 or epoch ms; default: now' }),
      breakdown: z.enum(BREAKDOWNS).optional(),
      attribution: z.enum(ATTRIBUTIONS).optional().openapi({ description: 'only with breakdown (without one: 400); default first' }),
    }),
  },
  responses: {
    200: {
      description: 'the funnel report',
      content: {
        'application/json': {
          schema: z.object({
            from: z.string().openapi({ format: 'date-time', description: 'the period read, inclusive (ISO 8601)' }),
            to: z.string().openapi({ format: 'date-time', description: 'exclusive (ISO 8601)' }),
            stages: z.array(stageSchema),
            breakdownBy: z.enum(BREAKDOWNS).nullable(),
            attribution: z.enum(ATTRIBUTIONS).nullable(),
            breakdown: z.array(z.object({ key: z.string(), stages: z.array(stageSchema) })).nullable(),
          }),
        },
      },
    },
    400: { description: 'bad parameters: from or to not a time, from not before to, attribution without breakdown, an unknown breakdown or attribution', content: { 'application/json': { schema: errorSchema } } },
    401: { description: 'missing or unknown key', content: { 'application/json': { schema: errorSchema } } },
    403: { description: 'key lacks audiences:read', content: { 'application/json': { schema: errorSchema } } },
  },
});

export function mountFunnelReport(app: ApiApp, deps: Deps) {
  app.openapi(route, async (c) => {
    const r = await getFunnelReport(deps, c.var.siteId, c.req.valid('query'));
    if (!r.ok) throw new ApiError(400, r.code, r.message);
    return c.json(r.report, 200);
  });
}
