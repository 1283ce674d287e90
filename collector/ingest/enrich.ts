// Step 2 of POST /e: turn valid wire events into enriched events (user agent, channel, UTM, session). Pure.
import { LIMITS } from '../../shared/limits.js';
import { AUTO_EVENTS, CLICK_IDS, UTM_KEYS } from '../../shared/events.js';
import type { WireBatch, WireEvent, WireTouch } from '../../shared/wire.js';
import type { Site } from '../storage/sites.js';
import type { EnrichedEvent, Touch } from './types.js';
import { classifyChannel } from './channels.js';
import { campaignKey, nextSession, type SessionState } from './sessions.js';
import { isInCurrentSession, lateEventContext, placeLateEvents, type KnownSession, type SessionMerge } from './late-events.js';
import { batchSkew } from './device-clock.js';
import { redactTouch, redactUrl } from './redact-url.js';
import { siteDomains } from './origin.js';
import type { UserAgentInfo } from './user-agent.js';
import { canonicalEmail } from '../identity/canonical-email.js';
import { remembered } from './remember.js';
import { firstChars } from './salvage-event.js';
import { parsePageUrl } from './page-url.js';

export interface EnrichInput {
  site: Site;
  batch: WireBatch;
  ua: UserAgentInfo;
  receivedAt: number;
  /** the visitor's session before this batch (from cache or storage) */
  session: SessionState | null;
  /**
   * the visitor's other sessions known near this batch's late events: remembered from earlier batches, and read back
   * from storage (lateEventSpan says when and where)
   */
  known?: readonly KnownSession[];
}

export interface EnrichOutput {
  events: EnrichedEvent[];
  /** the visitor's session after this batch */
  session: SessionState;
  /** sessions this batch opened */
  newSessions: number;
  /** events dropped as too old, with the reason */
  tooOld: WireEvent[];
  /** sessions this batch's late events were placed in outside the current one (to remember until they are stored) */
  placed: readonly KnownSession[];
  /** sessions this batch's late events merged, the later into the earlier (late-events.ts): the flush merges them stored */
  merges: readonly SessionMerge[];
}

/**
 * Path of a page URL; `#/route` hash routes count as paths (`/app#/pricing` → `/app/pricing`). A site's page addresses
 * repeat: each is parsed once while remembered (about 1 µs an event on node 20).
 */
