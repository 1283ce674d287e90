// A lead's folded state: stage, score, MQL/SQL, traits, touches and rule progress, after its events up to a watermark.
import type { Touch } from '../ingest/types.js';
import type { LastTouch } from './fold-event.js';
import type { ProgressMap } from './rule-progress.js';
import type { Traits } from '../identity/normalize-traits.js';

export interface LeadFold {
  /** config version this state was folded under */
  version: string;
  /** the last folded event (time, id): an event at or before it arrives late and rebuilds the lead */
  last: [number, string] | null;
  rank: number;
  stageAt: number | null;
  stageProgress: ProgressMap;
  score: number;
  scoreAt: number | null;
  mqlAt: number | null;
  scoreProgress: ProgressMap;
  sqlAt: number | null;
  sqlProgress: ProgressMap;
  traits: Traits;
  firstTouch: (Touch & { at: number }) | null;
  lastTouch: LastTouch | null;
}

export const emptyFold = (version: string): LeadFold => ({
  version,
  last: null,
  rank: -1,
  stageAt: null,
  stageProgress: {},
  score: 0,
  scoreAt: null,
  mqlAt: null,
  scoreProgress: {},
  sqlAt: null,
  sqlProgress: {},
  traits: {},
  firstTouch: null,
  lastTouch: null,
});
