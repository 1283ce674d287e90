// An answer given before the request's body arrived whole (a refusal that never reads it: 401, 403, 413, 415, 429)
// ends its connection. The body's rest was left on the socket half-read (hono's bodyLimit opens the body's stream to
// check it), and the connection was reset under the client's next request: a keep-alive client (node's fetch, a
// Python requests Session) that resent a smaller batch after a 413 got ECONNRESET. `Connection: close` makes it open
// another connection instead.
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';

export function closeUnreadBody(): MiddlewareHandler {
  return async function closeUnreadBodyMiddleware(c, next) {
    await next();
    // only under @hono/node-server (app.request() in tests has no socket); `complete`: the whole message was received
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming || incoming.complete) return;
    try {
      c.res.headers.set('Connection', 'close');
    } catch {
      // a Response whose headers are immutable (Response.redirect): the same answer with headers of its own
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set('Connection', 'close');
    }
  };
}
