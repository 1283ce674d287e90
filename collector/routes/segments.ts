// Segment routes: list definitions with live member counts, create or replace (recomputing membership), delete.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { ApiError } from '../errors.js';
import { requireScope } from '../auth/require-scope.js';
import { SEGMENT_KEY_RE, findSegment, listSiteSegments, putSegment, removeSegment } from '../segments/segment-admin.js';
import { API_BODY_CEILING } from '../hardening/api-body-limit.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const definitionDoc = z.any().openapi({
  description:
    'Segment definition (contract §6): one condition; conditions are {all:[…]}, {any:[…]}, {not:…}, ' +
    '{stage:{in|eq|gte}}, {did:{event, path?, props?, within?, min?, source?: "web"|"server"}}, {score:{gte|lte|gt|lt}}, {identified:bool}, ' +
    '{touch:{model?, source?, medium?, campaign?, channel?}}, {inStage:{days:{gte?, lte?}}}',
  example: {
    all: [
      { did: { event: 'pageview', path: '/pricing*', within: '30d' } },
      { not: { did: { event: 'demo_request' } } },
    ],
  },
});

const segmentSchema = z
  .object({
    key: z.string(),
    name: z.string(),
    definition: definitionDoc,
    count: z.number().int().openapi({ description: 'live member count: the same number as `count` in GET /api/segments/{key}/members (format=json)' }),
    memberCount: z.number().int().openapi({ description: 'the same as `count`, kept for compatibility', deprecated: true }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Segment');

const keyParam = z.object({ key: z.string().openapi({ param: { name: 'key', in: 'path' }, example: 'pricing_no_demo' }) });
// PUT names a new key, so it must have the documented form (GET and DELETE just find no such segment: 404)
const newKeyParam = z.object({
  key: z
    .string()
    .regex(SEGMENT_KEY_RE, 'use 1-64 characters: a-z, 0-9, "_" or "-", starting with a letter or digit')
    .openapi({ param: { name: 'key', in: 'path' }, example: 'pricing_no_demo' }),
});
const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

const listRoute = createRoute({
  method: 'get',
  path: '/api/segments',
  tags: ['segments'],
  summary: 'Segment definitions with live member counts.',
  security: [{ bearer: ['audiences:read'] }],
  middleware: [requireScope('audiences:read')] as const,
  responses: {
    200: json(z.object({ segments: z.array(segmentSchema) }), 'the site\'s segments, by key'),
    401: json(errorSchema, 'no or bad key'),
    403: json(errorSchema, 'key lacks audiences:read'),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/api/segments/{key}',
  tags: ['segments'],
  summary: 'One segment definition with its live member count.',
  security: [{ bearer: ['audiences:read'] }],
  middleware: [requireScope('audiences:read')] as const,
  request: { params: keyParam },
  responses: {
    200: json(segmentSchema, 'the segment'),
    401: json(errorSchema, 'no or bad key'),
    403: json(errorSchema, 'key lacks audiences:read'),
    404: json(errorSchema, 'no such segment'),
  },
});

const putRoute = createRoute({
  method: 'put',
  path: '/api/segments/{key}',
  tags: ['segments'],
  summary: 'Create or replace a segment; its membership is recomputed for the site before the response.',
  security: [{ bearer: ['admin'] }],
  middleware: [requireScope('admin')] as const,
  request: {
    params: newKeyParam,
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ name: z.string().min(1).max(200).optional(), definition: definitionDoc }) } },
    },
  },
  responses: {
    200: json(segmentSchema, 'replaced'),
    201: json(segmentSchema, 'created'),
    400: json(errorSchema, 'invalid key (`key: …`) or definition, or malformed JSON; the message names the bad part, e.g. all[2].did.within'),
    401: json(errorSchema, 'no or bad key'),
    403: json(errorSchema, 'key lacks admin'),
    413: json(errorSchema, `body over ${API_BODY_CEILING} bytes`),
    415: json(errorSchema, 'the body is not sent as Content-Type: application/json'),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/api/segments/{key}',
  tags: ['segments'],
  summary: 'Delete a segment and its memberships (enter/exit history stays in lead timelines).',
  security: [{ bearer: ['admin'] }],
  middleware: [requireScope('admin')] as const,
  request: { params: keyParam },
  responses: {
    204: { description: 'deleted' },
    401: json(errorSchema, 'no or bad key'),
    403: json(errorSchema, 'key lacks admin'),
    404: json(errorSchema, 'no such segment'),
  },
});

export function mountSegments(app: ApiApp, deps: Deps) {
  app.openapi(listRoute, async (c) => c.json({ segments: await listSiteSegments(deps, c.var.siteId) }, 200));

  app.openapi(getRoute, async (c) => {
    const segment = await findSegment(deps, c.var.siteId, c.req.valid('param').key);
    if (!segment) throw new ApiError(404, 'not_found', `no segment "${c.req.valid('param').key}"`);
    return c.json(segment, 200);
  });

  app.openapi(putRoute, async (c) => {
    const result = await putSegment(deps, c.var.siteId, c.req.valid('param').key, c.req.valid('json'));
    if (!result.ok) throw new ApiError(400, result.path === 'key' ? 'invalid_key' : 'invalid_definition', `${result.path}: ${result.message}`);
    return c.json(result.segment, result.created ? 201 : 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const key = c.req.valid('param').key;
    if (!(await removeSegment(deps, c.var.siteId, key))) throw new ApiError(404, 'not_found', `no segment "${key}"`);
    return c.body(null, 204);
  });
}
