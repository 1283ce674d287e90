// Every refused /api request (any 4xx) leaves a rejected-store row: the error's code as reason, its message, the
// method and route, and the query and body as sent (truncated). Rows go through the rejected-store budget, so a flood
// of bad requests is only counted. POST /api/events keeps its own rows, one per refused event with the event's reason
// (funnel/record-server-events.ts), and is skipped here.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Deps } from '../context.js';
import { insertRejected } from '../storage/rejected.js';
import { truncateRaw } from '../ingest/pipeline.js';
import { presentedKey } from '../auth/require-scope.js';

const decoded = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const KEEPS_ITS_OWN = (method: string, path: string) => method === 'POST' && path === '/api/events';

export function keepRefused(deps: Deps): MiddlewareHandler<AppEnv> {
  return async function keepRefusedMiddleware(c, next) {
    await next();
    const status = c.res.status;
    if (status < 400 || status >= 500 || KEEPS_ITS_OWN(c.req.method, c.req.path)) return;
    let reason = `http_${status}`;
    let message = '';
    try {
      const body = (await c.res.clone().json()) as { error?: { code?: string; message?: string } };
      reason = body.error?.code ?? reason;
      message = body.error?.message ?? '';
    } catch {
      /* not JSON: the status is the reason */
    }
    // decoded, so that erasure (storage/erasure.ts) finds an email or id that was sent in the path or query
    let raw = c.req.method + ' ' + decoded(c.req.path + new URL(c.req.url).search);
    // a body refused for its size is not read again
    if (status !== 413 && c.req.method !== 'GET' && c.req.method !== 'HEAD') raw += '\n' + (await c.req.text().catch(() => ''));
    deps.metrics.inc('funnelbeam_api_refused_total', { reason });
    const matched = c.req.matchedRoutes.filter((r) => r.method !== 'ALL').at(-1);
    let siteId = (c.get('siteId') as string | undefined) ?? null;
    // A refusal made with a live key of the site is the site's own (GET /api/rejected shows it to its admins), also when
    // no route read the key: a body over the ceiling (413), a method the path is not served with (405). An unknown
    // path stays site-less, and a 401 had no live key.
    if (!siteId && status !== 401 && c.req.header('authorization') && !(status === 404 && !matched)) {
      const presented = await presentedKey(c).catch(() => null);
      if (presented?.ok) siteId = presented.key.siteId;
    }
    // the route's pattern (/api/leads/:ref), never the path itself, which may hold personal data
    const route = matched?.path ?? '/api/*';
    await insertRejected(deps.db, [{ siteId, reason, message, route: `${c.req.method} ${route}`, raw: truncateRaw(raw), receivedAt: deps.now() }]).catch((err) =>
      deps.log.error('could not store rejected input', { error: (err as Error).message }),
    );
  };
}
