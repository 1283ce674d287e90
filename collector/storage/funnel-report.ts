// Aggregates behind GET /api/funnel. The plain report is index ranges per stage (leads_funnel, stage_changes_entered,
// stage_changes_dwell) read in index order: no table rows, no sorter. Breakdowns read the period's stage changes with
// their lead ids from those indexes alone and credit each to its lead's key in memory: first/last touch take the key
// from the leads' ft_/lt_ columns (one pass, grouped in SQL), linear from the lead's web sessions (their opening events,
// events_session_open). Bots are left out. On SQLite, first/last-touch breakdowns read the touch day counts instead
// (stage-day-counts.ts, migration 0011).
import type { Db } from './db.js';
import type { TOUCH_KEY_COLUMNS } from './leads.js';
import { chunkRows, listSql } from './multi-row.js';

export type TouchField = 'channel' | 'utm_source' | 'utm_medium' | 'utm_campaign';
/** A touch key column of leads (ft_channel … lt_campaign): the touch field's text, '' when absent. */
export type TouchKeyColumn = (typeof TOUCH_KEY_COLUMNS)[number];

export interface StageCount {
  stage: string;
  n: number;
}


/** Bot leads of the site, so stage-change counts can leave them out without joining every row to leads. */
export async function listBotLeadIds(db: Db, siteId: string, max: number): Promise<string[]> {
  const rows = await db.all<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND is_bot = 1 LIMIT ?', [siteId, max]);
  return rows.map((r) => r.lead_id);
}

/** Bot exclusion for stage_changes: a short NOT IN list of the (few) bot leads, else a NOT EXISTS probe. */
function botFilter(bots: string[] | null): { where: string; params: unknown[] } {
  if (bots === null) {
    return { where: ' AND NOT EXISTS (SELECT 1 FROM leads x WHERE x.site_id = sc.site_id AND x.lead_id = sc.lead_id AND x.is_bot = 1)', params: [] };
  }
  if (bots.length === 0) return { where: '', params: [] };
  return { where: ` AND sc.lead_id NOT IN (${listSql(bots.length)})`, params: bots };
}

/**
 * Leads per current stage, optionally only those created in [from, to): the cohort. One range count per stage (on
 * SQLite the report reads day counts instead: stage-day-counts.ts).
 */
export async function countLeadsByStage(db: Db, siteId: string, stages: readonly string[], created?: { from: number; to: number }): Promise<StageCount[]> {
  const out: StageCount[] = [];
  for (const stage of stages) {
    const r = await db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM leads WHERE site_id = ? AND is_bot = 0 AND stage = ?${created ? ' AND created_at BETWEEN ? AND ?' : ''}`,
      created ? [siteId, stage, created.from, created.to - 1] : [siteId, stage],
    );
    out.push({ stage, n: Number(r?.n ?? 0) });
  }
  return out;
}

/**
 * Stage entries with `at` in [from, to), per stage. `bots`: the bot lead ids, or null when too many to list. One
 * range count per stage (on SQLite the report reads day counts instead: stage-day-counts.ts).
 */
export async function countStageEntries(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number, bots: string[] | null,
): Promise<StageCount[]> {
  const b = botFilter(bots);
  const out: StageCount[] = [];
  for (const stage of stages) {
    const r = await db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM stage_changes sc WHERE sc.site_id = ? AND sc.to_stage = ? AND sc.at BETWEEN ? AND ?${b.where}`,
      [siteId, stage, from, to - 1, ...b.params],
    );
    out.push({ stage, n: Number(r?.n ?? 0) });
  }
  return out;
}

/** All values of an integer expression of a group as one comma-separated string: far cheaper than a row per value. */
const joinValues = (db: Db, expr: string) => (db.dialect === 'pg' ? `string_agg((${expr})::text, ',')` : `group_concat(${expr})`);

function parseValues(text: string | null): number[] {
  if (!text) return [];
  const parts = text.split(',');
  const out = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) out[i] = +parts[i];
  return out;
}

/**
 * Time in stage of leads that entered a stage in [from, to) and moved on: from entering it (from_at of the change
 * that left it) to entering the next stage. Rows written before stage_changes.from_at existed are matched to their
 * entry by a join (a rebuild of the lead fills the column).
 */
