// Builds a WireEvent for the current page view and puts it in the outbox (capped at
// LIMITS.snippetStoredEvents, oldest dropped, as it is saved: store.ts), sent after a short moment. While consent is pending the outbox lives in
// memory only (not saved; flush sends nothing until consent).
import { touches } from './utm.js';
import { Mode, mode } from './consent.js';
import type { WireEvent } from '../shared/wire.js';
import { load, save, state } from './store.js';
import { soon } from './send.js';
import { newId } from './ids.js';
import { page } from './pageview.js';

/**
 * `extra`: the props (`p`), or the form kind, email and traits (`f`, `em`, `tr`); `since`: when the activity it reports
 * began (an engagement event's engaged time), for the session's idle time
 */
/** the time of the last event made on this page: each event is at least a millisecond after it (see track) */
let last = 0;

// `t` is a local (a parameter only to save bytes): events made in one millisecond (commands queued before the script
// loaded, a loop of pushState) keep the order they were made in, since the collector orders events of one time by their
// ids, which end in random characters
export const track = (n: string, extra?: Partial<WireEvent>, since?: number, t = (last = Math.max(Date.now(), last + 1))) => {
  // props JSON cannot write (a circular object, a BigInt) throw here, to the command's safe(): in the outbox they would
  // make every later save and send throw, so nothing more would be sent and the stored visitor would be wiped
  JSON.stringify(extra);
  // (load() first: a refusal that another tab stored stops this one too; while consent is pending it reads nothing)
  if (mode & 1 && (load(), state.c != 0)) {
    (state.q ||= []).push({ i: newId(), n, t, ...page!, ...touches(t, since || t), ...extra });
    mode == Mode.On && save();
    soon();
  }
};
