// Attribution of a flush: identity first (which lead each event belongs to), then each touched lead's fold, then
// live segment membership. Runs inside the flush's transaction; the same code serves POST /api/events and replay.
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import type { StoredEvent } from '../ingest/types.js';
import { markEventsAttributed } from '../storage/lead-events.js';
import { getLinkAt } from '../storage/identity.js';
import { createIdentityResolver } from '../identity/identity-resolver.js';
import { updateMemberships } from '../segments/update-memberships.js';
import { compileFunnel, type CompiledFunnel } from './compile-funnel.js';
import { compareEvents } from './fold-event.js';
import { loadFunnelConfig } from './load-funnel-config.js';
import { refoldLead } from './refold-lead.js';

export interface AttributeOptions {
  /** queue webhooks for stage changes and MQLs (live: yes; replay of history: no) */
  notify?: boolean;
}

/** Attributes stored events; resolves to every lead they touched. */
export async function attributeEvents(tx: Db, deps: Deps, events: readonly StoredEvent[], opts: AttributeOptions = {}): Promise<string[]> {
  const started = performance.now();
  const touched: string[] = [];
  const bySite = new Map<string, StoredEvent[]>();
  for (const e of events) {
    let list = bySite.get(e.siteId);
    if (!list) bySite.set(e.siteId, (list = []));
    list.push(e);
  }
  for (const [siteId, list] of bySite) {
    const funnel = compileFunnel(await loadFunnelConfig(tx, siteId));
    touched.push(...(await attributeSite(tx, deps, funnel, siteId, list, opts.notify ?? true)));
  }
  deps.metrics.observe('funnelbeam_attribution_seconds', (performance.now() - started) / 1000);
  return touched;
}

async function attributeSite(tx: Db, deps: Deps, funnel: CompiledFunnel, siteId: string, list: StoredEvent[], notify: boolean): Promise<string[]> {
  const now = deps.now();
  const ids = createIdentityResolver(tx, siteId, funnel.stages[0], now);
  const sorted = [...list].sort(compareEvents);
  const leadOf = new Map<string, string>();
  for (const e of sorted) {
    let lead = e.leadId;
    if (!lead) {
      lead = await ids.leadOf(e.visitorId, e);
      if (e.email) lead = await ids.identify(e.visitorId, e.email, e);
    }
    leadOf.set(e.eventId, lead);
  }
  // events met before their lead merged away in this same flush go where it went
  const final = (l: string) => ids.merged.get(l) ?? l;
  const byLead = new Map<string, StoredEvent[]>();
  const marks: Array<[string, string]> = [];
  for (const e of sorted) {
    const lead = final(leadOf.get(e.eventId)!);
    marks.push([e.eventId, lead]);
    let evs = byLead.get(lead);
    if (!evs) byLead.set(lead, (evs = []));
    evs.push(e);
  }
  for (const l of ids.rebuild) if (!byLead.has(l)) byLead.set(l, []);
  await markEventsAttributed(tx, siteId, marks);

  // one lead at a time in id order, so two collectors lock lead rows in the same order
  const leads = [...byLead.keys()].sort();
  const moved: string[] = [];
  for (const leadId of leads) {
    const evs = byLead.get(leadId)!;
    const outcome = await refoldLead(tx, funnel, siteId, leadId, evs, { now, notify, rebuild: ids.rebuild.has(leadId) });
    if (outcome === 'missing') moved.push(...(await reattribute(tx, deps, funnel, siteId, evs, notify)));
  }
  const all = [...new Set([...leads, ...moved, ...ids.merged.keys()])];
  await updateMemberships(tx, deps, siteId, all, now);
  return all;
}

/**
 * The lead vanished under us (another collector merged or erased it after we resolved it): find where each event's
 * visitor belongs now and fold there.
 */
async function reattribute(tx: Db, deps: Deps, funnel: CompiledFunnel, siteId: string, evs: StoredEvent[], notify: boolean): Promise<string[]> {
  const now = deps.now();
  const ids = createIdentityResolver(tx, siteId, funnel.stages[0], now);
  const byLead = new Map<string, StoredEvent[]>();
  for (const e of evs) {
    if (e.source === 'server' && e.leadId) throw new Error(`lead ${e.leadId} of server event ${e.eventId} is gone`);
    const lead = (await getLinkAt(tx, siteId, e.visitorId, e.at))?.lead_id ?? (await ids.leadOf(e.visitorId, e));
    let list = byLead.get(lead);
    if (!list) byLead.set(lead, (list = []));
    list.push(e);
  }
  for (const [leadId, list] of byLead) {
    await markEventsAttributed(tx, siteId, list.map((e) => [e.eventId, leadId] as [string, string]));
    const outcome = await refoldLead(tx, funnel, siteId, leadId, list, { now, notify, rebuild: true });
    if (outcome === 'missing') throw new Error(`lead ${leadId} vanished twice during attribution`);
  }
  return [...byLead.keys()];
}
