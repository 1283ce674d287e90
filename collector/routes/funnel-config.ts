// GET/PUT /api/config/funnel (scope admin): the site's stages, stage rules, score rules, MQL threshold and SQL triggers.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { ApiError } from '../errors.js';
import { funnelConfigSchema } from '../funnel/funnel-config.js';
import { loadFunnelConfig, saveFunnelConfig, type StaleSegment } from '../funnel/save-funnel-config.js';
import { API_BODY_CEILING } from '../hardening/api-body-limit.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const configSchema = funnelConfigSchema.openapi('FunnelConfig', {
  description:
    'stages in funnel order; stageRules {id, stage, when}; scoreRules {id, points, when, cap?, window?}; halfLifeDays; mqlThreshold; sqlWhen [conditions]. ' +
    'A condition: {event?, path?, url?, props?, form?, source?, sessions?, count?}; globs use * ; `{}` matches any event.',
});
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorSchema } } });

const getRoute = createRoute({
  method: 'get',
  path: '/api/config/funnel',
  tags: ['funnel'],
  summary: 'The funnel config in force: the stored one, or the defaults when none was stored.',
  security: [{ bearer: ['admin'] }],
  middleware: [requireScope('admin')] as const,
  responses: {
    200: { description: 'the config', content: { 'application/json': { schema: configSchema } } },
    401: errorResponse('missing or unknown key'),
    403: errorResponse('key lacks the admin scope'),
  },
});

/** The warning header's text: which segments name which stages the funnel no longer has. */
const staleWarning = (stale: readonly StaleSegment[]) =>
  'segments naming stages no longer in the funnel match no lead by them: ' + stale.map((x) => `${x.key} (${x.stages.join(', ')})`).join('; ');

export function mountFunnelConfig(app: ApiApp, deps: Deps) {
  app.openapi(getRoute, async (c) => c.json(await loadFunnelConfig(deps.db, c.var.siteId), 200));

  app.put('/api/config/funnel', requireScope('admin'), async function putFunnelConfig(c) {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw new ApiError(400, 'invalid_config', 'body is not valid JSON');
    }
    const r = await saveFunnelConfig(deps, c.var.siteId, body);
    if (!r.ok) throw new ApiError(400, 'invalid_config', r.message);
    if (r.staleSegments?.length) c.header('Funnelbeam-Warning', staleWarning(r.staleSegments));
    return c.json(r.config, 200);
  });
  app.openAPIRegistry.registerPath({
    method: 'put',
    path: '/api/config/funnel',
    tags: ['funnel'],
    summary:
      'Replace the funnel config. Leads are rebuilt under the new rules at their next event; `npm run admin -- replay --site <id>` rebuilds all now. ' +
      'A new half-life or stage order re-decides segment memberships at once.',
    security: [{ bearer: ['admin'] }],
    request: { body: { content: { 'application/json': { schema: configSchema } } } },
    responses: {
      200: {
        description:
          'the stored config. Stages renamed in place (same number of stages) are renamed in segment definitions; segments that still name a stage no longer in the funnel are listed in the Funnelbeam-Warning header',
        headers: { 'Funnelbeam-Warning': { schema: { type: 'string' }, description: 'segments naming stages that are gone, e.g. `stalled_consideration (consideration)`' } },
        content: { 'application/json': { schema: configSchema } },
      },
      400: errorResponse('invalid JSON or config, or a rule that could never hold (`sessions` of server events, a `path` without its leading `/` or with a query); the message names the bad part, e.g. `scoreRules.2.window: …`'),
      401: errorResponse('missing or unknown key'),
      403: errorResponse('key lacks the admin scope'),
      413: errorResponse(`body over ${API_BODY_CEILING} bytes`),
    },
  });
}
