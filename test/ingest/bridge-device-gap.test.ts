// Late events and the device's clock (placeLateEvents, pure). A batch's clock correction (device-clock.ts) takes the
// device's skew when the batch is sent; when the device's clock jumped since the previous batch (a test's fake page
// clock, a laptop's clock set right), an event the device made after the visit's last activity lands before that
// activity on the collector's clock, and reads as late. On the device's clock it is not: after 30 idle minutes there it
// opens a session, as sent in time it would have (sessions.ts nextSession), and no late event glues that split back
// together; within 30 minutes it continues the visit. A genuinely late page view (made before the visit's last activity,
// a retried outbox) still bridges two sessions, and an engagement event (time already spent on a view) never does.
import { describe, expect, test } from 'vitest';
import { sessionIdFor, type SessionState } from '../../collector/ingest/sessions.js';
import { campaignKey } from '../../collector/ingest/session-key.js';
import { campaignAsStored, placeLateEvents, type KnownSession, type LateEvent } from '../../collector/ingest/late-events.js';
import { MIN } from '../helpers/funnel-factories.js';

const V = 'v1';
const id = (started: number) => sessionIdFor(V, started);
const WEBINAR_TOUCH = { channel: 'email' as const, utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'webinar' };
const WEBINAR = campaignKey(WEBINAR_TOUCH);
/** The visitor's session as this collector remembers it: its device clock at the last activity is `deviceSeen`. */
const current = (started: number, lastSeen: number, deviceSeen: number | undefined, campaign = ''): SessionState => {
  const s: SessionState = { sessionId: id(started), started, lastSeen, campaign, touch: campaign ? WEBINAR_TOUCH : { channel: 'direct' } };
  if (deviceSeen !== undefined) s.deviceSeen = deviceSeen;
  return s;
};
const known = (started: number, times: number[]): KnownSession => ({ sessionId: id(started), campaign: '', touch: { channel: 'direct' }, times });
/** A page view at `at` (collector clock) that the device stamped `device`. */
const view = (at: number, device?: number): LateEvent => ({ at, campaign: '', touch: { channel: 'direct' }, ...(device === undefined ? {} : { device: { at: device, since: device } }) });
/** An engagement event at `at` reporting `seconds` on its view, stamped `device` on the device. */
const engagement = (at: number, seconds: number, device?: number): LateEvent => ({
  at, since: at - seconds * 1000, campaign: '', touch: null, ...(device === undefined ? {} : { device: { at: device, since: device - seconds * 1000 } }),
});
const placed = (out: ReturnType<typeof placeLateEvents>) => out.placements.map((p) => [p.rule, p.sessionId, p.isNew]);

