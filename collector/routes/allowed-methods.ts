// 405 and OPTIONS for paths the app serves with other methods: the notFound handler (app.ts) asks which methods the
// routes registered for a path, so `POST /healthz` is a 405 naming `Allow: GET, HEAD, OPTIONS` instead of "no route",
// and an `OPTIONS` the route has no handler of its own for is a 204 with `Allow` (and no CORS grant: the bearer API is
// not for cross-origin pages; /e and the visitor segments route answer their own preflights).
import type { Context } from 'hono';
import { errorBody } from '../errors.js';
import type { AppEnv } from '../context.js';

interface RouteLike {
  method: string;
  path: string;
}

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function toRegExp(path: string): RegExp {
  const source = path
    .split('/')
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) {
        const custom = /^:\w+\{(.+)\}\??$/.exec(part);
        return custom ? `(?:${custom[1]})` : '[^/]+';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/** Methods registered for `path` by routes with a handler (middleware is ALL and names no method). */
export function allowedMethods(routes: readonly RouteLike[], path: string, cache = new Map<string, RegExp>()): string[] {
  const methods = new Set<string>();
  for (const r of routes) {
    if (r.method === 'ALL') continue;
    let re = cache.get(r.path);
    if (!re) cache.set(r.path, (re = toRegExp(r.path)));
    if (re.test(path)) methods.add(r.method.toUpperCase());
  }
  if (methods.size === 0) return [];
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return [...methods].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
}

/** The app's notFound: a 204 to OPTIONS or a 405 when the path is served with other methods, else a 404. */
export function notFoundOrNotAllowed(routes: () => readonly RouteLike[]) {
  const cache = new Map<string, RegExp>();
  return (c: Context<AppEnv>) => {
    const allowed = allowedMethods(routes(), c.req.path, cache);
    if (allowed.length > 0 && c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allowed.join(', ') });
    if (allowed.length > 0) {
      const allow = allowed.join(', ');
      return c.json(errorBody('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow}`), 405, { Allow: allow });
    }
    return c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404);
  };
}
