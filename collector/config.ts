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
  /** how often the segment sweep re-evaluates leads whose time windows expired, ms (0: no timer) */
  SEGMENT_SWEEP_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  /** base URL printed at start and used by the demo pages; defaults to http://HOST:PORT */
  PUBLIC_URL: z.string().url().optional(),
  /** create the demo site and pages (on by default) */
  DEMO: z.enum(['0', '1']).default('1'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info']).default('info'),
});

export type Config = z.infer<typeof envSchema>;

export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`bad configuration: ${problems}`);
  }
  return parsed.data;
}

/** Defaults for tests and embedding: the same schema, no environment. */
export const defaultConfig = (overrides: Partial<Config> = {}): Config => ({ ...parseConfig({}), ...overrides });
