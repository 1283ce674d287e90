// The snippet never throws into the page: every entry point (listeners, commands, timers, callbacks) goes through here.

/** Wraps a function so that nothing it throws reaches the page. */
export const safe =
  (f: (...a: any[]) => unknown) =>
  (...a: any[]) => {
    try {
      f(...a);
    } catch {}
  };

/**
 * Listens on the window (or `target`) in the capture phase: it sees the document's events too (visibilitychange,
 * clicks, submits), before the page's own handlers could stop them.
 */
export const on = (type: string, f: (e: any) => unknown, target: EventTarget = window) => target.addEventListener(type, safe(f), true);
