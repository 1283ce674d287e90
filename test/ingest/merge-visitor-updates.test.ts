// mergeVisitorUpdates (store.ts) builds each visitor update field by field (a spread cost microseconds per request):
// no fact a request's visitor carries may be lost on the way.
import { describe, expect, test } from 'vitest';
import { mergeVisitorUpdates, type WriteRequest } from '../../collector/ingest/store.js';
import { makeEvent, T0 } from '../helpers/funnel-factories.js';

type Visitor = NonNullable<WriteRequest['visitor']>;

const visitor = (visitorId: string, overrides: Partial<Visitor> = {}): Visitor => ({
  siteId: 'site_test',
  visitorId,
  firstSeen: T0,
  lastSeen: T0 + 10,
  session: { sessionId: `${visitorId}.s1`, started: T0, lastSeen: T0 + 10, campaign: 'google/cpc', touch: { channel: 'paid_search' } },
  newSessions: 1,
  firstTouch: '{"channel":"paid_search"}',
  lastTouch: '{"channel":"paid_search"}',
  browser: 'Firefox',
  os: 'macOS',
  device: 'mobile',
  isBot: false,
  basedOn: { sessionId: `${visitorId}.s0`, started: T0 - 1000 },
  ...overrides,
});

describe('mergeVisitorUpdates', () => {
  test('keeps every fact of a lone request\'s visitor and adds the events and sessions it stored', () => {
    const opener = makeEvent({ visitorId: 'v_1', firstTouch: { channel: 'paid_search' } });
    const next = makeEvent({ visitorId: 'v_1', firstTouch: null });
    const v = visitor('v_1');
    const [merged, ...rest] = mergeVisitorUpdates([{ events: [opener, next], visitor: v }], [opener, next]);
    expect(rest).toEqual([]);
    // every key of the request's visitor, with the same value, and the flush's counts
    expect(merged).toEqual({ ...v, newEvents: 2, newSessions: 1 });
    expect(Object.keys(merged).sort()).toEqual([...Object.keys(v), 'newEvents'].sort());
  });

  test('merges two requests of one visitor into one update that keeps the first request\'s identity facts', () => {
    const a = makeEvent({ visitorId: 'v_2', at: T0, firstTouch: null });
    const b = makeEvent({ visitorId: 'v_2', at: T0 + 50, firstTouch: null });
    const first = visitor('v_2', { lastSeen: T0, lastTouch: null, browser: null });
    const second = visitor('v_2', { firstSeen: T0 + 50, lastSeen: T0 + 50, basedOn: null, firstTouch: null, lastTouch: '{"channel":"direct"}' });
    const [merged] = mergeVisitorUpdates([{ events: [a], visitor: first }, { events: [b], visitor: second }], [a, b]);
    expect(merged).toEqual({
      ...first,
      firstSeen: T0,
      lastSeen: T0 + 50,
      firstTouch: first.firstTouch,
      lastTouch: '{"channel":"direct"}',
      browser: 'Firefox',
      newEvents: 2,
      newSessions: 0,
    });
  });
});
