// Path globs for `did.path`: `*` matches any run of characters, everything else is literal, case-insensitive.
const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (!re) {
    const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    re = new RegExp(`^${body}$`, 'i');
    if (cache.size > 1000) cache.clear();
    cache.set(glob, re);
  }
  return re;
}

export const pathMatches = (glob: string, path: string) => globToRegExp(glob).test(path);
