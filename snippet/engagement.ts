// Engagement of the current page view: seconds the page was visible and the deepest scroll (% of the page).
// Sent as `engagement` when the page is hidden or left and before the next SPA view, once at least a second
// was gained; each event carries the seconds since the previous one (the collector sums them).
import { track } from './track.js';
import { doc } from './globals.js';

/** when the page became visible (or the last engagement was counted), false while hidden, unset before the first view */
let since: number | false | undefined;
let depth = 0;

export const measureScroll = () => {
  depth = Math.max(depth, Math.round(Math.min(1, (scrollY + innerHeight) / doc.documentElement.scrollHeight) * 100));
};

/**
 * Counts the visible time since the page was shown or since the last count, and sends it; called when the page
 * is hidden (the clock stops), shown again (it restarts) and before a new view (`next`: the scroll starts over).
 */
export const sendEngagement = (next?: unknown) => {
  const now = Date.now();
  const seconds = Math.round(((since && now - since) as number) / 1e3); // NaN (no event) before the first view
  since = !doc.hidden && now;
  measureScroll();
  if (seconds) track('engagement', { p: { seconds, scroll: depth } }, now - seconds * 1e3);
  if (next) depth = 0;
};
