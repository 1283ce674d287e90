// Memberships of a lead merged into another one: they end with the merge, and whoever heard them begin hears it.
import type { Db } from '../storage/db.js';
import { getAliasedLeadId } from '../storage/identity.js';
import { listLeadMemberships, loadLeadFactRows, type LeadFactsRow, type SegmentChangeRow } from '../storage/segments.js';

/** Memberships a vanished lead held when this flush removed them. */
export interface VanishedMemberships {
  leadId: string;
  keys: string[];
}

export interface MergedExit {
  /** the merged-away lead that left (the id the `segment.entered` it caused named) */
  leadId: string;
  /** the lead it merged into, as it stands now */
  into: LeadFactsRow;
  key: string;
  /** the exit is kept in the surviving lead's history (see below) */
  history: SegmentChangeRow | null;
}

/**
 * The exits of memberships held by leads merged away in this flush, decided once the surviving leads are evaluated.
 * A merge moves the merged lead's segment history to the survivor (mergeLeadInto), so each `entered` it had would
 * stand open in the survivor's timeline: an exit is added there, at the merge, for every segment the survivor is not
 * in now (one it is in continues the membership). Every such membership is also reported as left under the merged
 * lead's id. An erased lead (no alias) leaves quietly: its history is gone with it.
 */
export async function mergedExits(
  tx: Db, siteId: string, vanished: readonly VanishedMemberships[], now: number, newChangeId: (now: number) => string,
): Promise<MergedExit[]> {
  const exits: MergedExit[] = [];
  for (const v of vanished) {
    if (v.keys.length === 0) continue;
    const intoId = await getAliasedLeadId(tx, siteId, v.leadId);
    const into = intoId ? (await loadLeadFactRows(tx, siteId, [intoId]))[0] : undefined;
    if (!into) continue;
    const still = new Set(await listLeadMemberships(tx, siteId, into.lead_id));
    for (const key of v.keys) {
      const history = still.has(key) ? null : { changeId: newChangeId(now), key, leadId: into.lead_id, kind: 'exited' as const, at: now };
      exits.push({ leadId: v.leadId, into, key, history });
    }
  }
  return exits;
}
