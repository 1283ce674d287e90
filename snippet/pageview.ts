// Page views: load, SPA navigation (pushState, replaceState when the path changes, popstate) and, with
// data-hash, hash routes. The engagement of the previous view is sent before each new view.
import { data } from './config.js';
import { setPage, pageUrl, track } from './track.js';
import { sendEngagement } from './engagement.js';

/** pathname (+ hash in hash mode) and query of the current view */
let path: string;
let search: string;

/** Counts a view when the path (or, unless `replace`, the query) changed, or always when `force`d. */
export const pageview = (replace?: unknown, force?: unknown) => {
  const l = location;
  const p = l.pathname + ('hash' in data ? l.hash : '');
  if (force || p != path || (!replace && l.search != search)) {
    sendEngagement(1);
    setPage(l.href, pageUrl || document.referrer);
    track('pageview');
    path = p;
  }
  search = l.search;
};

/** Wraps history.pushState and replaceState so SPA navigations count (errors of the page's own call still throw). */
export const watchHistory = () => {
  const h = history;
  for (const m of ['pushState', 'replaceState'] as const) {
    const original = h[m];
    h[m] = function (this: History, ...a: Parameters<History['pushState']>) {
      const result = original.apply(this, a);
      try {
        pageview(m > 'q'); // true for replaceState
      } catch {}
      return result;
    };
  }
};
