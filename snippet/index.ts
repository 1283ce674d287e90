// Funnelbeam snippet: reads its script tag, wires the listeners, counts the first view, runs queued commands.
// Silent under Global Privacy Control or Do Not Track, and on localhost or in automated browsers unless
// data-local. With data-consent="required", commands wait in the queue until consent is given.
// The modules have no start-up effects of their own: the order of the imports (which is the order of the bundle) and
// of the start-up statements below is the one gzip compresses best.
import { on, safe } from './safe.js';
import { Mode, initMode, mode } from './consent.js';
import { How, pageview } from './pageview.js';
import { captureTouch } from './utm.js';
import { onSubmit, watchSubmits } from './forms.js';
import { measureScroll, sendEngagement } from './engagement.js';
import { doc } from './globals.js';
import { readTag } from './config.js';
import { flush } from './send.js';
import { command } from './commands.js';
import { onClick } from './links.js';
import { visitorId } from './ids.js';

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
    const queue = window.funnelbeam?.q || [];
    /**
     * Runs a command, or queues it while the page is prerendered and (for all but 'consent') while consent is
     * pending; then drains. Only a consent changes the mode: after any other command, drain() has nothing new to start
     * and the queue is already empty.
     */
    const api: Api = (...a) =>
      doc.prerendering || (mode == Mode.Hold && a[0] != 'consent') ? queue.push(a) : (command(...a), drain());
    let started: unknown;
    /** grants when the stored state holds a grant (JSON.parse throws when nothing is stored, a refusal grants nothing) */
    const granted = () => JSON.parse((localStorage as { _fb?: string })._fb!).c && api('consent', true);
    /**
     * Starts tracking once, when on or holding for consent (listeners, the landing touch and the first view, so that
     * the campaign of the landing URL is read before a router drops it); then runs what is queued.
     */
    const drain = () => {
      if (mode & 1 && !started) {
        started = 1;
        // (every statement up to the first view may go in any order: nothing here runs a listener or a view; listeners
        // of different events, in whatever order they are added, change nothing)
        captureTouch();
        // SPA navigations count (errors of the page's own pushState, replaceState or form.submit() still throw); so does
        // form.submit() (jQuery's .submit(), Marketo's and Pardot's scripts, a web component sending the form of its
        // shadow root), which fires no submit event, unless that form was counted already (onSubmit checks: a validation
        // library that cancels the submit event and calls form.submit() once valid); the browser's submit only plans the navigation,
        // so the event is made and sent before the page is left. Not through its formdata event: new FormData(form)
        // fires one too, which htmx (a request from a field inside a form), unsaved-changes guards and form-analytics
        // tools (reading a submit before the snippet sees it, which then counted twice) make when nothing is sent
        for (const m of ['pushState', 'replaceState', 'submit'] as const) {
          const o: any = m > 's' ? HTMLFormElement.prototype : history;
          const original = o[m];
          o[m] = function (this: any, ...a: unknown[]) {
            original.apply(this, a);
            // true (How.Replace) for replaceState
            m > 's' ? onSubmit({ target: this } as unknown as Event) : safe(pageview)(m > 'q');
          };
        }
        // a page restored from the back/forward cache is a new view; one held for consent that the visitor gave on a later
        // page of this tab (the usual path: a banner answered on the second page, then back) is granted now, as its next
        // load would be, instead of holding until it is closed (the page's own banner, restored as it was left, may never
        // be answered again). A refusal stored there keeps it holding; nothing stored (JSON.parse throws) changes nothing
        on('pageshow', (e: PageTransitionEvent) => e.persisted && (pageview(How.Force), granted()));
        // a tab holding for consent takes a grant the visitor gave in another tab of the site (tabs opened at once from a
        // list, the banner answered in the first): what it held is sent, not lost with it (each tab's banner is its own,
        // and the one left open is seldom answered again). Only while holding: a tab that tracks already would answer
        // each storage event with a write that fires one in the other tab, back and forth
        on('storage', () => mode == Mode.Hold && granted());
        on('popstate', pageview);
        on('click', onClick);
        on('auxclick', onClick);
        // without data-hash a hash change leaves the path as it was: no view
        on('hashchange', pageview);
        // every same-document navigation where the Navigation API exists (Chromium): also a router that kept the
        // original pushState or intercepts navigations; the view it counts first, the wrapper finds already counted
        // (without it, the listener waits on the window for an event that never comes)
        on('currententrychange', (e) => pageview(e.navigationType == 'replace'), (window as { navigation?: EventTarget }).navigation);
        // the last event a page reliably gets, also when it is closed or left; shown again, the clock restarts. Heard in
        // the bubble phase on the window, after the page's own listeners on the document: what they track as the page
        // turns hidden (an end-of-visit report, as the Page Lifecycle guidance has pages send it) leaves with the page
        addEventListener(
          'visibilitychange',
          safe(() => {
            sendEngagement();
            if (doc.hidden) flush(1);
          }),
        );
        // the document's submits and its iframes', in the capture phase (the root of each click is watched as well: onClick)
        watchSubmits(doc);
        on('scroll', measureScroll);
        // the visitor id is stored now (when on), not at the first send 300 ms later: tabs the visitor opens from this
        // page at once read it instead of each making its own
        visitorId();
        pageview();
      }
      queue.splice(0).forEach((a) => api(...a));
    };
    api.l = 1;
    window.funnelbeam = api;
    // a prerendered page counts once it is shown, and reads the stored consent then: one prerendered by speculation rules
    // as the previous page loaded, where the visitor then answered the banner, tracks (or stays silent) as answered
    const go = () => (initMode(), drain());
    doc.prerendering ? on('prerenderingchange', go) : go();
  } catch {}
