// Request timeouts: node:http limits for slow clients (408, connection closed) and a handler deadline (503).
import type { MiddlewareHandler } from 'hono';
import type { ServerOptions } from 'node:http';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';

/** Options for http.createServer: whole-request and header deadlines, checked every second rather than every 30 s. */
export function serverTimeouts(config: Pick<Config, 'REQUEST_TIMEOUT_MS' | 'HEADERS_TIMEOUT_MS'>): ServerOptions {
  const requestTimeout = config.REQUEST_TIMEOUT_MS;
  // node refuses a header deadline longer than the request deadline
  const headersTimeout = requestTimeout ? Math.min(config.HEADERS_TIMEOUT_MS || requestTimeout, requestTimeout) : config.HEADERS_TIMEOUT_MS;
  const shortest = Math.min(...[requestTimeout, headersTimeout].filter((n) => n > 0), 2000);
  return { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.max(100, Math.floor(shortest / 2)) };
}

/** A handler (or a body upload) still running after `ms` gets 503 with Retry-After, and the connection is closed. */
export function handlerTimeout(ms: number): MiddlewareHandler {
  return async function handlerTimeoutMiddleware(_c, next) {
    if (!ms) return next();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ApiError(503, 'timeout', `the request took longer than ${ms} ms; retry later`, { 'Retry-After': '5', Connection: 'close' })),
        ms,
      );
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
