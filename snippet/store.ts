// First-party storage: one localStorage entry holding the snippet's whole state, read and written on each
// change (other tabs share it), with an in-memory copy so blocked or full storage never throws.
import type { WireEvent, WireTouch } from '../shared/wire.js';

export interface State {
  /** visitor id */
  v?: string;
  /** first touch */
  f?: WireTouch;
  /** session: its touch and last activity (epoch ms) */
  s?: { t: WireTouch; a: number };
  /** outbox: events not yet confirmed by the collector, oldest first */
  q?: WireEvent[];
  /** no send before this time (epoch ms), after a failure */
  b?: number;
  /** failures in a row */
  n?: number;
  /** consent: 1 granted, 0 refused (opted out) */
  c?: number;
}

let mem: State = {};

export const getState = (): State => {
  try {
    return JSON.parse((localStorage as { _fb?: string })._fb!) || {};
  } catch {
    return mem;
  }
};

export const putState = (s: State) => {
  mem = s;
  try {
    (localStorage as { _fb?: string })._fb = JSON.stringify(s);
  } catch {
    // full storage: drop the stale copy, so reads fall back to memory (the truth for this page)
    try {
      delete (localStorage as { _fb?: string })._fb;
    } catch {}
  }
};
