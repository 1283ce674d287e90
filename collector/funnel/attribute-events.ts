// Attribution of a flush: identity first (which lead each event belongs to), then each touched lead's fold, then
// live segment membership. Runs inside the flush's transaction; the same code serves POST /api/events and replay.
// Set-based: a flush of many visitors costs a handful of multi-row statements; rebuilds and lost races go lead by lead.
import type { Db } from '../storage/db.js';
import type { Deps } from '../context.js';
import type { StoredEvent } from '../ingest/types.js';
import { markEventsAttributed } from '../storage/lead-events.js';
import { getLinkAt, lockEmails } from '../storage/identity.js';
import { getLeadFoldRows, insertFoldedLeads, updateLeadFolds, type FoldedLead, type VersionedFold } from '../storage/leads.js';
import { insertScoreChanges, insertStageChanges, type ScoreChangeRow, type StageChangeRow } from '../storage/changes.js';
import { createIdentityResolver } from '../identity/identity-resolver.js';
import { createdLead, updateMemberships, writtenLead, type WrittenLead } from '../segments/update-memberships.js';
import { compileFunnel, type CompiledFunnel } from './compile-funnel.js';
import { compareEvents } from './fold-event.js';
import { foldLead, needsRebuild, type FoldResult } from './fold-lead.js';
import { emptyFold } from './lead-fold.js';
import { foldFromRow, foldToUpdate } from './lead-fold-row.js';
import { loadFunnelConfig } from './load-funnel-config.js';
import { rememberLead } from './lead-guess.js';
import { queueLeadWebhooks, refoldLead, shouldAnnounceMql } from './refold-lead.js';
import { reapplyOptEvents } from './opt-out.js';
import { webhookQueue, type WebhookQueue } from '../webhooks/enqueue.js';

export interface AttributeOptions {
  /** queue webhooks for stage changes and MQLs (live: yes; replay of history: no) */
  notify?: boolean;
  /**
   * What the rows hold: 'preset' (the live insert stored each event with `leadId` and attributed = 1 when it had one)
   * or 'unmarked' (attributed = 0, e.g. replay): only rows that differ from the result are written.
   */
  stored?: 'preset' | 'unmarked';
  /**
   * Identity changes the caller made before the events were stored (POST /api/events resolves each event's lead
   * first): leads that received another lead's history and must be rebuilt from all their events, and anonymous
   * leads merged away (their segment memberships go).
   */
  identity?: { rebuild: ReadonlySet<string>; merged: ReadonlyMap<string, string> };
  /** devices an erasure covered (`site_id \0 visitor_id` → its end), which start again under a new lead id */
  restarted?: ReadonlyMap<string, number>;
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
    touched.push(...(await attributeSite(tx, deps, funnel, siteId, list, opts.notify ?? true, opts.stored === 'preset', opts.identity, opts.restarted)));
  }
  deps.metrics.observe('funnelbeam_attribution_seconds', (performance.now() - started) / 1000);
  return touched;
}

interface Folded {
  leadId: string;
  email: string | null;
  /** lead.mql is told (its mark was written with the fold) */
  announceMql: boolean;
  result: FoldResult;
}