export const pathOf = remembered((url: string): string => {
  try {
    const u = parsePageUrl(url);
    const base = u.pathname || '/';
    // hash routes: #/path and hash-bang #!/path
    const route = u.hash.replace(/^#!/, '#');
    if (route.startsWith('#/')) return base.replace(/\/$/, '') + route.slice(1).replace(/[?].*$/, '');
    return base;
  } catch {
    return '';
  }
}, 1024);

/** The query parameters a landing URL's touch takes. */
const TOUCH_PARAMS = [...UTM_KEYS, ...CLICK_IDS];

/** A touch read from a landing URL and its referrer, for events that carry none. */
export function touchFromUrl(url: string, referrer: string | undefined, at: number): WireTouch {
  const touch: WireTouch = { url, at };
  if (referrer) touch.ref = referrer;
  // only a '?' starts a query: most page URLs hold none and are not parsed (this runs for every event)
  if (!url.includes('?')) return touch;
  try {
    const params = parsePageUrl(url).searchParams;
    for (const k of TOUCH_PARAMS) {
      // a parameter given twice (`utm_source=a&utm_source=b`): its last value that is not empty, as the snippet reads it
      const v = params.getAll(k).filter(Boolean).at(-1);
      if (v) touch[k] = firstChars(v, LIMITS.valueChars);
    }
  } catch {
    /* not a URL: no parameters */
  }
  return touch;
}

/** When the engaged time an `engagement` event reports began (`p.seconds` before it); `at` for other events. */
function engagedSince(w: WireEvent, at: number): number {
  const seconds = w.n === AUTO_EVENTS.engagement ? w.p?.seconds : undefined;
  return typeof seconds === 'number' && seconds > 0 ? at - seconds * 1000 : at;
}

/**
 * The touch with its channel. Copied key by key: `{ ...t, channel }` cost 1.3–2.8 µs a touch more on node 20 (the
 * spread of a touch whose keys vary takes V8's slow path).
 */
function withChannel(t: WireTouch | undefined, siteHosts: readonly string[]): Touch | null {
  if (!t) return null;
  const out: Record<string, unknown> = {};
  // a touch is a plain object (parsed JSON or built here): it inherits no enumerable key
  for (const k in t) out[k] = t[k as keyof WireTouch];
  out.channel = classifyChannel(t, siteHosts);
  return out as Touch;
}

/** Props as stored (none when empty): a link's URL (`url` of downloads and outbound clicks) redacted like a page's. */
function propsOf(p: WireEvent['p']): NonNullable<WireEvent['p']> | null {
  if (!p || !Object.keys(p).length) return null;
  const url = typeof p.url === 'string' ? redactUrl(p.url) : p.url;
  return url === p.url ? p : { ...p, url };
}

/** A touch the device stamped, on the collector's clock. */
const onOurClock = (t: WireTouch | undefined, skew: number): WireTouch | undefined =>
  t && skew && typeof t.at === 'number' ? { ...t, at: t.at - skew } : t;

/** An event's time on the collector's clock, cut to the future limit. */
const eventTime = (w: WireEvent, skew: number, receivedAt: number) => Math.min(w.t - skew, receivedAt + LIMITS.futureSkewMs);
const isTooOld = (at: number, receivedAt: number) => at < receivedAt - LIMITS.maxAgeMs;

/** A wire event read for enrichment: addresses redacted, touches on our clock, the session touch it offers. */
function readEvent(w0: WireEvent, at: number, skew: number) {
  // nothing sensitive from a page address is kept (redact-url.ts); the path is read from the address as sent
  const url = redactUrl(w0.u);
  const referrer = w0.r && redactUrl(w0.r);
  const ft = redactTouch(onOurClock(w0.ft, skew));
  const st = redactTouch(onOurClock(w0.st, skew));
  const w = ft === w0.ft && st === w0.st ? w0 : { ...w0, ft, st };
  const candidate = w.st ?? redactTouch(touchFromUrl(w.u, w.r, at));
  // an engagement event measures its view: the visitor was active all along, and no campaign starts with it
  const since = engagedSince(w, at);
  return { w, at, url, referrer, candidate, since, campaign: since < at ? '' : campaignKey(candidate) };
}

/**
 * The times of stored events this batch's late events need to find their sessions (sessions.ts, LATE_EVENT_RULES), or
 * null when no event needs any: most batches hold no late event, and those that fall in the current session need none.
 */
export function lateEventSpan(batch: WireBatch, receivedAt: number, session: SessionState | null): { from: number; to: number } | null {
  if (!session) return null;
  const skew = batchSkew(batch, receivedAt);
  let times: number[] | undefined;
  for (const w of batch.e) {
    const at = eventTime(w, skew, receivedAt);
    if (at >= session.lastSeen || isTooOld(at, receivedAt)) continue;
    if (at >= session.started && isInCurrentSession(session, at, readEvent(w, at, skew).campaign)) continue;
    (times ??= []).push(engagedSince(w, at), at);
  }
  return times ? lateEventContext(times) : null;
}

const NONE: readonly never[] = Object.freeze([]);

export function enrichBatch(input: EnrichInput): EnrichOutput {
  const { site, batch, ua, receivedAt } = input;
  // a visit from another of the site's own domains (the extra origins it admits: its app, its shop) is no referral
  const ownHosts = siteDomains(site);
  let session = input.session;
  let newSessions = 0;
  const events: EnrichedEvent[] = [];
  const tooOld: WireEvent[] = [];
  // Oldest first, so sessions open in order even when the snippet flushes retried events with new ones.
  const wire = [...batch.e].sort((a, b) => a.t - b.t);
  // the device's clock, when the batch says how far off it runs (device-clock.ts): corrected before any session rule
  const skew = batchSkew(batch, receivedAt);
  const read: Array<ReturnType<typeof readEvent>> = [];
  for (const w0 of wire) {
    const at = eventTime(w0, skew, receivedAt);
    if (isTooOld(at, receivedAt)) tooOld.push(w0);
    else read.push(readEvent(w0, at, skew));
  }
  // late events (older than the visitor's last activity) come first, and are placed together (sessions.ts)
  let lateCount = 0;
  while (session && lateCount < read.length && read[lateCount].at < session.lastSeen) lateCount++;
  const ownTouches = lateCount ? read.slice(0, lateCount).map((r) => withChannel(r.candidate, ownHosts)) : [];
  const late = lateCount
    ? placeLateEvents(session!, input.known ?? [], batch.v, read.slice(0, lateCount).map((r, k) => ({
        at: r.at,
        since: r.since,
        campaign: r.campaign,
        touch: ownTouches[k],
        // its times on the device's clock: one made after the visit's last activity there is placed as sent in time
        device: { at: r.w.t, since: engagedSince(r.w, r.w.t) },
      })))
    : null;
  // a late event that bridged the current session to an earlier one: the visit goes on in the earlier one
  if (late) session = late.current;
  // a late event placed in the current session that the device made after every event before it (the device's clock
  // moved between two batches, so the batch's correction put it before the visit's last activity) is the device's
  // latest activity: the next event's idle time on the device's clock runs from it. An engagement event extends nothing.
  if (late && session && session.deviceSeen !== undefined) {
    let deviceSeen = session.deviceSeen;
    for (let k = 0; k < lateCount; k++) {
      if (read[k].since === read[k].at && late.placements[k].sessionId === session.sessionId) deviceSeen = Math.max(deviceSeen, read[k].w.t);
    }
    if (deviceSeen !== session.deviceSeen) session = { ...session, deviceSeen };
  }
  for (let k = 0; k < read.length; k++) {
    const { w, at, url, referrer, candidate, since, campaign } = read[k];
    let sessionId: string;
    let isNew: boolean;
    let sessionTouch: Touch | null;
    if (k < lateCount) {
      const placed = late!.placements[k];
      ({ sessionId, isNew } = placed);
      // an event without a session touch of its own (or measuring its view) takes its session's
      sessionTouch = (w.st && since === at) || isNew || !placed.touch ? ownTouches[k] : placed.touch;
    } else {
      const next = nextSession(session, batch.v, at, campaign, since, { at: w.t, since: engagedSince(w, w.t) });
      ({ sessionId, isNew } = next);
      sessionTouch = (w.st && since === at) || next.isNew || !next.state.touch ? withChannel(candidate, ownHosts) : (next.state.touch as Touch);
      if (next.isNew && next.state.sessionId === sessionId) next.state.touch = sessionTouch;
      session = next.state;
    }
    const firstTouch = withChannel(w.ft, ownHosts) ?? sessionTouch;
    if (isNew) newSessions++;
    const clickId = CLICK_IDS.find((id) => sessionTouch?.[id]) ?? null;
    events.push({
      siteId: site.siteId,
      eventId: w.i,
      visitorId: batch.v,
      leadId: null,
      sessionId,
      name: w.n,
      at,
      receivedAt,
      source: 'web',
      url,
      path: pathOf(w.u),
      referrer: referrer ?? '',
      props: propsOf(w.p),
      form: w.f ?? null,
      email: w.em ? canonicalEmail(w.em) : null,
      traits: w.tr && Object.keys(w.tr).length ? w.tr : null,
      channel: sessionTouch?.channel ?? 'direct',
      utmSource: sessionTouch?.utm_source ?? null,
      utmMedium: sessionTouch?.utm_medium ?? null,
      utmCampaign: sessionTouch?.utm_campaign ?? null,
      utmTerm: sessionTouch?.utm_term ?? null,
      utmContent: sessionTouch?.utm_content ?? null,
      clickId,
      // the visitor's first touch rides on session-opening events only (the visitor row keeps it too)
      firstTouch: isNew ? firstTouch : null,
      sessionTouch,
      browser: ua.browser,
      os: ua.os,
      device: ua.device,
      isBot: ua.isBot,
    });
  }
  return { events, session: session as SessionState, newSessions, tooOld, placed: late?.placed ?? NONE, merges: late?.merges ?? NONE };
}
