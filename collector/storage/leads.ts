// Lead rows as the funnel engine writes them: creation, email claims, and version-checked fold updates.
import type { Db } from './db.js';
import { chunkRows, flatRows, listSql, sqlForRows, valuesSql } from './multi-row.js';

export interface LeadFoldRow {
  lead_id: string;
  email: string | null;
  stage: string;
  stage_rank: number;
  stage_at: number;
  score: number;
  score_at: number;
  mql: number;
  mql_at: number | null;
  sql: number;
  sql_at: number | null;
  /**
   * the `at` of the lead.mql this lead announced; null: none yet (a string on PostgreSQL, as every bigint). Always read
   * by getLeadFoldRow(s); optional for the profile's reads (LeadRow), which do not show it
   */
  mql_announced_at?: number | string | null;
  traits: string;
  first_touch: string | null;
  last_touch: string | null;
  /** the funnel engine's fold state; `s` holds the exact score */
  state: string;
  version: number;
  created_at: number;
  is_bot: number;
}

const FOLD_COLS = `lead_id, email, stage, stage_rank, stage_at, score, score_at, mql, mql_at, sql, sql_at, mql_announced_at, traits,
  first_touch, last_touch, state, version, created_at, is_bot`;

export async function getLeadFoldRow(db: Db, siteId: string, leadId: string): Promise<LeadFoldRow | undefined> {
  return db.get<LeadFoldRow>(`SELECT ${FOLD_COLS} FROM leads WHERE site_id = ? AND lead_id = ?`, [siteId, leadId]);
}

const selectFoldRowsSql = (lock: string) => (n: number) =>
  `SELECT ${FOLD_COLS} FROM leads WHERE site_id = ? AND lead_id IN (${listSql(n)}) ORDER BY lead_id${lock}`;
const selectFoldRows = sqlForRows(selectFoldRowsSql(''));
const selectFoldRowsPg = sqlForRows(selectFoldRowsSql(' FOR UPDATE'));

/**
 * Fold rows of many leads. On PostgreSQL the rows are locked in id order until the transaction ends, so collectors
 * that attribute the same leads at once wait for each other instead of racing (and never deadlock on these rows).
 */
export async function getLeadFoldRows(db: Db, siteId: string, leadIds: readonly string[]): Promise<Map<string, LeadFoldRow>> {
  const out = new Map<string, LeadFoldRow>();
  const sql = db.dialect === 'pg' ? selectFoldRowsPg : selectFoldRows;
  for (const chunk of chunkRows([...leadIds].sort(), db.dialect)) {
    const rows = await db.all<LeadFoldRow>(sql(chunk.length), [siteId, ...chunk]);
    for (const r of rows) out.set(r.lead_id, r);
  }
  return out;
}