async function attributeSite(
  tx: Db, deps: Deps, funnel: CompiledFunnel, siteId: string, list: StoredEvent[], notify: boolean, preset: boolean,
  earlier?: AttributeOptions['identity'],
  restarted?: AttributeOptions['restarted'],
): Promise<string[]> {
  const now = deps.now();
  // this flush's events, as the identity pass asks (only when a switch moved events of its millisecond: rare)
  let flushIds: Set<string> | undefined;
  const own = (eventId: string) => (flushIds ??= new Set(list.map((e) => e.eventId))).has(eventId);
  const ids = createIdentityResolver(tx, siteId, funnel.stages[0], now, restarted, own);
  // the site's webhooks are read once per flush, not once per lead; stage and MQL webhooks only when notifying
  const siteHooks = webhookQueue(tx, siteId);
  const hooks = notify ? siteHooks : null;
  const sorted = [...list].sort(compareEvents);

  // 1. identity: the lead of every event, in time order
  // a server event names its lead; a web event's lead (if any) is only a guess made before the insert
  const named = (e: StoredEvent) => e.source === 'server' && e.leadId !== null;
  await lockEmails(tx, siteId, sorted.filter((e) => e.email && !named(e)).map((e) => e.email!));
  await ids.prefetch([...new Set(sorted.filter((e) => !named(e)).map((e) => e.visitorId))]);
  const leadOf = new Map<string, string>();
  // within one millisecond a visitor's identification comes first: the link it starts begins at that millisecond, so
  // every event of it is the new lead's, whatever its random id or the batch it came in (a later one goes there too)
  const identityOrder = [...sorted].sort((a, b) => a.at - b.at || Number(!a.email) - Number(!b.email) || compareEvents(a, b));
  for (const e of identityOrder) {
    let lead = e.leadId;
    if (!named(e) || !lead) {
      lead = await ids.leadOf(e.visitorId, e);
      if (e.email) lead = await ids.identify(e.visitorId, e.email, e);
    }
    leadOf.set(e.eventId, lead);
  }
  await ids.flushLinks();
  for (const [visitorId, leadId] of ids.currentLeads()) rememberLead(siteId, visitorId, leadId);
  // events met before their lead merged away in this same flush go where it went
  const byLead = new Map<string, StoredEvent[]>();
  const marks: Array<[string, string]> = [];
  for (const e of sorted) {
    const lead = ids.merged.get(leadOf.get(e.eventId)!) ?? leadOf.get(e.eventId)!;
    if (!preset || e.leadId !== lead) marks.push([e.eventId, lead]);
    let evs = byLead.get(lead);
    if (!evs) byLead.set(lead, (evs = []));
    evs.push(e);
  }
  // leads that received another lead's history, here or in the caller's identity step, are rebuilt from all events
  const rebuild = new Set([...ids.rebuild, ...(earlier?.rebuild ?? [])]);
  for (const l of rebuild) if (!byLead.has(l)) byLead.set(l, []);
  await markEventsAttributed(tx, siteId, marks);

  // 2. folds: new anonymous leads and leads whose new events come after their state, all at once
  const leads = [...byLead.keys()].sort();
  const rows = await getLeadFoldRows(tx, siteId, leads.filter((l) => !ids.fresh.has(l)));
  const inserts: FoldedLead[] = [];
  const updates: VersionedFold[] = [];
  const folded = new Map<string, Folded>();
  const slow: string[] = [];
  for (const leadId of leads) {
    const evs = byLead.get(leadId)!;
    const fresh = ids.fresh.get(leadId);
    if (fresh) {
      const result = foldLead(funnel, emptyFold(funnel.version), evs);
      const u = foldToUpdate(funnel, result.fold, fresh.at, now);
      const announceMql = hooks !== null && shouldAnnounceMql(null, null, result.fold);
      if (announceMql) u.mqlAnnouncedAt = result.fold.mqlAt;
      inserts.push({ leadId, createdAt: fresh.at, u });
      folded.set(leadId, { leadId, email: null, announceMql, result });
      continue;
    }
    const row = rows.get(leadId);
    const before = row && foldFromRow(funnel, row);
    if (!row || !before || rebuild.has(leadId) || needsRebuild(funnel, before, evs)) {
      slow.push(leadId);
      continue;
    }
    const result = foldLead(funnel, before, evs);
    const u = foldToUpdate(funnel, result.fold, Number(row.created_at), now);
    const announceMql = hooks !== null && shouldAnnounceMql(before.mqlAt, row.mql_announced_at ?? null, result.fold);
    if (announceMql) u.mqlAnnouncedAt = result.fold.mqlAt;
    updates.push({ leadId, version: Number(row.version), u });
    folded.set(leadId, { leadId, email: row.email, announceMql, result });
  }
  const written = new Set([...(await insertFoldedLeads(tx, siteId, inserts)), ...(await updateLeadFolds(tx, siteId, updates))]);
  const stageRows: StageChangeRow[] = [];
  const scoreRows: ScoreChangeRow[] = [];
  for (const [leadId, f] of folded) {
    // lost a race (another collector made or wrote the lead meanwhile): redo it from all its events
    if (!written.has(leadId)) {
      slow.push(leadId);
      folded.delete(leadId);
      continue;
    }
    for (const c of f.result.stageChanges) stageRows.push({ leadId, toStage: c.to, fromStage: c.from, at: c.at, eventId: c.eventId, rule: c.rule, fromAt: c.fromAt });
    for (const c of f.result.scoreChanges) scoreRows.push({ changeId: c.changeId, leadId, at: c.at, eventId: c.eventId, rule: c.rule, points: c.points, scoreAfter: c.scoreAfter });
  }
  const entered = await insertStageChanges(tx, siteId, stageRows);
  await insertScoreChanges(tx, siteId, scoreRows);
  if (hooks) {
    const enteredBy = new Map<string, StageChangeRow[]>();
    for (const c of entered) enteredBy.set(c.leadId, [...(enteredBy.get(c.leadId) ?? []), c]);
    for (const f of folded.values()) {
      await queueLeadWebhooks(hooks, funnel, f.leadId, f.email, enteredBy.get(f.leadId) ?? [], f.announceMql, f.result, now);
    }
  }

  // 3. the rest, one lead at a time: rebuilds (late events, merges, changed rules) and lost races
  const moved: string[] = [];
  for (const leadId of slow.sort()) {
    const evs = byLead.get(leadId)!;
    const outcome = await refoldLead(tx, funnel, siteId, leadId, evs, { now, hooks, rebuild: true });
    if (outcome === 'missing') moved.push(...(await reattribute(tx, deps, funnel, siteId, evs, hooks)));
  }
  // a merge brought the merged lead's opt events (an opt-out of its anonymous device): the latest of all decides
  await reapplyOptEvents(tx, siteId, [...rebuild]);

  // 4. segments see every lead the flush touched (merged-away leads lose their memberships); the folds written
  // above are handed over as written (no read back), the leads this flush created with all their events
  const mergedAway = [...ids.merged.keys(), ...(earlier?.merged.keys() ?? [])];
  const all = [...new Set([...leads, ...moved, ...mergedAway])];
  const handed = new Map<string, WrittenLead>();
  for (const { leadId, u } of inserts) if (folded.has(leadId)) handed.set(leadId, createdLead(leadId, u, byLead.get(leadId)!));
  for (const { leadId, u } of updates) {
    const row = rows.get(leadId)!;
    if (folded.has(leadId)) handed.set(leadId, writtenLead(leadId, u, row.email, Number(row.is_bot)));
  }
  // a lead merged away, or written again by step 3, is read as it is now
  for (const leadId of [...mergedAway, ...moved]) handed.delete(leadId);
  await updateMemberships(tx, deps, siteId, all, now, siteHooks, handed);
  return all;
}

