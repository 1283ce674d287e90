// Page views: load, SPA navigation (pushState, replaceState when the path changes, popstate) and, with
// data-hash, hash routes (index.ts wires the listeners and wraps history). The engagement of the previous view is
// sent before each new view. Owns "the current page view" that every event belongs to.
import { sendEngagement } from './engagement.js';
import { doc, loc } from './globals.js';
import { track } from './track.js';
import { data } from './config.js';

/**
 * URL and referrer of the page view in progress (for an SPA view, the referrer is the previous view); unset before
 * the first view.
 */
export let page: { u: string; r: string } | undefined;
/**
 * pathname without a trailing slash (a router's boot that only adds or drops it, Angular's from /pricing/ to /pricing
 * on a static host that serves pages as folders, or a router set the other way, that adds it, is the landing view)
 * (+ hash in hash mode, without its leading "#/" or "#!/": a hash router's boot from "/" to "/#/", Vue's replaceState
 * or AngularJS's "#!/", is the landing view, not another) and query of the current view; forms.ts keys each address
 * counted by the path
 */
export let path: string;
let search: string;

export const enum How {
  /** a navigation: counts when the path or the query changed */
  Navigate,
  /** replaceState: counts only when the path changed */
  Replace,
  /** always counts (funnelbeam('page'), back/forward cache restore) */
  Force,
}

/** Counts a view as `how` says; listeners pass their event, which counts as a navigation. */
export const pageview = (how?: How | Event | boolean) => {
  const p = loc.pathname.replace(/\/$/, '') + ('hash' in data ? loc.hash.replace(/\W+/, '') : '');
  if (how == How.Force || p != path || (how != How.Replace && loc.search != search)) {
    sendEngagement(1);
    page = { u: loc.href, r: page?.u || doc.referrer };
    track('pageview');
    path = p;
  }
  search = loc.search;
};
