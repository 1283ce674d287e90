// Memberships of a lead merged into another one: they end with the merge, and whoever heard them begin hears it.
import type { Db } from '../storage/db.js';
import { getAliasedLeadId } from '../storage/identity.js';
import {
  deleteSegmentChanges, listLeadMemberships, listLeadSegmentChanges, loadLeadFactRows, type LeadFactsRow, type LeadSegmentChange,
  type SegmentChangeRow,
} from '../storage/segments.js';

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
  /** the exit that closes the merged lead's membership in the history the survivor took over (see below) */
  history: SegmentChangeRow;
}

export interface MergedMemberships {
  exits: MergedExit[];
  /** every lead that took over the history of a lead merged away in this flush */
  survivors: string[];
}

/**
 * The exits of memberships held by leads merged away in this flush, decided once the surviving leads are evaluated.
 * A merge moves the merged lead's segment history to the survivor (mergeLeadInto), so each `entered` it had would
 * stand open in the survivor's timeline: an exit closes it there, at the merge (foldMergedHistories then keeps only
 * the changes of the person's membership). Every such membership is also reported as left under the merged lead's id.
 * An erased lead (no alias) leaves quietly: its history is gone with it.
 */
export async function mergedExits(
  tx: Db, siteId: string, vanished: readonly VanishedMemberships[], now: number, newChangeId: (now: number) => string,
): Promise<MergedMemberships> {
  const exits: MergedExit[] = [];
  const survivors = new Set<string>();
  for (const v of vanished) {
    const intoId = await getAliasedLeadId(tx, siteId, v.leadId);
    const into = intoId ? (await loadLeadFactRows(tx, siteId, [intoId]))[0] : undefined;
    if (!into) continue;
    survivors.add(into.lead_id);
    for (const key of v.keys) {
      exits.push({ leadId: v.leadId, into, key, history: { changeId: newChangeId(now), key, leadId: into.lead_id, kind: 'exited', at: now } });
    }
  }
  return { exits, survivors: [...survivors] };
}


/**
 * The rows of a survivor's segment history that tell no change of the person's membership, now that two leads'
 * histories (each alternating entered/exited on its own) are one: the person was in a segment while either lead was.
 * An entry while already in (the laptop entering a segment the phone was in) and an exit while still in through the
 * other lead (the laptop's membership ending inside the phone's) are dropped. At one moment entries count first, so
 * a membership the survivor takes over at the merge continues. A segment whose rows do not end where the lead stands
 * (`members`: its memberships now; history written before this rule, or a deleted segment) is left as it is.
 */
export function redundantChanges(rows: readonly LeadSegmentChange[], members: ReadonlySet<string>): string[] {
  const byKey = new Map<string, LeadSegmentChange[]>();
  for (const r of rows) {
    const list = byKey.get(r.segment_key);
    if (list) list.push(r);
    else byKey.set(r.segment_key, [r]);
  }
  const redundant: string[] = [];
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.at - b.at || rank(a) - rank(b) || (a.change_id < b.change_id ? -1 : a.change_id > b.change_id ? 1 : 0));
    let depth = 0;
    const drop: string[] = [];
    for (const r of list) {
      if (r.kind === 'entered') {
        if (depth++ > 0) drop.push(r.change_id);
      } else if (depth === 0 || --depth > 0) drop.push(r.change_id);
    }
    if (depth > 0 === members.has(key)) redundant.push(...drop);
  }
  return redundant;
}

const rank = (r: LeadSegmentChange) => (r.kind === 'entered' ? 0 : 1);

/** Rewrites the survivors' segment histories to the person's membership (see redundantChanges). */
export async function foldMergedHistories(tx: Db, siteId: string, survivors: readonly string[]): Promise<void> {
  for (const leadId of survivors) {
    const redundant = redundantChanges(await listLeadSegmentChanges(tx, siteId, leadId), new Set(await listLeadMemberships(tx, siteId, leadId)));
    await deleteSegmentChanges(tx, siteId, leadId, redundant);
  }
}
