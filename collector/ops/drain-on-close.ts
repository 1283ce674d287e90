import type { Server as HttpServer, ServerResponse } from 'node:http';

/**
 * Graceful stop for keep-alive clients. server.close() only closes idle connections: a client that keeps sending on
 * its open connection (a load balancer, a load test) kept the server, and so the process, alive after SIGTERM. From
 * the stop on, every answer (those in flight included) says `Connection: close`, so each connection ends after its
 * current request; whatever is still open after the handler deadline is closed.
 */
export function drainOnClose(server: HttpServer, handlerTimeoutMs: number): () => Promise<void> {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (draining) return void res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  return () => {
    draining = true;
    for (const res of inFlight) {
      if (!res.headersSent) res.setHeader('Connection', 'close');
      // an answer already on its way when the stop came: its connection is closed once it is idle again
      else res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const force = setTimeout(() => server.closeAllConnections(), (handlerTimeoutMs || 15_000) + 1_000);
    return closed.finally(() => clearTimeout(force));
  };
}
