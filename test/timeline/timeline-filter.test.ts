import { describe, expect, test } from 'vitest';
import { parseTimelineTypes, wantsEvents } from '../../collector/timeline/timeline-filter.js';

describe('parseTimelineTypes', () => {
  test('no types means every kind and every event', () => {
    const f = parseTimelineTypes(undefined);
    expect('problem' in f).toBe(false);
    if ('problem' in f) return;
    expect([...f.kinds].sort()).toEqual(['event', 'identity', 'score', 'segment', 'stage']);
    expect(wantsEvents(f)).toBe(true);
  });

  test('kinds and event names mix; an event name alone asks for those events only', () => {
    const f = parseTimelineTypes('stage, demo_request,closed_won');
    if ('problem' in f) throw new Error(f.problem);
    expect([...f.kinds]).toEqual(['stage']);
    expect(f.eventNames).toEqual(['demo_request', 'closed_won']);
    const g = parseTimelineTypes('event,pageview');
    if ('problem' in g) throw new Error(g.problem);
    expect(g.eventNames).toEqual([]);
    expect(wantsEvents(g)).toBe(true);
    const h = parseTimelineTypes('score');
    if ('problem' in h) throw new Error(h.problem);
    expect(wantsEvents(h)).toBe(false);
  });

  test('names with odd characters or too many entries are problems', () => {
    expect(parseTimelineTypes("x' OR 1=1 --")).toHaveProperty('problem');
    expect(parseTimelineTypes(Array.from({ length: 51 }, (_, i) => 'e' + i).join(','))).toHaveProperty('problem');
  });
});