describe('a late event the device made after the visit\'s last activity (its clock jumped between two batches)', () => {
  // the visit of a campaign: views at 0 and 80 ms on both clocks; the device then shows 31 minutes more than the collector
  const visit = () => current(0, 80, 80, WEBINAR);

  test('31 idle minutes on the device\'s clock, corrected to inside the visit\'s span: it opens the visitor\'s session, begun no earlier than the visit\'s last activity', () => {
    const out = placeLateEvents(visit(), [], V, [view(40, 80 + 31 * MIN)]);
    expect(placed(out)).toEqual([['device_gap', id(80), true]]);
    expect(out.current).toMatchObject({ sessionId: id(80), started: 80, lastSeen: 80, campaign: '', deviceSeen: 80 + 31 * MIN });
    expect(out.merges).toEqual([]);
  });

  test('corrected to before the visit began (within 30 minutes of it, no campaign on either side): a session of its own all the same', () => {
    const out = placeLateEvents(current(0, 80, 80), [], V, [view(-100, 80 + 31 * MIN)]);
    expect(placed(out)).toEqual([['device_gap', id(80), true]]);
    expect(out.current.sessionId).toBe(id(80));
    expect(out.merges).toEqual([]);
  });

  test('the batch\'s later events, after the gap on the device, continue the session it opened; 30 minutes and 1 ms on the device open another', () => {
    const back = 80 + 31 * MIN;
    const out = placeLateEvents(visit(), [], V, [view(40, back), view(50, back + 10), view(60, back + 10 + 30 * MIN + 1)]);
    expect(placed(out)).toEqual([
      ['device_gap', id(80), true],
      ['current', id(80), false],
      ['device_gap', id(81), true],
    ]);
    expect(out.current).toMatchObject({ sessionId: id(81), deviceSeen: back + 10 + 30 * MIN + 1 });
  });

  test('within 30 minutes on the device\'s clock it continues the visit, wherever the correction put it (here before the campaign\'s landing, where it would open a session of its own)', () => {
    // the hide beacon's engagement, resent with the route's batch: made 1.2 s into the visit, corrected 31 minutes back
    const hide = engagement(1200 - 31 * MIN, 1, 1200);
    const out = placeLateEvents(visit(), [], V, [hide]);
    expect(placed(out)).toEqual([['current', id(0), false]]);
    // it measures its view: the visit is not extended
    expect(out.current).toEqual(visit());
    // a page view the device made 2 minutes after the visit's last activity: the visit, its device clock moved on
    const page = placeLateEvents(visit(), [], V, [view(-5 * MIN, 80 + 2 * MIN)]);
    expect(placed(page)).toEqual([['current', id(0), false]]);
    expect(page.current).toMatchObject({ sessionId: id(0), lastSeen: 80, deviceSeen: 80 + 2 * MIN });
    // without the device's times the rules alone place it: before the campaign's landing, a session of its own
    expect(placed(placeLateEvents(visit(), [], V, [view(-5 * MIN)]))).toEqual([['opens', id(-5 * MIN), true]]);
  });

  test('a campaign the device opened after the visit\'s last activity (a new ad clicked) opens a session, as sent in time', () => {
    const ad: LateEvent = { ...view(40, 80 + 5 * MIN), campaign: campaignKey({ utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand' }) };
    const out = placeLateEvents(visit(), [], V, [ad]);
    expect(placed(out)).toEqual([['device_gap', id(80), true]]);
    expect(campaignAsStored(out.current.campaign)).toBe(campaignAsStored(ad.campaign));
  });

  test('one the correction put beside another of the visitor\'s sessions (the device\'s clock differs from the one that stamped the visit): the rules place it, on the collector\'s clock', () => {
    // a visit at 0–20 minutes, the current one at 3 hours, whose device clock reads the collector's; a batch from a clock
    // 5 hours fast resends pages of minutes 25 and 40, on its clock well after 3 hours: they continue the first visit
    const out = placeLateEvents(current(180 * MIN, 180 * MIN, 180 * MIN), [known(0, [0, 20 * MIN])], V, [view(25 * MIN, 325 * MIN), view(40 * MIN, 340 * MIN)]);
    expect(placed(out)).toEqual([
      ['continues', id(0), false],
      ['continues', id(0), false],
    ]);
    expect(out.current.sessionId).toBe(id(180 * MIN));
  });

  test('a session read back from storage (no device clock known): the rules alone decide, on the collector\'s clock', () => {
    expect(placed(placeLateEvents(current(0, 80, undefined, WEBINAR), [], V, [view(40, 80 + 31 * MIN)]))).toEqual([['current', id(0), false]]);
  });
});

describe('bridges and the device\'s clock', () => {
  test('a genuinely late page view (made before the visit\'s last activity) still bridges two sessions; the session the device\'s clock opened in the same batch stays apart, and goes on', () => {
    // sessions at 0–5 and 40–41 minutes; the batch resends a page of minute 20 (its outbox) and holds a view the device
    // made 31 minutes after minute 41 on its clock, corrected to 40.5 minutes
    const out = placeLateEvents(current(40 * MIN, 41 * MIN, 41 * MIN), [known(0, [0, 5 * MIN])], V, [view(20 * MIN, 20 * MIN), view(40.5 * MIN, 72 * MIN)]);
    expect(placed(out)).toEqual([
      ['continues', id(0), false],
      ['device_gap', id(41 * MIN), true],
    ]);
    expect(out.merges.map((m) => [m.from, m.into])).toEqual([[id(40 * MIN), id(0)]]);
    expect(out.current).toMatchObject({ sessionId: id(41 * MIN), started: 41 * MIN });
  });

  test('a session the device\'s clock opened takes in no session the late events let it reach (none within 30 minutes after it is glued to it)', () => {
    // the device's view corrected to 10 minutes before the visit (no campaign), which it would reach
    const out = placeLateEvents(current(0, 80, 80), [], V, [view(-10 * MIN, 80 + 31 * MIN)]);
    expect(placed(out)).toEqual([['device_gap', id(80), true]]);
    expect(out.merges).toEqual([]);
  });

  test('an engagement event never bridges: late between two sessions within 30 minutes of both (device times or not), or opening a past session of its own', () => {
    // sessions at 0 and 40 minutes; the engagement at 25 minutes reports 20 minutes on a view begun at 5
    for (const e of [engagement(25 * MIN, 20 * 60), engagement(25 * MIN, 20 * 60, 25 * MIN)]) {
      const out = placeLateEvents(current(40 * MIN, 40 * MIN, 40 * MIN), [known(0, [0])], V, [e]);
      expect(placed(out)).toEqual([['continues', id(0), false]]);
      expect(out.merges).toEqual([]);
    }
    // before a campaign's visit, with nothing before it: a past session of its own, which takes the visit in no more
    const alone = placeLateEvents(current(20 * MIN, 25 * MIN, undefined, WEBINAR), [], V, [engagement(10 * MIN, 60)]);
    expect(placed(alone)).toEqual([['opens', id(10 * MIN), true]]);
    expect(alone.merges).toEqual([]);
    expect(alone.current.sessionId).toBe(id(20 * MIN));
  });
});
