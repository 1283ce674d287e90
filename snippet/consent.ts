// Tracking mode: on; off (consent refused or opted out, remembered); hold (data-consent="required" before a
// decision: commands wait in the queue and nothing is stored); silenced for good (privacy signals, localhost,
// automation, no site key), whatever consent says.
import { loc } from './globals.js';
import { data } from './config.js';
import { load, save, state } from './store.js';

export const enum Mode {
  Off,
  On,
  Hold,
  Silenced,
}

export let mode: Mode;

/** Silent under Global Privacy Control or Do Not Track, and on localhost or in automated browsers unless data-local. */
export const initMode = () => {
  load();
  mode =
    !data.site ||
    (!('local' in data) && (navigator.webdriver || /^(localhost|127(\.\d+){3}|\[::1\]|)$/.test(loc.hostname))) ||
    (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl ||
    navigator.doNotTrack == '1'
      ? Mode.Silenced
      : state.c ?? (data.consent == 'required' ? Mode.Hold : Mode.On);
};

/** funnelbeam('consent', granted): remembers the decision; refusing also forgets everything stored. */
export const setConsent = (granted: unknown) => {
  if (mode != Mode.Silenced) {
    granted ? load() : save({});
    state.c = mode = granted ? Mode.On : Mode.Off;
    save();
  }
};
