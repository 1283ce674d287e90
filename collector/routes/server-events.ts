// POST /api/events (scope events:write): server-side events from sales and the CRM. HTTP in, domain call, JSON out.
import { z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { errorBody } from '../errors.js';
import { insertRejected } from '../storage/rejected.js';
import { LIMITS } from '../../shared/limits.js';
import { serverEventSchema } from '../funnel/server-event-input.js';
import { acceptServerEvents } from '../funnel/record-server-events.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorSchema } } });

export function mountServerEvents(app: ApiApp, deps: Deps) {
  app.post(
    '/api/events',
    requireScope('events:write'),
    bodyLimit({
      maxSize: LIMITS.apiBodyBytes,
      onError: async (c) => {
        deps.metrics.inc('funnelbeam_events_rejected_total', { reason: 'payload_too_large' });
        const message = `body over ${LIMITS.apiBodyBytes} bytes`;
        await insertRejected(deps.db, [{ siteId: c.var.siteId, reason: 'payload_too_large', message, route: '/api/events', raw: '', receivedAt: deps.now() }]).catch(() => {});
        return c.json(errorBody('payload_too_large', message), 413);
      },
    }),
    async function postServerEvents(c) {
      const outcome = await acceptServerEvents(deps, c.var.siteId, await c.req.text());
      if (!outcome.ok) return c.json(errorBody(outcome.code, outcome.message), outcome.status);
      const { accepted, duplicates, events, rejected } = outcome;
      return c.json(rejected.length ? { accepted, duplicates, events, rejected } : { accepted, duplicates, events }, 202);
    },
  );

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/api/events',
    tags: ['funnel'],
    summary: 'Server-side events (demo_completed, opportunity_created, sales_accepted, closed_won, closed_lost, …) for a lead named by email, leadId or visitorId; 202 once committed.',
    description:
      `One event or an array of at most ${LIMITS.apiBatchEvents}. An unknown email makes a lead; email with visitorId identifies that visitor. ` +
      'Give each event an `id` so that a retry is stored once. `closed_won` moves the lead to purchase. ' +
      'A bad event inside an array (invalid, a future `at`, an unknown `leadId`) is refused alone: it is listed in `rejected` with its index and kept in the rejected store, and the others are stored; ' +
      'only a body with nothing to store (a single bad event, every event bad, not JSON, too many events) gets 400. `at` in epoch numbers is milliseconds. ' +
      'Stored with source "server" and visitor id `srv:<leadId>` (or the named visitor). ' +
      'An event naming an erased lead\'s device, email or lead id, dated at or before its erasure, is dropped: listed in neither `events` nor `rejected`.',
    security: [{ bearer: ['events:write'] }],
    request: { body: { content: { 'application/json': { schema: z.union([serverEventSchema, z.array(serverEventSchema)]) } } } },
    responses: {
      202: {
        description: 'the stored events committed and attributed; `events` lists them (with their index in the body), `rejected` the refused ones',
        content: {
          'application/json': {
            schema: z.object({
              accepted: z.number(),
              duplicates: z.number(),
              events: z.array(z.object({ index: z.number().int(), id: z.string(), leadId: z.string(), duplicate: z.boolean() })),
              rejected: z
                .array(z.object({ index: z.number().int(), id: z.string().nullable(), code: z.enum(['invalid_event', 'unknown_lead']), message: z.string() }))
                .optional()
                .openapi({ description: 'only when some events of an array were refused; each is kept in the rejected store' }),
            }),
          },
        },
      },
      400: errorResponse('nothing to store: invalid body or every event refused (kept in the rejected store); the message names the event and field'),
      401: errorResponse('missing or unknown key'),
      403: errorResponse('key lacks the events:write scope'),
      413: errorResponse(`body over ${LIMITS.apiBodyBytes} bytes`),
    },
  });
}
