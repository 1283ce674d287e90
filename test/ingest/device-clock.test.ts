// The visitor's clock, corrected: the snippet stamps each batch with its clock when sending (`t`), and the collector
// moves the batch's event times by that clock's distance from its own. Without the stamp (older snippets, hand-made
// beacons) event times are taken as sent, within the limits. A jump of the visitor's clock past the session timeout
// (a laptop's clock set right, or a test's fake clock) still opens a session.
import { afterEach, describe, expect, test } from 'vitest';
import { batchSkew, clockSkew } from '../../collector/ingest/device-clock.js';
import { nextSession } from '../../collector/ingest/sessions.js';
import { SESSION_TIMEOUT_MS } from '../../shared/limits.js';
import { LIMITS } from '../../shared/limits.js';
import type { WireEvent } from '../../shared/wire.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { DAY, HOUR, MIN } from '../helpers/funnel-factories.js';

describe('clockSkew', () => {
  test('is 0 without a stamp and within the tolerance, else the stamp minus the collector clock', () => {
    expect(clockSkew(undefined, 1_000_000)).toBe(0);
    expect(clockSkew(1_000_000 + LIMITS.clockToleranceMs, 1_000_000)).toBe(0);
    expect(clockSkew(1_000_000 - LIMITS.clockToleranceMs, 1_000_000)).toBe(0);
    expect(clockSkew(1_000_000 + LIMITS.clockToleranceMs + 1, 1_000_000)).toBe(LIMITS.clockToleranceMs + 1);
    expect(clockSkew(1_000_000 - 3 * HOUR, 1_000_000)).toBe(-3 * HOUR);
  });
});

describe('batchSkew', () => {
  const NOW = 1_800_000_000_000;
  const at = (t: number) => ({ i: 'event0001', n: 'pageview', u: 'https://a.com/', t });
  test('is the stamp\'s skew when every event was made before the batch was sent', () => {
    expect(batchSkew({ t: NOW - 3 * HOUR, e: [at(NOW - 4 * HOUR), at(NOW - 3 * HOUR)] }, NOW)).toBe(-3 * HOUR);
    expect(batchSkew({ e: [at(NOW)] }, NOW)).toBe(0);
  });
  test('ignores a stamp older than an event of its batch: another clock (unix seconds, 0, a clock set back)', () => {
    expect(batchSkew({ t: Math.floor(NOW / 1000), e: [at(NOW)] }, NOW)).toBe(0);
    expect(batchSkew({ t: 0, e: [at(NOW)] }, NOW)).toBe(0);
    expect(batchSkew({ t: NOW - DAY, e: [at(NOW - DAY - HOUR), at(NOW - 1000)] }, NOW)).toBe(0);
    // within the tolerance an event may follow the stamp (the same clock, read twice)
    expect(batchSkew({ t: NOW - DAY, e: [at(NOW - DAY + LIMITS.clockToleranceMs)] }, NOW)).toBe(-DAY);
  });
});

describe('nextSession with the device clock', () => {
  const T = 1_700_000_000_000;
  const open = nextSession(null, 'v1', T, '', T, { at: T, since: T });

  test('remembers the device clock of the last activity, never moving it back', () => {
    expect(open.state.deviceSeen).toBe(T);
    const next = nextSession(open.state, 'v1', T + 1000, '', T + 1000, { at: T - 5000, since: T - 5000 });
    expect(next).toMatchObject({ isNew: false, state: { deviceSeen: T } });
  });

  test('a device clock gap past the timeout opens a session though the collector saw a second pass', () => {
    const gap = SESSION_TIMEOUT_MS + 1;
    expect(nextSession(open.state, 'v1', T + 1000, '', T + 1000, { at: T + gap, since: T + gap }).isNew).toBe(true);
    expect(nextSession(open.state, 'v1', T + 1000, '', T + 1000, { at: T + gap - 1, since: T + gap - 1 }).isNew).toBe(false);
  });

  test('an engagement whose time on the page began within the timeout is no gap (a long read)', () => {
    const at = T + SESSION_TIMEOUT_MS + 60_000;
    expect(nextSession(open.state, 'v1', T + 1000, '', T + 1000, { at, since: T + 60_000 }).isNew).toBe(false);
  });

  test('a session without a device clock (read back from the database) decides on the collector clock alone', () => {
    const stored = { ...open.state, deviceSeen: undefined };
    const gap = SESSION_TIMEOUT_MS + 1;
    expect(nextSession(stored, 'v1', T + 1000, '', T + 1000, { at: T + gap, since: T + gap }).isNew).toBe(false);
  });
});

