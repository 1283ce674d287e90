// POST /e as a named list of steps: validate → resolve site → check origin → enrich → store (→ attribute).
// Each step either passes its result on or stops the chain with a Rejection.
import { findStoredEvents } from '../storage/lead-events.js';
import type { Deps } from '../context.js';
import type { Rejection } from './types.js';
import { parseBatch, type EventProblem, type EventRepair } from './validate.js';
import { enrichBatch, lateEventSpan } from './enrich.js';
import { isOriginAllowed } from './origin.js';
import { forLocalPage, parseUserAgent } from './user-agent.js';
import { createSessionCache, reconcileSession, type SessionState } from './sessions.js';
import { rememberPlaced, type KnownSession } from './late-events.js';
import { createSiteCache, createSiteIdFinder } from './site-cache.js';
import { visitorSpan, type EventWriter } from './store.js';
import { createSessionLoader, loadKnownSessions } from './session-loader.js';
import { insertRejected, type RejectedRow } from '../storage/rejected.js';
import { findErasedEvents } from '../storage/erasure-tombstones.js';
import { canonicalEmail } from '../identity/canonical-email.js';
import { LIMITS } from '../../shared/limits.js';
import type { Site } from '../storage/sites.js';

export interface BeaconInput {
  text: string;
  origin: string | undefined;
  userAgent: string;
}

/** An event that was stored changed: values cut to their limit, parts dropped (salvage-event.ts). */
export interface RepairedEvent {
  index: number;
  id: string;
  message: string;
}

export type BeaconOutcome =
  | {
      ok: true;
      site: Site;
      accepted: number;
      duplicates: number;
      rejected: Array<{ index: number; id: string | null; message: string }>;
      repaired: RepairedEvent[];
    }
  | { ok: false; rejection: Rejection; site?: Site };

/** A raw body or event as the rejected store keeps it: its first 2,048 UTF-16 units, never half of an emoji, then `…`. */
export const truncateRaw = (text: string) => {
  if (text.length <= LIMITS.rejectedRawBytes) return text;
  // an emoji's first unit alone was stored as U+FFFD, a character the client never sent
  const split = (text.charCodeAt(LIMITS.rejectedRawBytes - 1) & 0xfc00) === 0xd800;
  return text.slice(0, LIMITS.rejectedRawBytes - (split ? 1 : 0)) + '…';
};

/** An event as it was sent, for the rejected store; JSON nested too deep to write back is described instead. */
export function rawEvent(value: unknown): string {
  try {
    return truncateRaw(JSON.stringify(value) ?? '');
  } catch {
    return '(not kept: nested too deep to serialize)';
  }
}

const NOTHING_HELD = () => {};

const NO_IDS: ReadonlySet<string> = new Set<string>();

