// Builds a WireEvent for the current page view and puts it in the outbox (capped at
// LIMITS.snippetStoredEvents, oldest dropped), sent after a short moment.
import type { WireEvent, WireProps } from '../shared/wire.js';
import { newId } from './ids.js';
import { load, save, state } from './store.js';
import { touches } from './utm.js';
import { Mode, mode } from './consent.js';
import { soon } from './send.js';
import { page } from './pageview.js';

export const track = (n: string, p?: WireProps, extra?: Partial<WireEvent>) => {
  if (mode == Mode.On) {
    load();
    const t = Date.now();
    if ((state.q ||= []).push({ i: newId(), n, t, ...page!, ...touches(t), p, ...extra }) > 100) state.q.shift();
    save();
    soon();
  }
};
