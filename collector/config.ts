// Environment parsed once with zod; a bad value stops the process with a clear message.
import { z } from 'zod';

const envSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  DATABASE_PATH: z.string().default('./data/funnelbeam.db'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://').optional(),
  /** group commit: flush after this many ms … */
  FLUSH_MS: z.coerce.number().int().min(0).max(1000).default(4),
  /** … or this many events, whichever comes first */
  FLUSH_ROWS: z.coerce.number().int().min(1).max(100000).default(1000),
  /** PostgreSQL: group-commit flushes in flight at once, each on its own pooled connection */
  PG_FLUSHES: z.coerce.number().int().min(1).max(16).default(4),
  /**
   * SQLite: run the group-commit writer (insert, attribution, segments) on its own thread (1) or on the HTTP thread
   * (0). auto: a thread when the machine has 4 or more CPUs. Handing requests to a thread costs CPU (about a third
   * more per request at 20 events), which pays only when a core is free for it.
   */
  WRITER_THREAD: z.enum(['0', '1', 'auto']).default('auto'),
  /** how often the segment sweep re-evaluates leads whose time windows expired, ms (0: no timer) */
  SEGMENT_SWEEP_MS: z.coerce.number().int().min(0).max(86_400_000).default(5_000),
  /**
   * base URL printed at start (the demo pages load the snippet by a relative URL); defaults to http://HOST:PORT. Kept
   * without trailing slashes: copied from an address bar (`http://devbox:8787/`) it made every printed address `…//demo/`
   */
  // http(s) only: `devbox:8787`, written without its scheme, passed as a URL of the scheme `devbox:` and every printed
  // address was unusable (`devbox:8787/demo/`), the demo site admitting no host
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, such as http://devbox:8787' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** create the demo site and pages (on by default) */
  DEMO: z.enum(['0', '1']).default('1'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info']).default('info'),
  // Hardening (collector/hardening/). Rates are requests per second with a burst of two seconds' worth; 0 disables.
  // Defaults are a safety valve that a benchmark from one address does not reach; lower them in production.
  RATE_LIMIT_SITE_PER_SEC: z.coerce.number().min(0).default(20_000),
  RATE_LIMIT_CLIENT_PER_SEC: z.coerce.number().min(0).default(10_000),
  /** per API key (per client address when no key is presented) on /api/* */
  RATE_LIMIT_API_PER_SEC: z.coerce.number().min(0).default(1_000),
  /** how many proxies you run in front of the collector (0: none); the client address is the X-Forwarded-For hop the
   * outermost of them appended, that many from the end */
  TRUST_PROXY: z.coerce.number().int().min(0).max(9).default(0),
  /** rejected-store rows kept per site per minute; the rest are only counted */
  REJECTED_PER_SITE_PER_MIN: z.coerce.number().int().min(0).default(600),
  /** total rejected-store rows; the oldest are pruned off the request path */
  REJECTED_MAX_ROWS: z.coerce.number().int().min(1).default(100_000),
  REJECTED_PRUNE_MS: z.coerce.number().int().min(0).default(60_000),
  /** a handler still busy after this long gets 503 and the connection is closed */
  HANDLER_TIMEOUT_MS: z.coerce.number().int().min(0).default(15_000),
  /** node:http limits for the whole request and for its headers (slow clients get 408) */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** anonymous visitors unseen this many days are purged with their events and leads; 0 keeps everything */
  RETENTION_DAYS: z.coerce.number().int().min(0).default(395),
  RETENTION_SWEEP_MS: z.coerce.number().int().min(0).default(3_600_000),
  /**
   * webhooks may target loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), CGNAT and unspecified addresses (1),
   * or not (0: for a collector whose admin keys others hold). Link-local and cloud metadata addresses never.
   */
  WEBHOOK_PRIVATE_TARGETS: z.enum(['0', '1']).default('1'),
});

export type Config = z.infer<typeof envSchema>;

export function parseConfig(env: Record<string, string | undefined>): Config {
  // an empty value (`PORT=`, or `PORT=${PORT}` in a compose file with PORT unset) means unset: the default, not 0 or ""
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`bad configuration: ${problems}`);
  }
  return parsed.data;
}

/** Defaults for tests and embedding: the same schema, no environment. */
export const defaultConfig = (overrides: Partial<Config> = {}): Config => ({ ...parseConfig({}), ...overrides });
