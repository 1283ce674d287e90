// Reading and replacing a site's funnel config as domain calls (GET/PUT /api/config/funnel).
import type { Deps } from '../context.js';
import { putFunnelConfigRow } from '../storage/funnel-config.js';
import { funnelSettingsOf, sameFunnelSettings } from '../segments/funnel-settings.js';
import { reevaluateSiteSegments } from '../segments/recompute-segments.js';
import { neverHolds, parseFunnelConfig, type ConfigParse } from './funnel-config.js';
import { loadFunnelConfig } from './load-funnel-config.js';

/**
 * Checks and stores a config; an invalid one is a value naming the bad part, and nothing is stored. Leads keep what
 * the old rules gave them until their next event or a replay, but segments read the half-life and the stage order
 * from the config itself (as the lead API decays a score with the half-life in force): when either changes, every
 * lead's memberships are decided again at once, so a `score` or `stage.gte` segment agrees with what the API shows.
 */
export async function saveFunnelConfig(deps: Deps, siteId: string, input: unknown): Promise<ConfigParse> {
  const r = parseFunnelConfig(input);
  if (!r.ok) return r;
  const never = neverHolds(r.config);
  if (never) return { ok: false, message: never };
  const before = funnelSettingsOf(await loadFunnelConfig(deps.db, siteId));
  await putFunnelConfigRow(deps.db, siteId, JSON.stringify(r.config), deps.now());
  if (!sameFunnelSettings(before, funnelSettingsOf(r.config))) await reevaluateSiteSegments(deps, siteId);
  return r;
}

export { loadFunnelConfig } from './load-funnel-config.js';
