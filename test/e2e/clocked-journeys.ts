// The harness of the clocked black-box journeys (black-box-journeys-11 and -12): the collector in process on a clock
// the test moves, the tester's own pages, a browser context per device, the CRM by POST /api/events, a webhook receiver
// of our own, and everything read back over HTTP. Each test file gets its own copy of this module's state (vitest
// isolates files).
import { afterAll, beforeAll, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../collector/server.js';
import { collectorDatabase } from '../helpers/test-db.js';
import { runAdmin } from '../../scripts/admin.js';
import { DAY, evs, type Item } from './clocked-demo.js';
import { settleCollector } from './settle-collector.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.js';

export const HALF_LIFE = 90 * DAY;
export const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
/** the score at `at` (collector ms) of awards [points, at] under the 90-day half-life */
export const sha = (v: string) => createHash('sha256').update(v).digest('hex');
export const decayed = (awards: Array<[number, number]>, at: number) => awards.reduce((s, [p, t]) => s + p * 2 ** (-(at - t) / HALF_LIFE), 0);

export const h = {
  offset: 0,
  T0: 0,
  port: 0,
  env: {} as Record<string, string>,
  server: undefined as unknown as RunningServer,
  browser: undefined as unknown as Browser,
  devices: [] as BrowserContext[],
  keys: { write: '', leads: '', audiences: '', admin: '' },
  siteKey: '',
  snippet: '',
  origin: '',
  collector: '',
  database: {} as Record<string, string>,
  siteId: '',
};
export const now = () => Date.now() + h.offset;
export const root = fileURLToPath(new URL('../..', import.meta.url));
let pages: Server;
let hooks: Server;
/** what the webhook receiver got: { type, data } */
export const received: Array<{ type: string; data: any }> = [];

export const NAV = '<nav><a id="home" href="/">Home</a> <a id="about" href="/about">About</a> <a id="resources" href="/resources">Resources</a> <a id="pricing" href="/pricing">Pricing</a> <a id="case" href="/case-studies/acme">Acme</a> <a id="news" href="/newsletter">Newsletter</a> <a id="demo" href="/demo">Demo</a> <a id="contact" href="/contact">Contact</a></nav>';
/** the tester's site: the pages every clocked journey visits (a file adds its own) */
export const JOURNEY_PAGES: Record<string, string> = {
  '/': '<h1>Funnels for B2B</h1>',
  '/about': '<p>About us</p>',
  '/resources': '<a id="pdf" href="/files/whitepaper-2026.pdf">The 2026 whitepaper (PDF)</a> <a id="cs" href="/files/acme-case-study.pdf">Acme case study (PDF)</a>',
  '/pricing': '<h1>Pricing</h1>',
  '/case-studies/acme': '<h1>How Acme grew</h1>',
  '/newsletter': '<form data-funnelbeam="newsletter" method="post" action="/thanks"><input type="email" name="email" required><button id="join">Join</button></form>',
  '/demo': '<form data-funnelbeam="demo" method="post" action="/thanks"><input name="name"><input type="email" name="email" required><button id="book">Book a demo</button></form>',
  '/contact': '<form method="post" action="/thanks"><input type="email" name="work_email" required><textarea name="msg"></textarea><button id="send">Send</button></form>',
  '/thanks': '<p>Thanks!</p>',
};
let BODIES: Record<string, string> = {};

/** Starts the collector, the site's pages (`bodies` by path), a webhook receiver and Chromium for the file's tests. */
export function setUpJourneys(dbName: string, bodies: Record<string, string>) {
  BODIES = bodies;
  beforeAll(async () => {
    const database = await collectorDatabase(dbName);
    h.database = database;
    h.env = { PORT: '0', ...database, DEMO: '0', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: '100' };
    h.server = await startServer({ env: h.env, now });
    h.T0 = Date.now();
    h.collector = h.server.url;
    h.port = Number(new URL(h.server.url).port);
    const adminRun = async (...argv: string[]) => {
      const made = await runAdmin(argv, { ...process.env, ...database });
      expect(made.code, made.out).toBe(0);
      return JSON.parse(made.out);
    };
    const site = await adminRun('site', 'create', '--domain', '127.0.0.1', '--name', 'Tester');
    h.siteKey = site.siteKey;
    h.siteId = site.siteId;
    for (const [k, scopes] of [['write', 'events:write'], ['leads', 'leads:read'], ['audiences', 'audiences:read'], ['admin', 'admin']] as const) {
      h.keys[k] = (await adminRun('key', 'create', '--site', site.siteId, '--scopes', scopes)).secret;
    }
    h.snippet = await (await fetch(h.collector + '/s.js')).text();
    // the site's pages; a device whose user agent ends in ` CMP` (a visitor the site's consent manager asks) gets the tag
    // with data-consent="required"
    pages = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/s.js') return void res.writeHead(200, { 'content-type': 'application/javascript' }).end(h.snippet);
      if (path.startsWith('/files/')) return void res.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="wp.pdf"' }).end('%PDF-1.4\n');
      const body = BODIES[path];
      if (body === undefined) return void res.writeHead(404).end('not found');
      const consent = / CMP$/.test(req.headers['user-agent'] ?? '') ? ' data-consent="required"' : '';
      const tag = `<script defer src="/s.js" data-site="${h.siteKey}" data-api="${h.collector}" data-local${consent}></script>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(`<!doctype html><html><head><meta charset="utf-8"><title>${path}</title>${tag}</head><body>${NAV}${body}</body></html>`);
    });
    await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
    h.origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    hooks = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const b = JSON.parse(raw);
        received.push({ type: b.type, data: b.data });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    h.browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  }, 120_000);
  afterAll(async () => {
    await h.browser?.close();
    await h.server?.close();
    await new Promise<void>((r) => (pages ? pages.close(() => r()) : r()));
    await new Promise<void>((r) => (hooks ? hooks.close(() => r()) : r()));
  });
}

// ---- devices, time, the API ----
export async function device(opts: { ua?: string; cmp?: boolean } = {}): Promise<BrowserContext> {
  const ua = opts.ua ?? (opts.cmp ? DESKTOP_UA + ' CMP' : undefined);
  const ctx = await h.browser.newContext(ua ? { userAgent: ua } : {});
  await ctx.clock.install({ time: now() });
  h.devices.push(ctx);
  return ctx;
}
/** time passes for the collector and every device, once every beacon already sent has landed (settle-collector.ts) */
export async function advance(ms: number) {
  await settleCollector(h.collector);
  h.offset += ms;
  for (const d of h.devices) await d.clock.fastForward(ms);
}
export async function visit(ctx: BrowserContext, path: string): Promise<Page> {
  const tab = await ctx.newPage();
  await tab.goto(h.origin + path);
  await tab.waitForLoadState('load');
  return tab;
}
export async function go(tab: Page, id: string, path: string) {
  await Promise.all([tab.waitForURL(h.origin + path), tab.click('#' + id)]);
  await tab.waitForLoadState('load');
}
export async function submit(tab: Page, button: string, email: string) {
  await tab.fill('input[type=email]', email);
  await Promise.all([tab.waitForURL(h.origin + '/thanks'), tab.click('#' + button)]);
  await tab.waitForLoadState('load');
}
export const visitorIdOf = (tab: Page) => tab.evaluate(() => new Promise<string>((resolve) => (window as any).funnelbeam('visitorId', resolve)));

export async function api(path: string, secret: string, init: RequestInit = {}) {
  const res = await fetch(h.collector + path, { ...init, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...init.headers } });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* csv */
  }
  return { status: res.status, body, headers: res.headers };
}
export const profile = async (ref: string) => {
  const r = await api(`/api/leads/${encodeURIComponent(ref)}`, h.keys.leads);
  return r.status === 200 ? r.body : null;
};
export async function timeline(ref: string): Promise<Item[]> {
  const r = await api(`/api/leads/${encodeURIComponent(ref)}/timeline?limit=500`, h.keys.leads);
  expect(r.status).toBe(200);
  return r.body.items;
}
export const awardsOf = (items: Item[]) => items.filter((i) => i.kind === 'score' && i.points !== 0).map((i) => `${i.rule} ${i.points}`).reverse();
export const ms = (i: { at: string }) => Date.parse(i.at);
/** polls a lead's timeline until its events (engagement left out), oldest first, are `want` ("name path") */
export async function eventsUntil(ref: string, want: string[]): Promise<Item[]> {
  let items: Item[] = [];
  await expect
    .poll(async () => {
      items = (await profile(ref)) ? await timeline(ref) : [];
      return evs(items).map((i) => `${i.name} ${i.path ?? ''}`.trim());
    }, { timeout: 15_000, interval: 100 })
    .toEqual(want);
  return items;
}
export async function postEvents(body: unknown) {
  const r = await api('/api/events', h.keys.write, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body;
}

/** the webhook receiver's address */
export const hookUrl = () => `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;

/** `npm run admin -- …` as the operator types it, against the collector's database */
export function npmAdmin(...args: string[]): Promise<any> {
  const { npm_config_loglevel: _, ...env } = process.env;
  return new Promise((resolve, reject) => {
    execFile('npm', ['run', 'admin', '--', ...args], { cwd: root, env: { ...env, ...h.database }, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(stderr || String(err)));
      resolve(JSON.parse(stdout));
    });
  });
}

/** A lead's score items add up (README "Scores": each scoreAfter is the one before decayed to its time, plus its
 * points), and the score shown is the last one decayed to now. */
export async function expectScoresAddUp(ref: string, items: Item[]) {
  const scores = items.filter((i) => i.kind === 'score').reverse();
  expect(scores.length, ref).toBeGreaterThan(0);
  let score = 0;
  let at = ms(scores[0]);
  for (const i of scores) {
    score = score * 2 ** (-(ms(i) - at) / HALF_LIFE) + i.points!;
    at = ms(i);
    expect(i.scoreAfter, `${ref} ${i.rule} ${i.at}`).toBeCloseTo(score, 3);
  }
  expect((await profile(ref)).score, ref).toBeCloseTo(score * 2 ** (-(now() - at) / HALF_LIFE), 2);
}
