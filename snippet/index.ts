// Funnelbeam snippet: reads its script tag, wires the listeners, counts the first view, runs queued commands.
// Silent under Global Privacy Control or Do Not Track, and on localhost or in automated browsers unless
// data-local. With data-consent="required", commands wait in the queue until consent is given.
import { data, readTag } from './config.js';
import { Mode, initMode, mode } from './consent.js';
import { flush } from './send.js';
import { captureTouch } from './utm.js';
import { How, pageview } from './pageview.js';
import { measureScroll, sendEngagement } from './engagement.js';
import { onClick } from './links.js';
import { onSubmit } from './forms.js';
import { command } from './commands.js';
import { on, safe } from './safe.js';
import { doc, loc, nav } from './globals.js';

type Api = ((...a: any[]) => unknown) & { q?: unknown[][]; l?: 1 };

declare global {
  interface Window {
    funnelbeam?: Api;
  }
}

// Once per page (a second copy of the snippet does nothing); what throws here stays here, as everywhere (safe.ts).
if (!window.funnelbeam?.l)
  try {
    readTag();
    initMode(
      !data.site ||
        (!('local' in data) && (nav.webdriver || /^(localhost|127(\.\d+){3}|\[::1\]|)$/.test(loc.hostname))) ||
        nav.globalPrivacyControl ||
        nav.doNotTrack == '1',
      data.consent == 'required',
    );
    const queue = window.funnelbeam?.q || [];
    const h = history;
    /**
     * Runs a command, or queues it while the page is prerendered and (for all but 'consent') while consent is
     * pending; then drains. Only a consent changes the mode: after any other command, drain() has nothing new to start
     * and the queue is already empty.
     */
    const api: Api = (...a) =>
      doc.prerendering || (mode == Mode.Hold && a[0] != 'consent') ? queue.push(a) : (safe(command)(...a), drain());
    let started: unknown;
    /** Starts tracking once, when on (listeners, the landing touch and the first view); then runs what is queued. */
    const drain = () => {
      if (mode == Mode.On && !started) {
        started = 1;
        // SPA navigations count (errors of the page's own pushState or replaceState still throw)
        (['pushState', 'replaceState'] as const).forEach((m) => {
          const original = h[m];
          h[m] = (...a: Parameters<History['pushState']>) => {
            original.apply(h, a);
            safe(pageview)(m > 'q'); // true (How.Replace) for replaceState
          };
        });
        // listeners of different events: their order changes nothing (it is the one gzip likes best)
        // a page restored from the back/forward cache is a new view
        on('pageshow', (e: PageTransitionEvent) => e.persisted && pageview(How.Force));
        on('submit', onSubmit);
        on('popstate', pageview);
        on('scroll', measureScroll);
        // without data-hash a hash change leaves the path as it was: no view
        on('hashchange', pageview);
        on('click', onClick);
        on('auxclick', onClick);
        captureTouch();
        // the last event a page reliably gets, also when it is closed or left; shown again, the clock restarts
        on('visibilitychange', () => {
          sendEngagement();
          if (doc.hidden) flush(1);
        });
        pageview();
      }
      queue.splice(0).forEach((a) => api(...a));
    };
    api.l = 1;
    window.funnelbeam = api;
    // a prerendered page counts once it is shown
    doc.prerendering ? on('prerenderingchange', drain) : drain();
  } catch {}
