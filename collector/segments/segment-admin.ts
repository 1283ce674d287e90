// Segment administration as domain calls for the routes: list with counts, create or replace, delete, visitor lookup.
import type { Deps } from '../context.js';
import { deleteSegment, getSegment, insertSegment, listSegments, listVisitorSegmentKeys, lockSegmentDefinitions, updateSegment, type SegmentRow } from '../storage/segments.js';
import { parseDefinition, type SegmentDefinition } from './definition.js';
import { loadFunnelSettings } from './funnel-settings.js';
import { recomputeSegment } from './recompute-segments.js';

export const SEGMENT_KEY_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export interface PublicSegment {
  key: string;
  name: string;
  definition: SegmentDefinition;
  /** live member count; the same number as `count` of the members export (`format=json`) */
  count: number;
  /** the same as `count`, kept for clients written before `count` was added */
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export const toPublicSegment = (r: SegmentRow): PublicSegment => ({
  key: r.key,
  name: r.name,
  definition: JSON.parse(r.definition) as SegmentDefinition,
  count: r.memberCount,
  memberCount: r.memberCount,
  createdAt: new Date(r.createdAt).toISOString(),
  updatedAt: new Date(r.updatedAt).toISOString(),
});

export async function listSiteSegments(deps: Deps, siteId: string): Promise<PublicSegment[]> {
  return (await listSegments(deps.db, siteId)).map(toPublicSegment);
}

export async function findSegment(deps: Deps, siteId: string, key: string): Promise<PublicSegment | null> {
  const row = await getSegment(deps.db, siteId, key);
  return row ? toPublicSegment(row) : null;
}

export type PutSegmentResult =
  | { ok: true; created: boolean; segment: PublicSegment }
  | { ok: false; path: string; message: string };

/** Creates or replaces a segment, then recomputes its membership over the site's leads. */
export async function putSegment(deps: Deps, siteId: string, key: string, body: { name?: string; definition: unknown }): Promise<PutSegmentResult> {
  if (!SEGMENT_KEY_RE.test(key)) return { ok: false, path: 'key', message: 'use 1-64 characters: a-z, 0-9, "_" or "-", starting with a letter or digit' };
  const { stages } = await loadFunnelSettings(deps.db, siteId);
  const parsed = parseDefinition(body.definition, stages);
  if (!parsed.ok) return parsed;
  const definition = JSON.stringify(parsed.definition);
  const at = deps.now();
  const created = await deps.db.transaction(async (tx) => {
    await lockSegmentDefinitions(tx);
    const existing = await getSegment(tx, siteId, key);
    const name = body.name?.trim() || existing?.name || key;
    if (existing) {
      await updateSegment(tx, { siteId, key, name, definition, at });
      return false;
    }
    return insertSegment(tx, { siteId, key, name, definition, at });
  });
  await recomputeSegment(deps, siteId, key);
  const row = await getSegment(deps.db, siteId, key);
  return { ok: true, created, segment: toPublicSegment(row!) };
}

export async function removeSegment(deps: Deps, siteId: string, key: string): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    await lockSegmentDefinitions(tx);
    return deleteSegment(tx, siteId, key);
  });
}

export const visitorSegments = (deps: Deps, siteId: string, visitorId: string) => listVisitorSegmentKeys(deps.db, siteId, visitorId);
