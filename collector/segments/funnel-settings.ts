// What segments need from the site's funnel config: the stage order (for `stage.gte` and name checks) and the score
// half-life (scores decay between events, so a `score` condition can change with time alone).
import type { Db } from '../storage/db.js';
import { loadFunnelConfig } from '../funnel/load-funnel-config.js';
import type { FunnelConfig } from '../funnel/funnel-config.js';

export interface FunnelSettings {
  stages: readonly string[];
  /** null: scores do not decay */
  halfLifeMs: number | null;
}

const DAY_MS = 86_400_000;
// loadFunnelConfig hands out one object per distinct stored config, so the derived settings are cached on it
const derived = new WeakMap<FunnelConfig, FunnelSettings>();

export function funnelSettingsOf(config: FunnelConfig): FunnelSettings {
  let s = derived.get(config);
  if (!s) derived.set(config, (s = { stages: config.stages, halfLifeMs: config.halfLifeDays ? config.halfLifeDays * DAY_MS : null }));
  return s;
}

/** True when segments would decide alike under both: the same stage order and the same half-life. */
export function sameFunnelSettings(a: FunnelSettings, b: FunnelSettings): boolean {
  return a.halfLifeMs === b.halfLifeMs && a.stages.length === b.stages.length && a.stages.every((s, i) => s === b.stages[i]);
}

export async function loadFunnelSettings(db: Db, siteId: string): Promise<FunnelSettings> {
  return funnelSettingsOf(await loadFunnelConfig(db, siteId));
}
