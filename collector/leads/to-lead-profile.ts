// The lead profile of contract §5, built from a leads row: pure, so the shape is tested without a database.
import type { LeadRow } from '../storage/lead-reads.js';
import { decayScore, roundScore, storedScore } from '../scoring/decay.js';

export interface LeadProfile {
  leadId: string;
  email: string | null;
  identified: boolean;
  visitorIds: string[];
  stage: string;
  /** score decayed to `now` by the site's half-life */
  score: number;
  mql: boolean;
  sql: boolean;
  /** where the lead first came from; `at` in ISO 8601; `{}` for a lead never seen on the web (contract §5: an object) */
  firstTouch: Record<string, unknown>;
  /** its latest web session's touch; `at` in ISO 8601; `{}` for a lead never seen on the web */
  lastTouch: Record<string, unknown>;
  traits: Record<string, unknown>;
  segments: string[];
  stageEnteredAt: string;
  mqlAt: string | null;
  sqlAt: string | null;
  identifiedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** score as last stored, and when (the decay starts there) */
  scoreStored: number;
  scoreAt: string;
  isBot: boolean;
  /** a CRM's opted_out / unsubscribed event was its latest opt event: left out of ad-platform exports */
  optedOut: boolean;
}

export const iso = (ms: number) => new Date(Number(ms)).toISOString();
const isoOrNull = (ms: number | null) => (ms == null ? null : iso(ms));

/** A stored touch as the API shows it: its time (epoch ms inside the fold) in ISO 8601, as every other time. */
function parseTouch(text: string | null): Record<string, unknown> | null {
  const touch = parseObject(text);
  if (touch && typeof touch.at === 'number' && Number.isFinite(touch.at)) return { ...touch, at: iso(touch.at) };
  return touch;
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text == null || text === '') return null;
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}


export interface ProfileExtras {
  visitorIds: string[];
  segments: string[];
  now: number;
  halfLifeMs: number | null;
}

export function toLeadProfile(row: LeadRow, x: ProfileExtras): LeadProfile {
  const score = storedScore(row);
  return {
    leadId: row.lead_id,
    email: row.email,
    identified: row.email != null,
    visitorIds: x.visitorIds,
    stage: row.stage,
    score: roundScore(decayScore(score, Number(row.score_at), x.now, x.halfLifeMs)),
    mql: Number(row.mql) === 1,
    sql: Number(row.sql) === 1,
    firstTouch: parseTouch(row.first_touch) ?? {},
    lastTouch: parseTouch(row.last_touch) ?? {},
    traits: parseObject(row.traits) ?? {},
    segments: x.segments,
    stageEnteredAt: iso(row.stage_at),
    mqlAt: isoOrNull(row.mql_at),
    sqlAt: isoOrNull(row.sql_at),
    identifiedAt: isoOrNull(row.identified_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    scoreStored: score,
    scoreAt: iso(row.score_at),
    isBot: Number(row.is_bot) === 1,
    optedOut: Number(row.opted_out) === 1,
  };
}
