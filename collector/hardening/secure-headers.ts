// Security headers on every response: no sniffing, no referrer leaks, no framing, a deny-all CSP for non-HTML.
// Demo pages may frame themselves; /e exposes Retry-After to the snippet's cross-origin fetch.
import type { MiddlewareHandler } from 'hono';

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const DEMO_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'self'; form-action 'self'";

export function secureHeaders(): MiddlewareHandler {
  return async function secureHeadersMiddleware(c, next) {
    await next();
    const h = c.res.headers;
    const isDemo = c.req.path === '/demo' || c.req.path.startsWith('/demo/');
    const isHtml = (h.get('content-type') ?? '').startsWith('text/html');
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('Referrer-Policy', isDemo ? 'strict-origin-when-cross-origin' : 'no-referrer');
    h.set('X-Frame-Options', isDemo ? 'SAMEORIGIN' : 'DENY');
    if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', isHtml && isDemo ? DEMO_CSP : API_CSP);
    h.delete('X-Powered-By');
    if (c.req.path === '/e' && h.has('Access-Control-Allow-Origin')) h.set('Access-Control-Expose-Headers', 'Retry-After');
  };
}
