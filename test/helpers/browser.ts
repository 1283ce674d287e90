// Real-browser harness for e2e tests: headless Chromium (Debian's /usr/bin/chromium) through playwright-core,
// the real collector (startServer) with a site for 127.0.0.1, and a tiny static server for test pages.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { startServer, type RunningServer } from '../../collector/server.js';
import { createSite } from '../../collector/admin.js';
import type { Site } from '../../collector/storage/sites.js';
import { collectorDatabase, tempDir } from './test-db.js';

/**
 * A desktop Chrome user agent: the collector flags "HeadlessChrome" as a bot, a real visitor's browser is not one.
 * Set on the command line as well as through Playwright: a beacon sent while a page unloads leaves after the page's
 * own override is gone and would otherwise carry HeadlessChrome.
 */
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** The flags every test launches Chromium with (issue 3; the background-networking ones keep it off this machine's
 * closed network). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * `backForwardCache`: on, as in a real browser (Playwright turns it off by default with --disable-back-forward-cache,
 * so a "back" would be a fresh load and never a restore).
 */
export async function launchChromium(options: { backForwardCache?: boolean } = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir('funnelbeam-chromium-'), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    userAgent: USER_AGENT,
    ...(options.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
    args: [`--user-agent=${USER_AGENT}`, ...CHROMIUM_ARGS],
  });
}

export interface Collector {
  url: string;
  port: number;
  site: Site;
  running: RunningServer;
  databasePath: string;
  /** stops the collector (the database file stays) */
  stop(): Promise<void>;
  /** starts it again on the same port and database */
  restart(): Promise<void>;
  /** stored events of the site, oldest first */
  events(): Promise<StoredRow[]>;
  /** waits until `check` passes on the stored events (polling), then returns them */
  waitForEvents(check: (rows: StoredRow[]) => boolean, timeoutMs?: number): Promise<StoredRow[]>;
}

export interface StoredRow {
  event_id: string;
  visitor_id: string;
  name: string;
  url: string;
  path: string;
  referrer: string;
  props: Record<string, unknown> | null;
  form: string | null;
  email: string | null;
  traits: Record<string, string> | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  click_id: string | null;
  first_touch: Record<string, unknown> | null;
  is_bot: number;
  at: number;
}

export async function startCollector(port = 0): Promise<Collector> {
  // SQLite, or with TEST_ENGINE=pg a fresh PostgreSQL database: the browser checks hold on both engines
  const database = await collectorDatabase('e2e.db');
  const databasePath = database.DATABASE_PATH;
  const start = (p: number) => startServer({ env: {}, config: { ...database, PORT: p, HOST: '127.0.0.1', DEMO: '0', LOG_LEVEL: 'error' } });
  let running = await start(port);
  const actualPort = Number(new URL(running.url).port);
  const site = await createSite(running.db, { domain: '127.0.0.1' });
  const collector: Collector = {
    url: running.url,
    port: actualPort,
    site,
    databasePath,
    get running() {
      return running;
    },
    async stop() {
      await running.close();
    },
    async restart() {
      running = await start(actualPort);
    },
    async events() {
      // events of one moment: the view first (the snippet sends a page's first view before the commands queued for it,
      // often in the same millisecond), then the rest
      const rows = await running.db.all<Record<string, unknown>>(
        `SELECT event_id, visitor_id, name, url, path, referrer, props, form, email, traits, utm_source, utm_medium, utm_campaign, click_id, first_touch, is_bot, at
         FROM events WHERE site_id = ? ORDER BY at, received_at, CASE WHEN name = 'pageview' THEN 0 ELSE 1 END`,
        [site.siteId],
      );
      return rows.map((r) => ({
        ...r,
        props: r.props ? JSON.parse(String(r.props)) : null,
        traits: r.traits ? JSON.parse(String(r.traits)) : null,
        first_touch: r.first_touch ? JSON.parse(String(r.first_touch)) : null,
      })) as StoredRow[];
    },
    async waitForEvents(check, timeoutMs = 8000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const rows = await collector.events();
        if (check(rows)) return rows;
        if (Date.now() > until) throw new Error('events never matched; stored: ' + JSON.stringify(rows.map((r) => [r.name, r.url])));
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  return collector;
}

export type Pages = Record<string, string | ((req: IncomingMessage, res: ServerResponse) => void)>;

export interface SiteServer {
  /** http://127.0.0.1:port */
  origin: string;
  port: number;
  pages: Pages;
  close(): Promise<void>;
}

/** Serves `pages` by path (HTML strings or handlers); unknown paths get the page at '*' when given (SPA fallback). */
export async function startSiteServer(pages: Pages): Promise<SiteServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const page = pages[path] ?? pages['*'];
    if (typeof page === 'function') return page(req, res);
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    pages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An HTML page that loads the snippet with the given tag attributes. */
export function htmlPage(options: { src: string; site: string; attrs?: string; head?: string; body?: string; title?: string }): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${options.title ?? 'test'}</title>${options.head ?? ''}
<script defer src="${options.src}" data-site="${options.site}" data-local ${options.attrs ?? ''}></script></head>
<body>${options.body ?? ''}</body></html>`;
}
