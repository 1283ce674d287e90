// One e2e test file's setup: a Chromium profile and a real collector for the whole file, site origins of its own that
// load the snippet from that collector, and readers of what the collector stored for a site. Call at the top level.
import { afterAll, beforeAll } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { htmlPage, launchChromium, startCollector, startSiteServer, type Collector, type Pages, type SiteServer, type StoredRow } from './browser.js';

/** A page of a site: what goes in its body and head, the script tag's extra attributes, its title. */
export type SitePage = { body?: string; attrs?: string; head?: string; title?: string };

export function snippetSites(options: { backForwardCache?: boolean } = {}) {
  let browser: BrowserContext;
  let collector: Collector;
  const servers: SiteServer[] = [];

  beforeAll(async () => {
    [browser, collector] = await Promise.all([launchChromium(options), startCollector()]);
    // middle-clicks and target=_blank open tabs; they are not part of the tests
    browser.on('page', (p) => void p.waitForLoadState().then(async () => { if (p.url().includes('/elsewhere')) await p.close(); }).catch(() => {}));
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    await collector?.stop();
  });

  /** A fresh origin (own port, so own localStorage) serving these pages, closed after the file. */
  async function serve(pages: Pages): Promise<SiteServer> {
    const server = await startSiteServer(pages);
    servers.push(server);
    return server;
  }
  /** A fresh origin whose pages load the snippet from the collector. */
  async function site(pages: Record<string, SitePage>, extra: Pages = {}): Promise<SiteServer> {
    const rendered: Pages = { ...extra };
    for (const [path, p] of Object.entries(pages)) rendered[path] = htmlPage({ src: `${collector.url}/s.js`, site: collector.site.siteKey, ...p });
    return serve(rendered);
  }
  const of = (server: SiteServer) => (rows: StoredRow[]) => rows.filter((r) => r.url.startsWith(server.origin));
  /** The site's stored events, once `check` holds for them. */
  const waitFor = async (server: SiteServer, check: (rows: StoredRow[]) => boolean, timeoutMs?: number) =>
    of(server)(await collector.waitForEvents((rows) => check(of(server)(rows)), timeoutMs));
  /** Everything stored for the site once the snippet had time to send what it still holds. */
  const settled = async (server: SiteServer, ms = 700) => (await new Promise((r) => setTimeout(r, ms)), of(server)(await collector.events()));
  async function open(server: SiteServer, path = '/'): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(server.origin + path);
    return page;
  }
  /** A page of the site, once the snippet has loaded on it. */
  async function openLoaded(server: SiteServer, path = '/'): Promise<Page> {
    const page = await open(server, path);
    await loaded(page);
    return page;
  }
  /** A new page at `url`, with its uncaught errors collected. */
  async function watched(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    return { page, errors };
  }
  /** The attributes of a script tag loading the snippet from the collector, for pages written by hand. */
  const tagOf = (attrs = '', key = collector.site.siteKey) => `src="${collector.url}/s.js" data-site="${key}" data-local ${attrs}`;

  return {
    get browser() {
      return browser;
    },
    get collector() {
      return collector;
    },
    serve,
    site,
    of,
    waitFor,
    settled,
    open,
    openLoaded,
    watched,
    tagOf,
  };
}

/** Resolves once the snippet has started on the page. */
export const loaded = (page: Page) => page.waitForFunction(() => (window as { funnelbeam?: { l?: number } }).funnelbeam?.l);

/** A new page of `browser` at `url` once the snippet runs on it, with the page's uncaught errors collected. */
export async function visitPage(browser: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await loaded(page);
  return { page, errors };
}

/** Makes the page hidden or visible again, as switching tabs does (headless Chromium keeps every tab visible). */
export const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { value: h, configurable: true });
    Object.defineProperty(document, 'visibilityState', { value: h ? 'hidden' : 'visible', configurable: true });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  }, hidden);

/** A whole HTML document, for pages written by hand. */
export const doc = (head: string, body = '', title = 'page') =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${body}</body></html>`;
/** A handler answering with a script. */
export const js = (code: string) => (_req: unknown, res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
/** A handler answering with a file to download. */
export const file = (_req: unknown, res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment' }).end('file');
/** The queue stub of the README, for commands made before the snippet loads. */
export const STUB = `window.funnelbeam=window.funnelbeam||function(){(funnelbeam.q=funnelbeam.q||[]).push(arguments)};`;

export const named = (rows: StoredRow[], name: string) => rows.filter((r) => r.name == name);
/** Rows without the engagement events (their seconds depend on the machine's speed). */
export const noEngagement = <T extends { name: string }>(rows: T[]) => rows.filter((r) => r.name != 'engagement');
/** A stored URL without the test origin. */
export const pathOf = (r: StoredRow) => r.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, '');

/**
 * A site's first-party proxy for the collector (the tag's data-api): a request to `prefix`… is forwarded at once to
 * the collector's same path, and its answer given back to the browser after `answerAfterMs` (a collector far away,
 * so that a send is still in flight when the visitor moves on).
 */
export const collectorProxy =
  (collector: () => string, prefix = '/fb', answerAfterMs = 0) =>
  (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const r = await fetch(collector() + req.url!.slice(prefix.length), {
        method: req.method,
        headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain'), 'user-agent': String(req.headers['user-agent']) },
        body: req.method == 'POST' ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await r.arrayBuffer());
      const answer = () => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' }).end(body);
      if (answerAfterMs) setTimeout(answer, answerAfterMs);
      else answer();
    });
  };
