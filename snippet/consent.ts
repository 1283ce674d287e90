// Tracking mode: on; off (consent refused or opted out, remembered); hold (data-consent="required" before a
// decision: commands wait in the queue and nothing is stored); silenced for good (privacy signals, localhost,
// automation, no site key), whatever consent says.
import { getState, putState } from './store.js';

export const enum Mode {
  Silenced = -1,
  Off,
  On,
  Hold,
}

export let mode: Mode;

export const initMode = (silenced: unknown, required: boolean) => {
  const c = getState().c;
  mode = silenced ? Mode.Silenced : c === 0 ? Mode.Off : c || !required ? Mode.On : Mode.Hold;
};

/** funnelbeam('consent', granted): remembers the decision; refusing also forgets everything stored. */
export const setConsent = (granted: unknown) => {
  if (mode == Mode.Silenced) return;
  const s = granted ? getState() : {};
  s.c = granted ? 1 : 0;
  putState(s);
  mode = granted ? Mode.On : Mode.Off;
};
