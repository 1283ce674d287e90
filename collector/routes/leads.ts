// Lead routes: list, profile, timeline (scope leads:read) and erasure (scope admin). HTTP in, domain call, JSON out.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { ApiError } from '../errors.js';
import { listLeads } from '../leads/list-leads.js';
import { getLeadProfile } from '../leads/get-lead-profile.js';
import { eraseLead } from '../leads/erase-lead.js';
import { getLeadTimeline } from '../timeline/get-lead-timeline.js';
import { TIMELINE_KINDS } from '../timeline/timeline-item.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).openapi('Error');
type ErrorStatus = 400 | 401 | 403 | 404 | 413;
const errors = <S extends ErrorStatus>(...statuses: S[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: {
          400: 'bad ref, query or cursor',
          401: 'missing or unknown key',
          403: 'key lacks the scope',
          404: 'no such lead in this site',
          // every /api body is capped (hardening/api-body-limit.ts), a DELETE's too
          413: 'request body over the 2 MiB ceiling of /api requests',
        }[s],
        content: { 'application/json': { schema: errorSchema } },
      },
    ]),
  ) as Record<S, { description: string; content: { 'application/json': { schema: typeof errorSchema } } }>;

const text = (description: string) => z.string().optional().openapi({ description });
/** A time as every read shows it: ISO 8601 in UTC (`Date.prototype.toISOString`). */
const time = () => z.string().openapi({ format: 'date-time', example: '2025-01-06T09:00:00.000Z' });
const touchSchema = z
  .looseObject({
    channel: text('direct, organic_search, paid_search, organic_social, paid_social, email, referral, display, affiliate or other'),
    utm_source: text('UTM source'),
    utm_medium: text('UTM medium'),
    utm_campaign: text('UTM campaign'),
    utm_term: text('UTM term'),
    utm_content: text('UTM content'),
    gclid: text('click id'),
    fbclid: text('click id'),
    msclkid: text('click id'),
    li_fat_id: text('click id'),
    ttclid: text('click id'),
    gbraid: text('click id (Google Ads, iOS app campaigns)'),
    wbraid: text('click id (Google Ads, iOS web-to-app)'),
    ref: text('referrer of the landing page'),
    url: text('landing page URL'),
    at: z.string().optional().openapi({ description: 'when the touch happened (ISO 8601)', format: 'date-time', example: '2025-01-06T09:00:00.000Z' }),
    sessionId: text('lastTouch: the session it began, as ingest opened it'),
    clickId: text('lastTouch: which click id its landing URL carried (gclid, fbclid, msclkid, li_fat_id, ttclid, gbraid or wbraid), not its value'),
  })
  .openapi({ description: 'empty ({}) for a lead never seen on the web (created by POST /api/events)' });
const profileSchema = z
  .object({
    leadId: z.string(),
    email: z.string().nullable(),
    identified: z.boolean(),
    visitorIds: z.array(z.string()),
    stage: z.string(),
    score: z.number().openapi({ description: 'score decayed to now by the site half-life' }),
    mql: z.boolean(),
    sql: z.boolean(),
    firstTouch: touchSchema.openapi({ description: "the lead's first touch: where it first came from" }),
    lastTouch: touchSchema.openapi({ description: "the touch of the lead's latest web session" }),
    traits: z.record(z.string(), z.unknown()),
    segments: z.array(z.string()),
    stageEnteredAt: time(),
    mqlAt: time().nullable(),
    sqlAt: time().nullable(),
    identifiedAt: time().nullable(),
    createdAt: time(),
    updatedAt: time(),
    scoreStored: z.number(),
    scoreAt: time(),
    isBot: z.boolean(),
    optedOut: z.boolean().openapi({ description: 'its latest opt event from POST /api/events is `opted_out` or `unsubscribed` (not `opted_in`/`resubscribed`): left out of ad-platform exports' }),
  })
  .openapi('LeadProfile');

const refParam = z.object({
  ref: z.string().openapi({
    description: 'a lead id (a merged-away one names the lead it became), a visitor id (its current lead; `srv:<leadId>` of server events too; one holding an `@`, as POST /api/events takes, when no lead has it as email) or an email (case-insensitive); surrounding spaces are ignored; URL-encoded',
    example: 'ada@example.com',
  }),
});

const listRoute = createRoute({
  method: 'get',
  path: '/api/leads',
  tags: ['leads'],
  summary: 'Leads, newest activity first (or by lead id, a stable order), filtered by stage, segment, email part, identified, MQL or SQL; cursor-paginated.',
  security: [{ bearer: ['leads:read'] }],
  middleware: [requireScope('leads:read')] as const,
  request: {
    query: z.object({
      stage: z.string().max(64).optional().openapi({ description: 'a stage of the funnel; empty: any' }),
      segment: z.string().max(64).optional().openapi({ description: 'segment key the lead is a member of; empty: any' }),
      q: z.string().max(320).optional().openapi({ description: 'part of the email, case-insensitive (empty: any lead); % and _ are plain characters, and a space is read as the + an unencoded query string turned into it' }),
      identified: z.enum(['true', 'false', '1', '0']).optional(),
      mql: z.enum(['true', 'false', '1', '0']).optional().openapi({ description: 'true: MQLs under the current rules, the lead\'s events in time order (a rebuild can take it away); false: leads that are no MQL' }),
      sql: z.enum(['true', 'false', '1', '0']).optional().openapi({ description: 'true: SQLs only; false: leads not yet SQL' }),
      order: z.enum(['activity', 'id']).optional().openapi({
        description:
          'activity (default): newest activity first; a lead that becomes active while a client pages moves ahead of the cursor and is not on the later pages. ' +
          'id: by lead id, a key that never changes, so paging returns every lead that exists throughout exactly once (use it to sync or export)',
      }),
      limit: z.coerce.number().int().min(1).default(50).openapi({ description: '1–500 (larger values are capped); default 50' }),
      cursor: z.string().max(1024).optional().openapi({ description: 'nextCursor of the previous page, read with the same order and filters (another order, filter or site: 400 invalid_cursor)' }),
    }),
  },
  responses: {
    200: {
      description: 'a page of lead profiles',
      content: { 'application/json': { schema: z.object({ items: z.array(profileSchema), nextCursor: z.string().nullable() }) } },
    },
    ...errors(400, 401, 403, 404),
  },
});

