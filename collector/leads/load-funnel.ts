// The site's compiled funnel (stage order, half-life) for reads, through the funnel engine's config loader.
import type { Db } from '../storage/db.js';
import { compileFunnel, type CompiledFunnel } from '../funnel/compile-funnel.js';
import { loadFunnelConfig } from '../funnel/load-funnel-config.js';

export async function loadFunnel(db: Db, siteId: string): Promise<CompiledFunnel> {
  return compileFunnel(await loadFunnelConfig(db, siteId));
}
