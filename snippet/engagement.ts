// Engagement of the current page view: seconds the page was visible and the deepest scroll (% of the page).
// Sent as `engagement` when the page is hidden or left and before the next SPA view, once at least a second
// was gained; each event carries the seconds since the previous one (the collector sums them).
import { track } from './track.js';
import { doc } from './globals.js';

/** when the page became visible (or the last engagement was counted), false while hidden, 0 before the first view */
let since: number | false = 0;
let depth = 0;
/**
 * visible seconds not yet sent: each stretch is added unrounded and what a rounding sent too much or too little is
 * carried over (into the next view too), so a visitor who glances at the tab again and again is counted the time seen
 */
let carry = 0;

export const measureScroll = () => {
  depth = Math.max(depth, Math.round(Math.min(1, (scrollY + innerHeight) / doc.documentElement.scrollHeight) * 100));
};

/**
 * Counts the visible time since the page was shown or since the last count, and sends it; called when the page
 * is hidden (the clock stops), shown again (it restarts) and before a new view (`next`: the scroll starts over).
 */
export const sendEngagement = (next?: unknown) => {
  const now = Date.now();
  const seconds = Math.round((carry += ((since && now - since) as number) / 1e3));
  measureScroll();
  // (a second or more to send means the page was visible: the time it became visible is when the activity began)
  if (seconds) track('engagement', { p: { seconds, scroll: depth } }, since as number);
  carry -= seconds;
  since = !doc.hidden && now;
  if (next) depth = 0;
};
