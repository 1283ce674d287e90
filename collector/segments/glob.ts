// Path globs for `did.path`: `*` matches any run of characters, everything else is literal; ASCII letters match
// either case; written decoded or percent-encoded, a glob matches the path as the browser sent it. The same glob
// becomes a LIKE pattern when counting runs in SQL (SQLite's LIKE folds ASCII only).
// Matching never backtracks: a regular expression of `.*` runs is exponential in the number of stars ("*a*a*a*a*b"
// against a long path held the event loop for minutes), so the literal parts are found left to right instead.
const cache = new Map<string, string[]>();
const lowerAscii = (s: string) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());

/** What a browser percent-encodes in a URL path (WHATWG path percent-encode set): controls, space, " < > ` { } and non-ASCII. */
const ENCODED_IN_PATHS = /[\u0000-\u0020"<>`{}\u007f-\uffff]+/g;

/**
 * The glob as the path is stored: the snippet sends `location.href`, whose path the browser has percent-encoded, so
 * "/über-uns*" or "/case studies/*" (as the address bar shows them) become "/%C3%BCber-uns*" and "/case%20studies/*".
 * `%` and `*` stay, so a glob already written encoded is unchanged.
 */
export function pathAsSent(glob: string): string {
  return glob.replace(ENCODED_IN_PATHS, (run) => {
    try {
      return encodeURIComponent(run);
    } catch {
      return run; // a lone surrogate has no UTF-8 form: it can only match itself
    }
  });
}

/** The glob's literal parts between its stars, lower-cased (ASCII); a glob without a star has one part. */
function partsOf(glob: string): string[] {
  let parts = cache.get(glob);
  if (!parts) {
    parts = lowerAscii(pathAsSent(glob)).split('*');
    if (cache.size > 1000) cache.clear();
    cache.set(glob, parts);
  }
  return parts;
}

/**
 * Whether the path matches the glob, in time linear in their lengths: the first part must open the path, the last
 * must close it, and each part between is taken at its leftmost place after the previous one (leftmost is always
 * safe when `*` is the only wildcard).
 */
export const pathMatches = (glob: string, path: string): boolean => partsMatch(partsOf(glob), lowerAscii(path));

/**
 * Whether `text` is the glob's literal `parts` (its text split at the stars) with anything between them, both folded
 * alike by the caller. Linear: no backtracking, whatever the number of stars.
 */
export function partsMatch(parts: readonly string[], text: string): boolean {
  if (parts.length === 1) return text === parts[0];
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  const end = text.length - last.length;
  let at = first.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i];
    if (!part) continue;
    const found = text.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** The glob as a LIKE pattern with `\` as the escape character: `*` → `%`, literal `%` and `_` escaped. */
export const globToLike = (glob: string) => pathAsSent(glob).replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%');
