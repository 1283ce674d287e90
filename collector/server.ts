// The only file that reads the environment and listens. `npm start` runs it; tests call startServer().
import { availableParallelism } from 'node:os';
import { serve, type ServerType } from '@hono/node-server';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { parseConfig, type Config } from './config.js';
import { openDb } from './storage/open-db.js';
import { createApp, type CreatedApp } from './app.js';
import type { Db } from './storage/db.js';
import { createSite } from './admin.js';
import { getSiteByName, type Site } from './storage/sites.js';
import { DEMO_SITE_NAME } from './demo/pages.js';
import { startCheckpointer } from './ops/checkpointer.js';
import { serverTimeouts } from './hardening/request-timeout.js';

export interface StartOptions {
  /** overrides of the parsed environment */
  config?: Partial<Config>;
  env?: Record<string, string | undefined>;
  now?: () => number;
}

export interface RunningServer {
  url: string;
  db: Db;
  created: CreatedApp;
  demoSite: Site | null;
  close(): Promise<void>;
}

/** The demo site, created on first start: its pages at /demo/ load the snippet with its key. */
export async function ensureDemoSite(db: Db, host: string): Promise<Site> {
  const existing = await getSiteByName(db, DEMO_SITE_NAME);
  if (existing) return existing;
  const domain = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  // the demo is reachable as localhost and 127.0.0.1 whatever HOST says
  return createSite(db, { domain, name: DEMO_SITE_NAME, extraOrigins: ['localhost', '127.0.0.1'] });
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config = { ...parseConfig(options.env ?? process.env), ...options.config };
  const db = await openDb({ databaseUrl: config.DATABASE_URL, databasePath: config.DATABASE_PATH }).catch((err: Error) => {
    // name what could not be opened (never the URL itself: it may hold a password)
    const where = config.DATABASE_URL ? 'the PostgreSQL database of DATABASE_URL' : `the SQLite database at DATABASE_PATH=${config.DATABASE_PATH}`;
    throw new Error(`cannot open ${where}: ${err.message}`);
  });
  const demoSite = config.DEMO === '1' ? await ensureDemoSite(db, config.HOST) : null;
  // the writer thread needs a file both threads open, and keeps the real clock
  const wantThread = config.WRITER_THREAD === '1' || (config.WRITER_THREAD === 'auto' && availableParallelism() >= 4);
  const threaded = db.dialect === 'sqlite' && config.DATABASE_PATH !== ':memory:' && wantThread && !options.now;
  const created = createApp({ db, config, now: options.now, writerThread: threaded ? { databasePath: config.DATABASE_PATH } : undefined });
  if (db.dialect === 'sqlite' && config.DATABASE_PATH !== ':memory:') {
    created.services.unshift(startCheckpointer(config.DATABASE_PATH, 1000, (msg) => created.deps.log.warn('checkpoint failed', { error: msg })));
  }
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: created.app.fetch, hostname: config.HOST, port: config.PORT, serverOptions: serverTimeouts(config) }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = config.PUBLIC_URL ?? `http://${host}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url,
    db,
    created,
    demoSite,
    close() {
      closing ??= (async () => {
        // stop accepting, let in-flight requests finish, then the last flush, then the database
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await created.close();
        await db.close();
      })();
      return closing;
    },
  };
}

async function main() {
  let running: RunningServer;
  try {
    running = await startServer();
  } catch (err) {
    console.error(`funnelbeam: ${(err as Error).message}`);
    process.exit(1);
  }
  // before the listening line: a supervisor that sends SIGTERM as soon as it reads it must get a graceful stop, not
  // node's default (killed by the signal, exit status 143)
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.created.deps.log.info('shutting down', { signal });
    running.close().then(
      () => process.exit(0),
      (err) => {
        console.error(`funnelbeam: shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const { url, demoSite } = running;
  console.log(JSON.stringify({ listening: url, engine: running.db.dialect }));
  console.log(`\nFunnelbeam collector on ${url}`);
  console.log(`  health   ${url}/healthz`);
  console.log(`  snippet  ${url}/s.js`);
  console.log(`  API docs ${url}/openapi.json`);
  if (demoSite) {
    console.log(`  demo     ${url}/demo/   (site key ${demoSite.siteKey}, site id ${demoSite.siteId})`);
    console.log(`\nOpen ${url}/demo/ and click around; create an API key with\n  npm run admin -- key create --site ${demoSite.siteId} --scopes admin\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
