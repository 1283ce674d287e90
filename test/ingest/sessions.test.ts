import { describe, expect, test } from 'vitest';
import { campaignKey, nextSession, reconcileSession } from '../../collector/ingest/sessions.js';

const MIN = 60_000;

describe('nextSession', () => {
  test('the first event opens a session named after the visitor and its start', () => {
    const r = nextSession(null, 'v1', 1000, '');
    expect(r).toMatchObject({ isNew: true, sessionId: 'v1.' + (1000).toString(36), state: { started: 1000, lastSeen: 1000, campaign: '' } });
  });
  test('activity within 30 minutes continues the session', () => {
    const a = nextSession(null, 'v1', 0, '').state;
    const b = nextSession(a, 'v1', 29 * MIN, '');
    expect(b.isNew).toBe(false);
    expect(b.sessionId).toBe(a.sessionId);
    const c = nextSession(b.state, 'v1', 58 * MIN, '');
    expect(c.isNew).toBe(false);
  });
  test('more than 30 idle minutes open a new session', () => {
    const a = nextSession(null, 'v1', 0, '').state;
    expect(nextSession(a, 'v1', 30 * MIN + 1, '').isNew).toBe(true);
  });
  test('a new campaign opens a new session at once; the same campaign does not', () => {
    const google = campaignKey({ utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'x' });
    const a = nextSession(null, 'v1', 0, google).state;
    expect(nextSession(a, 'v1', MIN, google).isNew).toBe(false);
    expect(nextSession(a, 'v1', MIN, '').isNew).toBe(false);
    expect(nextSession(a, 'v1', MIN, campaignKey({ utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'y' })).isNew).toBe(true);
  });
  test('a late event inside the session joins it; a much older one opens a past session without moving the current', () => {
    const a = nextSession(null, 'v1', 100 * MIN, '').state;
    const late = nextSession(a, 'v1', 90 * MIN, '');
    expect(late).toMatchObject({ isNew: false, sessionId: a.sessionId });
    const old = nextSession(a, 'v1', 10 * MIN, '');
    expect(old.isNew).toBe(true);
    expect(old.sessionId).not.toBe(a.sessionId);
    expect(old.state).toBe(a);
  });
  test('idle time runs until the activity an event reports began: a long engaged read continues the session', () => {
    const a = nextSession(null, 'v1', 0, '').state;
    expect(nextSession(a, 'v1', 40 * MIN, '', 0).isNew).toBe(false);
    expect(nextSession(a, 'v1', 40 * MIN, '', 35 * MIN).isNew).toBe(true);
  });
  test('campaignKey ignores touches without a campaign', () => {
    expect(campaignKey({ ref: 'https://google.com' })).toBe('');
    expect(campaignKey({ utm_source: 'a', gclid: 'g' })).toBe('a|||g||||||');
  });
});

describe('reconcileSession', () => {
  const ours = { ...nextSession(null, 'v1', 0, '', 0, { at: 0, since: 0 }).state, lastSeen: 10 * MIN };
  test('the remembered session stands, device clock included, while storage holds it unmoved', () => {
    expect(reconcileSession(ours, { sessionId: ours.sessionId, started: 0, lastSeen: 10 * MIN, campaign: '' })).toBe(ours);
  });
  test('storage wins when another collector went on with the session, or opened another', () => {
    const further = { sessionId: ours.sessionId, started: 0, lastSeen: 25 * MIN, campaign: '' };
    expect(reconcileSession(ours, further)).toBe(further);
    const other = { sessionId: 'v1.zz', started: 45 * MIN, lastSeen: 45 * MIN, campaign: 'x' };
    expect(reconcileSession(ours, other)).toBe(other);
  });
  test('a visitor storage no longer holds (erased, purged) has no session to continue', () => {
    expect(reconcileSession(ours, null)).toBeNull();
    expect(reconcileSession(null, null)).toBeNull();
  });
});
