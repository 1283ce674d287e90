// Fixtures for segment tests: lead facts for the pure matcher, and lead/event rows for membership tests that run
// before (or beside) the funnel engine.
import { randomUUID } from 'node:crypto';
import type { LeadFacts, FactEvent } from '../../collector/segments/lead-facts.js';
import type { Condition } from '../../collector/segments/definition.js';
import type { Db } from '../../collector/storage/db.js';
import { DEFAULT_STAGES } from '../../shared/stages.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);

/** The segment definition contract §6 gives as its example, as written there. */
export const CONTRACT_SEGMENT_EXAMPLE: Condition = {
  all: [
    { stage: { in: ['consideration', 'intent'] } },
    { did: { event: 'pageview', path: '/pricing*', within: '30d', min: 1 } },
    { not: { did: { event: 'demo_request' } } },
    { score: { gte: 20 } },
    { identified: true },
    { touch: { model: 'first', source: 'google' } },
    { inStage: { days: { gte: 21 } } },
  ],
};

export function makeFacts(overrides: Partial<LeadFacts> = {}): LeadFacts {
  return {
    now: T0,
    stage: 'awareness',
    stageAt: T0 - DAY,
    score: 0,
    scoreAt: T0,
    halfLifeMs: null,
    identified: false,
    firstTouch: null,
    lastTouch: null,
    stageOrder: DEFAULT_STAGES,
    events: [],
    ...overrides,
  };
}

export const ev = (name: string, at: number, path = '/', props: FactEvent['props'] = null, source = 'web'): FactEvent => ({ name, at, path, props, source });

export interface LeadFixture {
  leadId?: string;
  email?: string | null;
  stage?: string;
  stageAt?: number;
  score?: number;
  scoreAt?: number;
  firstTouch?: object | null;
  lastTouch?: object | null;
  isBot?: boolean;
}

/** Inserts a lead row (and a visitor tied to it) the way the funnel engine would leave them. */
export async function insertLead(db: Db, siteId: string, f: LeadFixture = {}): Promise<{ leadId: string; visitorId: string }> {
  const leadId = f.leadId ?? 'lead_' + randomUUID().slice(0, 8);
  const visitorId = 'v_' + leadId;
  const stage = f.stage ?? 'awareness';
  const at = f.stageAt ?? T0;
  await db.run(
    `INSERT INTO leads (site_id, lead_id, email, traits, stage, stage_rank, stage_at, score, score_at, first_touch, last_touch, created_at, updated_at, is_bot)
     VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [siteId, leadId, f.email ?? null, stage, Math.max(0, DEFAULT_STAGES.indexOf(stage as never)), at, f.score ?? 0, f.scoreAt ?? at,
      f.firstTouch ? JSON.stringify(f.firstTouch) : null, f.lastTouch ? JSON.stringify(f.lastTouch) : null, at, at, f.isBot ? 1 : 0],
  );
  await db.run(
    `INSERT INTO visitors (site_id, visitor_id, lead_id, first_seen, last_seen, session_id, session_started) VALUES (?, ?, ?, ?, ?, 's1', ?)`,
    [siteId, visitorId, leadId, at, at, at],
  );
  return { leadId, visitorId };
}

export async function updateLead(db: Db, siteId: string, leadId: string, set: { stage?: string; stageAt?: number; email?: string; score?: number; scoreAt?: number }) {
  if (set.stage !== undefined) await db.run('UPDATE leads SET stage = ?, stage_at = ? WHERE site_id = ? AND lead_id = ?', [set.stage, set.stageAt ?? T0, siteId, leadId]);
  if (set.email !== undefined) await db.run('UPDATE leads SET email = ? WHERE site_id = ? AND lead_id = ?', [set.email, siteId, leadId]);
  if (set.score !== undefined) await db.run('UPDATE leads SET score = ?, score_at = ? WHERE site_id = ? AND lead_id = ?', [set.score, set.scoreAt ?? T0, siteId, leadId]);
}

/** Inserts an attributed event of the lead. */
export async function insertEvent(db: Db, siteId: string, leadId: string, e: { name: string; at: number; path?: string; props?: object }) {
  const path = e.path ?? '/';
  await db.run(
    `INSERT INTO events (site_id, event_id, visitor_id, lead_id, session_id, name, at, received_at, source, url, path, props, channel, attributed)
     VALUES (?, ?, ?, ?, 's1', ?, ?, ?, 'web', ?, ?, ?, 'direct', 1)`,
    [siteId, randomUUID(), 'v_' + leadId, leadId, e.name, e.at, e.at, 'http://127.0.0.1' + path, path, e.props ? JSON.stringify(e.props) : null],
  );
}

export async function memberKeys(db: Db, siteId: string, leadId: string): Promise<string[]> {
  const rows = await db.all<{ segment_key: string }>('SELECT segment_key FROM segment_members WHERE site_id = ? AND lead_id = ? ORDER BY segment_key', [siteId, leadId]);
  return rows.map((r) => r.segment_key);
}
