// What a new site starts with. Modules that own per-site defaults (funnel config, preset segments) are called from here.
import type { Db } from './storage/db.js';

export async function seedSiteDefaults(_db: Db, _siteId: string, _now: number): Promise<void> {
  // Funnel config falls back to the defaults when a site has none stored; preset segments are seeded here.
}
