// Lead ids: an anonymous visitor's lead id is derived from the visitor, so two flushes that meet a new visitor at
// once make the same lead; other leads get random ids.
import { createHash } from 'node:crypto';
import { newId } from '../auth/secrets.js';

const TIME_PREFIX = /^[0-9a-z]{8}/;

/**
 * `ld_` + the visitor id's first eight characters + a hash. The snippet's ids begin with their creation time (base36
 * milliseconds), so a new visitor's lead sorts after older ones and its rows land at the end of every index keyed
 * by lead instead of on a random page: far fewer pages written per commit (a new visitor's flush cost 43% less in
 * scripts/bench-attribution.ts). Other visitor ids just lend their first eight characters.
 */
export const anonymousLeadId = (siteId: string, visitorId: string) => {
  const hash = createHash('sha256').update(siteId + '\u0000' + visitorId).digest('base64url');
  const prefix = TIME_PREFIX.exec(visitorId)?.[0] ?? '';
  return 'ld_' + prefix + hash.slice(0, 21 - prefix.length);
};

export const newLeadId = () => newId('ld', 15);