/**
 * The lead vanished under us (another collector merged or erased it after we resolved it): find where each event's
 * visitor belongs now and fold there.
 */
async function reattribute(tx: Db, deps: Deps, funnel: CompiledFunnel, siteId: string, evs: StoredEvent[], hooks: WebhookQueue | null): Promise<string[]> {
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
  await ids.flushAll();
  for (const [leadId, list] of byLead) {
    await markEventsAttributed(tx, siteId, list.map((e) => [e.eventId, leadId] as [string, string]));
    const outcome = await refoldLead(tx, funnel, siteId, leadId, list, { now, hooks, rebuild: true });
    if (outcome === 'missing') throw new Error(`lead ${leadId} vanished twice during attribution`);
  }
  return [...byLead.keys()];
}

// PostgreSQL errors that another collector's concurrent flush can cause; the attempt is rolled back and redone.
const RETRYABLE = new Set(['40P01', '40001', '23505']);
const ATTEMPTS = 4;

/**
 * attributeEvents under a savepoint, redone when it loses a race with another collector (a deadlock victim, a
 * serialization failure, an email claimed a moment earlier). Other failures, and the last attempt's, are thrown.
 */
export async function attributeWithRetry(tx: Db, deps: Deps, events: readonly StoredEvent[], opts: AttributeOptions = {}): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    await tx.run('SAVEPOINT fb_attribute');
    try {
      const touched = await attributeEvents(tx, deps, events, opts);
      await tx.run('RELEASE SAVEPOINT fb_attribute');
      return touched;
    } catch (err) {
      await tx.run('ROLLBACK TO SAVEPOINT fb_attribute');
      await tx.run('RELEASE SAVEPOINT fb_attribute');
      const code = (err as { code?: string }).code;
      if (attempt >= ATTEMPTS || !code || !RETRYABLE.has(code)) throw err;
      deps.metrics.inc('funnelbeam_attribution_retries_total', { code });
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}
