// Live segment membership: re-evaluates the given leads' segments after their events were attributed.
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';

/** Called by attribution at the end of each flush, inside its transaction. Filled by the segments module. */
export async function updateMemberships(_tx: Db, _deps: Deps, _siteId: string, _leadIds: string[], _now: number): Promise<void> {}
