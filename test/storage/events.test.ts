// Ingest storage (collector/storage/events.ts) on every engine: idempotent event inserts and merging visitor upserts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import {
  getVisitorSession, getVisitorSessions, insertEvents, listUnattributedEvents, rowToEvent, upsertVisitors, EVENT_COLUMNS, type VisitorUpdate,
} from '../../collector/storage/events.js';
import type { EnrichedEvent } from '../../collector/ingest/types.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

const T0 = 1_760_000_000_000;

const makeEvent = (siteId: string, over: Partial<EnrichedEvent> = {}): EnrichedEvent => ({
  siteId,
  eventId: `e_${randomUUID()}`,
  visitorId: 'v_1',
  leadId: null,
  sessionId: 'v_1.abc',
  name: 'pageview',
  at: T0,
  receivedAt: T0 + 5,
  source: 'web',
  url: 'https://example.com/pricing?utm_source=google',
  path: '/pricing',
  referrer: 'https://www.google.com/',
  props: { plan: 'pro', seats: 3, trial: true },
  form: null,
  email: null,
  traits: null,
  channel: 'paid_search',
  utmSource: 'google',
  utmMedium: 'cpc',
  utmCampaign: 'spring',
  utmTerm: null,
  utmContent: null,
  clickId: 'gclid',
  firstTouch: { url: 'https://example.com/?gclid=x', at: T0, gclid: 'x', channel: 'paid_search' },
  sessionTouch: null,
  browser: 'Chrome',
  os: 'Linux',
  device: 'desktop',
  isBot: false,
  ...over,
});

const makeVisitor = (siteId: string, over: Partial<VisitorUpdate> = {}): VisitorUpdate => ({
  siteId,
  visitorId: 'v_1',
  firstSeen: T0,
  lastSeen: T0 + 1000,
  session: { sessionId: 'v_1.s1', started: T0, lastSeen: T0 + 1000, campaign: '' },
  newSessions: 1,
  newEvents: 2,
  firstTouch: '{"url":"https://example.com/"}',
  lastTouch: '{"url":"https://example.com/a"}',
  browser: 'Chrome',
  os: 'Linux',
  device: 'desktop',
  isBot: false,
  ...over,
});

