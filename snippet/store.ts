// First-party storage: one localStorage entry holding the snippet's whole state. `state` is read again before
// each change (other tabs share it) and written after it; when storage is blocked, empty or full, the copy in
// memory is the truth for this page, so nothing ever throws.
import type { WireEvent, WireTouch } from '../shared/wire.js';
import { Mode, mode } from './consent.js';

export interface State {
  /** visitor id */
  v?: string;
  /** first touch */
  f?: WireTouch;
  /** the session's touch */
  s?: WireTouch;
  /** the session's last activity (epoch ms) */
  a?: number;
  /** outbox: events not yet confirmed by the collector, oldest first */
  q?: WireEvent[];
  /** no send before this time (epoch ms), after a failure */
  b?: number;
  /** failures in a row (counted up to 13) */
  n?: number;
  /** consent: 1 granted, 0 refused (opted out) */
  c?: number;
}

export let state: State = {};

/**
 * Reads the stored state, except while consent is pending: then the copy in memory holds what is tracked. The events of
 * the copy in memory that the stored outbox lacks join it: each tab's renderer keeps its own copy of localStorage, so a
 * tab that saved before it saw this one's write left this one's newest events out (tabs opened at once lost their
 * views). An event another tab settled meanwhile is sent once more, which the collector stores once; after an opt-out
 * nothing joins. `q` is a local (a parameter only to save bytes): the outbox in memory.
 */
export const load = (q = state.q) => {
  try {
    // `null` there (another script's doing) leaves the copy in memory in charge
    if (mode ^ Mode.Hold) state = JSON.parse((localStorage as { _fb?: string })._fb!) || state;
  } catch {}
  if (state.c != 0) q?.map((e) => (state.q ||= []).some((x) => x.i == e.i) || state.q.push(e));
};

/**
 * Stores `s` (the state by default), its outbox cut to the newest LIMITS.snippetStoredEvents (100) by time. The cap is
 * kept here, not at each event: what load() joins is appended, also an event that another tab dropped at the cap, so
 * two tabs tracking in turn while the collector could not be reached grew the outbox by one event each time, past any
 * cap (until the whole entry no longer fitted in storage), keeping old events and dropping newer ones. The stale copy
 * goes first: with storage full, the write then has its room back, and when it still fails load() finds nothing and
 * keeps the copy in memory (the truth for this page); blocked storage throws at once (caught).
 */
export const save = (s = state) => {
  (state = s).q?.sort((a, b) => a.t - b.t).splice(0, s.q!.length - 100);
  try {
    delete (localStorage as { _fb?: string })._fb;
    (localStorage as { _fb?: string })._fb = JSON.stringify(s);
  } catch {}
};
