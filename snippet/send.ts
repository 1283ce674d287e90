// Transport: a write-ahead outbox in first-party storage, sent as text/plain batches (no CORS preflight).
// While the page is visible, fetch (keepalive) tells us the status: 2xx and 4xx settle the events; network
// errors, 429 and 5xx keep them and back off (Retry-After seconds when given). When the page is hidden or
// left, sendBeacon (falling back to fetch keepalive) carries them; a beacon has no status, so its events
// stay in the outbox until a later fetch is answered (on this page once it is shown again, or on the next
// page). The collector stores an event id once, so sending twice is safe.
import { safe } from './safe.js';
import { doc } from './globals.js';
import { api, data } from './config.js';
import { visitorId } from './ids.js';
import { load, save, state } from './store.js';
import { Mode, mode } from './consent.js';

/** a send is planned; timers are never cancelled: a flush decides from the stored state, so an extra one is harmless */
let timer: unknown;
/** a fetch is in flight: the next waits for its answer (unless the page is going away) */
let busy: unknown;

const later = (ms: number): unknown => (timer = setTimeout(flush, ms));

/** Sends in a short moment (batching what comes meanwhile), unless a send or a retry is already planned. */
export const soon = () => timer || later(300);

/**
 * Remembers a failure: no send for Retry-After seconds when given, else 2 s doubling up to about 8 minutes. fail(r) is
 * the task that does it (a timer passes it no argument); `ms` is a local (a parameter only to save bytes): the wait.
 */
const fail = (retryAfter: unknown) => (ms?: number) => {
  busy = 0;
  // a page being left (a link followed, a form posted) cancels its fetch, whose request has mostly gone through: no
  // back-off for the next pages, which would otherwise send nothing for seconds, not even when they are left (the
  // catch below defers this to a task, which a page being left never runs: its fetch fails while it unloads, before
  // it is hidden when the page has a pagehide listener)
  if (!doc.hidden) {
    load();
    // (failures in a row are counted up to 13: the batch below is then 1, and a count that grew on would make its shift
    // wrap, as shift counts are taken mod 32: after 64 failures it would be 50 again)
    ms = +retryAfter! * 1e3 || 1e3 << Math.min((state.n = -~Math.min(state.n!, 12)), 9);
    state.b = Date.now() + ms;
    save();
    later(ms);
  }
};

/**
 * Sends the oldest batch (LIMITS.batchEvents) of the outbox; `hiding` when the page is being hidden or left, and then
 * the whole outbox goes by beacon, a batch at a time from `from` (a broken fetch never clears the outbox, and its
 * oldest 50 alone would be sent again and again). After the second failure in a row the batch halves with each further
 * one: a batch of long URLs can pass the collector's 64 KiB, and its 413 would otherwise repeat forever.
 */
export const flush: (hiding?: unknown, from?: number) => void = safe((hiding?: unknown, from = 0) => {
  timer = 0;
  load();
  const e = (state.q || []).slice(from, from + (50 >> state.n! / 2 || 1)); // (n undefined: 50 >> NaN is 50)
  let body: string;
  // backing off: try again when it ends (a page going away leaves it to the next page)
  if (state.b! > Date.now()) {
    if (!hiding) later(state.b! - Date.now());
  } else if (e[0] && (hiding || !busy) && mode == Mode.On) {
    // t: this device's clock now (the collector corrects the events' times by its skew); l: data-local, present or not
    body = JSON.stringify({ s: data.site, v: visitorId(), e, t: Date.now(), l: data.local });
    if (hiding && navigator.sendBeacon?.(api + 'e', body)) flush(1, from + e.length);
    else {
      busy = 1;
      // keepalive lets the request outlive the page; browsers refuse keepalive bodies over 64 KiB
      fetch(api + 'e', { method: 'POST', body, keepalive: body.length < 6e4 })
        .then((r, s = r.status) => {
          // (`s` is a local: the status) thrown to fail(): Retry-After seconds, or null. A 413 is kept and retried smaller while the batch has more
          // than one event (a batch of long URLs); one event too large alone is a 4xx like any other, and settled
          if (s == 429 || s > 499 || (s == 413 && e[1])) throw r.headers.get('retry-after');
          busy = 0;
          load();
          // the sent events are settled: their ids (20 random-tailed characters) are in the body we sent
          // (another tab may have emptied the state meanwhile: an opt-out)
          state.q = (state.q || []).filter((x) => !body.includes(x.i));
          state.b = state.n = 0;
          save();
          if (state.q[0]) later(300);
        })
        .catch((r) => setTimeout(fail(r)));
    }
  }
});
