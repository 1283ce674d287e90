// Replay: attributes events left unattributed, then rebuilds every lead's stage, score, MQL/SQL and change rows from
// its stored events with the same fold as live attribution (after a rule change, or to repair). Identity is kept.
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import { AdminError } from '../admin.js';
import { defaultConfig } from '../config.js';
import { createLog, type Log } from '../ops/log.js';
import { createMetrics } from '../ops/metrics.js';
import { getSiteById } from '../storage/sites.js';
import { listLeadIds } from '../storage/leads.js';
import { listUnattributed } from '../storage/lead-events.js';
import { updateMemberships } from '../segments/update-memberships.js';
import { attributeEvents } from './attribute-events.js';
import { compileFunnel } from './compile-funnel.js';
import { loadFunnelConfig } from './load-funnel-config.js';
import { refoldLead } from './refold-lead.js';
import { webhookQueue } from '../webhooks/enqueue.js';
import { reapplyOptEvents } from './opt-out.js';

export interface ReplayOptions {
  now?: () => number;
  log?: Log;
  /** leads per transaction (short transactions let live ingest go on meanwhile) */
  chunk?: number;
  /** queue webhooks for changes the rebuild makes (default false: history is not news; pending events always notify) */
  notify?: boolean;
}

export interface ReplayResult {
  siteId: string;
  /** events that were stored but not attributed, attributed now */
  attributedEvents: number;
  /** leads rebuilt */
  leads: number;
  ms: number;
}

export async function replaySite(db: Db, siteId: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const started = performance.now();
  if (!(await getSiteById(db, siteId))) throw new AdminError(`no site "${siteId}"`);
  const deps: Deps = {
    db,
    config: defaultConfig(),
    log: opts.log ?? createLog('error'),
    metrics: createMetrics(),
    now: opts.now ?? Date.now,
    writer: undefined as unknown as Deps['writer'], // replay writes through its own transactions
  };
  const chunk = opts.chunk ?? 200;

  let attributedEvents = 0;
  for (;;) {
    const pending = await listUnattributed(db, siteId, 1000);
    if (pending.length === 0) break;
    await db.transaction((tx) => attributeEvents(tx, deps, pending, { notify: true, stored: 'unmarked' }));
    attributedEvents += pending.length;
  }

  const funnel = compileFunnel(await loadFunnelConfig(db, siteId));
  let leads = 0;
  let after = '';
  for (;;) {
    const ids = await listLeadIds(db, siteId, after, chunk);
    if (ids.length === 0) break;
    await db.transaction(async (tx) => {
      const now = deps.now();
      const hooks = webhookQueue(tx, siteId);
      for (const leadId of ids) await refoldLead(tx, funnel, siteId, leadId, [], { now, hooks: opts.notify ? hooks : null, rebuild: true, activity: false });
      // the opt-out flag is derived from the events too (a merge recorded before merges carried it is repaired here)
      await reapplyOptEvents(tx, siteId, ids);
      await updateMemberships(tx, deps, siteId, ids, now, hooks);
    });
    leads += ids.length;
    after = ids[ids.length - 1];
  }
  return { siteId, attributedEvents, leads, ms: Math.round(performance.now() - started) };
}
