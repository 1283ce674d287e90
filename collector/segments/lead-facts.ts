// What a segment is evaluated over: one lead's current state and its relevant events, at a moment in time.
import type { Touch } from '../ingest/types.js';

export interface FactEvent {
  name: string;
  path: string;
  /** parsed props, or null when the event had none (or no loaded condition looks at props) */
  props: Record<string, string | number | boolean> | null;
  at: number;
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
}
