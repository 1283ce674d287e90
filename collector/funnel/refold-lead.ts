// Folds a lead's new events onto its stored state and writes what changed: the lead row (version-checked), stage and
// score change rows, and webhooks. A late event, a merge or changed rules rebuild the lead from all its events.
// lead.mql is told once per lead: the lead row keeps the mark of the one it announced (`mql_announced_at`).
import type { Db } from '../storage/db.js';
import type { StoredEvent } from '../ingest/types.js';
import { getLeadFoldRow, updateLeadFold } from '../storage/leads.js';
import { listLeadFoldEvents } from '../storage/lead-events.js';
import {
  deleteScoreChange, deleteStageChange, insertScoreChange, insertStageChange, listScoreChangesOf, listStageChangesOf,
  upsertScoreChange, upsertStageChange, type ScoreChangeRow, type StageChangeRow,
} from '../storage/changes.js';
import type { WebhookQueue } from '../webhooks/enqueue.js';
import type { CompiledFunnel } from './compile-funnel.js';
import { foldLead, needsRebuild, type FoldResult } from './fold-lead.js';
import { emptyFold, type LeadFold } from './lead-fold.js';
import { foldFromRow, foldToUpdate } from './lead-fold-row.js';

export interface RefoldOptions {
  now: number;
  /** where stage.changed and lead.mql webhooks for changes this call makes go (null: none, as for replay) */
  hooks: WebhookQueue | null;
  /** fold every event of the lead from empty, whatever the stored state */
  rebuild: boolean;
  /**
   * false for a rebuild nobody's activity caused (a replay): the lead's activity time, which orders GET /api/leads
   * (newest activity first), stays where its last event put it; default true
   */
  activity?: boolean;
}

/** 'missing': the lead row is gone (merged or erased by another writer). */
export type RefoldOutcome = 'written' | 'missing';

const MAX_ATTEMPTS = 5;
const iso = (ms: number) => new Date(ms).toISOString();
/**
 * A stored score value equals the rebuilt one: exactly (SQLite keeps the double), or as the `real` (float4) PostgreSQL
 * keeps. Not "nearly": a late event that adds a little decay before an award moves its score_after by as little as
 * 0.0024, and a row kept for being near would no longer add up with the items before it.
 */
const sameStored = (db: Db, stored: number, rebuilt: number) =>
  stored === rebuilt || (db.dialect === 'pg' && Math.fround(stored) === Math.fround(rebuilt));

export async function refoldLead(
  tx: Db, funnel: CompiledFunnel, siteId: string, leadId: string, events: readonly StoredEvent[], opts: RefoldOptions,
): Promise<RefoldOutcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const row = await getLeadFoldRow(tx, siteId, leadId);
    if (!row) return 'missing';
    const before = foldFromRow(funnel, row);
    // after a lost race the other writer's events are in the table too: rebuild from all of them
    const rebuild = opts.rebuild || attempt > 0 || needsRebuild(funnel, before, events);
    const folded = rebuild ? await listLeadFoldEvents(tx, siteId, leadId) : events;
    const result = rebuild ? foldLead(funnel, emptyFold(funnel.version), folded) : foldLead(funnel, before, folded);
    // a lead begins with its first event: a device merged in, or an event reported late, can move that earlier
    const createdAt = folded.reduce((min, e) => Math.min(min, e.at), Number(row.created_at));
    // updated_at only moves forward (updateLeadFold), so 0 leaves it as it was
    const u = foldToUpdate(funnel, result.fold, createdAt, opts.activity === false ? 0 : opts.now);
    if (createdAt < Number(row.created_at)) u.createdAt = createdAt;
    const announceMql = opts.hooks !== null && shouldAnnounceMql(before.mqlAt, row.mql_announced_at ?? null, result.fold);
    if (announceMql) u.mqlAnnouncedAt = result.fold.mqlAt;
    const ok = await updateLeadFold(tx, siteId, leadId, Number(row.version), u);
    if (!ok) continue;
    const entered = rebuild ? await rewriteChanges(tx, siteId, leadId, result) : await appendChanges(tx, siteId, leadId, result);
    // Under new rules the whole history is derived again (every stage may be "entered" under its new name): the CRM
    // hears once where the lead now stands, from the stage it last heard of. Under the same rules, a rebuild (a late
    // event, a merge) may add entries to stages below the one the lead stood in: history, not a move (stage.changed
    // "to consideration" after "to purchase" would move a won deal back in the CRM); only entries above it are news.
    const news =
      before.version === funnel.version ? entered.filter((c) => funnel.stages.indexOf(c.toStage) > before.rank) : whereItStands(leadId, row.stage, result);
    const announced = rebuild && before.rank >= 0 ? afterWhatWasTold(row.stage, Number(row.stage_at), news) : news;
    if (opts.hooks) await queueLeadWebhooks(opts.hooks, funnel, leadId, row.email, announced, announceMql, result, opts.now);
    return 'written';
  }
  throw new Error(`lead ${leadId} kept changing under attribution; its events stay unattributed for replay`);
}

/**
 * Whether a fold write announces lead.mql: the fold made an MQL of a lead that was none before it, and the lead never
 * announced one. A rebuild that finds no crossing in time order (a late page merging the two visits that crossed) takes
 * the MQL off the profile but keeps the mark, so the crossing that comes again later is not told again; nor is one a
 * lead merged into this one (its device) announced already, nor one under new rules after a replay moved the bar. An MQL
 * a replay made (which tells none) is not told by the next event either: its fold was an MQL before it.
 */
