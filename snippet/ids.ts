// Ids for events and visitors: the time in base36 milliseconds (8 characters until 2059), then 12 random base36
// characters (about 62 bits), also outside secure contexts. Ids that grow with time land at the end of the
// collector's indexes instead of on random pages, which makes its commits several times smaller.
import { load, save, state } from './store.js';
import { Mode, mode } from './consent.js';

export const newId = () => crypto.getRandomValues(new Uint8Array(12)).reduce((id, b) => id + (b % 36).toString(36), Date.now().toString(36));

/**
 * The visitor's id, made on first use and kept in first-party storage; undefined while tracking is off, also once another
 * tab stored a refusal (load() first): an id made then would be stored with the refusal, which keeps nothing else, and
 * handed to the page (a hidden CRM field) for a visitor who opted out
 */
export const visitorId = () => {
  if (mode == Mode.On && (load(), state.c != 0)) {
    state.v ||= newId();
    save();
    return state.v;
  }
};
