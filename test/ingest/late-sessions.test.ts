// Late events (an outbox flushed out of order, a device back online) find the session they belong to: the rules alone
// (pure), then across batches, across a collector restart, and among the visitor's stored sessions, on every engine.
import { afterEach, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { enrichBatch, lateEventSpan } from '../../collector/ingest/enrich.js';
import { parseUserAgent } from '../../collector/ingest/user-agent.js';
import { campaignKey, nextSession, sessionIdFor, type SessionState } from '../../collector/ingest/sessions.js';
import { campaignAsStored, knownSessionsOf, LATE_EVENT_RULES, placeLateEvents, rememberPlaced, type KnownSession, type LateEvent } from '../../collector/ingest/late-events.js';
import { listVisitorSessionEvents } from '../../collector/storage/events.js';
import type { Site } from '../../collector/storage/sites.js';
import type { WireBatch, WireEvent, WireTouch } from '../../shared/wire.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { HOUR, MIN, T0 } from '../helpers/funnel-factories.js';

interface Sent {
  t: number;
  path?: string;
  n?: string;
  i?: string;
  st?: WireTouch;
  p?: WireEvent['p'];
}

/** A visit of `n` page views `gap` apart from `start`. */
const visitAt = (start: number, n: number, gap = 10 * MIN, path = '/blog/a'): Sent[] => Array.from({ length: n }, (_, k) => ({ t: start + k * gap, path }));

const V = 'v1';
const SPRING = 'news|email|spring||||||';
/** The current session: opened at `started`, last active at `lastSeen`. */
const current = (started: number, lastSeen: number, campaign = ''): SessionState => ({ sessionId: sessionIdFor(V, started), started, lastSeen, campaign });
const known = (started: number, times: number[], campaign = ''): KnownSession => ({ sessionId: sessionIdFor(V, started), campaign: campaignAsStored(campaign), touch: { channel: 'direct' }, times });
const late = (...events: Array<number | [number, string]>): LateEvent[] =>
  events.map((e) => (typeof e === 'number' ? { at: e, campaign: '', touch: null } : { at: e[0], campaign: e[1], touch: null }));
const place = (cur: SessionState, k: KnownSession[], events: LateEvent[]) => placeLateEvents(cur, k, V, events).placements.map((p) => [p.rule, p.sessionId]);

describe('placeLateEvents: where a late event goes (sessions.ts, rules as data)', () => {
  const now = current(300 * MIN, 310 * MIN);
  const visit = known(0, [0, 20 * MIN]);

  test('the rules are data, in order: current, between, continues, precedes; 30 minutes is the longest gap', () => {
    expect(LATE_EVENT_RULES.map((r) => [r.id, r.withinMs ?? null, r.campaign])).toEqual([
      ['current', null, 'none_or_same'], ['between', null, 'none_or_same'], ['continues', 30 * MIN, 'none_or_same'], ['precedes', 30 * MIN, 'same'],
    ]);
  });

  test('within the current session it joins it, whatever else is known (no stored events needed)', () => {
    expect(place(now, [visit], late(305 * MIN))).toEqual([['current', now.sessionId]]);
  });

  test('between two known events of one session it joins that session, even far from both', () => {
    const long = known(0, [0, 70 * MIN]);
    expect(place(now, [long], late(35 * MIN))).toEqual([['between', long.sessionId]]);
  });

  test('up to 30 minutes after a known event it continues that event\'s session; 30 minutes and 1 ms after, it opens its own', () => {
    expect(place(now, [visit], late(50 * MIN))).toEqual([['continues', visit.sessionId]]);
    expect(place(now, [visit], late(50 * MIN + 1))).toEqual([['opens', sessionIdFor(V, 50 * MIN + 1)]]);
  });

  test('a late engagement event continues the session of the view it measures, though it ends more than 30 minutes on', () => {
    const view = known(200 * MIN, [200 * MIN]);
    const read = { at: 240 * MIN, since: 200 * MIN, campaign: '', touch: null };
    expect(place(current(250 * MIN, 260 * MIN), [view], [read])).toEqual([['continues', view.sessionId]]);
    // the same time as a page view: it reaches the next session instead
    expect(place(current(250 * MIN, 260 * MIN), [view], late(240 * MIN))).toEqual([['precedes', sessionIdFor(V, 250 * MIN)]]);
  });

  test('up to 30 minutes before a session\'s first known event it joins it (the current one too)', () => {
    const later = known(100 * MIN, [100 * MIN, 110 * MIN]);
    expect(place(now, [later], late(70 * MIN))).toEqual([['precedes', later.sessionId]]);
    expect(place(now, [later], late(70 * MIN - 1))[0][0]).toBe('opens');
    expect(place(now, [], late(270 * MIN))).toEqual([['precedes', now.sessionId]]);
  });

  test('a run of late events that ends within 30 minutes of a session\'s first event joins it from its first event on', () => {
    const later = known(100 * MIN, [100 * MIN]);
    const run = late(20 * MIN, 45 * MIN, 70 * MIN);
    expect(place(now, [later], run)).toEqual([['precedes', later.sessionId], ['between', later.sessionId], ['between', later.sessionId]]);
    // a gap of 31 minutes in the run: its first part opens a session of its own, which the rest cannot reach
    const broken = place(now, [later], late(20 * MIN, 51 * MIN + 1, 70 * MIN));
    expect(broken.map((p) => p[0])).toEqual(['opens', 'precedes', 'between']);
  });

  test('the nearest known event decides: no session is joined across another', () => {
    const other = known(25 * MIN, [25 * MIN], SPRING);
    // 5 minutes after a spring session's only event, 25 after the visit's last: it continues spring, never the visit
    expect(place(now, [visit, other], late(30 * MIN))).toEqual([['continues', other.sessionId]]);
  });

  test('campaigns: one of its own joins only that campaign\'s session; one without continues any, precedes only one without', () => {
    const spring = known(100 * MIN, [100 * MIN, 110 * MIN], SPRING);
    expect(place(now, [visit], late([10 * MIN, SPRING]))[0][0]).toBe('opens');
    expect(place(now, [spring], late([105 * MIN, SPRING]))).toEqual([['between', spring.sessionId]]);
    expect(place(now, [spring], late(115 * MIN))).toEqual([['continues', spring.sessionId]]);
    expect(place(now, [spring], late(90 * MIN))[0][0]).toBe('opens');
    expect(place(now, [spring], late([90 * MIN, SPRING]))).toEqual([['precedes', spring.sessionId]]);
    expect(place(current(300 * MIN, 310 * MIN, SPRING), [], late(305 * MIN))[0][0]).toBe('current');
    expect(place(now, [], late([305 * MIN, SPRING]))[0][0]).toBe('opens');
  });

  test('campaigns compare as stored: source, medium, name and which click id, not its value', () => {
    expect(campaignAsStored(campaignKey({ utm_source: 'g', gclid: 'abc' }))).toBe('g|||gclid');
    expect(campaignAsStored(campaignKey({ utm_source: 'g', gclid: 'gclid' }))).toBe('g|||gclid');
    expect(campaignAsStored(campaignKey({ ref: 'https://x.example' }))).toBe('');
    expect(campaignAsStored(campaignKey({ utm_campaign: 'a|b', fbclid: 'f' }))).toBe('||a|b|fbclid');
  });

  test('late events of one visit chain to each other in the batch, and what they opened is given back to remember', () => {
    const out = placeLateEvents(now, [], V, late(0, 10 * MIN, 20 * MIN));
    expect(out.placements.map((p) => [p.rule, p.isNew])).toEqual([['opens', true], ['continues', false], ['continues', false]]);
    expect(out.placed).toEqual([{ sessionId: sessionIdFor(V, 0), campaign: '', touch: null, times: [0, 10 * MIN, 20 * MIN] }]);
    // the next batch of that visit, knowing only what was remembered: the same session, nothing opened
    const next = placeLateEvents(now, rememberPlaced(undefined, out.placed), V, late(30 * MIN, 40 * MIN));
    expect(next.placements.map((p) => [p.rule, p.sessionId])).toEqual([['continues', sessionIdFor(V, 0)], ['continues', sessionIdFor(V, 0)]]);
  });

  test('a late event at a known event\'s time (a retry) joins that event\'s session', () => {
    const past = known(40 * MIN, [40 * MIN, 45 * MIN]);
    expect(place(now, [past], late(40 * MIN))).toEqual([['between', past.sessionId]]);
    expect(place(now, [past], late(45 * MIN))).toEqual([['continues', past.sessionId]]);
  });

  test('a session it opens never takes the name of a known one', () => {
    const spring = known(100 * MIN, [100 * MIN], SPRING);
    expect(place(now, [spring], late([100 * MIN, 'bing|cpc|x||||||']))).toEqual([['opens', sessionIdFor(V, 100 * MIN + 1)]]);
  });

  test('nextSession places a lone late event by the same rules, without moving the current session', () => {
    const r = nextSession(now, V, 280 * MIN, '');
    expect(r).toMatchObject({ isNew: false, sessionId: now.sessionId });
    expect(r.state).toBe(now);
    expect(nextSession(now, V, 280 * MIN, SPRING).isNew).toBe(true);
  });

  test('knownSessionsOf reads sessions from stored events: times, and the campaign of any event that has one', () => {
    const ev = (sessionId: string, at: number, touch: Record<string, string>) => ({ sessionId, at, touch: { channel: 'direct' as const, ...touch } });
    expect(knownSessionsOf([ev('a', 1, {}), ev('b', 2, { utm_source: 'x' }), ev('a', 3, { utm_source: 'n', gclid: 'gclid' })])).toEqual([
      { sessionId: 'a', campaign: 'n|||gclid', touch: { channel: 'direct', utm_source: 'n', gclid: 'gclid' }, times: [1, 3] },
      { sessionId: 'b', campaign: 'x|||', touch: { channel: 'direct', utm_source: 'x' }, times: [2] },
    ]);
  });

  test('rememberPlaced keeps the latest placed first, merges a session placed twice, and stays bounded', () => {
    const a = known(0, [0]);
    const b = known(MIN, [MIN]);
    expect(rememberPlaced([a], [b, { ...a, times: [2 * MIN] }]).map((s) => [s.sessionId, s.times])).toEqual([[b.sessionId, [MIN]], [a.sessionId, [0, 2 * MIN]]]);
    const many = Array.from({ length: 40 }, (_, k) => known(k, Array.from({ length: 100 }, (_, t) => k + t)));
    const kept = rememberPlaced([], many);
    expect(kept).toHaveLength(16);
    expect(Math.max(...kept.map((s) => s.times.length))).toBe(64);
  });
});

describe('enrichBatch and lateEventSpan with late events', () => {
  const site: Site = { siteId: 's1', siteKey: 'k', domain: '127.0.0.1', name: 'x', settings: {}, createdAt: 0 };
  const ua = parseUserAgent(CHROME_UA);
  const NOW = T0 + 5 * HOUR;
  const batchOf = (events: Sent[], t?: number): WireBatch => ({
    s: 'k', v: V, e: events.map((x) => ({ i: x.i ?? randomId(), n: x.n ?? 'pageview', t: x.t, u: `http://127.0.0.1${x.path ?? '/'}`, ...(x.st ? { st: x.st } : {}), ...(x.p ? { p: x.p } : {}) })), ...(t === undefined ? {} : { t }),
  });
  const now = enrichBatch({ site, ua, receivedAt: NOW, session: null, batch: batchOf([{ t: NOW - 10 * MIN }, { t: NOW }]) }).session;

  test('an in-order batch, or late events within the current session, need no stored events', () => {
    expect(lateEventSpan(batchOf([{ t: NOW + MIN }]), NOW + MIN, now)).toBeNull();
    expect(lateEventSpan(batchOf([{ t: NOW - 5 * MIN }]), NOW, now)).toBeNull();
    expect(lateEventSpan(batchOf([{ t: NOW }]), NOW, null)).toBeNull();
  });

  test('late events before the current session need the stored events 30 minutes around them, on the corrected clock', () => {
    expect(lateEventSpan(batchOf([{ t: T0 }, { t: T0 + HOUR }, { t: NOW }]), NOW, now)).toEqual({ from: T0 - 30 * MIN, to: T0 + 90 * MIN });
    // an engagement event: from the time its view began
    expect(lateEventSpan(batchOf([{ t: T0 + HOUR, n: 'engagement', p: { seconds: 3600 } }]), NOW, now)).toEqual({ from: T0 - 30 * MIN, to: T0 + 90 * MIN });
    // the device's clock runs 2 hours fast: its times move back before any session rule
    expect(lateEventSpan(batchOf([{ t: T0 + 2 * HOUR }], NOW + 2 * HOUR), NOW, now)).toEqual({ from: T0 - 30 * MIN, to: T0 + 30 * MIN });
    // a late event with another campaign inside the current session needs them too
    const spring = { utm_source: 'news', utm_medium: 'email', utm_campaign: 'spring' };
    expect(lateEventSpan(batchOf([{ t: NOW - 5 * MIN, st: spring }]), NOW, now)).toEqual({ from: NOW - 35 * MIN, to: NOW + 25 * MIN });
  });

  test('two batches of one past visit: the second joins the session the first opened, knowing what the first placed', () => {
    const a = enrichBatch({ site, ua, receivedAt: NOW, session: now, batch: batchOf(visitAt(T0, 3)) });
    expect(a.newSessions).toBe(1);
    expect(new Set(a.events.map((e) => e.sessionId)).size).toBe(1);
    expect(a.session).toBe(now);
    const b = enrichBatch({ site, ua, receivedAt: NOW, session: a.session, known: a.placed, batch: batchOf(visitAt(T0 + 30 * MIN, 3)) });
    expect(b.newSessions).toBe(0);
    expect(b.events.map((e) => [e.sessionId, e.firstTouch])).toEqual(b.events.map(() => [a.events[0].sessionId, null]));
    // without that knowledge (the bug this guards against), the second batch opened a session of its own
    expect(enrichBatch({ site, ua, receivedAt: NOW, session: a.session, batch: batchOf(visitAt(T0 + 30 * MIN, 3)) }).newSessions).toBe(1);
  });

  test('a late event joining a known session takes that session\'s touch; one opening its own keeps its own', () => {
    const spring = { sessionId: sessionIdFor(V, T0), campaign: campaignAsStored(SPRING), touch: { channel: 'email' as const, utm_source: 'news', utm_medium: 'email', utm_campaign: 'spring' }, times: [T0] };
    const out = enrichBatch({ site, ua, receivedAt: NOW, session: now, known: [spring], batch: batchOf([{ t: T0 + 5 * MIN }, { t: T0 + 2 * HOUR, path: '/x?utm_source=b&utm_medium=cpc' }]) });
    expect(out.events.map((e) => [e.sessionId === spring.sessionId, e.channel, e.utmCampaign, e.firstTouch !== null])).toEqual([
      [true, 'email', 'spring', false],
      [false, 'paid_search', null, true],
    ]);
    expect(out.placed.map((s) => s.sessionId)).toEqual([spring.sessionId, out.events[1].sessionId]);
  });
});

describe.each(ENGINES)('listVisitorSessionEvents on %s', (engine) => {
  test('reads one visitor\'s web events in a time range, oldest first, with their stored session touch', async () => {
    const c = await startCollector(engine);
    await c.send('v_range000001', [{ t: T0 }, { t: T0 + 10 * MIN, path: '/?utm_source=g&utm_medium=cpc&gclid=abc' }, { t: T0 + 2 * HOUR }]);
    await c.send('v_range000002', [{ t: T0 + 5 * MIN }]);
    const got = await listVisitorSessionEvents(c.db, c.site.siteId, 'v_range000001', T0, T0 + HOUR);
    expect(got.map((e) => [e.at, e.touch])).toEqual([
      [T0, { channel: 'direct' }],
      [T0 + 10 * MIN, { channel: 'paid_search', utm_source: 'g', utm_medium: 'cpc', gclid: 'gclid' }],
    ]);
    expect(new Set(got.map((e) => e.sessionId)).size).toBe(2);
  });
});

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});


