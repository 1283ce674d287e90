// Webhook administration: PUT/GET/DELETE /api/webhooks/{id} and GET /api/webhooks, with the recent delivery log.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { ApiError } from '../errors.js';
import { WEBHOOK_EVENTS } from '../webhooks/enqueue.js';
import { saveWebhook } from '../webhooks/save-webhook.js';
import { API_BODY_CEILING } from '../hardening/api-body-limit.js';
import { deleteWebhook, getWebhook, listRecentDeliveries, listWebhooks, type Delivery, type Webhook } from '../storage/webhooks.js';

const RECENT_DELIVERIES = 50;

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const errors = {
  400: { description: 'invalid request', content: { 'application/json': { schema: ErrorSchema } } },
  401: { description: 'no or bad key', content: { 'application/json': { schema: ErrorSchema } } },
  403: { description: 'key lacks admin', content: { 'application/json': { schema: ErrorSchema } } },
} as const;
const notFound = { 404: { description: 'no such webhook', content: { 'application/json': { schema: ErrorSchema } } } } as const;

const IdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-", at most 64') });

const WebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  active: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const SavedSchema = WebhookSchema.extend({
  secret: z.string().optional().openapi({ description: 'only in the response that generated it; never shown again' }),
});
const DeliverySchema = z.object({
  deliveryId: z.string(),
  event: z.string(),
  status: z.enum(['pending', 'sending', 'delivered', 'failed', 'held']),
  attempts: z.number(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
});
/** Whether a URL carries a user name or password (false for what is no URL: .url() refuses that). */
function hasCredentials(u: string): boolean {
  try {
    const url = new URL(u);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}
const BodySchema = z.object({
  url: z
    .string()
    .max(2048, 'at most 2048 characters')
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
    // fetch refuses a URL with credentials, so such a webhook could never be delivered: send them as a secret instead
    .refine((u) => !hasCredentials(u), 'must not contain a user name or password')
    .openapi({ description: 'http(s), at most 2048 characters, without credentials (verify deliveries with the signature); never a link-local or cloud metadata address, nor, with WEBHOOK_PRIVATE_TARGETS=0, a loopback, private or reserved one (400 webhook_target_refused)' }),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).openapi({ description: 'queued deliveries of a type left out are not sent' }),
  secret: z.string().min(16).max(256).optional().openapi({ description: 'omit to keep the current secret, or to have one generated for a new webhook' }),
  active: z.boolean().optional().openapi({ description: 'false pauses it (deliveries wait as held); omit to keep the current value (true for a new webhook)' }),
});

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());
const toJson = (w: Webhook) => ({
  id: w.webhookId,
  url: w.url,
  events: w.events as Array<(typeof WEBHOOK_EVENTS)[number]>,
  active: w.active,
  createdAt: iso(w.createdAt)!,
  updatedAt: iso(w.updatedAt)!,
});
const deliveryJson = (d: Delivery) => ({
  deliveryId: d.deliveryId,
  event: d.eventType,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.lastStatus,
  lastError: d.lastError,
  createdAt: iso(d.createdAt)!,
  nextAttemptAt: d.status === 'pending' || d.status === 'sending' ? iso(d.nextAttemptAt) : null,
  deliveredAt: iso(d.deliveredAt),
});

// the scope a key needs, as OpenAPI 3.1 lets a bearer scheme name it (role names in the security requirement)
const common = { tags: ['webhooks'], security: [{ bearer: ['admin'] }] };