describe.each(ENGINES)('events storage on %s', (engine) => {
  let db: Db;
  const site = () => `site_${randomUUID()}`;
  const storedIds = async (siteId: string) =>
    (await db.all<{ event_id: string }>('SELECT event_id FROM events WHERE site_id = ? ORDER BY event_id', [siteId])).map((r) => r.event_id);
  const visitor = (siteId: string, visitorId = 'v_1') =>
    db.get<Record<string, unknown>>('SELECT * FROM visitors WHERE site_id = ? AND visitor_id = ?', [siteId, visitorId]);

  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('insertEvents stores every new event and returns them in input order', async () => {
    const s = site();
    const events = ['e_c', 'e_a', 'e_b'].map((eventId, i) => makeEvent(s, { eventId, at: T0 + i }));
    const stored = await db.transaction((tx) => insertEvents(tx, events));
    expect(stored.map((e) => e.eventId)).toEqual(['e_c', 'e_a', 'e_b']);
    expect(await storedIds(s)).toEqual(['e_a', 'e_b', 'e_c']);
  });

  test('insertEvents skips ids already stored for the site and returns only the new ones', async () => {
    const s = site();
    const first = makeEvent(s, { eventId: 'e_1' });
    await db.transaction((tx) => insertEvents(tx, [first]));
    const retry = [makeEvent(s, { eventId: 'e_1', url: 'https://example.com/changed' }), makeEvent(s, { eventId: 'e_2' })];
    const stored = await db.transaction((tx) => insertEvents(tx, retry));
    expect(stored.map((e) => e.eventId)).toEqual(['e_2']);
    const row = await db.get<{ url: string }>('SELECT url FROM events WHERE site_id = ? AND event_id = ?', [s, 'e_1']);
    expect(row?.url).toBe(first.url);
  });

  test('insertEvents stores an id repeated in one call once, keeping the first', async () => {
    const s = site();
    const a = makeEvent(s, { eventId: 'e_dup', name: 'first' });
    const b = makeEvent(s, { eventId: 'e_dup', name: 'second' });
    const stored = await db.transaction((tx) => insertEvents(tx, [a, makeEvent(s, { eventId: 'e_x' }), b]));
    expect(stored).toEqual([a, expect.objectContaining({ eventId: 'e_x' })]);
    expect(await db.all('SELECT name FROM events WHERE site_id = ? AND event_id = ?', [s, 'e_dup'])).toEqual([{ name: 'first' }]);
  });

  test('the same event id on two sites is two events', async () => {
    const [s1, s2] = [site(), site()];
    const stored = await db.transaction((tx) => insertEvents(tx, [makeEvent(s1, { eventId: 'e_same' }), makeEvent(s2, { eventId: 'e_same' })]));
    expect(stored).toHaveLength(2);
  });

  test('insertEvents with no events stores nothing', async () => {
    expect(await db.transaction((tx) => insertEvents(tx, []))).toEqual([]);
  });

  test('a stored event reads back as the event that was written, unattributed', async () => {
    const s = site();
    const event = makeEvent(s, {
      form: 'demo',
      email: 'ada@example.com',
      traits: { company: "O'Reilly \"Media\"", city: 'Zürich' },
      url: 'https://example.com/a,b{c}"d\\e',
      isBot: true,
      utmTerm: 'NULL',
    });
    await db.transaction((tx) => insertEvents(tx, [event]));
    const row = await db.get<Record<string, unknown>>(`SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE site_id = ?`, [s]);
    expect(row?.attributed).toBe(0);
    expect(rowToEvent(row!)).toEqual(event);
  });

  test('a large flush of events is stored in one call', async () => {
    const s = site();
    const events = Array.from({ length: 3000 }, (_, i) => makeEvent(s, { eventId: `e_${String(i).padStart(5, '0')}`, visitorId: `v_${i % 50}` }));
    const stored = await db.transaction((tx) => insertEvents(tx, events));
    expect(stored).toHaveLength(3000);
    const n = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE site_id = ?', [s]);
    expect(Number(n?.n)).toBe(3000);
  });

  test('upsertVisitors creates a visitor with its counters', async () => {
    const s = site();
    await db.transaction((tx) => upsertVisitors(tx, [makeVisitor(s)]));
    expect(await visitor(s)).toMatchObject({
      first_seen: T0, last_seen: T0 + 1000, session_id: 'v_1.s1', session_started: T0, session_count: 1, event_count: 2, is_bot: 0,
      first_touch: '{"url":"https://example.com/"}', browser: 'Chrome',
    });
  });

  test('upsertVisitors adds counters, widens first/last seen and keeps the latest session', async () => {
    const s = site();
    await db.transaction((tx) => upsertVisitors(tx, [makeVisitor(s)]));
    await db.transaction((tx) =>
      upsertVisitors(tx, [
        makeVisitor(s, {
          firstSeen: T0 - 50, lastSeen: T0 + 5000, newSessions: 1, newEvents: 3, isBot: true, browser: null,
          session: { sessionId: 'v_1.s2', started: T0 + 4000, lastSeen: T0 + 5000, campaign: 'google|cpc' },
          firstTouch: '{"url":"https://example.com/later"}', lastTouch: '{"url":"https://example.com/b"}',
        }),
      ]),
    );
    expect(await visitor(s)).toMatchObject({
      first_seen: T0 - 50, last_seen: T0 + 5000, session_id: 'v_1.s2', session_started: T0 + 4000, session_campaign: 'google|cpc',
      session_count: 2, event_count: 5, is_bot: 1, browser: 'Chrome', first_touch: '{"url":"https://example.com/"}',
      last_touch: '{"url":"https://example.com/b"}',
    });
  });

  test('a late update does not move the session or last touch back', async () => {
    const s = site();
    await db.transaction((tx) => upsertVisitors(tx, [makeVisitor(s, { session: { sessionId: 'v_1.new', started: T0 + 500, lastSeen: T0 + 1000, campaign: '' } })]));
    await db.transaction((tx) =>
      upsertVisitors(tx, [
        makeVisitor(s, {
          lastSeen: T0 + 10, newSessions: 1, newEvents: 1, lastTouch: '{"url":"old"}',
          session: { sessionId: 'v_1.old', started: T0, lastSeen: T0 + 10, campaign: '' },
        }),
      ]),
    );
    expect(await visitor(s)).toMatchObject({ session_id: 'v_1.new', last_seen: T0 + 1000, last_touch: '{"url":"https://example.com/a"}', event_count: 3 });
  });

  test('upsertVisitors applies several visitors, and the same visitor twice, in one call', async () => {
    const s = site();
    await db.transaction((tx) =>
      upsertVisitors(tx, [
        makeVisitor(s, { visitorId: 'v_b' }),
        makeVisitor(s, { visitorId: 'v_a', newEvents: 1 }),
        makeVisitor(s, { visitorId: 'v_b', newEvents: 4, newSessions: 0, lastSeen: T0 + 9000 }),
      ]),
    );
    expect(await visitor(s, 'v_a')).toMatchObject({ event_count: 1, session_count: 1 });
    expect(await visitor(s, 'v_b')).toMatchObject({ event_count: 6, session_count: 1, last_seen: T0 + 9000 });
  });

  test('concurrent flushes touching the same visitors and events in opposite orders lose nothing', async () => {
    const s = site();
    const ids = Array.from({ length: 20 }, (_, i) => `e_${String(i).padStart(2, '0')}`);
    const visitors = ['v_1', 'v_2', 'v_3', 'v_4'];
    const flush = (order: 'asc' | 'desc') =>
      db.transaction(async (tx) => {
        const evs = (order === 'asc' ? ids : [...ids].reverse()).map((eventId) => makeEvent(s, { eventId }));
        const stored = await insertEvents(tx, evs);
        const vs = (order === 'asc' ? visitors : [...visitors].reverse()).map((visitorId) => makeVisitor(s, { visitorId, newEvents: 1 }));
        await upsertVisitors(tx, vs);
        return stored.length;
      });
    const stored = await Promise.all([flush('asc'), flush('desc'), flush('asc'), flush('desc')]);
    expect(stored.reduce((a, b) => a + b, 0)).toBe(20);
    expect(await storedIds(s)).toEqual(ids);
    const counts = await db.all<{ event_count: number }>('SELECT event_count FROM visitors WHERE site_id = ?', [s]);
    expect(counts.map((c) => c.event_count)).toEqual([4, 4, 4, 4]);
  });

  test('getVisitorSession reads the stored session, or null for an unknown visitor', async () => {
    const s = site();
    await db.transaction((tx) => upsertVisitors(tx, [makeVisitor(s)]));
    expect(await getVisitorSession(db, s, 'v_1')).toEqual({
      sessionId: 'v_1.s1', started: T0, lastSeen: T0 + 1000, campaign: '', touch: { url: 'https://example.com/a' },
    });
    expect(await getVisitorSession(db, s, 'v_nope')).toBeNull();
  });

  test('getVisitorSessions reads many visitors at once; unknown visitors and other sites are absent', async () => {
    const s = site();
    const ids = Array.from({ length: 70 }, (_, i) => `v_${i}`);
    await db.transaction((tx) => upsertVisitors(tx, ids.map((visitorId) => ({ ...makeVisitor(s), visitorId }))));
    await db.transaction((tx) => upsertVisitors(tx, [{ ...makeVisitor(site()), visitorId: 'v_other' }]));
    const found = await getVisitorSessions(db, s, [...ids, 'v_nope', 'v_other']);
    expect([...found.keys()].sort()).toEqual([...ids].sort());
    expect(found.get('v_69')).toEqual(await getVisitorSession(db, s, 'v_69'));
    expect((await getVisitorSessions(db, s, [])).size).toBe(0);
  });

  test('listUnattributedEvents lists unattributed human events oldest first', async () => {
    const s = site();
    await db.transaction((tx) =>
      insertEvents(tx, [
        makeEvent(s, { eventId: 'e_late', receivedAt: T0 + 20 }),
        makeEvent(s, { eventId: 'e_early', receivedAt: T0 + 10 }),
        makeEvent(s, { eventId: 'e_bot', receivedAt: T0 + 5, isBot: true }),
        makeEvent(s, { eventId: 'e_done', receivedAt: T0 + 1 }),
      ]),
    );
    await db.run('UPDATE events SET attributed = 1 WHERE site_id = ? AND event_id = ?', [s, 'e_done']);
    const rows = await listUnattributedEvents(db, s, 10);
    expect(rows.map((r) => r.event_id)).toEqual(['e_early', 'e_late']);
    expect(await listUnattributedEvents(db, s, 1)).toHaveLength(1);
  });
});
