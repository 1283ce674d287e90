// A ceiling on every /api/* request body, for routes without a limit of their own (segment and config PUTs):
// nothing reads an unbounded body into memory. Set above LIMITS.apiBodyBytes so POST /api/events keeps its own
// limit and its rejected-store row.
import { bodyLimit } from 'hono/body-limit';
import type { MiddlewareHandler } from 'hono';
import { errorBody } from '../errors.js';
import { LIMITS } from '../../shared/limits.js';

export const API_BODY_CEILING = 2 * LIMITS.apiBodyBytes;

export function apiBodyLimit(): MiddlewareHandler {
  return bodyLimit({
    maxSize: API_BODY_CEILING,
    onError: (c) => c.json(errorBody('payload_too_large', `body over ${API_BODY_CEILING} bytes`), 413),
  });
}
