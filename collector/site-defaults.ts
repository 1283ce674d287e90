// What a new site starts with. Modules that own per-site defaults (funnel config, preset segments) are called from here.
import type { Db } from './storage/db.js';
import { seedPresetSegments } from './segments/seed-presets.js';

export async function seedSiteDefaults(db: Db, siteId: string, now: number): Promise<void> {
  // Funnel config falls back to the defaults when a site has none stored.
  await seedPresetSegments(db, siteId, now);
}
