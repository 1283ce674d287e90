// Path globs for `did.path`: `*` matches any run of characters, everything else is literal; ASCII letters match
// either case; written decoded or percent-encoded, a glob matches the path as the browser sent it. The same glob
// becomes a LIKE pattern when counting runs in SQL (SQLite's LIKE folds ASCII only).
// Matching never backtracks: a regular expression of `.*` runs is exponential in the number of stars ("*a*a*a*a*b"
// against a long path held the event loop for minutes), so the literal parts are found left to right instead.
const cache = new Map<string, { plain: string[][]; slashed: string[][] }>();
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

/**
 * A page glob in the forms a stored path is tested against. One trailing slash is no part of a page (as for the
 * snippet's views and the funnel's path rules, funnel/match-event.ts):
 * - `plain`, matched by the path as stored: the glob, and the same page with or without its slash (`/pricing` also as
 *   `/pricing/`, `/docs/` also as `/docs`). A glob ending in a star already takes the slash; one ending in `//` or
 *   `*` + `/` is left as written (`/pricing//` is another path).
 * - `slashed`, matched by a path without a trailing slash once one is added: the plain globs that end in `*` or `/`
 *   (no other can match a path ending in `/`), so `/docs/*` takes the section's index however the site serves it
 *   (`/docs/`, as Hugo does, or `/docs`, as Next.js does).
 * The SQL count (globToLikes) and the JS matcher (pathMatches) both use these lists, so they cannot disagree.
 */
export interface PageGlob {
  plain: string[];
  slashed: string[];
}

export function pageGlob(glob: string): PageGlob {
  const sent = pathAsSent(glob);
  const last = sent[sent.length - 1];
  const before = sent[sent.length - 2];
  let plain: string[];
  if (!sent) plain = [sent];
  else if (last === '/') plain = sent.length > 1 && before !== '/' && before !== '*' ? [sent, sent.slice(0, -1)] : [sent];
  else plain = last === '*' ? [sent] : [sent, sent + '/'];
  return { plain, slashed: plain.filter((g) => g.endsWith('*') || g.endsWith('/')) };
}

/** The literal parts between the stars of each of the glob's page globs, lower-cased (ASCII). */
function partsOf(glob: string): { plain: string[][]; slashed: string[][] } {
  let parts = cache.get(glob);
  if (!parts) {
    const g = pageGlob(glob);
    const split = (list: string[]) => list.map((x) => lowerAscii(x).split('*'));
    parts = { plain: split(g.plain), slashed: split(g.slashed) };
    if (cache.size > 1000) cache.clear();
    cache.set(glob, parts);
  }
  return parts;
}

/**
 * Whether the path matches the glob (or the same page with or without its trailing slash), in time linear in their
 * lengths: the first part must open the path, the last must close it, and each part between is taken at its leftmost
 * place after the previous one (leftmost is always safe when `*` is the only wildcard).
 */
export function pathMatches(glob: string, path: string): boolean {
  const text = lowerAscii(path);
  const { plain, slashed } = partsOf(glob);
  if (plain.some((parts) => partsMatch(parts, text))) return true;
  if (text === '' || text.endsWith('/')) return false;
  const withSlash = text + '/';
  return slashed.some((parts) => partsMatch(parts, withSlash));
}

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

const toLike = (g: string) => g.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%');

/** The glob's page globs (pageGlob) as LIKE patterns with `\` as the escape character: `*` → `%`, literal `%` and `_` escaped. */
export function globToLikes(glob: string): PageGlob {
  const g = pageGlob(glob);
  return { plain: g.plain.map(toLike), slashed: g.slashed.map(toLike) };
}
