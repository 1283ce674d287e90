// The pipeline's last step: identity, stages, scores and segments for events just committed.
// Runs inside the flush transaction after the insert, under a savepoint-like guard: a failure here never un-accepts
// an event; the events stay `attributed = 0` and are picked up by replay.
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import type { StoredEvent } from './types.js';

export interface AttributionResult {
  /** leads whose stage, score, identity or traits changed */
  changedLeads: string[];
}

/** Filled by the funnel engine (collector/funnel). */
export async function attribute(_tx: Db, _deps: Deps, _events: StoredEvent[]): Promise<AttributionResult> {
  return { changedLeads: [] };
}
