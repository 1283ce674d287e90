// createApp: the whole HTTP surface, used by server.ts and by every test (app.request()).
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv, Deps } from './context.js';
import { ApiError, errorBody } from './errors.js';
import { createLog } from './ops/log.js';
import { createMetrics } from './ops/metrics.js';
import { defaultConfig } from './config.js';
import type { Db } from './storage/db.js';
import { mountOps } from './routes/ops.js';
import { notFoundOrNotAllowed } from './routes/allowed-methods.js';
import { mountLeads } from './routes/leads.js';
import { mountFunnelReport } from './routes/funnel-report.js';
import { mountSegmentMembers } from './routes/segment-members.js';
import { mountWebhooks } from './routes/webhooks.js';
import { startWebhookWorker } from './webhooks/webhook-worker.js';
import { mountSegments } from './routes/segments.js';
import { mountVisitorSegments } from './routes/visitor-segments.js';
import { createSegmentSweep } from './segments/sweep.js';
import { mountIngest } from './routes/ingest.js';
import { mountRejected } from './routes/rejected.js';
import { mountSnippet } from './routes/snippet.js';
import { mountDemo } from './routes/demo.js';
import { mountHome } from './routes/home.js';
import { createEventWriter } from './ingest/store.js';
import { createThreadWriter } from './ingest/thread-writer.js';
import { installHardening } from './hardening/install-hardening.js';
import { mountServerEvents } from './routes/server-events.js';
import { mountFunnelConfig } from './routes/funnel-config.js';
import { withRateLimitResponses } from './ops/rate-limit-docs.js';

export type ApiApp = OpenAPIHono<AppEnv>;

export interface AppOptions extends Partial<Omit<Deps, 'db' | 'writer'>> {
  db: Db;
  /** SQLite file: flush on a writer thread with its own connection (thread-writer.ts) instead of on this thread */
  writerThread?: { databasePath: string };
}

/** Background work owned by the app (group commit, sweeps, webhook delivery); stopped by close(). */
export interface Service {
  name: string;
  /** finish in-flight work and stop timers */
  close(): Promise<void>;
}

export interface CreatedApp {
  app: ApiApp;
  deps: Deps;
  services: Service[];
  /** stops every service in reverse order of start (graceful shutdown) */
  close(): Promise<void>;
}

export function createApp(options: AppOptions): CreatedApp {
  const config = options.config ?? defaultConfig();
  const deps = {
    db: options.db,
    config,
    log: options.log ?? createLog(config.LOG_LEVEL),
    metrics: options.metrics ?? createMetrics(),
    now: options.now ?? Date.now,
  } as Deps;
  deps.writer = options.writerThread ? createThreadWriter(deps, options.writerThread.databasePath) : createEventWriter(deps);
  deps.metrics.gauge('funnelbeam_writer_pending_events', () => deps.writer.pendingEvents());
  const services: Service[] = [deps.writer];
  const app: ApiApp = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue?.path?.length ? issue.path.join('.') + ': ' : '';
        return c.json(errorBody('invalid_request', where + (issue?.message ?? 'invalid request')), 400);
      }
    },
  });
  app.use('*', async function injectDeps(c, next) {
    c.set('deps', deps);
    await next();
  });
  services.push(...installHardening(app, deps));
  app.onError(function toErrorResponse(err, c) {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(errorBody(err.code, err.message), err.status);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : status === 401 ? 'unauthorized' : 'bad_request';
      return c.json(errorBody(code, err.message || 'bad request'), status);
    }
    // a client that went away mid-body (or was cut off by a request timeout) is not a server problem
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') return c.json(errorBody('client_aborted', 'the request was aborted'), 400);
    deps.log.error('unhandled error', { path: c.req.path, error: (err as Error).message, stack: (err as Error).stack });
    return c.json(errorBody('internal', 'internal error'), 500);
  });
  // a path served with other methods is a 405 naming them in Allow (an OPTIONS a 204 with Allow), else a 404
  app.notFound(notFoundOrNotAllowed(() => app.routes));

  mountOps(app, deps);
  mountLeads(app, deps);
  mountFunnelReport(app, deps);
  mountSegmentMembers(app, deps);
  mountWebhooks(app, deps);
  services.push(startWebhookWorker(deps));
  mountSegments(app, deps);
  mountVisitorSegments(app, deps);
  services.push(createSegmentSweep(deps, config.SEGMENT_SWEEP_MS));
  mountIngest(app, deps);
  mountRejected(app, deps);
  mountSnippet(app, deps);
  mountDemo(app, deps);
  mountHome(app, config.DEMO === '1');
  mountServerEvents(app, deps);
  mountFunnelConfig(app, deps);

  const description = {
    openapi: '3.1.0',
    info: {
      title: 'Funnelbeam API',
      version: '0.1.0',
      description:
        'Collector, funnel, segments and audiences. Every error is `{"error":{"code","message"}}`; a method a path does ' +
        'not serve is a 405 with `Allow`. Webhook payloads are under `webhooks`.',
    },
  };
  // built once, at the first request (every route is mounted by then): building it takes about 40 ms of CPU, and the
  // route needs no key
  let openApiDocument: ReturnType<typeof withRateLimitResponses> | undefined;
  app.get('/openapi.json', (c) => c.json((openApiDocument ??= withRateLimitResponses(app.getOpenAPI31Document(description)))));
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });

  return {
    app,
    deps,
    services,
    async close() {
      for (const s of [...services].reverse()) await s.close();
    },
  };
}
