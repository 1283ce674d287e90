// Bodies POST /e refuses before reading them whole (over 64 KB: 413; compressed: 415) are kept in the rejected store as
// their opening, under the site whose key they open with (`{"s":"…"`, as the snippet writes a batch), so the site's
// admin finds them in GET /api/rejected (README: "a truncated copy of the raw body (2 KB), the time and the site when
// known"). Both were kept with neither, where no site's key could read them.
import type { Deps } from '../context.js';
import { insertRejected } from '../storage/rejected.js';
import { createSiteCache, createSiteIdFinder } from './site-cache.js';
import { siteKeyOfHead } from './validate.js';

export interface UnreadBody {
  reason: 'payload_too_large' | 'unsupported_encoding';
  message: string;
  /** the body's opening as text (at most 2 KB; '' when none could be read) */
  head: string;
  /** the body goes on past `head`: the copy is marked as cut (`…`) */
  cut: boolean;
  /** the request's Origin: a body naming its site by the site id is kept as that site's only from the site's pages */
  origin?: string;
}

export function createUnreadBodyKeeper(deps: Deps) {
  const findSite = createSiteCache(deps.db, 10_000, deps.now);
  const siteNamedById = createSiteIdFinder(deps.db, deps.now);
  return async function keepUnreadBody(body: UnreadBody): Promise<void> {
    deps.metrics.inc('funnelbeam_events_rejected_total', { reason: body.reason });
    const siteKey = siteKeyOfHead(body.head);
    // a site id where the key goes is the site's too, from its own pages (site-cache.ts createSiteIdFinder)
    const site = siteKey ? (await findSite(siteKey).catch(() => null)) ?? (await siteNamedById(siteKey, body.origin)) : null;
    const raw = body.cut ? body.head + '…' : body.head;
    await insertRejected(deps.db, [{ siteId: site?.siteId ?? null, reason: body.reason, message: body.message, route: '/e', raw, receivedAt: deps.now() }]).catch(() => {});
  };
}
