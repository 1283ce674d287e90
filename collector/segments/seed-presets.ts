// Gives a site the preset segments (presets.ts) it does not have yet; a new site has no leads, so nothing to compute.
import type { Db } from '../storage/db.js';
import { insertSegment } from '../storage/segments.js';
import { SEGMENT_PRESETS } from './presets.js';

export async function seedPresetSegments(db: Db, siteId: string, now: number): Promise<number> {
  let added = 0;
  for (const p of SEGMENT_PRESETS) {
    if (await insertSegment(db, { siteId, key: p.key, name: p.name, definition: JSON.stringify(p.definition), at: now })) added++;
  }
  return added;
}
