// Reading and replacing a site's funnel config as domain calls (GET/PUT /api/config/funnel).
import type { Deps } from '../context.js';
import { putFunnelConfigRow } from '../storage/funnel-config.js';
import { listSegmentDefinitions, lockSegmentDefinitions, updateSegment } from '../storage/segments.js';
import { unknownStages, type SegmentDefinition } from '../segments/definition.js';
import { renameStagesIn, stageRenames } from '../segments/rename-stages.js';
import { funnelSettingsOf, sameFunnelSettings } from '../segments/funnel-settings.js';
import { reevaluateSiteSegments } from '../segments/recompute-segments.js';
import { neverHolds, parseFunnelConfig, type ConfigParse } from './funnel-config.js';
import { loadFunnelConfig } from './load-funnel-config.js';

/** Segments whose `stage` conditions name a stage the stored config no longer has (they match no lead by it). */
export interface StaleSegment {
  key: string;
  stages: string[];
}

export type SavedConfig = ConfigParse & { staleSegments?: StaleSegment[] };

/**
 * Checks and stores a config; an invalid one is a value naming the bad part, and nothing is stored. Leads keep what
 * the old rules gave them until their next event or a replay, but segments read the half-life and the stage order
 * from the config itself (as the lead API decays a score with the half-life in force): when either changes, every
 * lead's memberships are decided again at once, so a `score` or `stage.gte` segment agrees with what the API shows.
 * Stages renamed in place (the same number of stages) are renamed in segment definitions in the same transaction;
 * segments still naming a stage that is gone are listed in `staleSegments`.
 */
export async function saveFunnelConfig(deps: Deps, siteId: string, input: unknown): Promise<SavedConfig> {
  const r = parseFunnelConfig(input);
  if (!r.ok) return r;
  const never = neverHolds(r.config);
  if (never) return { ok: false, message: never };
  const before = funnelSettingsOf(await loadFunnelConfig(deps.db, siteId));
  const stages = r.config.stages;
  const staleSegments = await deps.db.transaction(async (tx) => {
    await lockSegmentDefinitions(tx);
    await putFunnelConfigRow(tx, siteId, JSON.stringify(r.config), deps.now());
    const renames = stageRenames(before.stages, stages);
    const stale: StaleSegment[] = [];
    for (const seg of await listSegmentDefinitions(tx, siteId)) {
      const definition = renameStagesIn(JSON.parse(seg.definition) as SegmentDefinition, renames);
      const renamed = JSON.stringify(definition);
      if (renamed !== seg.definition) await updateSegment(tx, { siteId, key: seg.key, name: seg.name, definition: renamed, at: deps.now() });
      const gone = unknownStages(definition, stages).map((u) => u.stage);
      if (gone.length > 0) stale.push({ key: seg.key, stages: [...new Set(gone)] });
    }
    return stale;
  });
  if (!sameFunnelSettings(before, funnelSettingsOf(r.config))) await reevaluateSiteSegments(deps, siteId);
  return { ...r, staleSegments };
}

export { loadFunnelConfig } from './load-funnel-config.js';
