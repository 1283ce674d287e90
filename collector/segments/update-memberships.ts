// Live segment membership: re-evaluates the given leads' segments after their events were attributed.
// Per chunk of leads: a few indexed reads (lead rows, members, rechecks, and one grouped count of the events each `did`
// test looks at), then writes only for what changed. Each lead's next possible time-based change goes to segment_rechecks for the sweep.
import { randomBytes } from 'node:crypto';
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import {
  COUNT_SHARDS, MAX_IN, addMemberCounts, countLeadEvents, deleteMembers, deleteRechecks, insertMembers, insertSegmentChanges,
  loadLeadEvents, loadLeadFactRows, listLeadMemberships, loadMemberships, loadRechecks, memberKeyId, upsertRechecks,
  type CountResult, type LeadFactsRow, type LeadEventRow, type MemberKey, type SegmentChangeRow,
} from '../storage/segments.js';
import { webhookQueue, type WebhookQueue } from '../webhooks/enqueue.js';
import { loadActiveSegments, type ActiveSegment, type ActiveSegments } from './active-segments.js';
import { countTestsAt, filterAt, type EventPlan } from './event-plan.js';
import { loadFunnelSettings, type FunnelSettings } from './funnel-settings.js';
import { evaluateCondition, NEVER, shownScore } from './matches.js';
import type { DidCount, FactEvent, LeadFacts } from './lead-facts.js';
import type { Touch } from '../ingest/types.js';
import { foldMergedHistories, mergedExits, type VanishedMemberships } from './close-merged.js';

export interface MembershipChange {
  leadId: string;
  segment: string;
  kind: 'entered' | 'exited';
}

/**
 * A lead the caller wrote in this same transaction, as it now stands: its row needs no reading back. `allEvents` is
 * set for a lead the caller created: it has no memberships or rechecks yet and these are every event it has, so its
 * segments are evaluated with no reads at all.
 */
export interface WrittenLead {
  row: LeadFactsRow;
  allEvents?: FactEvent[];
}

type FoldColumns = { stage: string; stageAt: number; score: number; scoreAt: number; firstTouch: string | null; lastTouch: string | null };

/** A lead whose fold was just written (`u`), with its email and bot flag as read before the write. */
export function writtenLead(leadId: string, u: FoldColumns, email: string | null, isBot: number): WrittenLead {
  return {
    row: { lead_id: leadId, email, stage: u.stage, stage_at: u.stageAt, score: u.score, score_at: u.scoreAt, first_touch: u.firstTouch, last_touch: u.lastTouch, is_bot: isBot },
  };
}

/** A lead created by this transaction, with every event it has. */
export function createdLead(
  leadId: string, u: FoldColumns, events: ReadonlyArray<{ name: string; path: string; props: FactEvent['props']; at: number; source: string }>,
): WrittenLead {
  return {
    ...writtenLead(leadId, u, null, 0),
    allEvents: events.map((e) => ({ name: e.name, path: e.path, props: e.props ?? null, at: e.at, source: e.source })),
  };
}

/**
 * Called by attribution at the end of each flush, inside its transaction. Filled by the segments module.
 * `hooks`: the transaction's webhook queue for the site, when the caller has one already.
 * `written`: leads the caller wrote in this transaction (see WrittenLead).
 */
export async function updateMemberships(
  tx: Db, deps: Deps, siteId: string, leadIds: string[], now: number, hooks?: WebhookQueue, written?: ReadonlyMap<string, WrittenLead>,
): Promise<void> {
  await updateMembershipsFor(tx, deps, siteId, leadIds, now, hooks, written);
}

/** updateMemberships, also telling what changed (the sweep and tests use it). */
export async function updateMembershipsFor(
  tx: Db, deps: Deps, siteId: string, leadIds: readonly string[], now: number, hooks: WebhookQueue = webhookQueue(tx, siteId),
  written: ReadonlyMap<string, WrittenLead> = NONE_WRITTEN,
): Promise<MembershipChange[]> {
  if (leadIds.length === 0) return [];
  const started = performance.now();
  const unique = [...new Set(leadIds)];
  const segments = await loadActiveSegments(tx, siteId);
  const changes: MembershipChange[] = [];
  const deltas = new Map<string, number>();
  if (segments.list.length === 0) {
    // nothing to keep; only clear rechecks left by deleted segments so that the sweep does not pick them forever
    await deleteRechecks(tx, siteId, unique);
    return changes;
  }
  const funnel = await loadFunnelSettings(tx, siteId);
  const vanished: VanishedMemberships[] = [];
  for (let i = 0; i < unique.length; i += MAX_IN) {
    await updateChunk(tx, siteId, unique.slice(i, i + MAX_IN), now, segments, funnel, hooks, changes, deltas, written, vanished);
  }
  // a lead merged away left its segments at the merge: said once the leads it merged into stand as they now are
  const { exits, survivors } = await mergedExits(tx, siteId, vanished, now, newChangeId);
  await insertSegmentChanges(tx, siteId, exits.map((x) => x.history));
  // the survivor's history, with the merged lead's moved into it, tells the person's membership once
  await foldMergedHistories(tx, siteId, survivors);
  for (const x of exits) {
    const segment = segments.list.find((s) => s.key === x.key);
    changes.push({ leadId: x.leadId, segment: x.key, kind: 'exited' });
    // the merged lead was anonymous (identified leads never merge): no email, so that a sync keyed by email keeps
    // the person, who may well still be in the segment under the lead it merged into
    if (segment) await notifyChange(hooks, segment, { ...x.into, lead_id: x.leadId, email: null }, 'exited', now, funnel.halfLifeMs, { mergedInto: x.into.lead_id });
  }
  await addMemberCounts(tx, siteId, deltas, Math.floor(Math.random() * COUNT_SHARDS));
  deps.metrics.observe('funnelbeam_segment_update_seconds', (performance.now() - started) / 1000);
  for (const c of changes) deps.metrics.inc('funnelbeam_segment_changes_total', { kind: c.kind });
  return changes;
}

