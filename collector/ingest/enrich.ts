// Step 2 of POST /e: turn valid wire events into enriched events (user agent, channel, UTM, session). Pure.
import { LIMITS, SESSION_TIMEOUT_MS } from '../../shared/limits.js';
import { AUTO_EVENTS, CLICK_IDS, UTM_KEYS } from '../../shared/events.js';
import type { WireBatch, WireEvent, WireTouch } from '../../shared/wire.js';
import type { Site } from '../storage/sites.js';
import type { EnrichedEvent, Touch } from './types.js';
import { classifyChannel } from './channels.js';
import { campaignKey, nextSession, type SessionState } from './sessions.js';
import { clockSkew } from './device-clock.js';
import { redactTouch, redactUrl } from './redact-url.js';
import type { UserAgentInfo } from './user-agent.js';

export interface EnrichInput {
  site: Site;
  batch: WireBatch;
  ua: UserAgentInfo;
  receivedAt: number;
  /** the visitor's session before this batch (from cache or storage) */
  session: SessionState | null;
}

export interface EnrichOutput {
  events: EnrichedEvent[];
  /** the visitor's session after this batch */
  session: SessionState;
  /** sessions this batch opened */
  newSessions: number;
  /** events dropped as too old, with the reason */
  tooOld: WireEvent[];
}

/** Path of a page URL; `#/route` hash routes count as paths (`/app#/pricing` → `/app/pricing`). */
export function pathOf(url: string): string {
  try {
    const u = new URL(url);
    const base = u.pathname || '/';
    // hash routes: #/path and hash-bang #!/path
    const route = u.hash.replace(/^#!/, '#');
    if (route.startsWith('#/')) return base.replace(/\/$/, '') + route.slice(1).replace(/[?].*$/, '');
    return base;
  } catch {
    return '';
  }
}

/** A touch read from a landing URL and its referrer, for events that carry none. */
export function touchFromUrl(url: string, referrer: string | undefined, at: number): WireTouch {
  const touch: WireTouch = { url, at };
  if (referrer) touch.ref = referrer;
  try {
    const params = new URL(url).searchParams;
    for (const k of [...UTM_KEYS, ...CLICK_IDS]) {
      const v = params.get(k);
      if (v) touch[k] = v.slice(0, LIMITS.valueChars);
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

const withChannel = (t: WireTouch | undefined, siteHost: string): Touch | null => (t ? { ...t, channel: classifyChannel(t, siteHost) } : null);

/** Props as stored (none when empty): a link's URL (`url` of downloads and outbound clicks) redacted like a page's. */
function propsOf(p: WireEvent['p']): NonNullable<WireEvent['p']> | null {
  if (!p || !Object.keys(p).length) return null;
  const url = typeof p.url === 'string' ? redactUrl(p.url) : p.url;
  return url === p.url ? p : { ...p, url };
}

/** A touch the device stamped, on the collector's clock. */
const onOurClock = (t: WireTouch | undefined, skew: number): WireTouch | undefined =>
  t && skew && typeof t.at === 'number' ? { ...t, at: t.at - skew } : t;

export function enrichBatch(input: EnrichInput): EnrichOutput {
  const { site, batch, ua, receivedAt } = input;
  let session = input.session;
  let newSessions = 0;
  const events: EnrichedEvent[] = [];
  const tooOld: WireEvent[] = [];
  // Oldest first, so sessions open in order even when the snippet flushes retried events with new ones.
  const wire = [...batch.e].sort((a, b) => a.t - b.t);
  // late events of one earlier visit sent together (an outbox flushed out of order) are one past session, not one each
  let past: { sessionId: string; lastSeen: number; touch: Touch | null } | null = null;
  // the device's clock, when the batch says how far off it runs (device-clock.ts)
  const skew = clockSkew(batch.t, receivedAt);
  for (const w0 of wire) {
    const at = Math.min(w0.t - skew, receivedAt + LIMITS.futureSkewMs);
    if (at < receivedAt - LIMITS.maxAgeMs) {
      tooOld.push(w0);
      continue;
    }
    // nothing sensitive from a page address is kept (redact-url.ts); the path is read from the address as sent
    const url = redactUrl(w0.u);
    const referrer = w0.r && redactUrl(w0.r);
    const ft = redactTouch(onOurClock(w0.ft, skew));
    const st = redactTouch(onOurClock(w0.st, skew));
    const w = ft === w0.ft && st === w0.st ? w0 : { ...w0, ft, st };
    const candidate = w.st ?? redactTouch(touchFromUrl(w.u, w.r, at));
    // an engagement event measures its view: the visitor was active all along, and no campaign starts with it
    const since = engagedSince(w, at);
    let next = nextSession(session, batch.v, at, since < at ? '' : campaignKey(candidate), since, { at: w.t, since: engagedSince(w, w.t) });
    // a late event opening a past session (the current one is not moved): the next late ones of that visit join it
    const opensPast = next.isNew && next.state.sessionId !== next.sessionId;
    const joinsPast: boolean = opensPast && past !== null && at - past.lastSeen <= SESSION_TIMEOUT_MS;
    if (joinsPast) next = { ...next, sessionId: past!.sessionId, isNew: false };
    // an event without a session touch of its own (or measuring its view) belongs to its session's touch
    const sessionTouch: Touch | null = joinsPast
      ? w.st && since === at ? withChannel(candidate, site.domain) : past!.touch
      : (w.st && since === at) || next.isNew || !next.state.touch ? withChannel(candidate, site.domain) : (next.state.touch as Touch);
    if (joinsPast) past!.lastSeen = at;
    else if (opensPast) past = { sessionId: next.sessionId, lastSeen: at, touch: sessionTouch };
    if (next.isNew && next.state.sessionId === next.sessionId) next.state.touch = sessionTouch;
    const firstTouch = withChannel(w.ft, site.domain) ?? sessionTouch;
    session = next.state;
    if (next.isNew) newSessions++;
    const clickId = CLICK_IDS.find((k) => sessionTouch?.[k]) ?? null;
    events.push({
      siteId: site.siteId,
      eventId: w.i,
      visitorId: batch.v,
      leadId: null,
      sessionId: next.sessionId,
      name: w.n,
      at,
      receivedAt,
      source: 'web',
      url,
      path: pathOf(w.u),
      referrer: referrer ?? '',
      props: propsOf(w.p),
      form: w.f ?? null,
      email: w.em ? w.em.trim().toLowerCase() : null,
      traits: w.tr && Object.keys(w.tr).length ? w.tr : null,
      channel: sessionTouch?.channel ?? 'direct',
      utmSource: sessionTouch?.utm_source ?? null,
      utmMedium: sessionTouch?.utm_medium ?? null,
      utmCampaign: sessionTouch?.utm_campaign ?? null,
      utmTerm: sessionTouch?.utm_term ?? null,
      utmContent: sessionTouch?.utm_content ?? null,
      clickId,
      // the visitor's first touch rides on session-opening events only (the visitor row keeps it too)
      firstTouch: next.isNew ? firstTouch : null,
      sessionTouch,
      browser: ua.browser,
      os: ua.os,
      device: ua.device,
      isBot: ua.isBot,
    });
  }
  return { events, session: session as SessionState, newSessions, tooOld };
}