export async function getLeadEmail(db: Db, siteId: string, leadId: string): Promise<{ email: string | null } | undefined> {
  return db.get<{ email: string | null }>('SELECT email FROM leads WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
}

export async function getLeadIdByEmail(db: Db, siteId: string, email: string): Promise<string | undefined> {
  return (await db.get<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND email = ?', [siteId, email]))?.lead_id;
}

export interface NewLead {
  siteId: string;
  leadId: string;
  email: string | null;
  /** first stage of the site's funnel (the lead has no stage change until a rule holds) */
  stage: string;
  /** time of the event that made the lead */
  at: number;
  now: number;
}

/**
 * Inserts a lead; resolves to false when the id, or the email, is already taken (another flush or collector made
 * it first: the caller reads the winner back).
 */
export async function insertLead(db: Db, l: NewLead): Promise<boolean> {
  const n = await db.run(
    `INSERT INTO leads (site_id, lead_id, email, traits, stage, stage_rank, stage_at, score, score_at, state, created_at, updated_at, identified_at, version)
     VALUES (?, ?, ?, '{}', ?, 0, ?, 0, ?, '{}', ?, ?, ?, 0) ON CONFLICT DO NOTHING`,
    [l.siteId, l.leadId, l.email, l.stage, l.at, l.at, l.at, l.now, l.email ? l.at : null],
  );
  return n > 0;
}

/** Gives an anonymous lead its email; false when the lead already has one. Throws on a unique clash (pg race). */
export async function claimLeadEmail(db: Db, siteId: string, leadId: string, email: string, at: number, now: number): Promise<boolean> {
  const n = await db.run('UPDATE leads SET email = ?, identified_at = ?, updated_at = CASE WHEN updated_at > ? THEN updated_at ELSE ? END WHERE site_id = ? AND lead_id = ? AND email IS NULL', [
    email, at, now, now, siteId, leadId,
  ]);
  return n > 0;
}

/**
 * Moves a lead's identification time back to `at` when it was identified later (or not yet): its devices' identifications
 * arrive in any order (an outbox resent, another collector), and identifiedAt is the earliest of them.
 */
export async function lowerIdentifiedAt(db: Db, siteId: string, leadId: string, at: number): Promise<void> {
  await db.run('UPDATE leads SET identified_at = ? WHERE site_id = ? AND lead_id = ? AND email IS NOT NULL AND (identified_at IS NULL OR identified_at > ?)', [
    at, siteId, leadId, at,
  ]);
}

/**
 * Sets each lead's opted_out from its latest server event (POST /api/events; by time, then id) among the opt-out and opt-in names; a lead with
 * none keeps its flag.
 */
export async function setOptedOutFromEvents(
  db: Db, siteId: string, leadIds: readonly string[], optOut: readonly string[], optIn: readonly string[],
): Promise<void> {
  // ids of one time in id order as the fold compares them, code point by code point: PostgreSQL compares text by the
  // database's collation (ICU or glibc's en_US put `_` before `-` and fold case), so it is told to compare bytes
  const idOrder = db.dialect === 'pg' ? 'e.event_id COLLATE "C"' : 'e.event_id';
  await db.run(
    `UPDATE leads SET opted_out = COALESCE((
       SELECT CASE WHEN e.name IN (${listSql(optOut.length)}) THEN 1 ELSE 0 END FROM events e
       WHERE e.site_id = leads.site_id AND e.lead_id = leads.lead_id AND e.source = 'server' AND e.name IN (${listSql(optOut.length + optIn.length)})
       ORDER BY e.at DESC, ${idOrder} DESC LIMIT 1), opted_out)
     WHERE site_id = ? AND lead_id IN (${listSql(leadIds.length)})`,
    [...optOut, ...optOut, ...optIn, siteId, ...leadIds],
  );
}

export interface LeadFoldUpdate {
  stage: string;
  stageRank: number;
  stageAt: number;
  score: number;
  scoreAt: number;
  mqlAt: number | null;
  sqlAt: number | null;
  traits: string;
  firstTouch: string | null;
  lastTouch: string | null;
  state: string;
  now: number;
  /** a new, earlier creation time: the lead turned out to begin before it was made (a device merged in, a late event) */
  createdAt?: number;
  /**
   * the `at` of the lead.mql this write announces: kept as the lead's mark if it has none (a mark, once set, is never
   * cleared by a fold write); absent or null leaves the mark as it is
   */
  mqlAnnouncedAt?: number | null;
}

/** The touch fields kept as columns beside first_touch (ft_…) and last_touch (lt_…), for the funnel breakdowns. */
export const TOUCH_KEY_FIELDS = ['channel', 'utm_source', 'utm_medium', 'utm_campaign'] as const;
export const TOUCH_KEY_COLUMNS = [
  'ft_channel', 'ft_source', 'ft_medium', 'ft_campaign', 'lt_channel', 'lt_source', 'lt_medium', 'lt_campaign',
] as const;

function pushTouchKeys(out: unknown[], touch: string | null): void {
  let t: Record<string, unknown> | null = null;
  try {
    t = touch ? JSON.parse(touch) : null;
  } catch {
    /* not JSON: no keys, as the migration's back-fill */
  }
  for (const field of TOUCH_KEY_FIELDS) {
    const v = t && typeof t === 'object' ? t[field] : null;
    out.push(v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
}

/**
 * The touch key columns (TOUCH_KEY_COLUMNS order) of a first and last touch as stored: read from the very JSON text
 * written beside them, so the two cannot disagree whichever path wrote the row.
 */
export function touchKeyValues(firstTouch: string | null, lastTouch: string | null): unknown[] {
  const out: unknown[] = [];
  pushTouchKeys(out, firstTouch);
  pushTouchKeys(out, lastTouch);
  return out;
}

/** The fold columns stage … state and the touch keys, in the order every fold write lists them (21 values). */
const foldValues = (u: LeadFoldUpdate): unknown[] => [
  u.stage, u.stageRank, u.stageAt, u.score, u.scoreAt, u.mqlAt === null ? 0 : 1, u.mqlAt, u.sqlAt === null ? 0 : 1, u.sqlAt,
  u.traits, u.firstTouch, u.lastTouch, u.state, ...touchKeyValues(u.firstTouch, u.lastTouch),
];

/** Writes a lead's fold if nobody wrote it since `version` was read; false means: read again and redo. */
export async function updateLeadFold(db: Db, siteId: string, leadId: string, version: number, u: LeadFoldUpdate): Promise<boolean> {
  const n = await db.run(
    `UPDATE leads SET stage = ?, stage_rank = ?, stage_at = ?, score = ?, score_at = ?, mql = ?, mql_at = ?, sql = ?, sql_at = ?,
       traits = ?, first_touch = ?, last_touch = ?, state = ?, ft_channel = ?, ft_source = ?, ft_medium = ?, ft_campaign = ?,
       lt_channel = ?, lt_source = ?, lt_medium = ?, lt_campaign = ?, updated_at = CASE WHEN updated_at > ? THEN updated_at ELSE ? END, created_at = COALESCE(?, created_at),
       mql_announced_at = COALESCE(mql_announced_at, ?), version = version + 1
     WHERE site_id = ? AND lead_id = ? AND version = ?`,
    [...foldValues(u), u.now, u.now, u.createdAt ?? null, u.mqlAnnouncedAt ?? null, siteId, leadId, version],
  );
  return n > 0;
}

export interface FoldedLead {
  leadId: string;
  createdAt: number;
  u: LeadFoldUpdate;
}

const insertFoldedSql = sqlForRows(
  (n) => `INSERT INTO leads (site_id, lead_id, email, stage, stage_rank, stage_at, score, score_at, mql, mql_at, sql, sql_at, traits,
         first_touch, last_touch, state, ${TOUCH_KEY_COLUMNS.join(', ')}, created_at, updated_at, identified_at, version, mql_announced_at)
       VALUES ${valuesSql(29, n)} ON CONFLICT DO NOTHING RETURNING lead_id`,
);

/** Inserts new anonymous leads with their fold already applied; resolves to the ids inserted (others existed). */
export async function insertFoldedLeads(db: Db, siteId: string, leads: readonly FoldedLead[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (const chunk of chunkRows(leads, db.dialect)) {
    const rows = await db.all<{ lead_id: string }>(
      insertFoldedSql(chunk.length),
      flatRows(chunk, ({ leadId, createdAt, u }) => [siteId, leadId, null, ...foldValues(u), createdAt, u.now, null, 0, u.mqlAnnouncedAt ?? null]),
    );
    for (const r of rows) inserted.add(r.lead_id);
  }
  return inserted;
}

export interface VersionedFold {
  leadId: string;
  /** the version read; the update only applies if nobody wrote since */
  version: number;
  u: LeadFoldUpdate;
}

/** Version-checked fold writes of many leads; resolves to the ids written (the rest changed meanwhile: redo them). */
export async function updateLeadFolds(db: Db, siteId: string, folds: readonly VersionedFold[]): Promise<Set<string>> {
  const written = new Set<string>();
  for (const chunk of chunkRows(folds, db.dialect)) {
    const rows = await db.all<{ lead_id: string }>(
      updateFoldsSql(chunk.length),
      flatRows(chunk, ({ leadId, version, u }) => [leadId, version, ...foldValues(u), u.now, u.mqlAnnouncedAt ?? null]).concat(siteId),
    );
    for (const r of rows) written.add(r.lead_id);
  }
  return written;
}

const updateFoldsSql = sqlForRows(
  (n) => `UPDATE leads SET stage = v.column3, stage_rank = CAST(v.column4 AS integer), stage_at = CAST(v.column5 AS bigint),
         score = CAST(v.column6 AS double precision), score_at = CAST(v.column7 AS bigint), mql = CAST(v.column8 AS integer),
         mql_at = CAST(v.column9 AS bigint), sql = CAST(v.column10 AS integer), sql_at = CAST(v.column11 AS bigint),
         traits = v.column12, first_touch = v.column13, last_touch = v.column14, state = v.column15,
         ft_channel = v.column16, ft_source = v.column17, ft_medium = v.column18, ft_campaign = v.column19,
         lt_channel = v.column20, lt_source = v.column21, lt_medium = v.column22, lt_campaign = v.column23,
         updated_at = CASE WHEN leads.updated_at > CAST(v.column24 AS bigint) THEN leads.updated_at ELSE CAST(v.column24 AS bigint) END,
         mql_announced_at = COALESCE(leads.mql_announced_at, CAST(v.column25 AS bigint)), version = leads.version + 1
       FROM (VALUES ${valuesSql(25, n)}) AS v
       WHERE leads.site_id = ? AND leads.lead_id = v.column1 AND leads.version = CAST(v.column2 AS integer)
       RETURNING leads.lead_id`,
);

/**
 * A merge: lead `into` takes over the lead.mql mark of lead `from` (about to be deleted) when `from` announced one and
 * `into` did not, or later. The person is one lead from now on and was announced once already, so the rebuild of `into`
 * announces nothing again (its own mark, or the earlier of the two, is kept).
 */
export async function carryMqlAnnounced(db: Db, siteId: string, from: string, into: string): Promise<void> {
  await db.run(
    `UPDATE leads SET mql_announced_at = f.mql_announced_at
     FROM (SELECT mql_announced_at FROM leads WHERE site_id = ? AND lead_id = ? AND mql_announced_at IS NOT NULL) AS f
     WHERE leads.site_id = ? AND leads.lead_id = ? AND (leads.mql_announced_at IS NULL OR leads.mql_announced_at > f.mql_announced_at)`,
    [siteId, from, siteId, into],
  );
}

export async function deleteLeadRow(db: Db, siteId: string, leadId: string): Promise<void> {
  await db.run('DELETE FROM leads WHERE site_id = ? AND lead_id = ?', [siteId, leadId]);
}

/** A page of the site's lead ids in id order (replay walks them). */
export async function listLeadIds(db: Db, siteId: string, after: string, limit: number): Promise<string[]> {
  const rows = await db.all<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND lead_id > ? ORDER BY lead_id LIMIT ?', [siteId, after, limit]);
  return rows.map((r) => r.lead_id);
}
