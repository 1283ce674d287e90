// Counting toward a rule's `sessions`/`count` threshold; pure, copy-on-write.
import type { CountedRule } from './compile-funnel.js';
import type { FoldEvent } from './fold-event.js';

/** A rule's progress for one lead. Short keys: it is stored as JSON in every lead row. */
export interface RuleProgress {
  /** distinct sessions seen with a matching event (until the threshold) */
  s?: string[];
  /** matching events seen (until the threshold) */
  c?: number;
  /** points this rule gave so far */
  p?: number;
  /** time of its last award */
  l?: number;
  /** session of its last award (a rule with window "session"); states written before `lv` hold only this */
  ls?: string;
  /**
   * per device, the web session of its last award (a rule with window "session"): one device's visits follow one another,
   * but two devices' visits may overlap, so the lead's last award alone would score a visit again after the other's
   */
  lv?: Record<string, string>;
}

export type ProgressMap = Readonly<Record<string, RuleProgress>>;

/**
 * Counts an event that matched the rule's predicate. `hit` is true when the rule holds with this event
 * (at once for rules without thresholds). Returns the same progress object when nothing changed.
 */
export function advanceRule(rule: CountedRule, p: RuleProgress | undefined, e: FoldEvent): { hit: boolean; progress: RuleProgress | undefined } {
  if (!rule.sessions && !rule.count) return { hit: true, progress: p };
  let next = p;
  let hit = true;
  if (rule.sessions) {
    const s = p?.s ?? [];
    // sessions are visits: a server event (its own `srv:` session id) is no visit, so it adds none, though it may
    // match once the rule holds
    if (e.source === 'web' && s.length < rule.sessions && !s.includes(e.sessionId)) next = { ...next, s: [...s, e.sessionId] };
    hit = (next?.s?.length ?? 0) >= rule.sessions;
  }
  if (rule.count) {
    const c = next?.c ?? 0;
    if (c < rule.count) next = { ...next, c: c + 1 };
    hit = hit && (next?.c ?? 0) >= rule.count;
  }
  return { hit, progress: next };
}
