// A pure function of a string, remembered for the last strings seen: for hot-path work whose inputs repeat (a site's
// page addresses, referrers).

/**
 * `compute` remembered for up to `max` strings (all forgotten at once when full: no bookkeeping per hit). Only for a
 * pure function: its answer must depend on the string alone.
 */
export function remembered<T>(compute: (key: string) => T, max = 2048): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    let v = seen.get(key);
    if (v === undefined && !seen.has(key)) {
      if (seen.size >= max) seen.clear();
      seen.set(key, (v = compute(key)));
    }
    return v as T;
  };
}
