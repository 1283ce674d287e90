// The site's compiled funnel (stage order, half-life) for reads: the stored config, else the defaults.
import type { Db } from '../storage/db.js';
import { getFunnelConfigText } from '../storage/lead-reads.js';
import { compileFunnel, type CompiledFunnel } from '../funnel/compile-funnel.js';
import { parseFunnelConfig } from '../funnel/funnel-config.js';
import { DEFAULT_FUNNEL_CONFIG } from '../funnel/default-funnel-config.js';

const byText = new Map<string, CompiledFunnel>();

/** A stored config that no longer parses is the config route's problem; reads keep working on the defaults. */
export function funnelOf(text: string | null): CompiledFunnel {
  if (text === null) return compileFunnel(DEFAULT_FUNNEL_CONFIG);
  let hit = byText.get(text);
  if (!hit) {
    let parsed: ReturnType<typeof parseFunnelConfig> | null = null;
    try {
      parsed = parseFunnelConfig(JSON.parse(text));
    } catch {
      parsed = null;
    }
    hit = compileFunnel(parsed?.ok ? parsed.config : DEFAULT_FUNNEL_CONFIG);
    if (byText.size > 1000) byText.clear();
    byText.set(text, hit);
  }
  return hit;
}

export async function loadFunnel(db: Db, siteId: string): Promise<CompiledFunnel> {
  return funnelOf(await getFunnelConfigText(db, siteId));
}
