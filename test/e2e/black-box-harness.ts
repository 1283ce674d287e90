// The black-box harness of test/e2e/black-box-journeys*.test.ts: what an outside tester builds with the contract and
// README alone. The collector started as its own process (`node --import tsx collector/server.ts`, its own real clock),
// the site made with the admin CLI (the keys by the CLI's own command, in process), the tester's own pages on another
// port, Chromium launched as the contract says (Playwright's HeadlessChrome user agent, pages tagged data-local),
// sessions made with Playwright's clock, CRM events by POST /api/events, and everything read back through the HTTP API.
// The shapes below are the tester's own copy of contract §5, not the project's types.
import { afterAll, beforeAll, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { freshPgUrl } from '../helpers/test-db.js';
import { runAdmin } from '../../scripts/admin.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

let dir: string;
// with TEST_ENGINE=pg (npm run test:e2e:pg) the collector and the admin CLI share a fresh PostgreSQL database
let databaseUrl: Record<string, string> = {};
let collector: ChildServer;
let pagesServer: Server;
const contexts: BrowserContext[] = [];

/** What the harness set up, filled in by useBlackBox's beforeAll. */
export const bb = {
  /** the tester's pages */
  origin: '',
  siteKey: '',
  keys: { write: '', leads: '', audiences: '', admin: '' },
  /** an ISO time just before the collector started: a funnel report period from it holds everything */
  periodFrom: '',
};

export interface Profile {
  leadId: string;
  email: string | null;
  visitorIds: string[];
  stage: string;
  score: number;
  mql: boolean;
  sql: boolean;
  firstTouch: Record<string, unknown> | null;
  lastTouch: Record<string, unknown> | null;
  segments?: string[];
}
export interface Item {
  kind: string;
  name: string;
  at: string;
  visitorId?: string;
  url?: string;
  form?: string | null;
  props?: Record<string, unknown> | null;
  from?: string;
  to?: string;
  points?: number;
  rule?: string;
}

/** `npm run admin -- …args` as a user types it; resolves with the JSON it prints */
export function admin(...args: string[]): Promise<Record<string, string>> {
  // npm_config_loglevel left out: a loglevel given to the npm that started the tests would override the project's .npmrc
  const { npm_config_loglevel: _, ...env } = process.env;
  return new Promise((resolve) => {
    execFile('npm', ['run', 'admin', '--', ...args], { cwd: root, env: { ...env, DATABASE_PATH: join(dir, 'fb.db'), ...databaseUrl }, encoding: 'utf8' }, (err, stdout, stderr) => {
      expect(err?.code ?? 0, stderr).toBe(0);
      // the project's .npmrc (loglevel=silent) keeps npm's banner off stdout: the command's JSON alone, as contract §1 says
      resolve(JSON.parse(stdout));
    });
  });
}

export async function api(path: string, secret: string, init: RequestInit = {}) {
  const res = await fetch(collector.url + path, { ...init, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...init.headers } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* csv */
  }
  return { status: res.status, body: body as any, headers: res.headers };
}

export const profile = async (ref: string): Promise<Profile | null> => {
  const r = await api(`/api/leads/${encodeURIComponent(ref)}`, bb.keys.leads);
  return r.status === 200 ? r.body : null;
};
export async function timeline(ref: string): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = null;
  do {
    const r = await api(`/api/leads/${encodeURIComponent(ref)}/timeline?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, bb.keys.leads);
    expect(r.status).toBe(200);
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
  return items;
}
export const events = (items: Item[]) => items.filter((i) => i.kind === 'event');
/** event names, sorted; engagement is left out (sent when a page is hidden or left, so its count depends on timing) */
export const names = (items: Item[]) => events(items).map((i) => i.name).filter((n) => n !== 'engagement').sort();
/** polls a lead's profile until `check` holds */
export async function waitForLead(ref: string, check: (p: Profile) => boolean, timeout = 20_000): Promise<Profile> {
  let last: Profile | null = null;
  await expect.poll(async () => {
    last = await profile(ref);
    return last !== null && check(last);
  }, { timeout, interval: 150 }).toBe(true);
  return last!;
}
export async function postEvents(body: unknown) {
  const r = await api('/api/events', bb.keys.write, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body;
}

export const tag = () => `<script defer src="${collector.url}/s.js" data-site="${bb.siteKey}" data-local></script>`;
export const html = (title: string, body: string) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${tag()}</head><body>${body}</body></html>`;
const NAV = '<nav><a id="home" href="/">Home</a> <a id="blog" href="/blog/funnels">Blog</a> <a id="about" href="/about">About</a> <a id="resources" href="/resources">Resources</a> <a id="pricing" href="/pricing">Pricing</a> <a id="case" href="/case-studies/acme">Acme</a> <a id="news" href="/newsletter">Newsletter</a> <a id="demo" href="/demo">Demo</a> <a id="contact" href="/contact">Contact</a></nav>';
const PAGES: Record<string, () => string> = {
  '/': () => html('Home', `${NAV}<h1>Funnels for B2B</h1>`),
  '/blog/funnels': () => html('Blog', `${NAV}<article>How funnels work</article>`),
  '/about': () => html('About', `${NAV}<p>About us</p>`),
  '/resources': () =>
    html('Resources', `${NAV}<a id="pdf" href="/files/Whitepaper-2026.PDF?v=2">The 2026 whitepaper (PDF)</a> <a id="out" href="http://partner.example/page">Our partner</a>`),
  '/pricing': () => html('Pricing', `${NAV}<h1>Pricing</h1>`),
  '/case-studies/acme': () => html('Acme', `${NAV}<h1>How Acme grew</h1>`),
  '/newsletter': () =>
    html('Newsletter', `${NAV}<form data-funnelbeam="newsletter" method="post" action="/thanks"><input type="email" name="email" required><button id="join">Join</button></form>`),
  '/demo': () =>
    html('Demo', `${NAV}<form data-funnelbeam="demo" method="post" action="/thanks"><input name="name" required><input type="email" name="email" required><input type="password" name="pw"><button id="book">Book a demo</button></form>`),
  '/contact': () =>
    html('Contact', `${NAV}<form method="post" action="/thanks"><input name="name"><input type="email" name="work_email" required><textarea name="msg"></textarea><button id="send">Send</button></form>`),
  '/thanks': () => html('Thanks', `${NAV}<p>Thanks!</p>`),
};

/** One device: a persistent Chromium profile launched as the contract says, with Playwright's clock installed. */
export async function device(userAgent?: string): Promise<BrowserContext> {
  const ctx = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ...(userAgent ? { userAgent } : {}),
  });
  // the outbound partner site does not exist: answer it here, as a tester's route would
  await ctx.route('http://partner.example/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<p>partner</p>' }));
  await ctx.clock.install();
  contexts.push(ctx);
  return ctx;
}
export async function open(ctx: BrowserContext, path: string): Promise<Page> {
  const tab = await ctx.newPage();
  await tab.goto(bb.origin + path);
  return tab;
}
export async function follow(tab: Page, selector: string, path: string) {
  await Promise.all([tab.waitForURL(bb.origin + path + '*'), tab.click(selector)]);
}
/** a visit ends: the tab is closed, and the device's clock moves 31 minutes (the collector's does not) */
export async function leave(ctx: BrowserContext, tab: Page) {
  await tab.close();
  await ctx.clock.fastForward('31:00');
}
export const visitorIdOf = (tab: Page) => tab.evaluate(() => new Promise<string>((resolve) => (window as any).funnelbeam('visitorId', resolve)));

