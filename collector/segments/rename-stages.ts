// A funnel config that renames stages in place (same number of stages, a name changed at its position) renames them in
// segment definitions too, so a `stage` condition keeps meaning the same step of the funnel. Pure functions.
import type { Condition } from './definition.js';

/** old name → new name for each position whose name changed, when the stage list kept its length; else empty. */
export function stageRenames(before: readonly string[], after: readonly string[]): Map<string, string> {
  const renames = new Map<string, string>();
  if (before.length !== after.length) return renames;
  before.forEach((s, i) => {
    // a name that is still a stage elsewhere moved rather than being renamed: its conditions keep it
    if (s !== after[i] && !after.includes(s)) renames.set(s, after[i]);
  });
  return renames;
}

/** The condition with stage names renamed (the condition itself when there is nothing to rename). */
export function renameStagesIn(c: Condition, renames: ReadonlyMap<string, string>): Condition {
  if (renames.size === 0) return c;
  const to = (s: string) => renames.get(s) ?? s;
  if ('all' in c) return { all: c.all.map((x) => renameStagesIn(x, renames)) };
  if ('any' in c) return { any: c.any.map((x) => renameStagesIn(x, renames)) };
  if ('not' in c) return { not: renameStagesIn(c.not, renames) };
  if ('stage' in c) {
    const s = c.stage;
    return { stage: { ...s, ...(s.in && { in: s.in.map(to) }), ...(s.eq !== undefined && { eq: to(s.eq) }), ...(s.gte !== undefined && { gte: to(s.gte) }) } };
  }
  return c;
}
