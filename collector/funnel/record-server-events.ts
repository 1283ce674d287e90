// POST /api/events as a domain call: check the body, find or make each event's lead, store the events and attribute
// them in one transaction. Server events carry their lead from the start; their visitor id is the named visitor, or
// `srv:<leadId>` when the lead was named by email or id.
import { randomBytes } from 'node:crypto';
import type { Deps } from '../context.js';
import type { EnrichedEvent } from '../ingest/types.js';
import { insertEvents } from '../storage/events.js';
import { insertRejected } from '../storage/rejected.js';
import { findStoredEvents } from '../storage/lead-events.js';
import { getLeadEmail } from '../storage/leads.js';
import { getAliasedLeadId, lockEmails, lockServerEventIds, lockVisitors } from '../storage/identity.js';
import { createIdentityResolver } from '../identity/identity-resolver.js';
import { LIMITS } from '../../shared/limits.js';
import { parseServerEvents, type ServerEventInput } from './server-event-input.js';
import { loadFunnelConfig } from './load-funnel-config.js';
import { attributeWithRetry } from './attribute-events.js';
import { unmarkAttributed } from '../ingest/attribute.js';
import { rawEvent, truncateRaw } from '../ingest/pipeline.js';
import { findErasedEvents, lockTombstones } from '../storage/erasure-tombstones.js';
import { applyOptEvents } from './opt-out.js';
import { compareEvents } from './fold-event.js';

/** An event of the body that was not stored, and why; the others of the array are stored. */
export interface RefusedServerEvent {
  index: number;
  id: string | null;
  code: 'invalid_event' | 'unknown_lead';
  message: string;
}

export type ServerEventsOutcome =
  | {
      ok: true;
      accepted: number;
      duplicates: number;
      events: Array<{ index: number; id: string; leadId: string; duplicate: boolean }>;
      rejected: RefusedServerEvent[];
    }
  | { ok: false; status: 400; code: 'invalid_event' | 'unknown_lead'; message: string };

const ROUTE = '/api/events';

let sequence = 0;
/**
 * An id for an event sent without one. Events of one time are folded in id order, and a CRM's events sent without
 * `at` share the time of their request: ids that sort in the order they were made (time, then a counter of this
 * collector, in fixed-width base 36, the same order byte-wise and in any collation) apply them as sent, the later
 * trait winning. The random tail keeps ids of several collectors apart.
 */
export function makeServerEventId(now: number): string {
  sequence = (sequence + 1) % 36 ** 6;
  return now.toString(36).padStart(9, '0') + sequence.toString(36).padStart(6, '0') + randomBytes(8).toString('hex');
}