/** Starts the collector, the site, its keys and the tester's pages before the file's tests, and stops them after. */
export function useBlackBox(prefix: string) {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    databaseUrl = process.env.TEST_ENGINE === 'pg' ? { DATABASE_URL: await freshPgUrl() } : {};
    bb.periodFrom = new Date(Date.now() - 1000).toISOString();
    collector = await startChildServer({ PORT: '0', DATABASE_PATH: join(dir, 'fb.db'), DEMO: '0', ...databaseUrl });
    // the engine the suite was asked for (npm run test:e2e:pg once ran these files on SQLite without saying so)
    const health = await (await fetch(collector.url + '/healthz')).json();
    expect(health.engine).toBe(process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite');
    const site = await admin('site', 'create', '--domain', '127.0.0.1', '--name', 'Tester');
    bb.siteKey = site.siteKey;
    // the four keys by the command the CLI runs, in this process: `npm run admin` costs 2.5 s of CPU a run (npm, tsx,
    // node twice), and CI's two cores are what the browser files wait for. The site above took the whole typed path.
    const key = async (scopes: string) => {
      const made = await runAdmin(['key', 'create', '--site', site.siteId, '--scopes', scopes], { ...process.env, DATABASE_PATH: join(dir, 'fb.db'), ...databaseUrl });
      expect(made.code, made.out).toBe(0);
      return JSON.parse(made.out).secret as string;
    };
    const [write, leads, audiences, adminKey] = [await key('events:write'), await key('leads:read'), await key('audiences:read'), await key('admin')];
    bb.keys = { write, leads, audiences, admin: adminKey };
    pagesServer = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path.endsWith('.PDF')) {
        res.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="whitepaper.pdf"' }).end('%PDF-1.4\n');
        return;
      }
      const page = PAGES[path];
      if (!page) return void res.writeHead(404).end('not found');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page());
    });
    await new Promise<void>((r) => pagesServer.listen(0, '127.0.0.1', r));
    bb.origin = `http://127.0.0.1:${(pagesServer.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await new Promise<void>((r) => (pagesServer ? pagesServer.close(() => r()) : r()));
    if (collector) {
      collector.child.kill('SIGTERM');
      await collector.exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}
