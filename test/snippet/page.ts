// A happy-dom page running the built snippet (the release bundle), with the browser's network APIs
// (navigator.sendBeacon, fetch) replaced to capture what the snippet sends and to answer as a collector would.
import { afterEach } from 'vitest';
import { Window } from 'happy-dom';
import { buildSnippet } from '../../scripts/build-snippet.js';
import type { WireBatch } from '../../shared/wire.js';

let built: Promise<string> | undefined;
export const snippetCode = () => (built ??= buildSnippet().then((b) => b.code));

export interface Sent {
  via: 'beacon' | 'fetch';
  url: string;
  body: WireBatch;
  /** typeof the body handed to the browser: a string is sent as text/plain;charset=UTF-8 (no CORS preflight) */
  bodyType: string;
  keepalive?: boolean;
}

export interface PageOptions {
  url?: string;
  /** attributes of the script tag; data-site and data-api are set unless given */
  attrs?: Record<string, string>;
  /** body markup before the script */
  html?: string;
  /** runs before the snippet: set navigator flags, storage, a queue stub … */
  before?: (w: Window & Record<string, any>) => void;
  /** what the collector answers to POST /e (default 202) */
  /** the collector's answer to a POST /e, from its body as sent */
  status?: number | ((body: string) => number | 'network');
  /** response headers of POST /e */
  headers?: Record<string, string>;
  /** localStorage contents to start from (another page of the same site) */
  storage?: Record<string, string>;
}

export interface TestPage {
  w: Window & Record<string, any>;
  sent: Sent[];
  /** every event sent so far, in order (a beaconed event sent again later appears twice) */
  events: () => WireBatch['e'];
  /** what GET /segments and other fetches were asked for */
  fetched: string[];
  /** the snippet's stored state (localStorage entry) */
  state: () => any;
  /** hides the page (visibilitychange → hidden), as when switching tabs or leaving */
  hide: () => void;
  show: () => void;
  /** waits for the batching moment and any fetch answers */
  settle: (ms?: number) => Promise<void>;
  close: () => Promise<void>;
}

export async function openPage(options: PageOptions = {}): Promise<TestPage> {
  const code = await snippetCode();
  const w = new Window({
    url: options.url ?? 'https://www.example.com/',
    settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true } as never,
  }) as Window & Record<string, any>;
  const sent: Sent[] = [];
  const fetched: string[] = [];
  let hidden = false;
  Object.defineProperty(w.navigator, 'webdriver', { value: false, configurable: true });
  // every browser the snippet runs in has window.origin ('null' in a sandboxed iframe); happy-dom lacks it
  w.origin ??= w.location.origin;
  Object.defineProperty(w.document, 'hidden', { get: () => hidden, configurable: true });
  Object.defineProperty(w.document, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible'), configurable: true });
  for (const [k, v] of Object.entries(options.storage ?? {})) w.localStorage.setItem(k, v);
  (w.navigator as any).sendBeacon = (url: string, body: string) => {
    sent.push({ via: 'beacon', url, body: JSON.parse(body), bodyType: typeof body });
    return true;
  };
  w.fetch = (async (url: string, init?: { method?: string; body?: unknown; keepalive?: boolean }) => {
    if (init?.method !== 'POST') {
      fetched.push(String(url));
      return new w.Response(JSON.stringify({ segments: ['pricing_no_demo'] }), { status: 200 });
    }
    const body = init.body as string;
    sent.push({ via: 'fetch', url, body: JSON.parse(body), bodyType: typeof body, keepalive: init.keepalive });
    const status = typeof options.status === 'function' ? options.status(body) : (options.status ?? 202);
    if (status === 'network') throw new TypeError('Failed to fetch');
    return new w.Response('{}', { status, headers: options.headers });
  }) as never;
  w.document.body.innerHTML = options.html ?? '';
  options.before?.(w);
  const script = w.document.createElement('script');
  const attrs = { 'data-site': 'pk_test', 'data-api': 'https://collector.example.com', ...options.attrs };
  for (const [k, v] of Object.entries(attrs)) script.setAttribute(k, v);
  script.textContent = code;
  w.document.head.appendChild(script);
  const setHidden = (h: boolean) => {
    hidden = h;
    w.document.dispatchEvent(new w.Event('visibilitychange', { bubbles: true }));
  };
  return {
    w,
    sent,
    fetched,
    events: () => sent.flatMap((s) => s.body.e),
    state: () => JSON.parse(w.localStorage.getItem('_fb') ?? 'null'),
    hide: () => setHidden(true),
    show: () => setHidden(false),
    settle: (ms = 350) => new Promise((r) => setTimeout(r, ms)),
    close: () => w.happyDOM.close(),
  };
}

/** Opens pages for the tests of one file and closes them after each test (call at the top level). */
export function pagesOfTest(): (options?: PageOptions) => Promise<TestPage> {
  const pages: TestPage[] = [];
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.close();
  });
  return async (options = {}) => {
    const p = await openPage(options);
    pages.push(p);
    return p;
  };
}

/** A page's stored state, to open the next page of the same visit with (`storage`). */
export const carry = (p: TestPage) => ({ _fb: p.w.localStorage.getItem('_fb')! });