/** A real collector on a real database, whose clock the test moves, and that can be restarted on the same database. */
async function startCollector(engine: 'sqlite' | 'pg', flushMs = 0) {
  const db = await openTestDb(engine);
  const clock = { now: T0 + 3 * HOUR };
  const site = await createSite(db, { domain: '127.0.0.1' }, T0);
  const start = () => createApp({ db, now: () => clock.now, config: defaultConfig({ FLUSH_MS: flushMs, SEGMENT_SWEEP_MS: 0 }), log: createLog('error') });
  let created = start();
  closers.push(async () => {
    await created.close();
    await db.close();
  });

  /** POSTs one batch of the visitor's events (ids made unless given); `sent`: the device's clock stamp. */
  async function send(visitorId: string, events: Sent[], sent?: number) {
    const e: WireEvent[] = events.map((x) => ({ i: x.i ?? randomId(), n: x.n ?? 'pageview', t: x.t, u: `http://127.0.0.1${x.path ?? '/'}`, ...(x.st ? { st: x.st } : {}), ...(x.p ? { p: x.p } : {}) }));
    const res = await created.app.request('/e', {
      method: 'POST',
      body: JSON.stringify({ s: site.siteKey, v: visitorId, e, ...(sent === undefined ? {} : { t: sent }) }),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    return e;
  }

  /** A new collector process on the same database: nothing kept in memory. */
  async function restart() {
    await created.close();
    created = start();
  }

  /** The visitor's events, oldest first: id → session. */
  async function sessionsOf(visitorId: string) {
    const rows = await db.all<{ event_id: string; session_id: string; at: number }>(
      'SELECT event_id, session_id, at FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at, event_id', [site.siteId, visitorId]);
    return new Map(rows.map((r) => [r.event_id, r.session_id]));
  }
  const distinct = (m: Map<string, string>) => new Set(m.values()).size;
  const sessionCount = async (visitorId: string) =>
    Number((await db.get<{ session_count: number }>('SELECT session_count FROM visitors WHERE site_id = ? AND visitor_id = ?', [site.siteId, visitorId]))?.session_count);
  /** Sessions as the funnel's session-opening index sees them: web events carrying the first touch. */
  const openers = async (visitorId: string) =>
    Number((await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND visitor_id = ? AND source = 'web' AND first_touch IS NOT NULL", [site.siteId, visitorId]))?.n);
  async function leadOf(visitorId: string) {
    const r = await db.get<{ lead_id: string }>('SELECT lead_id FROM identity_links WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL', [site.siteId, visitorId]);
    return r!.lead_id;
  }
  const stages = async (visitorId: string) =>
    (await db.all<{ to_stage: string }>('SELECT to_stage FROM stage_changes WHERE site_id = ? AND lead_id = ? ORDER BY at, to_stage', [site.siteId, await leadOf(visitorId)])).map((r) => r.to_stage);
  const awards = async (visitorId: string, rule: string) =>
    Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM score_changes WHERE site_id = ? AND lead_id = ? AND rule = ?', [site.siteId, await leadOf(visitorId), rule]))?.n);

  return { db, clock, site, send, restart, sessionsOf, distinct, sessionCount, openers, stages, awards, flush: () => created.deps.writer.flush() };
}


describe.each(ENGINES)('late events and sessions through POST /e on %s', (engine) => {
  test('late events of one earlier visit sent in two batches form one past session', async () => {
    const c = await startCollector(engine);
    const v = 'v_twobatch001';
    await c.send(v, [{ t: c.clock.now }]);
    // the outbox of a visit two to three hours ago, 50 minutes long, flushed in two requests (the snippet halved it)
    const past = visitAt(T0, 6);
    await c.send(v, past.slice(0, 3));
    await c.send(v, past.slice(3));
    const s = await c.sessionsOf(v);
    expect(c.distinct(s)).toBe(2);
    expect(await c.sessionCount(v)).toBe(2);
    expect(await c.openers(v)).toBe(2);
  });

  test('the later half of a past visit arriving first: the earlier half still joins it', async () => {
    const c = await startCollector(engine);
    const v = 'v_reversed001';
    await c.send(v, [{ t: c.clock.now }]);
    const past = visitAt(T0, 6);
    await c.send(v, past.slice(3));
    await c.send(v, past.slice(0, 3));
    expect(c.distinct(await c.sessionsOf(v))).toBe(2);
    expect(await c.sessionCount(v)).toBe(2);
  });

  test('two batches of one past visit in the same group commit (sent at once, stored together) form one session', async () => {
    const c = await startCollector(engine, 30);
    const v = 'v_samecommit1';
    await c.send(v, [{ t: c.clock.now }]);
    const past = visitAt(T0, 6);
    await Promise.all([c.send(v, past.slice(0, 3)), c.send(v, past.slice(3))]);
    expect(c.distinct(await c.sessionsOf(v))).toBe(2);
    expect(await c.sessionCount(v)).toBe(2);
  });

  test('a returning visitor\'s two requests sent at once (a fetch and a pagehide beacon) open one session, in either order', async () => {
    const c = await startCollector(engine);
    for (const [v, order] of [['v_atonce00001', 'older first'], ['v_atonce00002', 'newer first']] as const) {
      await c.send(v, [{ t: c.clock.now - 2 * HOUR }]);
      const older = [{ t: c.clock.now, path: '/pricing' }];
      const newer = [{ t: c.clock.now + 2000, path: '/demo' }];
      await Promise.all(order === 'older first' ? [c.send(v, older), c.send(v, newer)] : [c.send(v, newer), c.send(v, older)]);
      expect(c.distinct(await c.sessionsOf(v)), order).toBe(2);
      expect(await c.sessionCount(v), order).toBe(2);
    }
  });

  test('the second batch of a past visit after a collector restart joins the session the first one opened', async () => {
    const c = await startCollector(engine);
    const v = 'v_restart0001';
    await c.send(v, [{ t: c.clock.now }]);
    const past = visitAt(T0, 6);
    await c.send(v, past.slice(0, 3));
    await c.restart();
    await c.send(v, past.slice(3));
    const s = await c.sessionsOf(v);
    expect(c.distinct(s)).toBe(2);
    expect(await c.sessionCount(v)).toBe(2);
  });

  test('a late event 31 minutes after the last one of a past session starts its own', async () => {
    const c = await startCollector(engine);
    const v = 'v_gapsplit001';
    await c.send(v, [{ t: c.clock.now }]);
    const [a] = await c.send(v, [{ t: T0 }]);
    const [b] = await c.send(v, [{ t: T0 + 31 * MIN }]);
    const s = await c.sessionsOf(v);
    expect(s.get(b.i)).not.toBe(s.get(a.i));
    expect(await c.sessionCount(v)).toBe(3);
  });

  test('a late event between two stored events of an earlier session joins it, also after a restart', async () => {
    const c = await startCollector(engine);
    const v = 'v_between0001';
    c.clock.now = T0;
    const visit = await c.send(v, [{ t: T0 }, { t: T0 + 20 * MIN, path: '/features' }]);
    c.clock.now = T0 + 3 * HOUR;
    await c.send(v, [{ t: c.clock.now }]);
    const [late] = await c.send(v, [{ t: T0 + 10 * MIN, path: '/about' }]);
    await c.restart();
    const [late2] = await c.send(v, [{ t: T0 + 15 * MIN, path: '/about' }]);
    const s = await c.sessionsOf(v);
    expect(s.get(late.i)).toBe(s.get(visit[0].i));
    expect(s.get(late2.i)).toBe(s.get(visit[0].i));
    expect(await c.sessionCount(v)).toBe(2);
  });

  test('a late event up to 30 minutes before a stored session\'s first event joins it; 31 minutes before, it starts its own', async () => {
    const c = await startCollector(engine);
    const v = 'v_before00001';
    c.clock.now = T0 + HOUR;
    const visit = await c.send(v, [{ t: T0 + HOUR }, { t: T0 + HOUR + 5 * MIN }]);
    c.clock.now = T0 + 4 * HOUR;
    await c.send(v, [{ t: c.clock.now }]);
    const [near] = await c.send(v, [{ t: T0 + 30 * MIN }]);
    const [far] = await c.send(v, [{ t: T0 - MIN }]);
    const s = await c.sessionsOf(v);
    expect(s.get(near.i)).toBe(s.get(visit[0].i));
    expect(s.get(far.i)).not.toBe(s.get(visit[0].i));
    expect(await c.sessionCount(v)).toBe(3);
  });

  test('a late event just before the current session\'s first event joins it; the next late one chains to it', async () => {
    const c = await startCollector(engine);
    const v = 'v_leadscur001';
    const [now] = await c.send(v, [{ t: c.clock.now }]);
    const [a] = await c.send(v, [{ t: c.clock.now - 20 * MIN }]);
    await c.restart();
    const [b] = await c.send(v, [{ t: c.clock.now - 45 * MIN }]);
    const s = await c.sessionsOf(v);
    expect([s.get(a.i), s.get(b.i)]).toEqual([s.get(now.i), s.get(now.i)]);
    expect(await c.sessionCount(v)).toBe(1);
  });

  test('a late event with another campaign starts its own session; one without a campaign joins the session around it', async () => {
    const c = await startCollector(engine);
    const v = 'v_campaign001';
    c.clock.now = T0;
    const visit = await c.send(v, [{ t: T0 }, { t: T0 + 20 * MIN }]);
    c.clock.now = T0 + 3 * HOUR;
    await c.send(v, [{ t: c.clock.now }]);
    const spring = { utm_source: 'news', utm_medium: 'email', utm_campaign: 'spring', url: 'http://127.0.0.1/?utm_source=news&utm_medium=email&utm_campaign=spring' };
    const [plain, ad, after] = await c.send(v, [
      { t: T0 + 5 * MIN, path: '/features' },
      { t: T0 + 10 * MIN, st: { ...spring, at: T0 + 10 * MIN } },
      { t: T0 + 12 * MIN, path: '/pricing' },
    ]);
    const s = await c.sessionsOf(v);
    expect(s.get(plain.i)).toBe(s.get(visit[0].i));
    expect(s.get(ad.i)).not.toBe(s.get(visit[0].i));
    // the event 2 minutes after the campaign's continues the campaign's session (as it would have, sent in time)
    expect(s.get(after.i)).toBe(s.get(ad.i));
    const row = await c.db.get<{ utm_campaign: string | null }>('SELECT utm_campaign FROM events WHERE site_id = ? AND event_id = ?', [c.site.siteId, after.i]);
    expect(row?.utm_campaign).toBe('spring');
    expect(await c.sessionCount(v)).toBe(3);
  });

  test('a late event without a campaign just before a campaign session opened by it does not join (it would have come first)', async () => {
    const c = await startCollector(engine);
    const v = 'v_campaign002';
    c.clock.now = T0 + HOUR;
    const spring = { utm_source: 'news', utm_medium: 'email', utm_campaign: 'spring', url: 'http://127.0.0.1/?utm_source=news', at: T0 + HOUR };
    const visit = await c.send(v, [{ t: T0 + HOUR, st: spring }]);
    c.clock.now = T0 + 4 * HOUR;
    await c.send(v, [{ t: c.clock.now }]);
    const [late] = await c.send(v, [{ t: T0 + 50 * MIN }]);
    const s = await c.sessionsOf(v);
    expect(s.get(late.i)).not.toBe(s.get(visit[0].i));
  });

  test('retried late events (the same ids) count no session again, before and after a restart', async () => {
    const c = await startCollector(engine);
    const v = 'v_retried0001';
    await c.send(v, [{ t: c.clock.now }]);
    const past = visitAt(T0, 4).map((x) => ({ ...x, i: randomId() }));
    await c.send(v, past.slice(0, 2));
    await c.send(v, past.slice(0, 2));
    await c.restart();
    await c.send(v, past);
    await c.send(v, past.slice(1, 3));
    const s = await c.sessionsOf(v);
    expect(s.size).toBe(5);
    expect(c.distinct(s)).toBe(2);
    expect(await c.sessionCount(v)).toBe(2);
    expect(await c.openers(v)).toBe(2);
    expect(await c.awards(v, 'visit')).toBe(2);
  });

  test('pricing seen twice in one past visit sent in two batches is one session: consideration, not intent; one visit award for it', async () => {
    const c = await startCollector(engine);
    const v = 'v_pricing0001';
    await c.send(v, [{ t: c.clock.now, path: '/' }]);
    await c.send(v, [{ t: T0, path: '/pricing' }]);
    await c.send(v, [{ t: T0 + 10 * MIN, path: '/pricing' }]);
    expect(await c.stages(v)).toEqual(['awareness', 'consideration']);
    expect(await c.awards(v, 'visit')).toBe(2);
    // pricing in the current visit too: now in two sessions
    await c.send(v, [{ t: c.clock.now + MIN, path: '/pricing' }]);
    expect(await c.stages(v)).toEqual(['awareness', 'consideration', 'intent']);
  });

  test('a late engagement event joins the session of the view it measured, not the session opened after it', async () => {
    const c = await startCollector(engine);
    const v = 'v_lateread001';
    c.clock.now = T0;
    const [view] = await c.send(v, [{ t: T0, path: '/blog/a' }]);
    c.clock.now = T0 + 45 * MIN;
    const [next] = await c.send(v, [{ t: T0 + 45 * MIN, path: '/pricing' }]);
    await c.restart();
    // the page was read for 40 minutes; its engagement event comes after the next page's
    const [read] = await c.send(v, [{ t: T0 + 40 * MIN, n: 'engagement', p: { seconds: 2400, scroll: 80 }, path: '/blog/a' }]);
    const s = await c.sessionsOf(v);
    expect(s.get(read.i)).toBe(s.get(view.i));
    expect(s.get(next.i)).not.toBe(s.get(view.i));
    expect(await c.sessionCount(v)).toBe(2);
  });

  test('the device clock is corrected first: late events stamped by a clock 5 hours fast join the stored session they fall in', async () => {
    const c = await startCollector(engine);
    const v = 'v_fastclock01';
    c.clock.now = T0;
    const visit = await c.send(v, [{ t: T0 }, { t: T0 + 20 * MIN }]);
    c.clock.now = T0 + 3 * HOUR;
    await c.send(v, [{ t: c.clock.now }]);
    const skew = 5 * HOUR;
    const late = await c.send(v, [{ t: T0 + 25 * MIN + skew }, { t: T0 + 40 * MIN + skew }], c.clock.now + skew);
    const s = await c.sessionsOf(v);
    expect(late.map((e) => s.get(e.i))).toEqual([s.get(visit[0].i), s.get(visit[0].i)]);
    expect(await c.sessionCount(v)).toBe(2);
  });
});
