import { describe, expect, test } from 'vitest';
import { toLeadProfile } from '../../collector/leads/to-lead-profile.js';
import type { LeadRow } from '../../collector/storage/lead-reads.js';

const DAY = 86_400_000;
const row = (over: Partial<LeadRow> = {}): LeadRow => ({
  lead_id: 'lead_1', email: null, traits: '{}', stage: 'interest', stage_rank: 1, stage_at: 1000, score: 40, score_at: 0,
  mql: 0, mql_at: null, sql: 0, sql_at: null, first_touch: null, last_touch: null, created_at: 0, updated_at: 0,
  identified_at: null, opted_out: 0, is_bot: 0, state: '{}', ...over,
});

describe('toLeadProfile', () => {
  test('decays the score by the half-life from the time it was stored, and not without one', () => {
    const extras = { visitorIds: [], segments: [], now: 30 * DAY };
    expect(toLeadProfile(row(), { ...extras, halfLifeMs: 30 * DAY }).score).toBe(20);
    expect(toLeadProfile(row(), { ...extras, halfLifeMs: null }).score).toBe(40);
  });

  test('prefers the exact score the fold keeps in state over the float column', () => {
    const p = toLeadProfile(row({ score: 12.345600128173828, state: '{"s":12.3456}' }), { visitorIds: [], segments: [], now: 0, halfLifeMs: null });
    expect(p.score).toBe(12.3456);
  });

  test('turns flags into booleans, times into ISO strings and unreadable JSON into null', () => {
    const p = toLeadProfile(row({ email: 'a@b.co', mql: 1, mql_at: DAY, first_touch: '{bad', traits: '[1]' }), { visitorIds: ['v1'], segments: ['s'], now: 0, halfLifeMs: null });
    expect(p).toMatchObject({ identified: true, mql: true, sql: false, mqlAt: '1970-01-02T00:00:00.000Z', sqlAt: null, firstTouch: {}, traits: {}, visitorIds: ['v1'] });
  });

  test('gives the touches\' times in ISO 8601, as every other time of the profile', () => {
    const p = toLeadProfile(
      row({ first_touch: JSON.stringify({ channel: 'email', utm_source: 'news', at: DAY }), last_touch: JSON.stringify({ channel: 'direct', at: 2 * DAY, sessionId: 's1' }) }),
      { visitorIds: [], segments: [], now: 0, halfLifeMs: null },
    );
    expect(p.firstTouch).toEqual({ channel: 'email', utm_source: 'news', at: '1970-01-02T00:00:00.000Z' });
    expect(p.lastTouch).toEqual({ channel: 'direct', at: '1970-01-03T00:00:00.000Z', sessionId: 's1' });
  });
});
