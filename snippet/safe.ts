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
 * clicks, submits), before the page's own handlers could stop them. A `target` that is no event target is skipped: a
 * classic script's top-level `var navigation = …` replaces window.navigation (a [Replaceable] attribute: the Navigation
 * API's object) with its own value, null for a menu the page lacks or responsive-nav.js's plain object, and a throw
 * here would end the start-up before the first view, the submit listener and the queued commands.
 */
export const on = (type: string, f: (e: any) => unknown, target: EventTarget = window) => target?.addEventListener?.(type, safe(f), true);
