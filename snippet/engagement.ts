// Engagement of the current page view: seconds the page was visible and the deepest scroll (% of the page).
// Sent as `engagement` when the page is hidden or left and before the next SPA view, once at least a second
// was gained; each event carries the seconds since the previous one (the collector sums them).
import { pageUrl, track } from './track.js';

let ms = 0;
/** when the page became visible, 0 while hidden */
let since = 0;
export let depth = 0;

export const measureScroll = () => {
  depth = Math.max(depth, Math.min(100, Math.round(((scrollY + innerHeight) / document.documentElement.scrollHeight) * 100)));
};

/** Adds the visible time so far and restarts (visible) or stops the clock. */
export const setVisible = (visible: unknown) => {
  const now = Date.now();
  if (since) ms += now - since;
  since = visible ? now : 0;
};

/** Sends what the current view gained since its last engagement event; `next` starts a new view. */
export const sendEngagement = (next?: unknown) => {
  setVisible(!document.hidden);
  measureScroll();
  const seconds = Math.round(ms / 1e3);
  if (seconds && pageUrl) track('engagement', { p: { seconds, scroll: depth } });
  ms = 0;
  if (next) depth = 0;
};