export async function acceptServerEvents(deps: Deps, siteId: string, text: string): Promise<ServerEventsOutcome> {
  const now = deps.now();
  /** Keeps refused input in the rejected store (one row per refused event, as it was sent); never throws. */
  const keep = async (rows: Array<{ code: string; message: string; raw: string }>) => {
    for (const r of rows) deps.metrics.inc('funnelbeam_events_rejected_total', { reason: r.code });
    await insertRejected(
      deps.db,
      rows.map((r) => ({ siteId, reason: r.code, message: r.message, route: ROUTE, raw: truncateRaw(r.raw), receivedAt: now })),
    ).catch((err) => deps.log.error('could not store rejected input', { error: (err as Error).message }));
  };

  const parsed = parseServerEvents(text);
  if (!parsed.ok) {
    await keep([{ code: 'invalid_event', message: parsed.message, raw: text }]);
    return { ok: false, status: 400, code: 'invalid_event', message: parsed.message };
  }
  /** A lead id merged into another lead names that lead now: the event goes there. */
  const followAlias = async (input: ServerEventInput) => {
    const into = await getAliasedLeadId(deps.db, siteId, input.leadId!);
    if (into) input.leadId = into;
    return into !== null;
  };
  /** An erased lead named by a CRM event dated before the erasure: dropped in the transaction below, not refused. */
  const isErasedLead = async (leadId: string, at: number) => (await findErasedEvents(deps.db, [{ siteId, visitorId: null, email: null, leadId, at }])).erased.size > 0;
  const refused: Array<RefusedServerEvent & { raw: string }> = [];
  const refuse = (index: number, id: string | null, code: RefusedServerEvent['code'], message: string, raw: unknown) =>
    refused.push({ index, id, code, message, raw: parsed.isArray ? rawEvent(raw) : text });
  const inputs: ServerEventInput[] = [];
  const indexes: number[] = [];
  const times: number[] = [];
  for (const item of parsed.items) {
    if (!item.ok) {
      refuse(item.index, item.id, 'invalid_event', item.message, item.raw);
      continue;
    }
    const input = item.input;
    const prefix = parsed.isArray ? item.index + '.' : '';
    const at = input.at === undefined ? now : typeof input.at === 'number' ? input.at : Date.parse(input.at);
    if (at > now + LIMITS.futureSkewMs) refuse(item.index, input.id ?? null, 'invalid_event', `${prefix}at: is in the future`, input);
    else if (input.leadId && !(await getLeadEmail(deps.db, siteId, input.leadId)) && !(await followAlias(input)) && !(await isErasedLead(input.leadId, at))) {
      refuse(item.index, input.id ?? null, 'unknown_lead', `${prefix}leadId: no lead "${input.leadId}" on this site`, input);
    } else {
      inputs.push(input);
      indexes.push(item.index);
      times.push(at);
    }
  }
  if (refused.length) await keep(refused.map((r) => ({ code: r.code, message: r.message, raw: r.raw })));
  const rejected = refused.map(({ raw: _raw, ...r }) => r);
  // nothing left to store: the request as a whole is refused, as a single bad event is
  if (inputs.length === 0) {
    const more = refused.length > 1 ? ` (and ${refused.length - 1} more refused events)` : '';
    return { ok: false, status: 400, code: refused[0].code, message: refused[0].message + more };
  }
  const ids = inputs.map((e) => 'srv:' + (e.id ?? makeServerEventId(now)));
  const config = await loadFunnelConfig(deps.db, siteId);

  return deps.db.transaction(async (tx) => {
    // an erased lead's device or email, dated at or before its erasure (a CRM backfill): accepted, never stored
    await lockTombstones(tx, 'shared');
    const { erased, restarted } = await findErasedEvents(tx, inputs.map((e, i) => ({ siteId, visitorId: e.visitorId ?? null, email: e.email ?? null, leadId: e.leadId ?? null, at: times[i] })));
    // a lead named by id that an erasure removed while this request waited for the lock above (the check before the
    // transaction read it still there), named for a time after that erasure: no lead, as a moment later; never stored
    // under the erased id, which names nothing again
    const vanished: Array<RefusedServerEvent & { raw: string }> = [];
    for (let i = 0; i < inputs.length; i++) {
      const leadId = inputs[i].leadId;
      if (!leadId || erased.has(i) || (await getLeadEmail(tx, siteId, leadId))) continue;
      erased.add(i);
      const prefix = parsed.isArray ? indexes[i] + '.' : '';
      vanished.push({ index: indexes[i], id: inputs[i].id ?? null, code: 'unknown_lead', message: `${prefix}leadId: no lead "${leadId}" on this site`, raw: parsed.isArray ? rawEvent(inputs[i]) : text });
    }
    if (vanished.length === inputs.length) {
      await keep(vanished.map((r) => ({ code: r.code, message: r.message, raw: r.raw })));
      const all = [...refused, ...vanished];
      const more = all.length > 1 ? ` (and ${all.length - 1} more refused events)` : '';
      return { ok: false as const, status: 400 as const, code: 'unknown_lead' as const, message: vanished[0].message + more };
    }
    if (vanished.length) {
      await keep(vanished.map((r) => ({ code: r.code, message: r.message, raw: r.raw })));
      rejected.push(...vanished.map(({ raw: _raw, ...r }) => r));
      rejected.sort((a, b) => a.index - b.index);
    }
    // the same id in another request under way (a CRM retrying): wait for it, then read what it stored
    await lockServerEventIds(tx, siteId, ids);
    const stored = await findStoredEvents(tx, siteId, ids);
    // the devices named, before any email (as ingest's write of a device comes before its attribution's): a beacon of
    // the same device under way is applied first, and this request decides on what it committed
    await lockVisitors(tx, siteId, inputs.filter((e) => e.visitorId).map((e) => e.visitorId!));
    await lockEmails(tx, siteId, inputs.filter((e) => e.email).map((e) => e.email!));
    const resolver = createIdentityResolver(tx, siteId, config.stages[0], now, restarted);
    const events: EnrichedEvent[] = [];
    const result: Array<{ index: number; id: string; leadId: string; duplicate: boolean }> = [];
    // identity changes happen in time order, as they would have live; events of one time in the order the fold applies
    // them (README: in `id` order, made ids following the order sent), so two identifications of a device in one
    // millisecond leave it with the one applied last, as a beacon batch's do
    const order = inputs.map((_, i) => i).filter((i) => !erased.has(i)).sort((a, b) => times[a] - times[b] || compareEvents({ at: 0, eventId: ids[a] }, { at: 0, eventId: ids[b] }) || a - b);
    // an id sent again later in the same body is a retry of the first: answered as its duplicate, never resolved (an
    // event that is not stored must not make or identify a lead)
    const firstOf = new Map<string, number>();
    const repeats = new Map<number, number>();
    for (let i = 0; i < inputs.length; i++) {
      if (erased.has(i)) continue;
      const first = firstOf.get(ids[i]);
      if (first === undefined) firstOf.set(ids[i], i);
      else repeats.set(i, first);
    }
    for (const i of order) {
      if (repeats.has(i)) continue;
      const input = inputs[i];
      const ref = { eventId: ids[i], at: times[i] };
      const duplicate = stored.has(ids[i]);
      const leadId = duplicate ? (stored.get(ids[i]) ?? '') : await resolveLead(resolver, input, ref);
      result[i] = { index: indexes[i], id: ids[i].slice(4), leadId, duplicate };
    }
    // an anonymous lead met early in the body may have merged into an identified lead by a later event of it
    for (const i of order) {
      if (repeats.has(i)) continue;
      const r = result[i];
      r.leadId = resolver.merged.get(r.leadId) ?? r.leadId;
      if (!r.duplicate) events.push(toServerEvent(siteId, inputs[i], ids[i], times[i], r.leadId, now));
    }
    for (const [i, first] of repeats) result[i] = { index: indexes[i], id: ids[i].slice(4), leadId: result[first].leadId, duplicate: true };
    await resolver.flushAll();
    const inserted = await insertEvents(tx, events);
    await applyOptEvents(tx, siteId, inserted);
    if (inserted.length) {
      // as for beacons: a failing attribution never un-accepts events; they stay unattributed for replay
      await tx.run('SAVEPOINT server_attribution');
      try {
        // a visitor that joined an identified lead here (visitorId with email) brought its history: rebuild that lead
        await attributeWithRetry(tx, deps, inserted, { stored: 'preset', identity: { rebuild: resolver.rebuild, merged: resolver.merged }, restarted });
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
    const duplicates = inputs.length - erased.size - inserted.length;
    deps.metrics.inc('funnelbeam_events_duplicate_total', undefined, duplicates);
    if (erased.size > vanished.length) deps.metrics.inc('funnelbeam_events_erased_total', undefined, erased.size - vanished.length);
    // an erased event is listed nowhere: neither stored nor refused
    return { ok: true as const, accepted: inserted.length, duplicates, events: result.filter((r) => r !== undefined), rejected };
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
