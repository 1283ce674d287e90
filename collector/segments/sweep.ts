// Time-based segment changes (a `within` window or an `inStage` threshold passing): re-evaluates only the leads whose
// recheck time has come, never the whole site.
import type { Deps } from '../context.js';
import type { Service } from '../app.js';
import { listDueRechecks } from '../storage/segments.js';
import { updateMembershipsFor, type MembershipChange } from './update-memberships.js';

export interface SweepResult {
  leads: number;
  changes: MembershipChange[];
}

const BATCH = 500;
/** a sweep stops after this many batches and leaves the rest to the next tick, so one tick never runs away */
const MAX_BATCHES = 200;

/** Re-evaluates every lead due at `now`, in short transactions of up to BATCH leads. */
export async function sweepSegments(deps: Deps, now: number = deps.now()): Promise<SweepResult> {
  const result: SweepResult = { leads: 0, changes: [] };
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const due = await listDueRechecks(deps.db, now, BATCH);
    if (due.length === 0) break;
    const bySite = new Map<string, string[]>();
    for (const d of due) {
      const list = bySite.get(d.siteId);
      if (list) list.push(d.leadId);
      else bySite.set(d.siteId, [d.leadId]);
    }
    for (const [siteId, leadIds] of bySite) {
      // evaluation moves every due row past `now` or deletes it, so the next page holds other leads
      const changes = await deps.db.transaction((tx) => updateMembershipsFor(tx, deps, siteId, leadIds, now));
      result.changes.push(...changes);
    }
    result.leads += due.length;
    if (due.length < BATCH) break;
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
