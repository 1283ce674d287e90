// The demo's pages live under /demo/: a new demo site gets the default rules and presets with their page paths
// matching there too.
import type { Deps } from '../context.js';
import { saveFunnelConfig } from '../funnel/save-funnel-config.js';
import { DEFAULT_FUNNEL_CONFIG } from '../funnel/default-funnel-config.js';
import { SEGMENT_PRESETS } from '../segments/presets.js';
import { putSegment } from '../segments/segment-admin.js';

/**
 * Funnel rules whose page-path globs also match under /demo (`/pricing*` → `/pricing*`, `/demo/pricing*`), and
 * segment definitions whose `did` of a page path also counts the page under /demo (an `any` of both).
 */
export function alsoUnderDemo<T>(value: T, kind: 'rules' | 'segment'): T {
  const moved = (glob: unknown) => (typeof glob === 'string' && glob.startsWith('/') ? '/demo' + glob : null);
  const both = (x: unknown) => {
    const list = Array.isArray(x) ? x : [x];
    const extra = list.map(moved).filter((g): g is string => g !== null);
    return extra.length ? [...list, ...extra] : x;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (kind === 'segment' && o.did && typeof o.did === 'object') {
      const did = o.did as Record<string, unknown>;
      const path = moved(did.path);
      if (path) return { any: [{ did }, { did: { ...did, path } }] };
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, kind === 'rules' && k === 'path' ? both(x) : walk(x)]));
  };
  return walk(value) as T;
}

/**
 * The demo site's pages live under /demo/, where the default rules' page globs (`/pricing*`, `/case-stud*`) never
 * match: a demo visitor who read the pricing page stayed in awareness, scored no pricing view and never entered
 * `pricing_no_demo`. A new demo site gets the default rules and presets, their page paths also matching under /demo.
 */
export async function fitDemoRules(deps: Deps, siteId: string): Promise<void> {
  const saved = await saveFunnelConfig(deps, siteId, alsoUnderDemo(DEFAULT_FUNNEL_CONFIG, 'rules'));
  if (!saved.ok) deps.log.warn('demo funnel rules not saved', { error: saved.message });
  for (const preset of SEGMENT_PRESETS) {
    const definition = alsoUnderDemo(preset.definition, 'segment');
    if (JSON.stringify(definition) === JSON.stringify(preset.definition)) continue;
    const put = await putSegment(deps, siteId, preset.key, { name: preset.name, definition });
    if (!put.ok) deps.log.warn('demo segment not saved', { segment: preset.key, error: put.message });
  }
}
