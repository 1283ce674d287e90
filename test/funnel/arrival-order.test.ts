// One person's devices reach the collector in any order: each device's batches in the order it sent them, but the
// devices' batches interleaved at random (a phone offline for a while). Every order must give the lead the rules give
// its events in time order: the same stages, score items, MQL/SQL moments, touches, creation and identification.
// Seeded random journeys on the default rules (ORDER_SEEDS=1-200 runs more); real HTTP on a real database.
// A device's own batches out of order (an outbox resent after a later visit's beacon) leave the touches of time order:
// the last touch is the visit that began last, dated at its start, whichever of its batches came first (asserted).
// ORDER_LATE=1 checks everything else on such orders too, but for the last touch's session id (a session is named when
// its first batch arrives): a late batch that bridges two sessions of a device (each opened by batches that came before
// it) merges them, so the visit rules count one visit, as in time order (seed 21; session-bridge.test.ts).
import { describe, expect, test } from 'vitest';
import { get, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';
import { DAY, MIN, T0 } from '../helpers/funnel-factories.js';
import { prng, type Rng } from './invariant-journeys.js';

const { open } = useJourneys();

type Batch = { v: string; at: number; events: Array<Record<string, unknown>> };

const PAGES = ['/', '/blog/x', '/pricing', '/case-studies/y', '/compare/a-vs-b', '/careers', '/docs/start', '/plans'];

/** Three devices of `email`, two to four visits each over five days, visits of different devices often overlapping. */
function journey(rng: Rng, email: string): Batch[][] {
  const devices: Batch[][] = [];
  for (let d = 0; d < 3; d++) {
    const v = `v_ord${d}_${email.replace(/[^a-z0-9]/g, "")}`;
    const visits: Batch[] = [];
    // seconds apart per device: events of one millisecond are folded in id order (random), which is no order at all
    let t = T0 + rng.int(0, 120) * MIN + (d + 1) * 1000;
    const n = rng.int(2, 4);
    const identifyAt = rng.int(0, n - 1);
    for (let k = 0; k < n; k++) {
      const events: Array<Record<string, unknown>> = [];
      for (let e = rng.int(1, 3); e > 0; e--) {
        const r = rng.next();
        if (r < 0.7) events.push({ path: rng.pick(PAGES) });
        else if (r < 0.8) events.push({ n: 'download', path: '/resources', p: { url: 'http://127.0.0.1/files/b2b-ebook.pdf' } });
        else if (r < 0.9) events.push({ n: 'newsletter_signup', f: 'newsletter', path: '/blog/x', em: email });
        else events.push({ n: 'form_submit', f: 'other', path: '/contact', em: email });
      }
      if (k === identifyAt) events.push({ n: 'identify', em: email });
      visits.push({ v, at: t, events });
      // the next visit: minutes later (the same visit), or hours later (a new one)
      t += rng.chance(0.5) ? rng.int(2, 20) * MIN : rng.int(2, 30) * 60 * MIN;
    }
    // as the snippet sends them: every event carries the device's first touch (its landing page) and its visit's
    const ft = { url: `http://127.0.0.1${String(visits[0].events[0].path ?? '/')}`, at: visits[0].at };
    let st = ft;
    visits.forEach((b, k) => {
      if (k > 0 && b.at - visits[k - 1].at > 30 * MIN) st = { url: `http://127.0.0.1${String(b.events[0].path ?? '/')}`, at: b.at };
      b.events = b.events.map((e) => ({ ...e, ft, st }));
    });
    devices.push(visits);
  }
  return devices;
}

const LATE = Boolean(process.env.ORDER_LATE);

/** All batches in time order, or interleaved at random keeping each device's own order unless `late`. */
function arrival(rng: Rng, devices: Batch[][], chronological: boolean, late = LATE): Batch[] {
  if (chronological) return devices.flat().sort((a, b) => a.at - b.at);
  // late: a device's own batches may come out of order too (an outbox resent after a later visit's beacon)
  const queues = devices.map((d) => (late ? [...d].sort(() => rng.next() - 0.5) : [...d]));
  const out: Batch[] = [];
  while (queues.some((q) => q.length)) {
    const q = rng.pick(queues.filter((x) => x.length));
    out.push(q.shift()!);
  }
  return out;
}

async function outcome(j: Journey, email: string) {
  j.clock.now = T0 + 6 * DAY;
  const p = await profile(j, email);
  const items = (await timeline(j, p.leadId, 'types=stage,score&limit=500')).items.map((i) =>
    i.kind === 'stage' ? [i.at, i.from, i.to] : [i.at, i.rule, i.points, i.scoreAfter]);
  const { leadId: _id, updatedAt: _u, segments: _s, ...rest } = p;
  return { profile: rest, items, leads: (await get(j, '/api/leads?limit=500')).items.length };
}

/** The batches sent in this order to a fresh collector, and what the lead's reads show afterwards. */
async function play(order: Batch[], email: string) {
  const j = await open();
  for (const b of order) await j.visit(b.v, b.events, b.at);
  return outcome(j, email);
}

const describeOrder = (order: Batch[]) => order.map((b) => `${b.v}@${(b.at - T0) / MIN}m`).join(' ');
/** The lead's touches, but for the last touch's session id (named by the batch that arrived first). */
const touchesOf = ({ profile: { firstTouch, lastTouch } }: Awaited<ReturnType<typeof outcome>>) => {
  const { sessionId: _, ...last } = lastTouch ?? {};
  return { firstTouch, lastTouch: last };
};

describe('a person\'s devices arriving in any order', () => {
  const seeds = (process.env.ORDER_SEEDS ?? '1-6').split('-').map(Number);
  for (let seed = seeds[0]; seed <= (seeds[1] ?? seeds[0]); seed++) {
    test(`seed ${seed}: three interleavings equal time order`, async () => {
      const rng = prng(seed);
      const email = `p${seed}@order.test`;
      const devices = journey(rng, email);
      const expected = await play(arrival(rng, devices, true), email);
      expect(expected.leads).toBe(1);
      for (let k = 0; k < 3; k++) {
        const order = arrival(rng, devices, false);
        const got = await play(order, email);
        if (LATE) got.profile.lastTouch.sessionId = expected.profile.lastTouch.sessionId;
        expect(got, describeOrder(order)).toEqual(expected);
      }
    }, 60_000);

    test(`seed ${seed}: a device's batches out of order leave the touches of time order`, async () => {
      const rng = prng(seed);
      const email = `p${seed}@order.test`;
      const devices = journey(rng, email);
      const expected = touchesOf(await play(arrival(rng, devices, true), email));
      for (let k = 0; k < 3; k++) {
        const order = arrival(rng, devices, false, true);
        expect(touchesOf(await play(order, email)), describeOrder(order)).toEqual(expected);
      }
    }, 60_000);
  }

  // Pages at 0, 14 and 32 minutes are one visit: the 32nd minute's batch, arriving before the 14th's, opened a second
  // session, which the late page bridges to the first (late-events.ts mergeBridgedSessions): its events move there.
  test('a late batch bridging two sessions of a device leaves one visit, as in time order', async () => {
    const email = 'bridge@order.test';
    const ft = { url: 'http://127.0.0.1/', at: T0 };
    const [a, b, c] = [0, 14, 32].map((m): Batch => ({ v: 'v_bridge', at: T0 + m * MIN, events: [{ path: '/', ft, st: ft }] }));
    a.events.push({ n: 'identify', em: email, ft, st: ft });
    expect(await play([a, c, b], email)).toEqual(await play([a, b, c], email));
  }, 60_000);
});
