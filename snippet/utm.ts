// Attribution: the landing page's UTM parameters, click ids and outside referrer. The first touch is kept
// forever; the session's touch until 30 minutes (SESSION_TIMEOUT_MS) without events or a new landing.
import type { WireTouch } from '../shared/wire.js';
import type { State } from './store.js';

/** the landing page's touch while it brings a campaign or an outside referrer not yet in the session */
let landing: WireTouch | 0;

/** Reads the touch of the page just loaded; the first one ever becomes the visitor's first touch. */
export const captureTouch = (s: State) => {
  const l = location;
  const ref = document.referrer;
  const t: WireTouch = { url: l.href, at: Date.now() };
  // UTM_KEYS and CLICK_IDS (other utm_ keys go too; the collector drops them)
  new URLSearchParams(l.search).forEach((v, k) => /^(utm_|((g|fb|tt)clid|msclkid|li_fat_id)$)/.test(k) && ((t as Record<string, string>)[k] = v, (landing = t)));
  if (ref && new URL(ref).host != l.host) (t.ref = ref), (landing = t);
  s.f ||= t;
};

/** The session's touch for activity at `t`: a new session after 30 idle minutes or on a new landing (a reload of the same one is not new). */
export const sessionTouch = (s: State, t: number) => {
  let x = s.s;
  if (!x || t - x.a > 18e5 || (landing && x.t.url != landing.url)) x = s.s = { t: landing || { url: location.href, at: t }, a: t };
  landing = 0;
  x.a = t;
  return x.t;
};
