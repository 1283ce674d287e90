// The site's funnel config: the stored JSON (parsed once per distinct body) or the defaults.
import type { Db } from '../storage/db.js';
import { getFunnelConfigRow } from '../storage/funnel-config.js';
import { DEFAULT_FUNNEL_CONFIG } from './default-funnel-config.js';
import { parseFunnelConfig, type FunnelConfig } from './funnel-config.js';

const parsed = new Map<string, FunnelConfig>();

export async function loadFunnelConfig(db: Db, siteId: string): Promise<FunnelConfig> {
  const row = await getFunnelConfigRow(db, siteId);
  if (!row) return DEFAULT_FUNNEL_CONFIG;
  let config = parsed.get(row.body);
  if (!config) {
    let json: unknown = null;
    try {
      json = JSON.parse(row.body);
    } catch {
      /* checked on PUT; a hand-edited row falls back to the defaults */
    }
    const r = parseFunnelConfig(json);
    config = r.ok ? r.config : DEFAULT_FUNNEL_CONFIG;
    if (parsed.size > 1000) parsed.clear();
    parsed.set(row.body, config);
  }
  return config;
}

/** The score half-life in ms (null: no decay), for reads that decay a stored score to now. */
export async function loadScoreHalfLifeMs(db: Db, siteId: string): Promise<number | null> {
  const c = await loadFunnelConfig(db, siteId);
  return c.halfLifeDays ? c.halfLifeDays * 86_400_000 : null;
}