export async function listStageDurations(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number, bots: string[] | null,
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  const left = stages.slice(0, -1);
  if (left.length === 0) return out;
  const b = botFilter(bots);
  const rows = await db.all<{ stage: string; ds: string | null }>(
    `SELECT sc.from_stage AS stage, ${joinValues(db, 'sc.at - sc.from_at')} AS ds FROM stage_changes sc
     WHERE sc.site_id = ? AND sc.from_stage IN (${listSql(left.length)}) AND sc.from_at BETWEEN ? AND ?${b.where} GROUP BY sc.from_stage`,
    [siteId, ...left, from, to - 1, ...b.params],
  );
  const legacy = await db.all<{ stage: string; ds: string | null }>(
    `SELECT sc.from_stage AS stage, ${joinValues(db, 'sc.at - en.at')} AS ds
     FROM stage_changes sc JOIN stage_changes en ON en.site_id = sc.site_id AND en.lead_id = sc.lead_id AND en.to_stage = sc.from_stage
     WHERE sc.site_id = ? AND sc.from_stage IN (${listSql(left.length)}) AND sc.from_at IS NULL AND en.at >= ? AND en.at < ?${b.where}
     GROUP BY sc.from_stage`,
    [siteId, ...left, from, to, ...b.params],
  );
  for (const r of [...rows, ...legacy]) {
    const list = out.get(r.stage) ?? out.set(r.stage, []).get(r.stage)!;
    for (const d of parseValues(r.ds)) list.push(d);
  }
  return out;
}

/** Leads of one touch key and current stage: how many now, how many created in [from, to), and their ids. */
export interface TouchGroupRow {
  k: string;
  stage: string;
  n: number;
  cohort: number;
  leadIds: string[];
}

/** Ids joined with ',' (lead ids are [A-Za-z0-9_-]) as one string per group: far cheaper to read than a row per lead. */
const joinIds = (db: Db, expr: string) => (db.dialect === 'pg' ? `string_agg(${expr}, ',')` : `group_concat(${expr})`);
const splitIds = (text: string | null) => (text ? text.split(',') : []);

/**
 * Non-bot leads per touch key (a ft_/lt_ column) and current stage, with the cohort count and the lead ids (the
 * breakdown credits the period's stage changes to their lead's key from these). One pass over the table: SQLite is
 * told NOT INDEXED because a site-prefixed index would turn the pass into a random read per lead.
 */
export async function listLeadsByTouch(db: Db, siteId: string, column: TouchKeyColumn, from: number, to: number): Promise<TouchGroupRow[]> {
  const rows = await db.all<{ k: string; stage: string; n: number; c: number; ids: string | null }>(
    `SELECT l.${column} AS k, l.stage AS stage, COUNT(*) AS n, SUM(CASE WHEN l.created_at >= ? AND l.created_at < ? THEN 1 ELSE 0 END) AS c,
       ${joinIds(db, 'l.lead_id')} AS ids
     FROM leads l${db.dialect === 'sqlite' ? ' NOT INDEXED' : ''} WHERE l.site_id = ? AND l.is_bot = 0 GROUP BY 1, 2`,
    [from, to, siteId],
  );
  return rows.map((r) => ({ k: String(r.k), stage: r.stage, n: Number(r.n), cohort: Number(r.c), leadIds: splitIds(r.ids) }));
}

/** One non-bot lead as linear attribution reads it: its stage now, creation time and first touch's key. */
export interface LeadFactRow {
  leadId: string;
  stage: string;
  createdAt: number;
  /** the breakdown field of the lead's first touch ('' when absent) */
  firstKey: string;
}

/** A page of leads and where the next one starts. */
export interface LeadFactPage {
  leads: LeadFactRow[];
  /** pass back as `after` for the next page; null after the last */
  next: string | null;
}

/**
 * A page of the site's non-bot leads (linear attribution credits each by its own weights); start with `after` ''.
 * SQLite pages in table order (rowid, NOT INDEXED: through leads_funnel it would sort the site's leads for every page,
 * and through the primary key each lead would be a random read).
 */
export async function listLeadFacts(db: Db, siteId: string, after: string, limit: number, firstKey: TouchKeyColumn): Promise<LeadFactPage> {
  const sqlite = db.dialect === 'sqlite';
  const rows = await db.all<{ c: string | number; lead_id: string; stage: string; created_at: number; k: string }>(
    sqlite
      ? `SELECT rowid AS c, lead_id, stage, created_at, ${firstKey} AS k FROM leads NOT INDEXED WHERE rowid > ? AND site_id = ? AND is_bot = 0 ORDER BY rowid LIMIT ?`
      : `SELECT lead_id AS c, lead_id, stage, created_at, ${firstKey} AS k FROM leads WHERE lead_id > ? AND site_id = ? AND is_bot = 0 ORDER BY lead_id LIMIT ?`,
    [sqlite ? Number(after || 0) : after, siteId, limit],
  );
  return {
    leads: rows.map((r) => ({ leadId: r.lead_id, stage: r.stage, createdAt: Number(r.created_at), firstKey: String(r.k ?? '') })),
    next: rows.length < limit ? null : String(rows[rows.length - 1].c),
  };
}

