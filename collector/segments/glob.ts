// Path globs for `did.path`: `*` matches any run of characters, everything else is literal; ASCII letters match
// either case. The same glob becomes a LIKE pattern when counting runs in SQL (SQLite's LIKE folds ASCII only).
const cache = new Map<string, RegExp>();
const lowerAscii = (s: string) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());

export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (!re) {
    const body = lowerAscii(glob).split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*');
    re = new RegExp(`^${body}$`);
    if (cache.size > 1000) cache.clear();
    cache.set(glob, re);
  }
  return re;
}

export const pathMatches = (glob: string, path: string) => globToRegExp(glob).test(lowerAscii(path));

/** The glob as a LIKE pattern with `\` as the escape character: `*` → `%`, literal `%` and `_` escaped. */
export const globToLike = (glob: string) => glob.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%');