describe('POST /e with the device clock stamped on the batch', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function setup() {
    const j = await makeJourneyApp();
    close = () => j.db.close();
    /** POSTs one batch of `events` (times on the device's clock) stamped `sent` on the device's clock. */
    const send = async (visitorId: string, sent: number | undefined, events: { t: number; path?: string; n?: string }[]) => {
      const e: WireEvent[] = events.map((x) => ({ i: randomId(), n: x.n ?? 'pageview', t: x.t, u: `http://127.0.0.1${x.path ?? '/'}` }));
      const res = await j.app.request('/e', {
        method: 'POST',
        body: JSON.stringify({ s: j.site.siteKey, v: visitorId, e, ...(sent === undefined ? {} : { t: sent }) }),
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
      });
      return { res, ids: e.map((x) => x.i) };
    };
    const stored = (ids: string[]) =>
      j.db.all<{ event_id: string; at: number; session_id: string }>(
        `SELECT event_id, at, session_id FROM events WHERE site_id = ? AND event_id IN (${ids.map(() => '?').join(',')}) ORDER BY at`,
        [j.site.siteId, ...ids],
      );
    return { ...j, send, stored };
  }

  test('a clock three hours fast: the events are stored at the collector clock, a second apart as sent', async () => {
    const j = await setup();
    const device = j.clock.now + 3 * HOUR;
    const { res, ids } = await j.send('v_fastclock01', device + 2000, [{ t: device }, { t: device + 1000, path: '/pricing' }]);
    expect(res.status).toBe(202);
    // received at clock.now; the device sent at device + 2 s, so its clock runs 3 h + 2 s ahead
    expect((await j.stored(ids)).map((r) => Number(r.at))).toEqual([j.clock.now - 2000, j.clock.now - 1000]);
  });

  test('a clock two years behind: the events are accepted, not refused as too old, and stored at the collector clock', async () => {
    const j = await setup();
    const device = j.clock.now - 730 * DAY;
    const { res, ids } = await j.send('v_oldclock001', device + 500, [{ t: device }]);
    expect(res.status).toBe(202);
    expect((await j.stored(ids)).map((r) => Number(r.at))).toEqual([j.clock.now - 500]);
  });

  test('events queued on the device for hours keep their age: only the clock difference is taken off', async () => {
    const j = await setup();
    // the device's clock is 10 minutes slow; the events were made 2 hours before the batch went out
    const sent = j.clock.now - 10 * MIN;
    const { res, ids } = await j.send('v_queued00001', sent, [{ t: sent - 2 * HOUR }]);
    expect(res.status).toBe(202);
    expect((await j.stored(ids)).map((r) => Number(r.at))).toEqual([j.clock.now - 2 * HOUR]);
  });

  test('a device clock within the tolerance is taken as it is (network time is no skew)', async () => {
    const j = await setup();
    const { ids } = await j.send('v_nearclock01', j.clock.now + 30_000, [{ t: j.clock.now + 29_000 }]);
    // 29 s ahead: within LIMITS.futureSkewMs, stored as sent
    expect((await j.stored(ids)).map((r) => Number(r.at))).toEqual([j.clock.now + 29_000]);
  });

  test('without the stamp, event times are taken as sent: older than the limit refused, far future cut to the limit', async () => {
    const j = await setup();
    const old = await j.send('v_nostamp0001', undefined, [{ t: j.clock.now - LIMITS.maxAgeMs - DAY }]);
    expect(old.res.status).toBe(400);
    const ahead = await j.send('v_nostamp0002', undefined, [{ t: j.clock.now + 3 * HOUR }]);
    expect(ahead.res.status).toBe(202);
    expect((await j.stored(ahead.ids)).map((r) => Number(r.at))).toEqual([j.clock.now + LIMITS.futureSkewMs]);
  });

  test('a stamp that is no time is ignored, and the batch is stored', async () => {
    const j = await setup();
    for (const bad of ['soon', -5, 1.5, null]) {
      const e = [{ i: randomId(), n: 'pageview', t: j.clock.now, u: 'http://127.0.0.1/' }];
      const res = await j.app.request('/e', {
        method: 'POST',
        body: JSON.stringify({ s: j.site.siteKey, v: 'v_badstamp' + String(bad).replace(/\W/g, 'x').padEnd(4, 'x'), e, t: bad }),
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
      });
      expect(res.status, `t: ${JSON.stringify(bad)}`).toBe(202);
      expect((await j.stored([e[0].i])).map((r) => Number(r.at))).toEqual([j.clock.now]);
    }
  });

  test('the device clock jumping past the session timeout opens a session, though the beacons arrive a second apart', async () => {
    const j = await setup();
    const v = 'v_jumpclock01';
    const first = await j.send(v, j.clock.now, [{ t: j.clock.now, path: '/pricing' }]);
    j.clock.now += 1000;
    // a fake clock moved on by 31 minutes (Playwright's clock.fastForward): the device says 31 idle minutes passed
    const device = j.clock.now + 31 * MIN;
    const second = await j.send(v, device, [{ t: device, path: '/pricing' }]);
    expect(second.res.status).toBe(202);
    const rows = await j.stored([...first.ids, ...second.ids]);
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(2);
    // pricing seen in two sessions: intent (default rules)
    expect(await j.stages(await j.leadOfVisitor(v))).toContain('intent');
  });

  test('the same two beacons from a device whose clock did not jump stay in one session', async () => {
    const j = await setup();
    const v = 'v_steadyclock';
    const first = await j.send(v, j.clock.now, [{ t: j.clock.now, path: '/pricing' }]);
    j.clock.now += 1000;
    const second = await j.send(v, j.clock.now, [{ t: j.clock.now, path: '/pricing' }]);
    const rows = await j.stored([...first.ids, ...second.ids]);
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(1);
    expect(await j.stages(await j.leadOfVisitor(v))).not.toContain('intent');
  });
});