export function createBeaconPipeline(deps: Deps, writer: EventWriter) {
  const findSite = createSiteCache(deps.db, 10_000, deps.now);
  const siteNamedById = createSiteIdFinder(deps.db, deps.now);
  const sessions = createSessionCache();
  // sessions late events were placed in, per visitor, until stored (a batch of the same visit may come before then;
  // afterwards storage knows them)
  const placedSessions = createSessionCache<KnownSession[]>(10_000);
  const readSession = createSessionLoader(deps.db);
  const loading = new Map<string, Promise<SessionState | null>>();

  // visitors with a write under way here, by how many: storage does not hold their remembered session yet
  const writing = new Map<string, number>();
  const holdWrite = (key: string) => {
    writing.set(key, (writing.get(key) ?? 0) + 1);
    return () => {
      const n = writing.get(key)! - 1;
      if (n) writing.set(key, n);
      else writing.delete(key);
    };
  };

  /**
   * The visitor's session before this request. The remembered one alone while a write of this visitor is under way
   * here; otherwise checked against storage (reconcileSession), which other collectors and erasure change too.
   */
  async function loadSession(siteId: string, visitorId: string): Promise<SessionState | null> {
    const key = siteId + '\u0000' + visitorId;
    const cached = sessions.get(key);
    if (cached && writing.has(key)) return cached;
    let p = loading.get(key);
    if (!p) {
      p = readSession(siteId, visitorId).finally(() => loading.delete(key));
      loading.set(key, p);
    }
    const loaded = await p;
    const now = sessions.get(key);
    // another request for this visitor enriched while we waited: its session is newer than the one read
    if (now !== cached) return now ?? loaded;
    const current = reconcileSession(cached ?? null, loaded);
    if (cached && current !== cached) {
      if (current) sessions.set(key, current);
      else sessions.delete(key);
    }
    return current;
  }

  /** Keeps a rejection in the rejected store and counts it; never throws. */
  async function keepRejected(rows: RejectedRow[]) {
    for (const r of rows) deps.metrics.inc('funnelbeam_events_rejected_total', { reason: r.reason });
    try {
      await insertRejected(deps.db, rows);
    } catch (err) {
      deps.log.error('could not store rejected input', { error: (err as Error).message });
    }
  }

  async function reject(rejection: Rejection, text: string, site?: Site): Promise<BeaconOutcome> {
    await keepRejected([{ siteId: site?.siteId ?? null, reason: rejection.reason, message: rejection.message, route: '/e', raw: truncateRaw(text), receivedAt: deps.now() }]);
    return { ok: false, rejection, site };
  }

  /** What was cut or dropped from an event, as the answer and the rejected store say it. */
  const repairMessage = (r: EventRepair) => r.notes.map((n) => `${n.path}: ${n.action} (${n.why})`).join('; ');

  /**
   * Counts the repairs, and keeps the events that lost a part (not merely a value's overlong tail) in the rejected
   * store as they were sent (reason `invalid_field`).
   */
  async function keepRepairs(repairs: EventRepair[], site: Site, receivedAt: number): Promise<void> {
    const dropped: RejectedRow[] = [];
    for (const r of repairs) {
      deps.metrics.inc('funnelbeam_event_parts_repaired_total', undefined, r.notes.length);
      if (r.notes.some((n) => n.action === 'dropped')) {
        dropped.push({ siteId: site.siteId, reason: 'invalid_field', message: repairMessage(r), route: '/e', raw: rawEvent(r.raw), receivedAt });
      }
    }
    if (dropped.length) await keepRejected(dropped);
  }

  /** Refused events of a device or email an erasure covers, at their time as sent (0 when it is unreadable), left out. */
  async function withoutErasedProblems(site: Site, visitorId: string, problems: EventProblem[]): Promise<EventProblem[]> {
    const erasable = problems.map((p) => {
      const raw = (p.raw ?? {}) as { t?: unknown; em?: unknown };
      return {
        siteId: site.siteId,
        visitorId,
        email: typeof raw.em === 'string' ? canonicalEmail(raw.em) : null,
        at: typeof raw.t === 'number' && Number.isFinite(raw.t) ? raw.t : 0,
      };
    });
    const { erased } = await findErasedEvents(deps.db, erasable).catch(() => ({ erased: new Set<number>() }));
    if (erased.size) deps.metrics.inc('funnelbeam_events_erased_total', undefined, erased.size);
    return erased.size ? problems.filter((_, i) => !erased.has(i)) : problems;
  }

  return async function ingestBeacon(input: BeaconInput): Promise<BeaconOutcome> {
    const receivedAt = deps.now();
    // 1. validate
    const parsed = parseBatch(input.text);
    if (!parsed.ok) {
      const site = parsed.siteKey ? ((await findSite(parsed.siteKey)) ?? (await siteNamedById(parsed.siteKey, input.origin))) ?? undefined : undefined;
      return reject(parsed.rejection, input.text, site);
    }
    const { batch } = parsed;
    // 2. resolve site
    const site = await findSite(batch.s);
    if (!site) {
      // the site id where the tag wants the key: refused all the same, but kept where the site's admin looks
      const named = await siteNamedById(batch.s, input.origin);
      if (named) {
        const message = `"${batch.s}" is a site id; data-site takes the site key (siteKey in npm run admin -- site list)`;
        return reject({ status: 404, reason: 'unknown_site', message }, input.text, named);
      }
      return reject({ status: 404, reason: 'unknown_site', message: `no site with key "${batch.s}"` }, input.text);
    }
    // 3. check origin
    if (!isOriginAllowed(input.origin, site)) {
      deps.metrics.inc('funnelbeam_cors_refused_total');
      return reject({ status: 403, reason: 'origin_not_allowed', message: `origin ${input.origin} may not send events for ${site.domain}` }, input.text, site);
    }
    // 4. enrich
    const key = site.siteId + '\u0000' + batch.v;
    let previous = await loadSession(site.siteId, batch.v);
    // late events outside the current session: the visitor's stored sessions near them (sessions.ts, LATE_EVENT_RULES)
    let stored: KnownSession[] = [];
    let span: { from: number; to: number } | null = null;
    for (let reads = 0; reads < 3; reads++) {
      // another request for this visitor may have enriched since our session was read (two requests sent at once
      // resume from one read): its session is the newer one
      previous = sessions.get(key) ?? previous;
      const want = lateEventSpan(batch, receivedAt, previous);
      if (!want || (span && span.from <= want.from && want.to <= span.to)) break;
      span = span ? { from: Math.min(span.from, want.from), to: Math.max(span.to, want.to) } : want;
      stored = await loadKnownSessions(deps.db, site.siteId, batch.v, span);
      // another request for this visitor may have enriched while we read
      previous = sessions.get(key) ?? previous;
    }
    const remembered = placedSessions.get(key);
    const known = stored.length ? [...(remembered ?? []), ...stored] : remembered;
    const ua = forLocalPage(parseUserAgent(input.userAgent), batch.l !== undefined);
    const enriched = enrichBatch({ site, batch, ua, receivedAt, session: previous, known });
    let placed: KnownSession[] | undefined;
    let release = NOTHING_HELD;
    if (enriched.events.length) {
      // at once, before any wait: the next request of this visitor enriches on top of this one
      sessions.set(key, enriched.session);
      // until its write is answered (the steps before it never throw)
      release = holdWrite(key);
      if (enriched.placed.length) placedSessions.set(key, (placed = rememberPlaced(remembered, enriched.placed)));
    }
    // 5. store (attribution runs inside the same commit): handed to the writer at once, before any wait, so the writer
    // gets a visitor's requests in the order they were enriched. The next request of this visitor is enriched on top of
    // this one (above): written first, its copy of an event both carry (a landing view the pagehide beacon resends
    // while the page's fetch is being handled) would be the one stored, enriched as a later page of the visit this
    // request opens, and that visit would have no opening event (the lead's last touch left on the visit before:
    // test/ingest/resent-opener-race.test.ts)
    // the span's fields one by one: a spread inside the literal costs about a microsecond and makes a slower object
    const seen = enriched.events.length ? visitorSpan(enriched.events) : null;
    const written = seen
      ? writer
          .write({
            events: enriched.events,
            visitor: {
              siteId: site.siteId,
              visitorId: batch.v,
              firstSeen: seen.firstSeen,
              lastSeen: seen.lastSeen,
              firstTouch: seen.firstTouch,
              lastTouch: seen.lastTouch,
              session: enriched.session,
              newSessions: enriched.newSessions,
              browser: ua.browser,
              os: ua.os,
              device: ua.device,
              isBot: ua.isBot,
              // what a flush on PostgreSQL checks a session opened here against (store.ts joinConcurrentSessions)
              basedOn: previous ? { sessionId: previous.sessionId, started: previous.started, lastSeen: previous.lastSeen } : null,
            },
            // sessions its late events merged: the flush merges them in storage (session-bridge.ts)
            merges: enriched.merges,
          })
          .finally(() => {
            release();
            // stored (or refused): storage alone knows these sessions now, unless a later request remembered more since
            if (placed && placedSessions.get(key) === placed) placedSessions.delete(key);
          })
      : null;
    // (awaited below; a lookup below that throws leaves it settling on its own, not an unhandled rejection)
    written?.catch(() => {});
    const problems: EventProblem[] = [...parsed.problems];
    // an outbox resent after a week: a beacon has no answer, so the snippet keeps what it sent when its page was left
    // until the next visit's first answered send. Those of its events stored when they were fresh are duplicates (a
    // retried event is stored once), not bad input: neither refused nor kept in the rejected store
    const storedOld = enriched.tooOld.length ? new Set((await findStoredEvents(deps.db, site.siteId, enriched.tooOld.map((w) => w.i))).keys()) : NO_IDS;
    if (storedOld.size) deps.metrics.inc('funnelbeam_events_duplicate_total', undefined, storedOld.size);
    for (const w of enriched.tooOld) {
      if (storedOld.has(w.i)) continue;
      // its index in the batch as sent (events refused by validation are not in batch.e)
      const index = parsed.indexes[batch.e.indexOf(w)];
      problems.push({ index, eventId: w.i, raw: w, message: `e.${index}.t: event ${w.i} is older than ${LIMITS.maxAgeMs / 86_400_000} days` });
    }
    problems.sort((a, b) => a.index - b.index);
    if (problems.length) {
      // an erased lead's outbox resent: its refused events (too old by now, say) are not kept either (erasure-tombstones.ts)
      const kept = await withoutErasedProblems(site, batch.v, problems);
      if (kept.length) {
        await keepRejected(
          kept.map((p) => ({ siteId: site.siteId, reason: 'invalid_event', message: p.message, route: '/e', raw: rawEvent(p.raw), receivedAt })),
        );
      }
    }
    const rejected = problems.map((p) => ({ index: p.index, id: p.eventId, message: p.message }));
    const repaired: RepairedEvent[] = parsed.repairs.map((r) => ({ index: r.index, id: r.eventId, message: repairMessage(r) }));
    if (!written) {
      // nothing new: an old outbox whose events are stored (duplicates, their repairs kept when they were stored),
      // beside any refused (listed in `rejected`, kept above)
      if (storedOld.size) return { ok: true, site, accepted: 0, duplicates: storedOld.size, rejected, repaired };
      await keepRepairs(parsed.repairs, site, receivedAt);
      return { ok: false, site, rejection: { status: 400, reason: 'invalid_event', message: problems[0]?.message ?? 'no valid events', siteId: site.siteId } };
    }
    const result = await written;
    // the flush moved this request into the session another collector opened for the same visit at the same moment:
    // the next request continues that one (unless a later request of this visitor remembered more since)
    if (result.session && sessions.get(key) === enriched.session) sessions.set(key, result.session);
    // a retry that stored nothing new (an outbox resent) was explained when its first copy was stored; so was an event
    // resent beside new ones (the outbox a beacon sent, with the next page's events), and an erased one never is
    if (result.stored > 0 && parsed.repairs.length) {
      const skipped = result.notStored && new Set(result.notStored);
      await keepRepairs(parsed.repairs.filter((r) => !storedOld.has(r.eventId) && !(skipped && skipped.has(r.eventId))), site, receivedAt);
    }
    return { ok: true, site, accepted: result.stored, duplicates: result.duplicates + storedOld.size, rejected, repaired };
  };
}
