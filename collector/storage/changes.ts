// Stage and score change rows: the explainable history behind a lead's stage and score.
import type { Db } from './db.js';
import { chunkRows, flatRows, sqlForRows, valuesSql } from './multi-row.js';

export interface StageChangeRow {
  leadId: string;
  toStage: string;
  fromStage: string | null;
  /** when the lead entered fromStage */
  fromAt?: number | null;
  at: number;
  eventId: string | null;
  rule: string | null;
}

export interface ScoreChangeRow {
  changeId: string;
  leadId: string;
  at: number;
  eventId: string | null;
  rule: string;
  points: number;
  scoreAfter: number;
}

/** Inserts a stage change; false when the lead already entered that stage. */
export async function insertStageChange(db: Db, siteId: string, c: StageChangeRow): Promise<boolean> {
  const n = await db.run(
    `INSERT INTO stage_changes (site_id, lead_id, to_stage, from_stage, at, event_id, rule, from_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (site_id, lead_id, to_stage) DO NOTHING`,
    [siteId, c.leadId, c.toStage, c.fromStage, c.at, c.eventId, c.rule, c.fromAt ?? null],
  );
  return n > 0;
}

export async function upsertStageChange(db: Db, siteId: string, c: StageChangeRow): Promise<void> {
  await db.run(
    `INSERT INTO stage_changes (site_id, lead_id, to_stage, from_stage, at, event_id, rule, from_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (site_id, lead_id, to_stage) DO UPDATE SET from_stage = excluded.from_stage, at = excluded.at, from_at = excluded.from_at,
       event_id = excluded.event_id, rule = excluded.rule`,
    [siteId, c.leadId, c.toStage, c.fromStage, c.at, c.eventId, c.rule, c.fromAt ?? null],
  );
}

export async function deleteStageChange(db: Db, siteId: string, leadId: string, toStage: string): Promise<void> {
  await db.run('DELETE FROM stage_changes WHERE site_id = ? AND lead_id = ? AND to_stage = ?', [siteId, leadId, toStage]);
}

export async function listStageChangesOf(db: Db, siteId: string, leadId: string): Promise<StageChangeRow[]> {
  const rows = await db.all<{ to_stage: string; from_stage: string | null; at: number; event_id: string | null; rule: string | null; from_at: number | null }>(
    'SELECT to_stage, from_stage, at, event_id, rule, from_at FROM stage_changes WHERE site_id = ? AND lead_id = ? ORDER BY at, to_stage',
    [siteId, leadId],
  );
  return rows.map((r) => ({ leadId, toStage: r.to_stage, fromStage: r.from_stage, at: Number(r.at), eventId: r.event_id, rule: r.rule, fromAt: r.from_at == null ? null : Number(r.from_at) }));
}

const SCORE_INSERT = `INSERT INTO score_changes (site_id, change_id, lead_id, at, event_id, rule, points, score_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

export async function insertScoreChange(db: Db, siteId: string, c: ScoreChangeRow): Promise<void> {
  await db.run(`${SCORE_INSERT} ON CONFLICT (site_id, change_id) DO NOTHING`, [siteId, c.changeId, c.leadId, c.at, c.eventId, c.rule, c.points, c.scoreAfter]);
}

export async function upsertScoreChange(db: Db, siteId: string, c: ScoreChangeRow): Promise<void> {
  await db.run(
    `${SCORE_INSERT} ON CONFLICT (site_id, change_id) DO UPDATE SET lead_id = excluded.lead_id, at = excluded.at,
       event_id = excluded.event_id, rule = excluded.rule, points = excluded.points, score_after = excluded.score_after`,
    [siteId, c.changeId, c.leadId, c.at, c.eventId, c.rule, c.points, c.scoreAfter],
  );
}

export async function deleteScoreChange(db: Db, siteId: string, changeId: string): Promise<void> {
  await db.run('DELETE FROM score_changes WHERE site_id = ? AND change_id = ?', [siteId, changeId]);
}

export async function listScoreChangesOf(db: Db, siteId: string, leadId: string): Promise<ScoreChangeRow[]> {
  const rows = await db.all<{ change_id: string; at: number; event_id: string | null; rule: string; points: number; score_after: number }>(
    'SELECT change_id, at, event_id, rule, points, score_after FROM score_changes WHERE site_id = ? AND lead_id = ? ORDER BY at, change_id',
    [siteId, leadId],
  );
  return rows.map((r) => ({
    changeId: r.change_id, leadId, at: Number(r.at), eventId: r.event_id, rule: r.rule, points: Number(r.points), scoreAfter: Number(r.score_after),
  }));
}

const insertStageChangesSql = sqlForRows(
  (n) => `INSERT INTO stage_changes (site_id, lead_id, to_stage, from_stage, at, event_id, rule, from_at) VALUES ${valuesSql(8, n)}
       ON CONFLICT (site_id, lead_id, to_stage) DO NOTHING RETURNING lead_id, to_stage`,
);

/** Inserts stage changes of many leads; resolves to those that are new (a lead enters each stage once). */
export async function insertStageChanges(db: Db, siteId: string, rows: readonly StageChangeRow[]): Promise<StageChangeRow[]> {
  const entered: StageChangeRow[] = [];
  for (const chunk of chunkRows(rows, db.dialect)) {
    const back = await db.all<{ lead_id: string; to_stage: string }>(
      insertStageChangesSql(chunk.length),
      flatRows(chunk, (c) => [siteId, c.leadId, c.toStage, c.fromStage, c.at, c.eventId, c.rule, c.fromAt ?? null]),
    );
    const keys = new Set(back.map((b) => b.lead_id + '\u0000' + b.to_stage));
    for (const c of chunk) if (keys.has(c.leadId + '\u0000' + c.toStage)) entered.push(c);
  }
  return entered;
}

const insertScoreChangesSql = sqlForRows(
  (n) => `${SCORE_INSERT.replace('(?, ?, ?, ?, ?, ?, ?, ?)', valuesSql(8, n))} ON CONFLICT (site_id, change_id) DO NOTHING`,
);

/** Inserts score changes of many leads (an id already stored is kept). */
export async function insertScoreChanges(db: Db, siteId: string, rows: readonly ScoreChangeRow[]): Promise<void> {
  for (const chunk of chunkRows(rows, db.dialect)) {
    await db.run(
      insertScoreChangesSql(chunk.length),
      flatRows(chunk, (c) => [siteId, c.changeId, c.leadId, c.at, c.eventId, c.rule, c.points, c.scoreAfter]),
    );
  }
}
