// What a segment is evaluated over: one lead's current state and its relevant events, at a moment in time.
import type { Touch } from '../ingest/types.js';

export interface FactEvent {
  name: string;
  path: string;
  /** parsed props, or null when the event had none (or no loaded condition looks at props) */
  props: Record<string, string | number | boolean> | null;
  at: number;
  /** 'web' or 'server' as stored (required: a builder that left it out once made every CRM event a page's) */
  source: string;
}

export interface LeadFacts {
  /** the moment of evaluation, epoch ms */
  now: number;
  stage: string;
  /** when the lead entered its current stage, epoch ms */
  stageAt: number;
  /** the score as last stored … */
  score: number;
  /** … at this moment; it decays from there by halfLifeMs */
  scoreAt: number;
  /** null: scores do not decay */
  halfLifeMs: number | null;
  identified: boolean;
  firstTouch: Touch | null;
  lastTouch: Touch | null;
  /** the site's stages in funnel order (for `stage.gte`) */
  stageOrder: readonly string[];
  /** the lead's events that `did` conditions may look at; any order */
  events: readonly FactEvent[];
  /**
   * Per-condition counts made by the database (keyed by didKey), for `did` tests without props. When present, a test
   * missing from it counted nothing; when absent, `events` are counted instead.
   */
  didCounts?: ReadonlyMap<string, DidCount>;
}

/** Matching events of one `did` test (inside its window when it has one). */
export interface DidCount {
  count: number;
  /** newest and oldest matching times (null when none, or not tracked for tests without a window) */
  newest: number | null;
  oldest: number | null;
}

/** Identifies what a `did` test counts: event, path, window and source (props tests are counted from rows, never keyed). */
export function didKey(d: { event: string; path?: string; within?: string; source?: string }): string {
  let key = keys.get(d);
  if (key === undefined) keys.set(d, (key = JSON.stringify([d.event, d.path ?? null, d.within ?? null, d.source ?? null])));
  return key;
}
// definitions are parsed once per text and reused, so their test objects make a good cache key
const keys = new WeakMap<object, string>();