const putRoute = createRoute({
  ...common,
  middleware: [requireScope('admin')] as const,
  method: 'put',
  path: '/api/webhooks/{id}',
  summary: 'Create or replace a webhook. A generated secret is returned once.',
  request: { params: IdParams, body: { required: true, content: { 'application/json': { schema: BodySchema } } } },
  responses: {
    200: { description: 'updated', content: { 'application/json': { schema: SavedSchema } } },
    201: { description: 'created', content: { 'application/json': { schema: SavedSchema } } },
    ...errors,
    413: { description: `body over ${API_BODY_CEILING} bytes`, content: { 'application/json': { schema: ErrorSchema } } },
    415: { description: 'the body is not sent as Content-Type: application/json', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

const getRoute = createRoute({
  ...common,
  middleware: [requireScope('admin')] as const,
  method: 'get',
  path: '/api/webhooks/{id}',
  summary: `A webhook and its ${RECENT_DELIVERIES} most recent deliveries (the secret is never shown).`,
  request: { params: IdParams },
  responses: {
    200: { description: 'the webhook', content: { 'application/json': { schema: WebhookSchema.extend({ deliveries: z.array(DeliverySchema) }) } } },
    ...errors,
    ...notFound,
  },
});

const listRoute = createRoute({
  ...common,
  middleware: [requireScope('admin')] as const,
  method: 'get',
  path: '/api/webhooks',
  summary: 'Every webhook of the site.',
  responses: { 200: { description: 'webhooks', content: { 'application/json': { schema: z.object({ webhooks: z.array(WebhookSchema) }) } } }, ...errors },
});

const deleteRoute = createRoute({
  ...common,
  middleware: [requireScope('admin')] as const,
  method: 'delete',
  path: '/api/webhooks/{id}',
  summary: 'Delete a webhook and its queued deliveries and log.',
  request: { params: IdParams },
  responses: { 204: { description: 'deleted' }, ...errors, ...notFound },
});

// What a receiver gets (OpenAPI 3.1 `webhooks`): one POST per delivery, `{id, type, createdAt, data}`, signed.
const iso8601 = z.string().openapi({ description: 'ISO 8601' });
const WEBHOOK_DATA = {
  'stage.changed': z.object({
    leadId: z.string(),
    email: z.string().nullable(),
    from: z.string().nullable().openapi({ description: 'null for the first stage a lead enters' }),
    to: z.string(),
    at: iso8601,
    eventId: z.string().nullable().openapi({ description: 'the event that moved the lead' }),
    rule: z.string().nullable().openapi({ description: 'the stage rule that matched' }),
  }),
  'lead.mql': z.object({
    leadId: z.string(),
    email: z.string().nullable(),
    score: z.number(),
    threshold: z.number(),
    at: iso8601,
    eventId: z.string().nullable(),
  }),
  'segment.entered': z.object({
    segment: z.string(),
    segmentName: z.string(),
    leadId: z.string(),
    email: z.string().nullable(),
    stage: z.string(),
    score: z.number().openapi({ description: 'the lead\'s score at that moment, decayed as GET /api/leads/{ref} shows it' }),
    at: iso8601,
  }),
} as const;
const webhookDoc = (type: (typeof WEBHOOK_EVENTS)[number], data: z.ZodTypeAny, summary: string) => ({
  method: 'post' as const,
  path: type,
  tags: ['webhooks'],
  summary,
  description:
    'Header `Funnelbeam-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the webhook secret>`; ' +
    '`id` is the delivery id, the same on every retry. Any 2xx counts as delivered; anything else, or no answer within ' +
    '10 s, is retried with backoff.',
  request: {
    headers: z.object({ 'Funnelbeam-Signature': z.string() }),
    body: {
      content: {
        'application/json': { schema: z.object({ id: z.string(), type: z.literal(type), createdAt: iso8601, data }) },
      },
    },
  },
  responses: { 200: { description: 'any 2xx: delivered' } },
});

export function mountWebhooks(app: ApiApp, deps: Deps) {
  app.openAPIRegistry.registerWebhook(webhookDoc('stage.changed', WEBHOOK_DATA['stage.changed'], 'A lead entered a stage (one per stage entered).'));
  app.openAPIRegistry.registerWebhook(webhookDoc('lead.mql', WEBHOOK_DATA['lead.mql'], 'A lead\'s score crossed the MQL threshold (told once per lead).'));
  app.openAPIRegistry.registerWebhook(webhookDoc('segment.entered', WEBHOOK_DATA['segment.entered'], 'A lead entered a segment.'));
  app.openAPIRegistry.registerWebhook(webhookDoc('segment.exited', WEBHOOK_DATA['segment.entered'], 'A lead left a segment.'));
  app.openapi(putRoute, async (c) => {
    const { id } = c.req.valid('param');
    const saved = await saveWebhook(deps.db, c.var.siteId, id, c.req.valid('json'), deps.now(), {
      privateTargets: deps.config.WEBHOOK_PRIVATE_TARGETS === '1',
    });
    const body = { ...toJson(saved.webhook), ...(saved.generatedSecret ? { secret: saved.generatedSecret } : {}) };
    return c.json(body, saved.created ? 201 : 200);
  });
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const hook = await getWebhook(deps.db, c.var.siteId, id);
    if (!hook) throw new ApiError(404, 'webhook_not_found', `no webhook "${id}"`);
    const deliveries = await listRecentDeliveries(deps.db, c.var.siteId, id, RECENT_DELIVERIES);
    return c.json({ ...toJson(hook), deliveries: deliveries.map(deliveryJson) }, 200);
  });
  app.openapi(listRoute, async (c) => c.json({ webhooks: (await listWebhooks(deps.db, c.var.siteId)).map(toJson) }, 200));
  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await deleteWebhook(deps.db, c.var.siteId, id))) throw new ApiError(404, 'webhook_not_found', `no webhook "${id}"`);
    return c.body(null, 204);
  });
}