/** The leads that entered each stage in [from, to), bots included (index stage_changes_entered alone, one range per stage). */
export async function listStageEntryLeads(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number,
): Promise<Array<{ stage: string; leadIds: string[] }>> {
  const out: Array<{ stage: string; leadIds: string[] }> = [];
  for (const stage of stages) {
    const r = await db.get<{ ids: string | null }>(
      `SELECT ${joinIds(db, 'lead_id')} AS ids FROM stage_changes WHERE site_id = ? AND to_stage = ? AND at BETWEEN ? AND ?`,
      [siteId, stage, from, to - 1],
    );
    out.push({ stage, leadIds: splitIds(r?.ids ?? null) });
  }
  return out;
}

/**
 * Times in stage (as listStageDurations) with their lead ids, bots included, per stage: `leadIds[i]` spent `d[i]` ms
 * (index stage_changes_dwell alone, one range per stage; legacy rows without from_at by the join to their entry).
 */
export async function listStageDurationLeads(
  db: Db, siteId: string, stages: readonly string[], from: number, to: number,
): Promise<Array<{ stage: string; leadIds: string[]; d: number[] }>> {
  const out: Array<{ stage: string; leadIds: string[]; d: number[] }> = [];
  const left = stages.slice(0, -1);
  if (left.length === 0) return out;
  for (const stage of left) {
    const r = await db.get<{ ids: string | null; ds: string | null }>(
      `SELECT ${joinIds(db, 'lead_id')} AS ids, ${joinValues(db, 'at - from_at')} AS ds FROM stage_changes
       WHERE site_id = ? AND from_stage = ? AND from_at BETWEEN ? AND ?`,
      [siteId, stage, from, to - 1],
    );
    out.push({ stage, leadIds: splitIds(r?.ids ?? null), d: parseValues(r?.ds ?? null) });
  }
  for (const r of await listLegacyStageDurations(db, siteId, left, from, to)) out.push({ stage: r.stage, leadIds: [r.leadId], d: [r.d] });
  return out;
}

/**
 * Times in stage of rows written before stage_changes.from_at existed (from_at null), bots included: each matched to
 * the change that entered its stage, entered in [from, to). `left`: the stages that can be left (all but the last).
 */
export async function listLegacyStageDurations(
  db: Db, siteId: string, left: readonly string[], from: number, to: number,
): Promise<Array<{ leadId: string; stage: string; d: number }>> {
  if (left.length === 0) return [];
  const rows = await db.all<{ lead_id: string; stage: string; d: number }>(
    `SELECT nx.lead_id, nx.from_stage AS stage, nx.at - en.at AS d
     FROM stage_changes nx JOIN stage_changes en ON en.site_id = nx.site_id AND en.lead_id = nx.lead_id AND en.to_stage = nx.from_stage
     WHERE nx.site_id = ? AND nx.from_stage IN (${listSql(left.length)}) AND nx.from_at IS NULL AND en.at >= ? AND en.at < ?`,
    [siteId, ...left, from, to],
  );
  return rows.map((r) => ({ leadId: r.lead_id, stage: r.stage, d: Number(r.d) }));
}

/** The key column of the given leads that are not bots (bots and unknown ids are left out). */
export async function listLeadTouchKeys(db: Db, siteId: string, column: TouchKeyColumn, leadIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const chunk of chunkRows([...new Set(leadIds)], db.dialect)) {
    const rows = await db.all<{ lead_id: string; k: string }>(
      `SELECT lead_id, ${column} AS k FROM leads WHERE site_id = ? AND is_bot = 0 AND lead_id IN (${listSql(chunk.length)})`,
      [siteId, ...chunk],
    );
    for (const r of rows) out.set(r.lead_id, String(r.k));
  }
  return out;
}

export interface SessionTouchRow {
  leadId: string;
  k: string;
  /** distinct sessions of the lead whose touch has this key */
  sessions: number;
}

/**
 * Per lead, its distinct web sessions grouped by the session touch's field: the touches linear attribution splits over.
 * A session is read from the event that opened it (the only one carrying first_touch) through the partial index
 * events_session_open alone, in lead and session order: one entry per session, no event rows and no sort of the
 * events. A session with more than one opening event (data stored before openers alone carried first_touch) counts
 * once, under the least key of its openers. A lead whose sessions all opened under another lead (its visitor switched
 * leads mid-session) has no row here: the report credits it to its first touch.
 */
export async function countSessionTouches(db: Db, siteId: string, field: TouchField): Promise<SessionTouchRow[]> {
  const rows = await db.all<{ lead_id: string; k: string; n: number }>(
    `SELECT lead_id, k, COUNT(*) AS n FROM (
       SELECT lead_id, session_id, MIN(COALESCE(${field}, '')) AS k FROM events${db.dialect === 'sqlite' ? ' INDEXED BY events_session_open' : ''}
       WHERE site_id = ? AND lead_id IS NOT NULL AND first_touch IS NOT NULL AND source = 'web' AND is_bot = 0
       GROUP BY lead_id, session_id
     ) s GROUP BY lead_id, k`,
    [siteId],
  );
  return rows.map((r) => ({ leadId: r.lead_id, k: String(r.k), sessions: Number(r.n) }));
}
