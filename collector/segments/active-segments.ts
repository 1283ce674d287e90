// A site's segment definitions as evaluated on every flush: read fresh each time (other collectors may edit them),
// parsed once per distinct text.
import type { Db } from '../storage/db.js';
import { listSegmentDefinitions } from '../storage/segments.js';
import type { SegmentDefinition } from './definition.js';
import { planEvents, type EventPlan } from './event-plan.js';

export interface ActiveSegment {
  key: string;
  name: string;
  definition: SegmentDefinition;
}

export interface ActiveSegments {
  list: ActiveSegment[];
  plan: EventPlan;
  /** some definition has a `touch` condition (else lead touches need not be parsed) */
  usesTouch: boolean;
}

const definitions = new Map<string, SegmentDefinition | null>();
const plans = new Map<string, EventPlan>();

function parseStored(text: string): SegmentDefinition | null {
  let hit = definitions.get(text);
  if (hit === undefined) {
    try {
      hit = JSON.parse(text) as SegmentDefinition;
    } catch {
      hit = null; // not written by putSegment; skipped rather than failing ingest
    }
    if (definitions.size > 5000) definitions.clear();
    definitions.set(text, hit);
  }
  return hit;
}

export async function loadActiveSegments(db: Db, siteId: string): Promise<ActiveSegments> {
  const rows = await listSegmentDefinitions(db, siteId);
  const list: ActiveSegment[] = [];
  for (const r of rows) {
    const definition = parseStored(r.definition);
    if (definition) list.push({ key: r.key, name: r.name, definition });
  }
  const planKey = rows.map((r) => r.definition).join('\u0000');
  let plan = plans.get(planKey);
  if (!plan) {
    plan = planEvents(list.map((s) => s.definition));
    if (plans.size > 1000) plans.clear();
    plans.set(planKey, plan);
  }
  return { list, plan, usesTouch: rows.some((r) => r.definition.includes('"touch"')) };
}
