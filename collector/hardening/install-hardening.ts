// Wires the hardening layer into an app: headers and deadlines on every route, API rate limits, a rejected-store row
// for every refused API request, and the background
// services that bound the rejected store and enforce retention. Called once by createApp before any route mounts.
import type { ApiApp, Service } from '../app.js';
import type { Deps } from '../context.js';
import { secureHeaders } from './secure-headers.js';
import { closeUnreadBody } from './close-unread-body.js';
import { handlerTimeout } from './request-timeout.js';
import { apiRateLimit } from './rate-limit.js';
import { apiBodyLimit } from './api-body-limit.js';
import { keepRefused } from './keep-refused.js';
import { startRejectedCap } from './rejected-cap.js';
import { startRetentionPurge } from './retention-purge.js';

export function installHardening(app: ApiApp, deps: Deps): Service[] {
  // first: it sees every answer, the refusals of the layers below included
  app.use('*', closeUnreadBody());
  app.use('*', secureHeaders());
  app.use('*', handlerTimeout(deps.config.HANDLER_TIMEOUT_MS));
  // first on /api/*: it sees the final answer of the limits below and of every route
  app.use('/api/*', keepRefused(deps));
  app.use('/api/*', apiRateLimit(deps));
  app.use('/api/*', apiBodyLimit());
  return [startRejectedCap(deps), startRetentionPurge(deps)];
}
