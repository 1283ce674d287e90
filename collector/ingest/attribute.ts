// The pipeline's last step: identity, stages, scores and segments for events just committed.
// Runs inside the flush transaction after the insert, under a savepoint-like guard: a failure here never un-accepts
// an event; the events stay `attributed = 0` and are picked up by replay.
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import type { StoredEvent } from './types.js';
import { attributeEvents } from '../funnel/attribute-events.js';

export interface AttributionResult {
  /** leads the events touched (their stage, score, identity or traits may have changed) */
  changedLeads: string[];
}

/** Identity, stage, score and segment updates for committed events (collector/funnel/attribute-events.ts). */
export async function attribute(tx: Db, deps: Deps, events: StoredEvent[]): Promise<AttributionResult> {
  return { changedLeads: await attributeEvents(tx, deps, events) };
}
