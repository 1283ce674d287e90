// Live segment membership: re-evaluates the given leads' segments after their events were attributed.
// Per chunk of leads: five indexed reads (segments, lead rows, members, rechecks, relevant events), then writes only
// for what changed. Each lead's next possible time-based change goes to segment_rechecks for the sweep.
import { randomUUID } from 'node:crypto';
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import {
  MAX_IN, addMemberCount, deleteMember, deleteRecheck, insertMember, insertSegmentChange, loadLeadEvents, loadLeadFactRows,
  loadMemberships, loadRechecks, upsertRecheck, type LeadFactsRow, type LeadEventRow,
} from '../storage/segments.js';
import { enqueueWebhookEvent } from '../webhooks/enqueue.js';
import { loadActiveSegments, type ActiveSegment, type ActiveSegments } from './active-segments.js';
import { eventFilterAt } from './event-plan.js';
import { loadFunnelSettings, type FunnelSettings } from './funnel-settings.js';
import { evaluateCondition, NEVER } from './matches.js';
import type { FactEvent, LeadFacts } from './lead-facts.js';
import type { Touch } from '../ingest/types.js';

export interface MembershipChange {
  leadId: string;
  segment: string;
  kind: 'entered' | 'exited';
}

/** Called by attribution at the end of each flush, inside its transaction. Filled by the segments module. */
export async function updateMemberships(tx: Db, deps: Deps, siteId: string, leadIds: string[], now: number): Promise<void> {
  await updateMembershipsFor(tx, deps, siteId, leadIds, now);
}

/** updateMemberships, also telling what changed (the sweep and tests use it). */
export async function updateMembershipsFor(tx: Db, deps: Deps, siteId: string, leadIds: readonly string[], now: number): Promise<MembershipChange[]> {
  if (leadIds.length === 0) return [];
  const started = performance.now();
  const unique = [...new Set(leadIds)];
  const segments = await loadActiveSegments(tx, siteId);
  const changes: MembershipChange[] = [];
  const deltas = new Map<string, number>();
  if (segments.list.length === 0) {
    // nothing to keep; only clear rechecks left by deleted segments so that the sweep does not pick them forever
    for (let i = 0; i < unique.length; i += MAX_IN) {
      for (const r of await loadRechecks(tx, siteId, unique.slice(i, i + MAX_IN))) await deleteRecheck(tx, siteId, r.lead_id);
    }
    return changes;
  }
  const funnel = await loadFunnelSettings(tx, siteId);
  for (let i = 0; i < unique.length; i += MAX_IN) {
    await updateChunk(tx, siteId, unique.slice(i, i + MAX_IN), now, segments, funnel, changes, deltas);
  }
  for (const [key, delta] of deltas) if (delta !== 0) await addMemberCount(tx, siteId, key, delta);
  deps.metrics.observe('funnelbeam_segment_update_seconds', (performance.now() - started) / 1000);
  for (const c of changes) deps.metrics.inc('funnelbeam_segment_changes_total', { kind: c.kind });
  return changes;
}

function groupEvents(rows: LeadEventRow[]): Map<string, FactEvent[]> {
  const byLead = new Map<string, FactEvent[]>();
  for (const r of rows) {
    let list = byLead.get(r.lead_id);
    if (!list) byLead.set(r.lead_id, (list = []));
    list.push({ name: r.name, path: r.path, props: r.props ? safeJson(r.props) : null, at: Number(r.at) });
  }
  return byLead;
}

function safeJson<T>(text: string | null): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function toFacts(row: LeadFactsRow, events: FactEvent[], funnel: FunnelSettings, now: number): LeadFacts {
  return {
    now,
    stage: row.stage,
    stageAt: Number(row.stage_at),
    score: Number(row.score),
    scoreAt: Number(row.score_at),
    halfLifeMs: funnel.halfLifeMs,
    identified: row.email !== null,
    firstTouch: safeJson<Touch>(row.first_touch),
    lastTouch: safeJson<Touch>(row.last_touch),
    stageOrder: funnel.stages,
    events,
  };
}

async function updateChunk(
  tx: Db,
  siteId: string,
  leadIds: string[],
  now: number,
  segments: ActiveSegments,
  funnel: FunnelSettings,
  changes: MembershipChange[],
  deltas: Map<string, number>,
) {
  const leads = new Map((await loadLeadFactRows(tx, siteId, leadIds)).map((r) => [r.lead_id, r]));
  const members = new Map<string, Set<string>>();
  for (const m of await loadMemberships(tx, siteId, leadIds)) {
    let set = members.get(m.lead_id);
    if (!set) members.set(m.lead_id, (set = new Set()));
    set.add(m.segment_key);
  }
  const rechecks = new Map((await loadRechecks(tx, siteId, leadIds)).map((r) => [r.lead_id, Number(r.due_at)]));
  const { plan } = segments;
  const wantsEvents = plan.everyEvent || plan.recentAny || plan.names.length > 0 || plan.recentNames.length > 0;
  const events = wantsEvents ? groupEvents(await loadLeadEvents(tx, siteId, leadIds, eventFilterAt(plan, now))) : new Map();
  const bump = (key: string, by: number) => deltas.set(key, (deltas.get(key) ?? 0) + by);

  for (const leadId of leadIds) {
    const row = leads.get(leadId);
    const current = members.get(leadId) ?? new Set<string>();
    let dueAt = NEVER;
    if (!row) {
      // merged into another lead or erased: its memberships go quietly, the surviving lead is evaluated on its own
      for (const key of current) if (await deleteMember(tx, siteId, key, leadId)) bump(key, -1);
    } else {
      const facts = toFacts(row, events.get(leadId) ?? [], funnel, now);
      for (const segment of segments.list) {
        // bot traffic is never retargeted
        const { value, changeAt } = row.is_bot ? { value: false, changeAt: NEVER } : evaluateCondition(segment.definition, facts);
        dueAt = Math.min(dueAt, changeAt);
        if (value && !current.has(segment.key)) {
          if (await insertMember(tx, siteId, segment.key, leadId, now)) {
            await recordChange(tx, siteId, segment, row, 'entered', now);
            bump(segment.key, 1);
            changes.push({ leadId, segment: segment.key, kind: 'entered' });
          }
        } else if (!value && current.has(segment.key)) {
          if (await deleteMember(tx, siteId, segment.key, leadId)) {
            await recordChange(tx, siteId, segment, row, 'exited', now);
            bump(segment.key, -1);
            changes.push({ leadId, segment: segment.key, kind: 'exited' });
          }
        }
      }
    }
    const stored = rechecks.get(leadId);
    if (dueAt === NEVER) {
      if (stored !== undefined) await deleteRecheck(tx, siteId, leadId);
    } else if (stored !== dueAt) await upsertRecheck(tx, siteId, leadId, dueAt);
  }
}

async function recordChange(tx: Db, siteId: string, segment: ActiveSegment, lead: LeadFactsRow, kind: 'entered' | 'exited', now: number) {
  await insertSegmentChange(tx, { siteId, changeId: randomUUID(), key: segment.key, leadId: lead.lead_id, kind, at: now });
  await enqueueWebhookEvent(tx, siteId, kind === 'entered' ? 'segment.entered' : 'segment.exited', {
    segment: segment.key,
    segmentName: segment.name,
    leadId: lead.lead_id,
    email: lead.email,
    stage: lead.stage,
    score: Number(lead.score),
    at: new Date(now).toISOString(),
  }, now);
}
