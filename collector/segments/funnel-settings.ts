// What segments need from the site's funnel config: the stage order (for `stage.gte` and name checks) and the score
// half-life (scores decay between events, so a `score` condition can change with time alone).
import type { Db } from '../storage/db.js';
import { getFunnelConfigBody } from '../storage/segments.js';
import { DEFAULT_STAGES } from '../../shared/stages.js';

export interface FunnelSettings {
  stages: readonly string[];
  /** null: scores do not decay */
  halfLifeMs: number | null;
}

const DAY_MS = 86_400_000;
/** the funnel engine's default half-life (collector/funnel/default-funnel-config.ts) */
const DEFAULT_HALF_LIFE_DAYS = 90;
export const DEFAULT_FUNNEL_SETTINGS: FunnelSettings = { stages: DEFAULT_STAGES, halfLifeMs: DEFAULT_HALF_LIFE_DAYS * DAY_MS };

const parsed = new Map<string, FunnelSettings>();

/** Reads a stored funnel config body; missing or unreadable parts fall back to the defaults. */
export function funnelSettingsOf(body: string | null): FunnelSettings {
  if (body === null) return DEFAULT_FUNNEL_SETTINGS;
  let hit = parsed.get(body);
  if (hit) return hit;
  hit = DEFAULT_FUNNEL_SETTINGS;
  try {
    const config = JSON.parse(body) as { stages?: unknown; halfLifeDays?: unknown };
    const stages = Array.isArray(config.stages) && config.stages.length && config.stages.every((s) => typeof s === 'string')
      ? (config.stages as string[])
      : DEFAULT_FUNNEL_SETTINGS.stages;
    const halfLifeMs = config.halfLifeDays === null
      ? null
      : typeof config.halfLifeDays === 'number' && config.halfLifeDays > 0
        ? config.halfLifeDays * DAY_MS
        : DEFAULT_FUNNEL_SETTINGS.halfLifeMs;
    hit = { stages, halfLifeMs };
  } catch {
    // a broken config is the funnel engine's to report; segments keep working with the defaults
  }
  if (parsed.size > 1000) parsed.clear();
  parsed.set(body, hit);
  return hit;
}

export async function loadFunnelSettings(db: Db, siteId: string): Promise<FunnelSettings> {
  return funnelSettingsOf(await getFunnelConfigBody(db, siteId));
}
