// Random ids for events and visitors: 20 base36 characters (about 100 bits), also outside secure contexts.
import { getState, putState } from './store.js';
import { Mode, mode } from './consent.js';

export const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => (b % 36).toString(36)).join('');

/** The visitor's id, made on first use and kept in first-party storage; undefined while tracking is off. */
export const visitorId = (s = getState()) => {
  if (mode == Mode.On) {
    s.v ||= newId();
    putState(s);
    return s.v;
  }
};
