// The pipeline's last step: identity, stages, scores and segments for events just committed.
// Runs inside the flush transaction after the insert, under a savepoint: a failure here never un-accepts an event.
// Events are inserted with a guessed lead and marked attributed (guessLeads, before the insert); attribution corrects
// the rows whose lead differs, and after a failure unmarkAttributed leaves them `attributed = 0` for replay.
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import type { EnrichedEvent, StoredEvent } from './types.js';
import { attributeWithRetry } from '../funnel/attribute-events.js';
import { guessLeads } from '../funnel/lead-guess.js';
import { unmarkEvents } from '../storage/lead-events.js';

export interface AttributionResult {
  /** leads the events touched (their stage, score, identity or traits may have changed) */
  changedLeads: string[];
}

/** Before the insert: web events get their visitor's likely lead, so their rows are stored already attributed. */
export function presetLeads(events: EnrichedEvent[]): void {
  guessLeads(events);
}

/**
 * Identity, stage, score and segment updates for committed events (collector/funnel/attribute-events.ts); `rebuild`:
 * leads folded again from all their events (sessions of theirs merged: session-bridge.ts).
 */
export async function attribute(
  tx: Db, deps: Deps, events: StoredEvent[], restarted?: ReadonlyMap<string, number>, rebuild?: ReadonlySet<string>,
): Promise<AttributionResult> {
  const identity = rebuild?.size ? { rebuild, merged: new Map<string, string>() } : undefined;
  return { changedLeads: await attributeWithRetry(tx, deps, events, { stored: 'preset', restarted, identity }) };
}

/** After a failed attribution (rolled back): the events are unattributed again, for replay. */
export async function unmarkAttributed(tx: Db, events: StoredEvent[]): Promise<void> {
  const bySite = new Map<string, string[]>();
  for (const e of events) bySite.set(e.siteId, [...(bySite.get(e.siteId) ?? []), e.eventId]);
  for (const [siteId, ids] of bySite) await unmarkEvents(tx, siteId, ids);
}
