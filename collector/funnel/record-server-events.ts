// POST /api/events as a domain call: check the body, find or make each event's lead, store the events and attribute
// them in one transaction. Server events carry their lead from the start; their visitor id is the named visitor, or
// `srv:<leadId>` when the lead was named by email or id.
import { randomUUID } from 'node:crypto';
import type { Deps } from '../context.js';
import type { EnrichedEvent } from '../ingest/types.js';
import { insertEvents } from '../storage/events.js';
import { insertRejected } from '../storage/rejected.js';
import { findStoredEvents } from '../storage/lead-events.js';
import { getLeadEmail } from '../storage/leads.js';
import { lockEmails } from '../storage/identity.js';
import { createIdentityResolver } from '../identity/identity-resolver.js';
import { LIMITS } from '../../shared/limits.js';
import { parseServerEvents, type ServerEventInput } from './server-event-input.js';
import { loadFunnelConfig } from './load-funnel-config.js';
import { attributeWithRetry } from './attribute-events.js';
import { unmarkAttributed } from '../ingest/attribute.js';

export type ServerEventsOutcome =
  | { ok: true; accepted: number; duplicates: number; events: Array<{ id: string; leadId: string; duplicate: boolean }> }
  | { ok: false; status: 400; code: 'invalid_event' | 'unknown_lead'; message: string };

const ROUTE = '/api/events';

export async function acceptServerEvents(deps: Deps, siteId: string, text: string): Promise<ServerEventsOutcome> {
  const now = deps.now();
  const fail = async (code: 'invalid_event' | 'unknown_lead', message: string): Promise<ServerEventsOutcome> => {
    deps.metrics.inc('funnelbeam_events_rejected_total', { reason: code });
    const raw = text.length > LIMITS.rejectedRawBytes ? text.slice(0, LIMITS.rejectedRawBytes) + '…' : text;
    await insertRejected(deps.db, [{ siteId, reason: code, message, route: ROUTE, raw, receivedAt: now }]).catch((err) =>
      deps.log.error('could not store rejected input', { error: (err as Error).message }),
    );
    return { ok: false, status: 400, code, message };
  };

  const parsed = parseServerEvents(text);
  if (!parsed.ok) return fail('invalid_event', parsed.message);
  const inputs = parsed.events;
  const times: number[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const at = inputs[i].at === undefined ? now : typeof inputs[i].at === 'number' ? (inputs[i].at as number) : Date.parse(inputs[i].at as string);
    if (at > now + LIMITS.futureSkewMs) return fail('invalid_event', `${inputs.length > 1 ? i + '.' : ''}at: is in the future`);
    times.push(at);
  }
  for (let i = 0; i < inputs.length; i++) {
    const leadId = inputs[i].leadId;
    if (leadId && !(await getLeadEmail(deps.db, siteId, leadId))) {
      return fail('unknown_lead', `${inputs.length > 1 ? i + '.' : ''}leadId: no lead "${leadId}" on this site`);
    }
  }
  const ids = inputs.map((e) => 'srv:' + (e.id ?? randomUUID()));
  const config = await loadFunnelConfig(deps.db, siteId);

  return deps.db.transaction(async (tx) => {
    const stored = await findStoredEvents(tx, siteId, ids);
    await lockEmails(tx, siteId, inputs.filter((e) => e.email).map((e) => e.email!));
    const resolver = createIdentityResolver(tx, siteId, config.stages[0], now);
    const events: EnrichedEvent[] = [];
    const result: Array<{ id: string; leadId: string; duplicate: boolean }> = [];
    // identity changes happen in time order, as they would have live
    const order = inputs.map((_, i) => i).sort((a, b) => times[a] - times[b] || a - b);
    for (const i of order) {
      const input = inputs[i];
      const ref = { eventId: ids[i], at: times[i] };
      const duplicate = stored.has(ids[i]);
      const leadId = duplicate ? (stored.get(ids[i]) ?? '') : await resolveLead(resolver, input, ref);
      result[i] = { id: ids[i].slice(4), leadId, duplicate };
      if (!duplicate) events.push(toServerEvent(siteId, input, ids[i], times[i], leadId, now));
    }
    await resolver.flushAll();
    const inserted = await insertEvents(tx, events);
    if (inserted.length) {
      // as for beacons: a failing attribution never un-accepts events; they stay unattributed for replay
      await tx.run('SAVEPOINT server_attribution');
      try {
        await attributeWithRetry(tx, deps, inserted, { stored: 'preset' });
        await tx.run('RELEASE SAVEPOINT server_attribution');
      } catch (err) {
        await tx.run('ROLLBACK TO SAVEPOINT server_attribution');
        await tx.run('RELEASE SAVEPOINT server_attribution');
        await unmarkAttributed(tx, inserted);
        deps.metrics.inc('funnelbeam_attribution_failures_total');
        deps.log.error('attribution of server events failed; events kept unattributed for replay', { events: inserted.length, error: (err as Error).message });
      }
    }
    deps.metrics.inc('funnelbeam_events_accepted_total', undefined, inserted.length);
    deps.metrics.inc('funnelbeam_events_duplicate_total', undefined, inputs.length - inserted.length);
    return { ok: true as const, accepted: inserted.length, duplicates: inputs.length - inserted.length, events: result };
  });
}

async function resolveLead(resolver: ReturnType<typeof createIdentityResolver>, input: ServerEventInput, ref: { eventId: string; at: number }): Promise<string> {
  if (input.leadId) return input.leadId;
  if (input.visitorId && input.email) return resolver.identify(input.visitorId, input.email, ref);
  if (input.visitorId) return resolver.leadOf(input.visitorId, ref);
  return resolver.leadForEmail(input.email!, ref);
}

function toServerEvent(siteId: string, input: ServerEventInput, eventId: string, at: number, leadId: string, now: number): EnrichedEvent {
  return {
    siteId,
    eventId,
    visitorId: input.visitorId ?? `srv:${leadId}`,
    leadId,
    sessionId: `srv:${eventId.slice(4)}`,
    name: input.name,
    at,
    receivedAt: now,
    source: 'server',
    url: '',
    path: '',
    referrer: '',
    props: input.props && Object.keys(input.props).length ? input.props : null,
    form: null,
    email: input.email ?? null,
    traits: input.traits && Object.keys(input.traits).length ? input.traits : null,
    channel: 'direct',
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    clickId: null,
    firstTouch: null,
    sessionTouch: null,
    browser: null,
    os: null,
    device: null,
    isBot: false,
  };
}
