// Four collector processes on one PostgreSQL database end in the same state as one process replaying the same events.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../collector/storage/db.js';
import type { PgDb } from '../../collector/storage/pg-db.js';
import { insertSite, type Site } from '../../collector/storage/sites.js';
import { createApp } from '../../collector/app.js';
import { seedPresetSegments } from '../../collector/segments/seed-presets.js';
import { defaultConfig } from '../../collector/config.js';
import type { WireBatch, WireEvent } from '../../shared/wire.js';
import { openTestDb } from '../helpers/test-db.js';
import { CHROME_UA, IPHONE_UA } from '../helpers/factories.js';
import { expectSameAttribution, readStateSnapshot } from './state-snapshot.js';
import { startCollector, type Collector } from './start-collector.js';

const SITE: Site = {
  siteId: 'site_scale_out',
  siteKey: 'pk_scale_out',
  domain: '127.0.0.1',
  name: 'Scale-out',
  settings: {},
  createdAt: 1_760_000_000_000,
};
const VISITORS = 24;
const STEPS = 6;
const COLLECTORS = 4;
const HEADERS = { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1' };

/** A deterministic random stream (mulberry32), so a failure can be replayed. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Visitors 0–7 come in pairs that share an email (two devices of one lead); most others identify alone. */
const emailOf = (v: number) => (v < 8 ? `pair${v >> 1}@example.com` : v % 3 === 2 ? null : `solo${v}@example.com`);

/** One visitor's journey: a landing batch, then STEPS - 1 batches moving down the funnel, all in one session. */
function journey(v: number, t0: number): WireBatch[] {
  const visitorId = `v_scale_${String(v).padStart(2, '0')}`;
  const at = (k: number, j: number) => t0 + v * 2000 + k * 20_000 + j * 100;
  const ev = (k: number, j: number, e: Omit<WireEvent, 'i' | 't'>): WireEvent => ({ i: `e_${visitorId}_${k}_${j}`, t: at(k, j), ...e });
  const site = 'http://127.0.0.1';
  const email = emailOf(v);
  const landing = v % 3 === 0 ? `${site}/?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=g${v}` : `${site}/`;
  const steps: WireEvent[][] = [
    [ev(0, 0, { n: 'pageview', u: landing, r: v % 2 ? 'https://www.google.com/' : undefined })],
    [ev(1, 0, { n: 'pageview', u: `${site}/blog/funnels` })],
    [ev(2, 0, { n: 'pageview', u: `${site}/pricing` }), ev(2, 1, { n: 'engagement', u: `${site}/pricing`, p: { s: 40, sc: 80 } })],
    [ev(3, 0, { n: 'download', u: `${site}/files/whitepaper.pdf` }), ev(3, 1, { n: 'pageview', u: `${site}/case-studies/acme` })],
    email
      ? [ev(4, 0, { n: 'newsletter_signup', u: `${site}/blog/funnels`, f: 'newsletter', em: email, tr: { company: 'Acme' } })]
      : [ev(4, 0, { n: 'pageview', u: `${site}/pricing` })],
    email && v % 2 === 0
      ? [ev(5, 0, { n: 'demo_request', u: `${site}/demo`, f: 'demo', em: email }), ev(5, 1, { n: 'pageview', u: `${site}/thanks` })]
      : [ev(5, 0, { n: 'pageview', u: `${site}/` })],
  ];
  return steps.map((e) => ({ s: SITE.siteKey, v: visitorId, e }));
}

const userAgentOf = (v: number) => (v % 2 ? IPHONE_UA : CHROME_UA);

describe.skipIf(!process.env.TEST_DATABASE_URL)('four collectors on one PostgreSQL database', () => {
  let multi: Db;
  let single: Db;
  let collectors: Collector[] = [];

  beforeAll(async () => {
    [multi, single] = await Promise.all([openTestDb('pg'), openTestDb('pg')]);
    await insertSite(multi, SITE);
    await insertSite(single, SITE);
    // the preset segments, so that live membership and its counts are raced too
    await seedPresetSegments(multi, SITE.siteId, SITE.createdAt);
    await seedPresetSegments(single, SITE.siteId, SITE.createdAt);
    const url = (multi as PgDb).pool.options.connectionString!;
    collectors = await Promise.all(
      Array.from({ length: COLLECTORS }, () => startCollector({ DATABASE_URL: url, SEGMENT_SWEEP_MS: '0', FLUSH_MS: '2' })),
    );
  }, 180_000);

  afterAll(async () => {
    await Promise.all(collectors.map((c) => c.stop()));
    await Promise.all([multi?.close(), single?.close()]);
  });

  test('interleaved and retried beacons for the same visitors leave the state a single collector would', async () => {
    const random = seeded(7);
    const t0 = Date.now() - 10 * 60_000;
    const journeys = Array.from({ length: VISITORS }, (_, v) => journey(v, t0));
    let requests = 0;
    const post = async (collector: number, v: number, batch: WireBatch) => {
      requests++;
      const res = await fetch(collectors[collector].url + '/e', {
        method: 'POST',
        body: JSON.stringify(batch),
        headers: { ...HEADERS, 'user-agent': userAgentOf(v) },
      });
      expect(res.status, await res.text()).toBe(202);
    };

    // Every visitor lands first (a visitor's later beacons cannot precede its first page), spread over all collectors.
    await Promise.all(journeys.map((batches, v) => post(v % COLLECTORS, v, batches[0])));
    // Then every visitor walks its journey at once: each step goes to another collector, and about a third of the
    // steps are also retried on a third collector at the same moment (the snippet resending an unacknowledged batch).
    await Promise.all(
      journeys.map(async (batches, v) => {
        for (let k = 1; k < batches.length; k++) {
          const target = (v + k) % COLLECTORS;
          const sends = [post(target, v, batches[k])];
          if (random() < 0.35) sends.push(post((target + 1 + Math.floor(random() * (COLLECTORS - 1))) % COLLECTORS, v, batches[k]));
          await Promise.all(sends);
        }
      }),
    );
    expect(requests).toBeGreaterThan(VISITORS * STEPS);

    // The same events, once each, through one in-process collector in journey order.
    const replay = createApp({ db: single, config: defaultConfig({ SEGMENT_SWEEP_MS: 0, DEMO: '0' }) });
    try {
      const send = async (v: number, batch: WireBatch) => {
        const res = await replay.app.request('/e', { method: 'POST', body: JSON.stringify(batch), headers: { ...HEADERS, 'user-agent': userAgentOf(v) } });
        expect(res.status).toBe(202);
      };
      for (let v = 0; v < VISITORS; v++) await send(v, journeys[v][0]);
      for (let k = 1; k < STEPS; k++) for (let v = 0; v < VISITORS; v++) await send(v, journeys[v][k]);
    } finally {
      await replay.close();
    }

    const [got, want] = await Promise.all([readStateSnapshot(multi, SITE.siteId), readStateSnapshot(single, SITE.siteId)]);
    const sent = journeys.flat().flatMap((b) => b.e).length;
    expect(want.events).toHaveLength(sent);
    expect(got.events).toHaveLength(sent);
    // the funnel engine ran: leads, stages and identities exist to be compared
    expect(want.leads.length).toBeGreaterThanOrEqual(VISITORS - 4);
    expect(want.stagesEntered.length).toBeGreaterThan(want.leads.length);
    expect(want.identityLinks.length).toBeGreaterThanOrEqual(VISITORS);
    expect(got.visitors).toEqual(want.visitors);
    expect(got.events).toEqual(want.events);
    expect(got.orphanLeads).toBe(want.orphanLeads);
    expectSameAttribution(got, want);
    // live member counts, moved concurrently through shard rows, match the members on both sides
    expect(want.segmentMembers.length).toBeGreaterThan(0);
    expect(got.memberCounts).toEqual(got.memberRows);
    expect(got.memberCounts).toEqual(want.memberCounts);
    // every event counted once on its visitor, even the retried ones
    const counted = (got.visitors as Array<{ event_count: number }>).reduce((n, v) => n + Number(v.event_count), 0);
    expect(counted).toBe(sent);
  }, 120_000);
});