export function shouldAnnounceMql(mqlBefore: number | null, announcedBefore: number | string | null, after: LeadFold): boolean {
  return mqlBefore === null && announcedBefore === null && after.mqlAt !== null;
}

/**
 * stage.changed for each stage entered, lead.mql when the fold crossed the threshold (shouldAnnounceMql, decided by the
 * caller, which wrote the mark with the fold); same transaction. The lead.mql
 * score is the one the crossing award made, at its `at`: later events of the same fold may have moved the score since
 * (a careers page right after a demo request puts it back under the threshold).
 */
export async function queueLeadWebhooks(
  hooks: WebhookQueue, funnel: CompiledFunnel, leadId: string, email: string | null, entered: readonly StageChangeRow[],
  announceMql: boolean, result: FoldResult, now: number,
): Promise<void> {
  for (const c of entered) {
    await hooks.enqueue('stage.changed', { leadId, email, from: c.fromStage, to: c.toStage, at: iso(c.at), eventId: c.eventId, rule: c.rule }, now);
  }
  if (announceMql && result.fold.mqlAt !== null) {
    const cause = result.scoreChanges.find((c) => c.mql);
    await hooks.enqueue('lead.mql', {
      leadId, email, score: cause?.scoreAfter ?? result.fold.score, threshold: funnel.mqlThreshold, at: iso(result.fold.mqlAt), eventId: cause?.eventId ?? null,
    }, now);
  }
}

const stageRows = (leadId: string, r: FoldResult): StageChangeRow[] =>
  r.stageChanges.map((c) => ({ leadId, toStage: c.to, fromStage: c.from, at: c.at, eventId: c.eventId, rule: c.rule, fromAt: c.fromAt }));
const scoreRows = (leadId: string, r: FoldResult): ScoreChangeRow[] =>
  r.scoreChanges.map((c) => ({ changeId: c.changeId, leadId, at: c.at, eventId: c.eventId, rule: c.rule, points: c.points, scoreAfter: c.scoreAfter }));

/** The lead's last stage change as a move from the stage stored before (none when the stage is the same). */
function whereItStands(leadId: string, stageBefore: string, r: FoldResult): StageChangeRow[] {
  const last = stageRows(leadId, r).at(-1);
  return last && last.toStage !== stageBefore ? [{ ...last, fromStage: stageBefore }] : [];
}

/**
 * A rebuild's moves as the CRM must apply them: it last heard of `stageBefore`, entered at `stageAtBefore`. A late event
 * or new rules can put the stage the lead now stands in before that (a pricing view dated before the signup the CRM
 * heard of), so each move is told from the stage told before it, and dated no earlier than it: a CRM ordering one lead's
 * moves by `at`, then by the from→to chain (README "Webhooks"), then ends where the lead stands. The stage rows (the
 * timeline) keep the entries' own times.
 */
export function afterWhatWasTold(stageBefore: string, stageAtBefore: number, moves: readonly StageChangeRow[]): StageChangeRow[] {
  let from = stageBefore;
  let at = stageAtBefore;
  return moves.map((c) => {
    const told = { ...c, fromStage: from, at: Math.max(c.at, at) };
    from = c.toStage;
    at = told.at;
    return told;
  });
}

/** New events on top of the stored state: their changes are new rows. Resolves to the stages entered. */
async function appendChanges(tx: Db, siteId: string, leadId: string, r: FoldResult): Promise<StageChangeRow[]> {
  const entered: StageChangeRow[] = [];
  for (const c of stageRows(leadId, r)) if (await insertStageChange(tx, siteId, c)) entered.push(c);
  for (const c of scoreRows(leadId, r)) await insertScoreChange(tx, siteId, c);
  return entered;
}

/** A rebuild: make the stored rows equal the rebuilt ones, touching only rows that differ. */
async function rewriteChanges(tx: Db, siteId: string, leadId: string, r: FoldResult): Promise<StageChangeRow[]> {
  const entered: StageChangeRow[] = [];
  const stages = new Map((await listStageChangesOf(tx, siteId, leadId)).map((c) => [c.toStage, c]));
  for (const c of stageRows(leadId, r)) {
    const old = stages.get(c.toStage);
    stages.delete(c.toStage);
    if (!old) entered.push(c);
    if (!old || old.fromStage !== c.fromStage || old.fromAt !== c.fromAt || old.at !== c.at || old.eventId !== c.eventId || old.rule !== c.rule) await upsertStageChange(tx, siteId, c);
  }
  for (const gone of stages.keys()) await deleteStageChange(tx, siteId, leadId, gone);
  const scores = new Map((await listScoreChangesOf(tx, siteId, leadId)).map((c) => [c.changeId, c]));
  for (const c of scoreRows(leadId, r)) {
    const old = scores.get(c.changeId);
    scores.delete(c.changeId);
    if (!old || old.at !== c.at || old.rule !== c.rule || old.eventId !== c.eventId || !sameStored(tx, old.points, c.points) || !sameStored(tx, old.scoreAfter, c.scoreAfter)) {
      await upsertScoreChange(tx, siteId, c);
    }
  }
  for (const gone of scores.keys()) await deleteScoreChange(tx, siteId, gone);
  return entered;
}
