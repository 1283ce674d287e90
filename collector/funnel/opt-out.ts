// Opting out of marketing, told by the CRM or email tool through POST /api/events: a lead whose latest opt event is an
// opt-out is left out of every ad-platform export (and shows `optedOut` in its profile); an opt-in puts it back.
// Names as data; the flag follows the latest such event by its time, whatever order they arrive in, and the opt events
// of an anonymous device told by its visitor id move with it when it joins a lead.
import type { Db } from '../storage/db.js';
import { setOptedOutFromEvents } from '../storage/leads.js';

export const OPT_OUT_EVENTS = ['opted_out', 'unsubscribed'] as const;
export const OPT_IN_EVENTS = ['opted_in', 'resubscribed'] as const;

const OPT_NAMES = new Set<string>([...OPT_OUT_EVENTS, ...OPT_IN_EVENTS]);

/** Sets the opt-out flag of the leads that just got an opt event, from each one's latest opt event. */
export async function applyOptEvents(tx: Db, siteId: string, events: ReadonlyArray<{ name: string; leadId: string | null }>): Promise<void> {
  const leadIds = [...new Set(events.filter((e) => OPT_NAMES.has(e.name) && e.leadId).map((e) => e.leadId!))];
  if (leadIds.length) await setOptedOutFromEvents(tx, siteId, leadIds, OPT_OUT_EVENTS, OPT_IN_EVENTS);
}

/**
 * Sets the flag again from all of each lead's opt events: for leads that received another lead's history (a merge: the
 * opt events of an anonymous device, told by an email tool that knew it by its visitor id, move with it, and the latest
 * of them all decides), and in replay. A lead with no opt event keeps its flag.
 */
export async function reapplyOptEvents(tx: Db, siteId: string, leadIds: readonly string[]): Promise<void> {
  if (leadIds.length) await setOptedOutFromEvents(tx, siteId, leadIds, OPT_OUT_EVENTS, OPT_IN_EVENTS);
}
