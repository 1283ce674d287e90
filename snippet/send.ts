// Transport: a write-ahead outbox in first-party storage, sent as text/plain batches (no CORS preflight).
// While the page is visible, fetch (keepalive) tells us the status: 2xx and 4xx settle the events; network
// errors, 429 and 5xx keep them and back off (Retry-After seconds when given). When the page is hidden or
// left, sendBeacon (falling back to fetch keepalive) carries them; a beacon has no status, so its events
// stay in the outbox until a later fetch is answered (on this page once it is shown again, or on the next
// page). The collector stores an event id once, so sending twice is safe.
import { getState, putState } from './store.js';
import { visitorId } from './ids.js';
import { api, data } from './config.js';

let timer: ReturnType<typeof setTimeout> | 0;
/** a fetch is in flight: the next waits for its answer (unless the page is going away) */
let busy: unknown;

const later = (ms: number) => {
  clearTimeout(timer);
  timer = setTimeout(flush, ms);
};

/** Sends in a short moment (batching what comes meanwhile), unless a send or a retry is already planned. */
export const soon = () => timer || later(300);

/** Remembers a failure: no send for Retry-After seconds when given, else 2 s doubling up to about 8 minutes. */
const fail = (retryAfter?: unknown) => {
  const s = getState();
  const ms = +retryAfter! * 1e3 || 1e3 << Math.min((s.n = (s.n || 0) + 1), 9);
  s.b = Date.now() + ms;
  putState(s);
  later(ms);
};

/** Sends the oldest batch (LIMITS.batchEvents) of the outbox; `hiding` when the page is being hidden or left. */
export const flush = (hiding?: unknown) => {
  clearTimeout(timer);
  timer = 0;
  const s = getState();
  const e = (s.q || []).slice(0, 50);
  const url = api + 'e';
  const wait = s.b! - Date.now();
  if (wait > 0) return hiding || later(wait);
  if (!e[0] || (busy && !hiding)) return;
  const body = JSON.stringify({ s: data.site, v: visitorId(s), e });
  if (hiding && navigator.sendBeacon?.(url, body)) return;
  busy = 1;
  // keepalive lets the request outlive the page; browsers refuse keepalive bodies over 64 KiB
  fetch(url, { method: 'POST', body, keepalive: body.length < 6e4 }).then((r) => {
    busy = 0;
    if (r.status == 429 || r.status > 499) return fail(r.headers.get('retry-after'));
    const s = getState();
    s.q = (s.q || []).filter((x) => !e.some((y) => y.i == x.i));
    s.b = s.n = 0;
    putState(s);
    if (s.q[0]) later(300);
  }, () => {
    busy = 0;
    fail();
  });
};
