// Before the insert, each web event gets the lead its visitor most likely belongs to, so that attribution only has to
// correct the few rows whose lead changed (identify, merge) instead of updating every row it attributes.
import type { EnrichedEvent } from '../ingest/types.js';
import { anonymousLeadId } from '../identity/anonymous-lead-id.js';

const MAX = 100_000;
// This process's last known lead of recent visitors; another collector's change makes a guess wrong, never a result.
const known = new Map<string, string>();
const key = (siteId: string, visitorId: string) => siteId + '\u0000' + visitorId;

/** Fills `leadId` of web events that have none: the visitor's last known lead, else its anonymous lead. */
export function guessLeads(events: EnrichedEvent[]): void {
  // a request's events share their visitor: its guess (a map lookup, or a SHA-256 for a new visitor) is made once
  let lastKey = '';
  let lastLead = '';
  for (const e of events) {
    if (e.leadId !== null || e.source !== 'web' || e.isBot) continue;
    const k = key(e.siteId, e.visitorId);
    if (k !== lastKey) {
      lastKey = k;
      lastLead = known.get(k) ?? anonymousLeadId(e.siteId, e.visitorId);
    }
    e.leadId = lastLead;
  }
}

/** Remembers where attribution put a visitor. */
export function rememberLead(siteId: string, visitorId: string, leadId: string): void {
  const k = key(siteId, visitorId);
  if (known.get(k) === leadId) return;
  known.delete(k);
  if (known.size >= MAX) known.delete(known.keys().next().value as string);
  known.set(k, leadId);
}
