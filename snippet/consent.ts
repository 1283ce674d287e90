// Tracking mode: on; off (consent refused or opted out, remembered); hold (data-consent="required" before a
// decision: commands wait in the queue and nothing is stored); silenced for good (privacy signals, localhost,
// automation, no site key), whatever consent says.
import { load, save, state } from './store.js';

export const enum Mode {
  Off,
  On,
  Hold,
  Silenced,
}

export let mode: Mode;

export const initMode = (silenced: unknown, required: boolean) => {
  load();
  mode = silenced ? Mode.Silenced : state.c ?? (required ? Mode.Hold : Mode.On);
};

/** funnelbeam('consent', granted): remembers the decision; refusing also forgets everything stored. */
export const setConsent = (granted: unknown) => {
  if (mode != Mode.Silenced) {
    granted ? load() : save({});
    state.c = mode = granted ? Mode.On : Mode.Off;
    save();
  }
};
