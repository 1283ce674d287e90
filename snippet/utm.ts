// Attribution: the landing page's UTM parameters, click ids and outside referrer. The first touch is kept
// forever; the session's touch until 30 minutes (SESSION_TIMEOUT_MS) without events or a new landing.
import type { WireTouch } from '../shared/wire.js';
import { state } from './store.js';
import { doc, loc } from './globals.js';

/** the touch of the page just loaded */
let here: WireTouch;
/** `here` while it brings a campaign or an outside referrer not yet in the session */
let landing: WireTouch | 0;

/**
 * Reads the touch of the page just loaded. `url` is a local (a parameter only to save bytes): the URL the page was
 * loaded with, from its navigation entry, which a router or a cleanup script that already dropped the campaign from the
 * address bar (before a deferred, async or tag-manager-injected snippet ran) leaves as it was. `r` too: the referrer; `f` reads a URL's campaign into `here`.
 */
export const captureTouch = (
  url = (performance.getEntriesByType('navigation')[0]?.name || loc.href) as string,
  r = doc.referrer,
  f = (u: string) =>
    // UTM_KEYS and CLICK_IDS (other utm_ keys, and any key ending in braid for gbraid and wbraid, go too; the collector
    // drops them); an empty one (a CMS template's `?utm_source=&utm_medium=` on an internal link) is no campaign
    new URL(u).searchParams.forEach((v, k) => v && /^(utm_|((g|fb|tt)cl|msclk|li_fat_)id$)|braid$/.test(k) && (((here as Record<string, string>)[k] = v), (landing = here))),
) => {
  here = { url, at: Date.now() };
  // a reload, or a return through history to a page not kept in the back/forward cache, keeps the outside referrer the
  // page first had, now perhaps at a client-side route's address: no new arrival while a visit is under way (a
  // consent manager's reload before anything was tracked still lands, and so does a tab reloaded or restored after 30
  // idle minutes, the next morning: its new session is the search or site that brought the page, not a direct visit).
  // performance.navigation (type 1 or 2) is deprecated but everywhere, and shorter than the navigation entry's type. A referrer of the site's own with no visit
  // under way is a page the snippet never ran on: a landing page that sent the visitor on at once (a language redirect
  // in <head>, `location.replace('/en/')`, or a moved page's meta refresh, dropping the query), or one left while consent
  // was pending (nothing of it stored), whose campaign is read from it; the page's own wins
  if (r) new URL(r).host != loc.host ? ((here.ref = r), (performance.navigation?.type && here.at! - state.a! < 18e5) || (landing = here)) : here.at! - state.a! < 18e5 || f(r);
  f(url);
};

/**
 * The touches of activity at `t` (state just loaded): the first one ever and the session's. A new session starts
 * after 30 idle minutes (or with none yet: NaN compares false) or on a new landing; a reload of the same one is not new.
 * `since`: when the activity began, earlier than `t` for an engagement event (the visitor was on the page all along:
 * a long read is no idle time). A session begun with no first touch stored (a new visitor, or one a refusal wiped
 * before a grant on the same page) takes the page's own touch: a refuse-then-accept keeps the landing campaign.
 */
export const touches = (t: number, since: number) => {
  if (!(since - state.a! < 18e5) || (landing && state.s!.url != landing.url)) state.s = landing || (state.f ? { url: loc.href, at: t } : here);
  landing = 0;
  state.a = t;
  return { ft: (state.f ||= here), st: state.s };
};
