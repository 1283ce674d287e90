// The demo site of `npm start` on a clock the test moves (black-box-journeys-8 and -9): the collector in process reads
// Date.now() + offset (startServer's `now`), and every device (a Playwright context) has its clock installed at the same
// time and moved with it, so minutes, days and months really pass for both. Keys made by the admin command the README
// gives; the demo pages' forms, links and PDFs driven as a visitor would; the read API fetched as a client would.
import { afterAll, beforeAll, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../collector/server.js';
import { collectorDatabase } from '../helpers/test-db.js';
import { runAdmin } from '../../scripts/admin.js';
import { settleCollector } from './settle-collector.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.js';

export const MIN = 60_000;
export const DAY = 24 * 60 * MIN;
export const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
export const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];
/** README "Scores": half-life decay. The score at `atMin` of awards [points, minute] is Σ points · 2^(-(atMin - minute)/(90 days)) */
export const HALF_LIFE_MIN = 90 * 24 * 60;
export const decayed = (awards: Array<[number, number]>, atMin: number) => awards.reduce((s, [p, m]) => s + p * 2 ** (-(atMin - m) / HALF_LIFE_MIN), 0);

export interface Item { kind: string; name: string; at: string; visitorId?: string; path?: string; url?: string; form?: string | null; props?: any; from?: string | null; to?: string; rule?: string; points?: number; scoreAfter?: number; segment?: string; change?: string; id?: string }

/** event items oldest first, engagement left out (sent when a page is left, after at least a second: timing) */
export const evs = (items: Item[]) => items.filter((i) => i.kind === 'event' && i.name !== 'engagement').slice().reverse();
export const stagesOf = (items: Item[]) => items.filter((i) => i.kind === 'stage').map((i) => `${i.from ?? null}>${i.to}`).reverse();
export const awardsOf = (items: Item[]) => items.filter((i) => i.kind === 'score').map((i) => `${i.rule} ${i.points}`).reverse();
export const segsOf = (items: Item[]) => items.filter((i) => i.kind === 'segment').map((i) => `${i.change} ${i.segment}`).reverse();

/**
 * Starts the collector (database `file`, extra `env`) and one Chromium for the file's tests, and gives the shared
 * clock (`h.offset`, `h.T0`), the keys and the helpers that drive and read them.
 */
export function useClockedDemo(file: string, env: Record<string, string>) {
  /** the shared clock: the collector reads Date.now() + offset; every device's clock is moved by the same amount */
  const h = {
    offset: 0,
    T0: 0,
    server: undefined as unknown as RunningServer,
    browser: undefined as unknown as Browser,
    devices: [] as BrowserContext[],
    keys: { write: '', leads: '', audiences: '', admin: '' },
  };

  beforeAll(async () => {
    const database = await collectorDatabase(file);
    h.server = await startServer({ env: { PORT: '0', ...database, LOG_LEVEL: 'error', ...env }, now: () => Date.now() + h.offset });
    h.T0 = Date.now();
    const key = async (scopes: string) => {
      const made = await runAdmin(['key', 'create', '--site', h.server.demoSite!.siteId, '--scopes', scopes], { ...process.env, ...database });
      expect(made.code, made.out).toBe(0);
      return JSON.parse(made.out).secret as string;
    };
    h.keys.write = await key('events:write');
    h.keys.leads = await key('leads:read');
    h.keys.audiences = await key('audiences:read');
    h.keys.admin = await key('admin');
    h.browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  });
  afterAll(async () => {
    await h.browser?.close();
    await h.server?.close();
  });

  /** a new device: its own context (storage, visitor id), its clock set to the shared clock */
  async function device(userAgent?: string): Promise<BrowserContext> {
    const ctx = await h.browser.newContext(userAgent ? { userAgent } : {});
    await ctx.route('https://example.com/**', (r) => r.fulfill({ status: 200, body: 'partner' }));
    await ctx.clock.install({ time: Date.now() + h.offset });
    h.devices.push(ctx);
    return ctx;
  }
  /** the same device (its cookies and storage) in a new context whose clock is installed at the shared clock's now */
  async function reopen(ctx: BrowserContext): Promise<BrowserContext> {
    const again = await h.browser.newContext({ storageState: await ctx.storageState() });
    await again.clock.install({ time: Date.now() + h.offset });
    h.devices.push(again);
    return again;
  }
  /** time passes for everyone: the collector and every device, once every beacon already sent has landed (a closed
   * tab's beacon arriving after the jump would be moved by the device-clock correction: settle-collector.ts) */
  async function advance(minutes: number) {
    await settleCollector(h.server.url);
    h.offset += minutes * MIN;
    for (const d of h.devices) await d.clock.fastForward(minutes * MIN);
  }
  /** minutes on the shared clock since the start */
  const nowMin = () => h.offset / MIN;

  async function visit(ctx: BrowserContext, path: string): Promise<Page> {
    const tab = await ctx.newPage();
    await tab.goto(h.server.url + path);
    await tab.waitForLoadState('load');
    return tab;
  }
  async function go(tab: Page, selector: string, path: string) {
    await Promise.all([tab.waitForURL(h.server.url + path), tab.click(selector)]);
    await tab.waitForLoadState('load');
  }
  async function submit(tab: Page, form: 'newsletter' | 'demo', email: string, fields: Record<string, string> = {}) {
    await tab.fill(`form[data-funnelbeam="${form}"] input[type=email]`, email);
    for (const [name, value] of Object.entries(fields)) {
      const sel = `form[data-funnelbeam="${form}"] [name="${name}"]`;
      if (name === 'country') await tab.selectOption(sel, value);
      else await tab.fill(sel, value);
    }
    await tab.click(`form[data-funnelbeam="${form}"] button[type=submit]`);
    await tab.waitForSelector('[role=status]');
  }
  async function download(tab: Page, selector: string) {
    const [file] = await Promise.all([tab.waitForEvent('download'), tab.click(selector)]);
    await file.cancel().catch(() => {});
  }
  const visitorIdOf = (tab: Page) => tab.evaluate(() => new Promise<string>((resolve) => (window as any).funnelbeam('visitorId', resolve)));

  async function api(path: string, secret: string, init: RequestInit = {}) {
    const res = await fetch(h.server.url + path, { ...init, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...init.headers } });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
  }
  const profile = async (ref: string) => {
    const r = await api(`/api/leads/${encodeURIComponent(ref)}`, h.keys.leads);
    return r.status === 200 ? r.body : null;
  };
  async function timeline(ref: string): Promise<Item[]> {
    const r = await api(`/api/leads/${encodeURIComponent(ref)}/timeline?limit=500`, h.keys.leads);
    expect(r.status).toBe(200);
    return r.body.items;
  }
  /** polls a lead's timeline until its events (engagement left out), oldest first, are `want` */
  async function eventsUntil(ref: string, want: string[]): Promise<Item[]> {
    let items: Item[] = [];
    await expect
      .poll(async () => {
        items = (await profile(ref)) ? await timeline(ref) : [];
        return evs(items).map((i) => `${i.name} ${i.path}`);
      }, { timeout: 20_000, interval: 100 })
      .toEqual(want);
    return items;
  }
  /** minutes on the shared clock of an item */
  const minOf = (i: { at: string }) => (Date.parse(i.at) - h.T0) / MIN;
  async function postEvents(body: unknown) {
    const r = await api('/api/events', h.keys.write, { method: 'POST', body: JSON.stringify(body) });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body;
  }
  return { h, device, reopen, advance, nowMin, visit, go, submit, download, visitorIdOf, api, profile, timeline, eventsUntil, minOf, postEvents };
}
