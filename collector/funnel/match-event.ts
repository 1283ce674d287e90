// Conditions compiled to predicates over one event: name, path and URL globs, props, form kind, source.
import type { Condition } from './funnel-config.js';
import type { FoldEvent } from './fold-event.js';
import { partsMatch, pathAsSent } from '../segments/glob.js';

export type EventTest = (e: FoldEvent) => boolean;

/**
 * A glob as a test: `*` matches any run of characters (including `/`); everything else is literal; case-insensitive.
 * Matched without backtracking (segments/glob.ts), so a rule of many stars costs no more than one of a few.
 */
export function globTest(glob: string): (text: string) => boolean {
  const parts = glob.toLowerCase().split('*');
  return (text) => partsMatch(parts, text.toLowerCase());
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function anyGlob(globs: string | string[]): (text: string) => boolean {
  const tests = list(globs).map(globTest);
  return (text) => tests.some((t) => t(text));
}

type Scalar = string | number | boolean;
type PropMatch = Scalar | Scalar[] | { gte?: number; gt?: number; lte?: number; lt?: number };

function scalarTest(expected: Scalar): (v: Scalar) => boolean {
  if (typeof expected === 'string') {
    const t = globTest(expected);
    return (v) => t(String(v));
  }
  return (v) => v === expected || String(v) === String(expected);
}

function propTest(m: PropMatch): (v: Scalar | undefined) => boolean {
  if (Array.isArray(m)) {
    const tests = m.map(scalarTest);
    return (v) => v !== undefined && tests.some((t) => t(v));
  }
  if (typeof m === 'object') {
    return (v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isNaN(n)) return false;
      return (m.gte === undefined || n >= m.gte) && (m.gt === undefined || n > m.gt) && (m.lte === undefined || n <= m.lte) && (m.lt === undefined || n < m.lt);
    };
  }
  const t = scalarTest(m);
  return (v) => v !== undefined && t(v);
}

/** A path or glob ending in one `/` after a literal character (not `/`, `*/` or `//`). */
const slashed = (p: string) => p.length > 1 && p.endsWith('/') && p[p.length - 2] !== '/' && p[p.length - 2] !== '*';
const unslash = (p: string) => p.slice(0, -1);

/** Percent-escapes of bytes past ASCII: a letter like ü or Ü as a browser sends it in an address. */
const NON_ASCII_ESCAPES = /(?:%[89a-fA-F][0-9a-fA-F])+/g;

/**
 * An address (or an address glob) with its non-ASCII letters decoded, for the case-insensitive match: a browser sends
 * ü as %C3%BC and Ü as %C3%9C, escapes that no lower-casing makes equal, so `/Über-uns*` would miss `/über-uns`. ASCII
 * escapes (`%2F`, `%20`, `%2A`) stay as they are: decoding them would change what a `/` or a `*` means. A run that is
 * no UTF-8 stays too (it can only match itself).
 */
function decodeLetters(address: string): string {
  if (!address.includes('%')) return address;
  return address.replace(NON_ASCII_ESCAPES, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** `globTest` for addresses: a glob written decoded or encoded, matched against the address as the browser sent it. */
const addressTest = (globs: string[]): ((address: string) => boolean) => {
  const m = anyGlob(globs.map(decodeLetters));
  return (address) => m(decodeLetters(address));
};

/** The per-event part of a condition as a predicate (`sessions` and `count` are counted by the fold). */
export function compileCondition(c: Condition): EventTest {
  const tests: EventTest[] = [];
  if (c.any) {
    const alternatives = c.any.map((a) => compileCondition(a));
    tests.push((e) => alternatives.some((t) => t(e)));
  }
  if (c.source) {
    const source = c.source;
    tests.push((e) => e.source === source);
  }
  // event names compare as kept (README: names are kept as given), a glob's as an exact name's: `Closed_Won` is no
  // `closed_won`, whether the list also holds a glob (`['closed_won', 'deal_*']`) or not; segments read names so too
  if (c.event !== undefined) {
    const names = list(c.event);
    if (names.some((n) => n.includes('*'))) {
      const globs = names.map((n) => n.split('*'));
      tests.push((e) => globs.some((parts) => partsMatch(parts, e.name)));
    } else {
      const set = new Set(names);
      tests.push((e) => set.has(e.name));
    }
  }
  if (c.form !== undefined) {
    const forms = new Set<string>(list(c.form));
    tests.push((e) => e.form !== null && forms.has(e.form));
  }
  // a path or URL glob written as the address bar shows it ("/über-uns*", "/case studies/*") matches the address as the
  // browser sent it, percent-encoded (a glob written encoded is unchanged)
  // one trailing slash is no part of a page (README: `/pricing/` is the page `/pricing`, as the snippet counts views):
  // `/pricing` matches `/pricing/`, `/docs/` matches `/docs`, and `/docs/*` matches `/docs/` and so `/docs` too: a
  // section glob takes the section's index however the site serves it (with the slash, as Hugo does; without, as
  // Next.js does). Letters past ASCII match in any case too (decodeLetters). A page condition needs a page: a server
  // event has none (its path and URL are empty), so `path: "*"` ("any page") is no rule on CRM events
  if (c.path !== undefined) {
    const globs = list(c.path).map(pathAsSent);
    const m = addressTest([...globs, ...globs.filter(slashed).map(unslash)]);
    // a page without its slash is also tried with one, as segments' did.path is (segments/glob.ts pathMatches)
    tests.push((e) => e.path !== '' && (m(e.path) || (slashed(e.path) ? m(unslash(e.path)) : !e.path.endsWith('/') && m(e.path + '/'))));
  }
  if (c.url !== undefined) {
    const m = addressTest(list(c.url).map(pathAsSent));
    tests.push((e) => e.url !== '' && m(e.url));
  }
  if (c.props) {
    for (const [key, match] of Object.entries(c.props)) {
      const t = propTest(match as PropMatch);
      tests.push((e) => t(e.props?.[key]));
    }
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0];
  return (e) => tests.every((t) => t(e));
}
