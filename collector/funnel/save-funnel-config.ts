// Reading and replacing a site's funnel config as domain calls (GET/PUT /api/config/funnel).
import type { Db } from '../storage/db.js';
import { putFunnelConfigRow } from '../storage/funnel-config.js';
import { parseFunnelConfig, type ConfigParse } from './funnel-config.js';

/** Checks and stores a config; an invalid one is a value naming the bad part, and nothing is stored. */
export async function saveFunnelConfig(db: Db, siteId: string, input: unknown, now: number): Promise<ConfigParse> {
  const r = parseFunnelConfig(input);
  if (r.ok) await putFunnelConfigRow(db, siteId, JSON.stringify(r.config), now);
  return r;
}

export { loadFunnelConfig } from './load-funnel-config.js';
