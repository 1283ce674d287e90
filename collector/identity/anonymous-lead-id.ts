// Lead ids: an anonymous visitor's lead id is derived from the visitor, so two flushes that meet a new visitor at
// once make the same lead; other leads get random ids.
import { createHash } from 'node:crypto';
import { newId } from '../auth/secrets.js';

export const anonymousLeadId = (siteId: string, visitorId: string) =>
  'ld_' + createHash('sha256').update(siteId + '\u0000' + visitorId).digest('base64url').slice(0, 20);

export const newLeadId = () => newId('ld', 15);
