// Funnelbeam snippet: reads its script tag, wires the listeners, counts the first view, runs queued commands.
// Silent under Global Privacy Control or Do Not Track, and on localhost or in automated browsers unless
// data-local. With data-consent="required", commands wait in the queue until consent is given.
import { data, readTag } from './config.js';
import { Mode, initMode, mode } from './consent.js';
import { flush } from './send.js';
import { getState, putState } from './store.js';
import { captureTouch } from './utm.js';
import { pageview, watchHistory } from './pageview.js';
import { measureScroll, sendEngagement, setVisible } from './engagement.js';
import { onClick } from './links.js';
import { onSubmit } from './forms.js';
import { command } from './commands.js';

type Api = ((...a: any[]) => unknown) & { q?: unknown[][]; l?: 1 };

const w = window as unknown as Window & { funnelbeam?: Api };
const d = document;
const n = navigator as Navigator & { globalPrivacyControl?: boolean };

/** Wraps a function so that nothing it throws reaches the page. */
const safe =
  (f: (...a: any[]) => unknown) =>
  (...a: any[]) => {
    try {
      f(...a);
    } catch {}
  };

const on = (target: EventTarget, type: string, f: (e: any) => unknown) => target.addEventListener(type, safe(f), true);

let started: unknown;
/** Starts tracking once, when on: listeners, the landing touch and the first view. */
const start = () => {
  if (mode != Mode.On || started) return;
  started = 1;
  watchHistory();
  on(w, 'popstate', () => pageview());
  if ('hash' in data) on(w, 'hashchange', () => pageview());
  // a page restored from the back/forward cache is a new view
  on(w, 'pageshow', (e: PageTransitionEvent) => e.persisted && pageview(0, 1));
  // the last event a page reliably gets, also when it is closed or left
  on(d, 'visibilitychange', () => {
    if (d.hidden) sendEngagement(), flush(1);
    setVisible(!d.hidden);
  });
  on(w, 'scroll', measureScroll);
  on(d, 'click', onClick);
  on(d, 'auxclick', onClick);
  on(d, 'submit', onSubmit);
  const s = getState();
  captureTouch(s);
  putState(s);
  pageview();
};

const init = () => {
  readTag();
  initMode(
    !data.site ||
      (!('local' in data) && (n.webdriver || /^(localhost|127(\.\d+){3}|\[::1\]|)$/.test(location.hostname))) ||
      n.globalPrivacyControl ||
      n.doNotTrack == '1',
    data.consent == 'required',
  );
  const queue: unknown[][] = [...(w.funnelbeam?.q || [])];
  let ready: unknown;
  /** runs a command, or queues it until the page is shown and (for all but 'consent') while consent is pending */
  const api: Api = (...a) => {
    if (!ready || (mode == Mode.Hold && a[0] != 'consent')) return queue.push(a);
    safe(command)(...a);
    if (a[0] == 'consent') drain();
  };
  const drain = () => {
    start();
    for (const a of queue.splice(0)) api(...a);
  };
  api.l = 1;
  w.funnelbeam = api;
  const show = () => {
    ready = 1;
    drain();
  };
  // a prerendered page counts once it is shown
  (d as Document & { prerendering?: boolean }).prerendering ? on(d, 'prerenderingchange', show) : show();
};

if (!w.funnelbeam?.l) safe(init)();
