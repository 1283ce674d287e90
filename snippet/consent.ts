// Tracking mode: on; off (consent refused or opted out, remembered); hold (data-consent="required" before a
// decision: what the visitor does is tracked into the outbox in memory only, never stored or sent, commands wait in
// the queue; consent stores and sends it all, refusal drops it); silenced for good (privacy signals, localhost,
// automation, no site key, an opaque origin), whatever consent says. On and Hold are the odd modes: `mode & 1` means "tracking".
import { loc } from './globals.js';
import { data } from './config.js';
import { load, save, state } from './store.js';
import { soon } from './send.js';
import { visitorId } from './ids.js';

export const enum Mode {
  Off,
  On,
  Silenced,
  /** odd like On: events are tracked, but kept in memory only */
  Hold,
}

export let mode: Mode;

/**
 * Silent under Global Privacy Control or Do Not Track (unless the site's tag says data-privacy-signals="ignore"), and on localhost or in automated browsers unless data-local; also
 * in an opaque origin (a sandboxed iframe without allow-same-origin), whose beacons the collector always refuses.
 * (Written short: doNotTrack "1" equals 1, and no other value does; a host name that is all digits and dots after "127."
 * is a loopback address. `origin == 'null'` stays as written: a page's own global named origin, even undefined, must not
 * throw or silence.)
 */
export const initMode = () => {
  load();
  mode =
    !data.site ||
    (!('local' in data) && (navigator.webdriver || /^(localhost|127\.[\d.]+|\[::1\]|)$/.test(loc.hostname))) ||
    // the site's setting, on its tag (contract §4: honoured by default): data-privacy-signals="ignore" tracks those
    // visitors too, for a site whose legal basis for first-party measurement does not rest on them
    (data.privacySignals != 'ignore' && ((navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl || (navigator.doNotTrack as unknown) == 1)) ||
    origin == 'null'
      ? Mode.Silenced
      : state.c ?? (data.consent == 'required' ? Mode.Hold : Mode.On);
};

/**
 * funnelbeam('consent', granted): remembers the decision (and sends what was held); refusing also forgets everything.
 */
export const setConsent = (granted: unknown) => {
  if (mode != Mode.Silenced) {
    // (first: load() reads the stored state only once consent is no longer pending; what was held in memory joins the
    // stored outbox there, another tab's or one kept from before consent was required)
    mode = +(granted as boolean); // a boolean: 1 (Mode.On) or 0 (Mode.Off)
    granted ? load() : save({});
    state.c = mode;
    save();
    // the visitor id is made at a grant (as when a page starts tracking: index.ts), not at the first send 300 ms later:
    // another tab holding for consent takes this grant at once (index.ts, its storage listener) and reads the id instead
    // of making its own, which split the visitor in two when both tabs made one for their first send
    visitorId();
    soon();
  }
};