const NONE_WRITTEN: ReadonlyMap<string, WrittenLead> = new Map();
/** The last moment a Date can hold (epoch ms); a recheck later than this is never due. */
const LAST_TIME = 8.64e15;

function groupEvents(rows: LeadEventRow[]): Map<string, FactEvent[]> {
  const byLead = new Map<string, FactEvent[]>();
  for (const r of rows) {
    let list = byLead.get(r.lead_id);
    if (!list) byLead.set(r.lead_id, (list = []));
    list.push({ name: r.name, path: r.path, props: r.props ? safeJson(r.props) : null, at: Number(r.at), source: r.source });
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

function countsByKey(plan: EventPlan, counts: CountResult[] | undefined): Map<string, DidCount> {
  const byKey = new Map<string, DidCount>();
  if (counts) plan.counted.forEach((t, i) => byKey.set(t.key, counts[i]));
  return byKey;
}

function toFacts(row: LeadFactsRow, events: FactEvent[], didCounts: Map<string, DidCount> | undefined, funnel: FunnelSettings, usesTouch: boolean, now: number): LeadFacts {
  return {
    now,
    stage: row.stage,
    stageAt: Number(row.stage_at),
    score: Number(row.score),
    scoreAt: Number(row.score_at),
    halfLifeMs: funnel.halfLifeMs,
    identified: row.email !== null,
    // touches are only parsed for sites whose segments look at them
    firstTouch: usesTouch ? safeJson<Touch>(row.first_touch) : null,
    lastTouch: usesTouch ? safeJson<Touch>(row.last_touch) : null,
    stageOrder: funnel.stages,
    events,
    didCounts,
  };
}

async function updateChunk(
  tx: Db,
  siteId: string,
  leadIds: string[],
  now: number,
  segments: ActiveSegments,
  funnel: FunnelSettings,
  hooks: WebhookQueue,
  changes: MembershipChange[],
  deltas: Map<string, number>,
  written: ReadonlyMap<string, WrittenLead>,
  vanished: VanishedMemberships[],
) {
  // rows the caller just wrote are not read back; leads it created need no reads at all (see WrittenLead)
  const leads = new Map<string, LeadFactsRow>();
  const unread: string[] = [];
  const stored: string[] = [];
  for (const id of leadIds) {
    const w = written.get(id);
    if (w) leads.set(id, w.row);
    else unread.push(id);
    if (!w?.allEvents) stored.push(id);
  }
  if (unread.length) for (const r of await loadLeadFactRows(tx, siteId, unread)) leads.set(r.lead_id, r);
  const reads = stored.length > 0;
  const members = new Map<string, Set<string>>();
  for (const m of reads ? await loadMemberships(tx, siteId, segments.list.map((s) => s.key), stored) : []) {
    let set = members.get(m.lead_id);
    if (!set) members.set(m.lead_id, (set = new Set()));
    set.add(m.segment_key);
  }
  const rechecks = new Map(reads ? (await loadRechecks(tx, siteId, stored)).map((r) => [r.lead_id, Number(r.due_at)]) : []);
  const { plan } = segments;
  const counts = reads ? await countLeadEvents(tx, siteId, stored, countTestsAt(plan, now), filterAt(plan.countFilter, now)) : new Map<string, CountResult[]>();
  const events = plan.rowFilter && reads ? groupEvents(await loadLeadEvents(tx, siteId, stored, filterAt(plan.rowFilter, now))) : new Map<string, FactEvent[]>();
  const bump = (key: string, by: number) => deltas.set(key, (deltas.get(key) ?? 0) + by);

  // decisions first, then each kind of write as multi-row statements (a round trip each on PostgreSQL)
  const moves: Array<MemberKey & { kind: 'entered' | 'exited'; segment: ActiveSegment; row: LeadFactsRow }> = [];
  const setRecheck: Array<[string, number]> = [];
  const clearRecheck: string[] = [];
  for (const leadId of leadIds) {
    const row = leads.get(leadId);
    const current = members.get(leadId) ?? new Set<string>();
    let dueAt = NEVER;
    if (!row) {
      // merged into another lead or erased: its memberships go now; a merged lead's exits are told once the leads it
      // merged into are evaluated (close-merged.ts); an erased lead's go quietly
      const held = (await listLeadMemberships(tx, siteId, leadId)).map((key): MemberKey => ({ key, leadId }));
      const gone = await deleteMembers(tx, siteId, held);
      for (const m of held) if (gone.has(memberKeyId(m))) bump(m.key, -1);
      vanished.push({ leadId, keys: held.filter((m) => gone.has(memberKeyId(m))).map((m) => m.key) });
    } else {
      const all = written.get(leadId)?.allEvents;
      const facts = all
        ? toFacts(row, all, undefined, funnel, segments.usesTouch, now)
        : toFacts(row, events.get(leadId) ?? [], countsByKey(plan, counts.get(leadId)), funnel, segments.usesTouch, now);
      for (const segment of segments.list) {
        // bot traffic is never retargeted
        const { value, changeAt } = row.is_bot ? { value: false, changeAt: NEVER } : evaluateCondition(segment.definition, facts);
        dueAt = Math.min(dueAt, changeAt);
        if (value !== current.has(segment.key)) moves.push({ key: segment.key, leadId, kind: value ? 'entered' : 'exited', segment, row });
      }
    }
    // a moment past the last date there is (a window of 99999w) is never: no recheck time that no column can hold
    if (dueAt > LAST_TIME) dueAt = NEVER;
    const stored = rechecks.get(leadId);
    if (stored === undefined || stored <= now) {
      // none yet, or this is the sweep handling it: store the exact next moment (or none)
      if (dueAt !== NEVER) {
        if (stored !== dueAt) setRecheck.push([leadId, dueAt]);
      } else if (stored !== undefined) clearRecheck.push(leadId);
    } else if (dueAt < stored) setRecheck.push([leadId, dueAt]);
    // A later (or no) next moment leaves the earlier stored one in place: the sweep then re-evaluates a little early and
    // stores the right one. That keeps an active lead (a pricing view every day) from rewriting its recheck each flush.
  }
  // a row another writer added or removed a moment ago is not a change of ours: only what the statements did counts
  const done = {
    entered: await insertMembers(tx, siteId, moves.filter((m) => m.kind === 'entered'), now),
    exited: await deleteMembers(tx, siteId, moves.filter((m) => m.kind === 'exited')),
  };
  const history: SegmentChangeRow[] = [];
  for (const m of moves) {
    if (!done[m.kind].has(memberKeyId(m))) continue;
    const { kind } = m;
    bump(m.key, kind === 'entered' ? 1 : -1);
    changes.push({ leadId: m.leadId, segment: m.key, kind });
    history.push({ changeId: newChangeId(now), key: m.key, leadId: m.leadId, kind, at: now });
    await notifyChange(hooks, m.segment, m.row, kind, now, funnel.halfLifeMs);
  }
  await insertSegmentChanges(tx, siteId, history);
  await upsertRechecks(tx, siteId, setRecheck);
  await deleteRechecks(tx, siteId, clearRecheck);
}

/**
 * Time-ordered ids: new history rows append to the primary key's B-tree instead of landing at random pages. A counter
 * after the time orders the changes of one millisecond as they were decided: two writes at one `at` (an entry, then
 * the exit of the next flush or the sweep) are listed newest first by id, so the timeline never ends on an `entered`
 * the lead has left (random bits alone ordered them at random). The random bits keep ids of several collectors apart.
 */
let changeSeq = 0;
const newChangeId = (now: number) =>
  now.toString(36).padStart(9, '0') + '-' + (changeSeq++).toString(36).padStart(9, '0') + randomBytes(6).toString('base64url');

/**
 * segment.entered / segment.exited to the site's webhooks that take it. The score is the lead's at `now`, decayed and
 * rounded as GET /api/leads/{ref} shows it: the number score conditions compare, so a move is always reported with a
 * score on the side of the bound it says.
 */
async function notifyChange(
  hooks: WebhookQueue, segment: ActiveSegment, lead: LeadFactsRow, kind: 'entered' | 'exited', now: number, halfLifeMs: number | null,
  extra: Record<string, unknown> = {},
) {
  await hooks.enqueue(kind === 'entered' ? 'segment.entered' : 'segment.exited', {
    segment: segment.key,
    segmentName: segment.name,
    leadId: lead.lead_id,
    email: lead.email,
    stage: lead.stage,
    score: shownScore({ score: Number(lead.score), scoreAt: Number(lead.score_at), halfLifeMs }, now),
    at: new Date(now).toISOString(),
    ...extra,
  }, now);
}
