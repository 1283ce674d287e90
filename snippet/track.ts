// Builds a WireEvent for the current page view and puts it in the outbox (capped at
// LIMITS.snippetStoredEvents, oldest dropped), sent after a short moment; owns "the current page view".
import type { WireEvent } from '../shared/wire.js';
import { newId } from './ids.js';
import { getState, putState } from './store.js';
import { sessionTouch } from './utm.js';
import { Mode, mode } from './consent.js';
import { soon } from './send.js';

/** URL and referrer of the page view in progress (for an SPA view, the referrer is the previous view) */
export let pageUrl = '';
let pageRef = '';

export const setPage = (url: string, ref: string) => {
  pageUrl = url;
  pageRef = ref;
};

export const track = (n: string, extra?: Partial<WireEvent>) => {
  if (mode == Mode.On) {
    const t = Date.now();
    const s = getState();
    s.q = [...(s.q || []), { i: newId(), n, t, u: pageUrl, r: pageRef, ft: s.f, st: sessionTouch(s, t), ...extra }].slice(-100);
    putState(s);
    soon();
  }
};
