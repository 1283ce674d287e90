// The rate limits in the API description: every operation the limiters guard (POST /e and every /api/* route, see
// hardening/rate-limit.ts) can answer 429 with Retry-After, and every /api/* operation that takes a body 413 over the ceiling. Added to the generated document in one place, so no
// route can leave it out. Pure.
type Operation = { responses?: Record<string, unknown> };
type Doc = { paths?: object };

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

export const TOO_MANY_REQUESTS = {
  description: 'too many requests from this client or for this site; retry after the given seconds',
  headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } },
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
        required: ['error'],
      },
    },
  },
};

/** A body over the /api ceiling (hardening/api-body-limit.ts): any /api operation that takes a body may be sent one, a DELETE too. */
export const PAYLOAD_TOO_LARGE = {
  description: 'request body over the ceiling of /api requests (2 MiB; POST /api/events 1 MiB)',
  content: TOO_MANY_REQUESTS.content,
};
const BODY_METHODS = new Set(['put', 'post', 'delete', 'patch']);

/** Whether the limiters guard a path. */
export const isRateLimited = (path: string) => path === '/e' || path.startsWith('/api/');

/** The document with a 429 (and a 413 where a body goes) on every rate-limited operation that does not describe one already. */
export function withRateLimitResponses<T extends Doc>(doc: T): T {
  for (const [path, ops] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    if (!isRateLimited(path)) continue;
    for (const [method, op] of Object.entries(ops)) {
      if (!METHODS.has(method)) continue;
      op.responses ??= {};
      op.responses['429'] ??= TOO_MANY_REQUESTS;
      if (path.startsWith('/api/') && BODY_METHODS.has(method)) op.responses['413'] ??= PAYLOAD_TOO_LARGE;
    }
  }
  return doc;
}
