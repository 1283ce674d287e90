// The only file that reads the environment and listens. `npm start` runs it; tests call startServer().
import { availableParallelism } from 'node:os';
import { serve, type ServerType } from '@hono/node-server';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { parseConfig, type Config } from './config.js';
import { openConfiguredDb } from './storage/open-db.js';
import { createApp, type CreatedApp } from './app.js';
import type { Site } from './storage/sites.js';
import type { Db } from './storage/db.js';
import type { Server as HttpServer } from 'node:http';
import { ensureDemoSiteOnce } from './demo/demo-site.js';
import { fitDemoRules } from './demo/demo-rules.js';
import { drainOnClose } from './ops/drain-on-close.js';
import { checkWritable } from './ops/check-writable.js';
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

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config = { ...parseConfig(options.env ?? process.env), ...options.config };
  const db = await openConfiguredDb(config);
  if (db.dialect === 'sqlite' && config.DATABASE_PATH !== ':memory:') {
    await checkWritable(db).catch(async (err: Error) => {
      await db.close().catch(() => {});
      throw new Error(`cannot write the SQLite database at DATABASE_PATH=${config.DATABASE_PATH}: ${err.message}`);
    });
  }
  // the demo admits the host of the URL printed below: an IPv6 HOST (`::1`, and `::`, which a browser on the same
  // machine opens too) prints `http://[::1]:8787`, whose pages send that Origin (ensureDemoSite takes only an IPv4 or a
  // named HOST as a host itself)
  const v6Host = config.HOST.replace(/^\[|\]$/g, '');
  const printedHost = v6Host.includes(':') ? `http://[${v6Host}]:${config.PORT}` : undefined;
  const demo = config.DEMO === '1' ? await ensureDemoSiteOnce(db, config.HOST, config.PUBLIC_URL ?? printedHost) : null;
  const demoSite = demo?.site ?? null;
  // the writer thread needs a file both threads open, and keeps the real clock
  const wantThread = config.WRITER_THREAD === '1' || (config.WRITER_THREAD === 'auto' && availableParallelism() >= 4);
  const threaded = db.dialect === 'sqlite' && config.DATABASE_PATH !== ':memory:' && wantThread && !options.now;
  const created = createApp({ db, config, now: options.now, writerThread: threaded ? { databasePath: config.DATABASE_PATH } : undefined });
  if (demo?.created) await fitDemoRules(created.deps, demo.site.siteId);
  if (db.dialect === 'sqlite' && config.DATABASE_PATH !== ':memory:') {
    created.services.unshift(startCheckpointer(config.DATABASE_PATH, 1000, (msg) => created.deps.log.warn('checkpoint failed', { error: msg })));
  }
  const server: ServerType = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: created.app.fetch, hostname: config.HOST, port: config.PORT, serverOptions: serverTimeouts(config) }, () => {
      s.off('error', reject);
      resolve(s);
    });
    // a port in use (another collector, `npm start` run twice) or not ours to take: a message, not node's stack trace
    s.once('error', reject);
  }).catch(async (err: NodeJS.ErrnoException) => {
    await created.close().catch(() => {});
    await db.close().catch(() => {});
    const why = err.code === 'EADDRINUSE' ? 'the address is in use (another collector?); set PORT to a free port' : err.code === 'EACCES' ? 'permission denied; choose a PORT above 1023' : err.message;
    throw new Error(`cannot listen on ${config.HOST}:${config.PORT}: ${why}`);
  });
  const drain = drainOnClose(server as HttpServer, config.HANDLER_TIMEOUT_MS);
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
        await drain();
        await created.close();
        await db.close();
      })();
      return closing;
    },
  };
}

/** A value as one word of a POSIX shell: as it is when nothing in it is special, else in single quotes. */
const shellWord = (value: string) => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

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
    // the admin command opens the database itself: a collector on another database must name it there too
    const dbEnv = process.env.DATABASE_URL ? 'DATABASE_URL=<as for npm start> ' : process.env.DATABASE_PATH ? `DATABASE_PATH=${shellWord(process.env.DATABASE_PATH)} ` : '';
    console.log(`\nOpen ${url}/demo/ and click around; create an API key with\n  ${dbEnv}npm run -s admin -- key create --site ${demoSite.siteId} --scopes admin\nand read what was stored: curl -H "Authorization: Bearer <secret>" ${url}/api/leads\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