const profileRoute = createRoute({
  method: 'get',
  path: '/api/leads/{ref}',
  tags: ['leads'],
  summary: 'A lead profile: ids, email, traits, stage, score, MQL/SQL, first and last touch.',
  security: [{ bearer: ['leads:read'] }],
  middleware: [requireScope('leads:read')] as const,
  request: { params: refParam },
  responses: {
    200: { description: 'the lead profile', content: { 'application/json': { schema: profileSchema } } },
    ...errors(400, 401, 403, 404),
  },
});

const timelineItemSchema = z
  .looseObject({ kind: z.enum(TIMELINE_KINDS), name: z.string(), at: time(), id: z.string() })
  .openapi('TimelineItem', {
    description:
      'event items add visitorId, sessionId, source (web or server), url, path, referrer, form, props, channel, utm, clickId, browser, os, device, ' +
      'email, traits, attributed (false: an event of one of its devices not yet attributed to any lead); stage items from, to, rule, eventId; ' +
      'score items points, rule, scoreAfter, eventId; identity items visitorId, email, reason, eventId; segment items segment, change',
  });

const timelineRoute = createRoute({
  method: 'get',
  path: '/api/leads/{ref}/timeline',
  tags: ['leads'],
  summary: 'The lead’s activity on every device, newest first, with identity, score, stage and segment changes in line.',
  security: [{ bearer: ['leads:read'] }],
  middleware: [requireScope('leads:read')] as const,
  request: {
    params: refParam,
    query: z.object({
      types: z.string().max(2048).optional().openapi({ description: `comma list of kinds (${TIMELINE_KINDS.join(', ')}) and/or event names` }),
      from: z.string().max(64).optional().openapi({ description: 'inclusive; ISO 8601 or epoch ms' }),
      to: z.string().max(64).optional().openapi({ description: 'exclusive; ISO 8601 or epoch ms' }),
      limit: z.coerce.number().int().min(1).default(50).openapi({ description: '1–500 (larger values are capped); default 50' }),
      cursor: z.string().max(1024).optional().openapi({ description: "nextCursor of the previous page of this lead's timeline (another lead's: 400 invalid_cursor)" }),
    }),
  },
  responses: {
    200: {
      description: 'a page of timeline items',
      content: {
        'application/json': {
          schema: z.object({ leadId: z.string(), items: z.array(timelineItemSchema), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...errors(400, 401, 403, 404),
  },
});

const eraseRoute = createRoute({
  method: 'delete',
  path: '/api/leads/{ref}',
  tags: ['leads'],
  summary: 'Erasure: every event, visitor, identity link, change, membership, delivery and rejected row of the lead.',
  description:
    'Leaves hashed tombstones of its devices, email and lead ids: their events dated at or before the erasure that come again ' +
    '(a snippet outbox resent, a CRM backfill) are answered as accepted and never stored.',
  security: [{ bearer: ['admin'] }],
  middleware: [requireScope('admin')] as const,
  request: { params: refParam },
  responses: {
    200: {
      description: 'rows erased per table',
      content: {
        'application/json': {
          schema: z.object({
            leadId: z.string(),
            erased: z.object({
              events: z.number(),
              visitors: z.number(),
              identityLinks: z.number(),
              stageChanges: z.number(),
              scoreChanges: z.number(),
              segmentMembers: z.number(),
              segmentChanges: z.number(),
              segmentRechecks: z.number(),
              webhookDeliveries: z.number(),
              rejectedEvents: z.number(),
              leads: z.number(),
              other: z.record(z.string(), z.number()),
            }),
          }),
        },
      },
    },
    ...errors(400, 401, 403, 404, 413),
  },
});

const failure = (r: { code: string; message: string }) =>
  new ApiError(r.code === 'not_found' ? 404 : 400, r.code === 'invalid_ref' ? 'invalid_ref' : r.code, r.message);

const flag = (v: string | undefined) => (v === undefined ? undefined : v === 'true' || v === '1');

export function mountLeads(app: ApiApp, deps: Deps) {
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const r = await listLeads(deps, c.var.siteId, { ...q, identified: flag(q.identified), mql: flag(q.mql), sql: flag(q.sql) });
    if (!r.ok) throw failure(r);
    return c.json(r.page, 200);
  });
  app.openapi(profileRoute, async (c) => {
    const r = await getLeadProfile(deps, c.var.siteId, c.req.valid('param').ref);
    if (!r.ok) throw failure(r);
    return c.json(r.profile, 200);
  });
  app.openapi(timelineRoute, async (c) => {
    const r = await getLeadTimeline(deps, c.var.siteId, c.req.valid('param').ref, c.req.valid('query'));
    if (!r.ok) throw failure(r);
    return c.json(r.page, 200);
  });
  app.openapi(eraseRoute, async (c) => {
    const r = await eraseLead(deps, c.var.siteId, c.req.valid('param').ref);
    if (!r.ok) throw failure(r);
    return c.json({ leadId: r.leadId, erased: r.erased }, 200);
  });
}
