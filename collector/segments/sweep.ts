// Time-based segment changes (a `within` window or an `inStage` threshold passing): re-evaluates only the leads whose
// recheck time has come, never the whole site.
import type { Deps } from '../context.js';
import type { Service } from '../app.js';
import { claimSweep, listDueRechecks } from '../storage/segments.js';
import { updateMembershipsFor, type MembershipChange } from './update-memberships.js';

export interface SweepResult {
  leads: number;
  changes: MembershipChange[];
}

const BATCH = 500;
/** a sweep stops after this many batches and leaves the rest to the next tick, so one tick never runs away */
const MAX_BATCHES = 200;

/**
 * Re-evaluates every lead due at `now`, in short transactions of up to BATCH leads. With several collectors on one
 * PostgreSQL database, one sweeps at a time: the others find the turn taken and leave the due leads to it.
 */
export async function sweepSegments(deps: Deps, now: number = deps.now()): Promise<SweepResult> {
  const result: SweepResult = { leads: 0, changes: [] };
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    // a cheap read first (SQLite's read connection): most ticks find nothing due and take no lock
    if ((await listDueRechecks(deps.db, now, 1)).length === 0) break;
    const done = await deps.db.transaction(async (tx) => {
      if (!(await claimSweep(tx))) return null;
      const due = await listDueRechecks(tx, now, BATCH);
      const bySite = new Map<string, string[]>();
      for (const d of due) {
        const list = bySite.get(d.siteId);
        if (list) list.push(d.leadId);
        else bySite.set(d.siteId, [d.leadId]);
      }
      const changes = [];
      // evaluation moves every due row past `now` or deletes it, so the next page holds other leads
      for (const [siteId, leadIds] of bySite) changes.push(...(await updateMembershipsFor(tx, deps, siteId, leadIds, now)));
      return { leads: due.length, changes };
    });
    if (done === null) break; // another collector is sweeping
    result.changes.push(...done.changes);
    result.leads += done.leads;
    if (done.leads < BATCH) break;
  }
  return result;
}

export interface SegmentSweep extends Service {
  /** one sweep now (tests call it with a controlled clock through deps.now) */
  runOnce(now?: number): Promise<SweepResult>;
}

/** The scheduled sweep: every `intervalMs` (0 turns the timer off; runOnce still works). */
export function createSegmentSweep(deps: Deps, intervalMs: number): SegmentSweep {
  let running: Promise<SweepResult> | null = null;
  const runOnce = (now?: number) => {
    if (!running) {
      running = sweepSegments(deps, now ?? deps.now()).finally(() => (running = null));
    }
    return running;
  };
  const timer = intervalMs > 0
    ? setInterval(() => {
        runOnce().catch((err) => deps.log.error('segment sweep failed', { error: (err as Error).message }));
      }, intervalMs)
    : null;
  timer?.unref();
  return {
    name: 'segment-sweep',
    runOnce,
    async close() {
      if (timer) clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
