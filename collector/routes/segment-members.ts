// GET /api/segments/{key}/members: a segment streamed as JSON, plain CSV or an ad platform's upload file.
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { Deps } from '../context.js';
import { requireScope } from '../auth/require-scope.js';
import { ApiError } from '../errors.js';
import { exportAudience } from '../audiences/export-audience.js';
import { EXPORT_FORMAT_NAMES } from '../audiences/export-formats.js';
import type { ExportFormatName } from '../audiences/audience-member.js';

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const MemberSchema = z.object({
  leadId: z.string().nullable(),
  visitorId: z.string().nullable().openapi({ description: "the lead's most recent device; null for a lead known only from server events" }),
  email: z.string().nullable().openapi({ description: 'null for an anonymous member' }),
  stage: z.string(),
  score: z.number().openapi({ description: 'as GET /api/leads/{ref} shows it: decayed to the moment the export started' }),
});

const membersRoute = createRoute({
  method: 'get',
  path: '/api/segments/{key}/members',
  tags: ['audiences'],
  summary: 'A segment\'s members, streamed: json, csv, or the Google / Meta / LinkedIn upload files (hashed as each platform requires).',
  description:
    'Platform formats hold identified leads only and leave out customers (stage purchase or the customers segment), ' +
    'opted-out leads and bots; the customers segment itself keeps its customers (the suppression list for an exclusion ' +
    'audience). `Funnelbeam-Member-Count` gives their number; `Funnelbeam-Warning` says when the list ' +
    'is below the platform\'s minimum (Meta 100, LinkedIn 300).',
  security: [{ bearer: ['audiences:read'] }],
  middleware: [requireScope('audiences:read')] as const,
  request: {
    params: z.object({ key: z.string().min(1).max(100) }),
    query: z.object({ format: z.enum(EXPORT_FORMAT_NAMES as [ExportFormatName, ...ExportFormatName[]]).default('json') }),
  },
  responses: {
    200: {
      description: 'the members, streamed',
      headers: z.object({
        'Content-Disposition': z.string().openapi({ description: 'attachment; filename="<key>-<format>.<csv|json>"' }),
        'Funnelbeam-Member-Count': z.string().optional(),
        'Funnelbeam-Warning': z.string().optional(),
      }),
      content: {
        'application/json': { schema: z.object({ segment: z.string(), count: z.number(), members: z.array(MemberSchema) }) },
        'text/csv': { schema: z.string() },
      },
    },
    400: { description: 'unknown format, or a key over 100 characters', content: { 'application/json': { schema: ErrorSchema } } },
    401: { description: 'no or bad key', content: { 'application/json': { schema: ErrorSchema } } },
    403: { description: 'key lacks audiences:read', content: { 'application/json': { schema: ErrorSchema } } },
    404: { description: 'no such segment', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export function mountSegmentMembers(app: ApiApp, deps: Deps) {
  app.openapi(membersRoute, async (c) => {
    const { key } = c.req.valid('param');
    const { format } = c.req.valid('query');
    const result = await exportAudience(deps.db, deps.log, { siteId: c.var.siteId, segmentKey: key, format, now: deps.now() });
    if (!result.ok) throw new ApiError(404, 'segment_not_found', `no segment "${key}"`);
    const { value } = result;
    const headers: Record<string, string> = {
      'content-type': value.format.contentType,
      'cache-control': 'no-store',
      'content-disposition': `attachment; filename="${key.replace(/[^\w.-]/g, '_')}-${format}.${value.format.fileExtension}"`,
    };
    if (value.count !== null) headers['funnelbeam-member-count'] = String(value.count);
    if (value.warning) headers['funnelbeam-warning'] = value.warning;
    return c.body(value.stream, 200, headers);
  });
}
