// What a deployment of three collectors behind a round-robin load balancer hits and the earlier scale-out files do not
// check, judged from the contract and the README ("Scaling out", "Segments", "Webhooks", "Erasure"), not from the code:
// - the segment sweep running on all three collectors (SEGMENT_SWEEP_MS=100) while the leads it takes out of a
//   `within` segment send pages to the other collectors: one segment.entered and one segment.exited per lead, each
//   delivered once; and leads that view the page again just as their window ends stay members, with a recheck;
// - a lead's two devices crossing the MQL threshold at once on two collectors while the CRM's closed_won lands on the
//   third: one lead.mql, each stage told once, every queued delivery delivered exactly once, the stages and scores one
//   collector gives;
// - a CRM making a lead by a new email on one collector at the same moment a device identifies with it on another,
//   and a new device's first page and identify in flight at once on two collectors: one lead, every event on it;
// - a webhook paused, unsubscribed from a type, or deleted on A while B and C ingest without pause: nothing is queued
//   for it meanwhile, so nothing is sent while it is stopped and nothing is left for a deleted one. Before the fix
//   (storage/webhooks.ts: listActiveWebhookEvents reads the webhooks FOR SHARE on PostgreSQL) a flush that had read
//   the webhook as active just before the PUT committed queued `pending` deliveries after it, which the workers then
//   sent: 28 of 416 sent while paused, 11 while unsubscribed, 44 rows left for deleted webhooks (one run);
// - an erasure on one collector while another backfills the lead's server events dated before it and a third ingests
//   its beacons: nothing comes back; a later server event by the email is a new lead with only itself.
// Real collector processes over real HTTP on one PostgreSQL database, with the sweep on (the shared rig turns it off).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import type { PgDb } from '../../collector/storage/pg-db.js';
import { openTestDb } from '../helpers/test-db.js';
import { readStateSnapshot } from './state-snapshot.js';
import { startCollector } from './start-collector.js';
import { A, B, C, expect202, stopThreeAndOne, type ThreeAndOne } from './three-collectors.js';
import { collectorsTarget, eventsOf, singleTarget, type Target } from './journey-targets.js';

const MIN = 60_000;

interface Received {
  /** when the receiver got it (ms) */
  arrived?: number;
  id: string;
  type: string;
  data: Record<string, any>;
}

const until = async (what: () => Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !(await what())) await new Promise((r) => setTimeout(r, 100));
};

describe.skipIf(!process.env.TEST_DATABASE_URL)('three collectors behind a round-robin balancer, each sweeping segments and delivering webhooks', () => {
  let rig: ThreeAndOne | undefined;
  let receiver: Server;
  const received: Received[] = [];
  let hookUrl = '';

  beforeAll(async () => {
    const [shared, lone] = await Promise.all([openTestDb('pg'), openTestDb('sqlite')]);
    const url = (shared as PgDb).pool.options.connectionString!;
    const env = { DATABASE_URL: url, SEGMENT_SWEEP_MS: '100', FLUSH_MS: '2' };
    const collectors = [await startCollector(env)];
    collectors.push(...(await Promise.all([1, 2].map(() => startCollector(env)))));
    const single = createApp({ db: lone, config: defaultConfig({ SEGMENT_SWEEP_MS: 0, DEMO: '0', FLUSH_MS: 2 }), log: createLog('error') });
    rig = { shared, lone, url, collectors, single };
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        try {
          received.push({ ...JSON.parse(body), arrived: Date.now() });
        } catch {
          received.push({ id: 'unreadable', type: '', data: {} });
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  }, 180_000);

  afterAll(async () => {
    await stopThreeAndOne(rig ?? { collectors: [] });
    await new Promise((r) => receiver?.close(r));
  });

  const multiTarget = () => collectorsTarget(rig!.shared, rig!.collectors);

  /** The deliveries queued for a site, and a wait until every one of them is delivered (or the deadline). */
  async function queuedOf(t: Target) {
    return t.db.all<{ delivery_id: string; status: string; payload: string }>('SELECT delivery_id, status, payload FROM webhook_deliveries WHERE site_id = ?', [t.site.siteId]);
  }
  async function allDelivered(t: Target) {
    await until(async () => (await queuedOf(t)).every((d) => d.status === 'delivered'), 20_000);
    const rows = await queuedOf(t);
    expect(rows.filter((d) => d.status !== 'delivered')).toEqual([]);
    // a moment more for a late second copy from another collector
    await new Promise((r) => setTimeout(r, 1500));
    const ids = new Set(rows.map((d) => d.delivery_id));
    expect(received.filter((r) => ids.has(r.id)).map((r) => r.id).sort(), 'each queued delivery received exactly once').toEqual([...ids].sort());
    return rows.map((d) => JSON.parse(d.payload) as Received);
  }

  test('the sweep on all three collectors takes each lead out of a `within` segment once while its pages land on the others: one segment.entered, one segment.exited, each delivered once', async () => {
    const t = await multiTarget();
    const hook = await t.api(A, 'PUT', '/api/webhooks/crm', { url: hookUrl, events: ['segment.entered', 'segment.exited'] });
    expect(hook.status, JSON.stringify(hook.body)).toBeLessThan(300);
    const seg = await t.api(A, 'PUT', '/api/segments/features_last_minute', { name: 'Features in the last minute', definition: { all: [{ identified: true }, { did: { event: 'pageview', path: '/features*', within: '1m' } }] } });
    expect(seg.status, JSON.stringify(seg.body)).toBeLessThan(300);
    const LEADS = 9;
    const devices = Array.from({ length: LEADS }, (_, k) => `v_sweep4_${String(k).padStart(3, '0')}_device`);
    // each lead identified and viewed the features page 56 s ago: a member now, out 4 s from now (README, Segments:
    // the sweep takes it out within SEGMENT_SWEEP_MS of its window's end, with no event of its own)
    const seen = Date.now() - 56_000;
    const entered = await Promise.all(
      devices.map((v, k) => t.beacon(k, v, eventsOf(`sweep4_${k}`, [{ n: 'identify', t: seen - 10, em: `sweep${k}@example.com` }, { n: 'pageview', t: seen, path: '/features' }]))),
    );
    for (const a of entered) expect202(a);
    const members = async () => Number((await t.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM segment_members WHERE site_id = ? AND segment_key = ?', [t.site.siteId, 'features_last_minute']))?.n);
    expect(await members()).toBe(LEADS);
    // around the window's end every lead keeps sending other pages, to the collectors the balancer picks: each flush
    // evaluates the lead at the moment the sweeps do
    const stop = Date.now() + 6_500;
    let round = 0;
    while (Date.now() < stop) {
      const r = round++;
      const answers = await Promise.all(devices.map((v, k) => t.beacon(k + r + 1, v, eventsOf(`sweep4_${k}_r${r}`, [{ n: 'pageview', t: Date.now(), path: `/about/${r}` }]))));
      for (const a of answers) expect202(a);
      await new Promise((res) => setTimeout(res, 150));
    }
    await until(async () => (await members()) === 0, 10_000);
    expect(await members()).toBe(0);
    const listed = await t.api(C, 'GET', '/api/segments/features_last_minute');
    expect(listed.body.count).toBe(0);
    const payloads = await allDelivered(t);
    const told = payloads.filter((p) => p.data.segment === 'features_last_minute').map((p) => `${p.data.email} ${p.type}`).sort();
    const want = devices.flatMap((_, k) => [`sweep${k}@example.com segment.entered`, `sweep${k}@example.com segment.exited`]).sort();
    expect(told).toEqual(want);
  }, 45_000);

  test('a lead views the page again on B or C just as its `within` window ends and the sweeps run on all three: it stays a member with a recheck, its webhooks alternate', async () => {
    const t = await multiTarget();
    const hook = await t.api(A, 'PUT', '/api/webhooks/crm', { url: hookUrl, events: ['segment.entered', 'segment.exited'] });
    expect(hook.status, JSON.stringify(hook.body)).toBeLessThan(300);
    const seg = await t.api(A, 'PUT', '/api/segments/features_again', { definition: { all: [{ identified: true }, { did: { event: 'pageview', path: '/features*', within: '1m' } }] } });
    expect(seg.status, JSON.stringify(seg.body)).toBeLessThan(300);
    const LEADS = 9;
    const devices = Array.from({ length: LEADS }, (_, k) => `v_again4_${String(k).padStart(3, '0')}_device`);
    const seen = Date.now() - 57_000;
    for (const a of await Promise.all(devices.map((v, k) => t.beacon(k, v, eventsOf(`again4_${k}`, [{ n: 'identify', t: seen - 10, em: `again${k}@example.com` }, { n: 'pageview', t: seen, path: '/features' }]))))) expect202(a);
    // from 0.8 s before the window's end to 0.8 s after it, every lead views the features page again every 150 ms
    const windowEnd = seen + 60_000;
    while (Date.now() < windowEnd - 800) await new Promise((r) => setTimeout(r, 20));
    let round = 0;
    while (Date.now() < windowEnd + 800) {
      const r = round++;
      for (const a of await Promise.all(devices.map((v, k) => t.beacon(k + r + 1, v, eventsOf(`again4_${k}_r${r}`, [{ n: 'pageview', t: Date.now(), path: `/features/${r}` }]))))) expect202(a);
      await new Promise((res) => setTimeout(res, 150));
    }
    // every lead viewed the page well within the last minute: a member, as the definition says of its stored events
    await new Promise((r) => setTimeout(r, 1000));
    const members = await t.db.all<{ email: string }>(
      'SELECT l.email FROM segment_members m JOIN leads l ON l.site_id = m.site_id AND l.lead_id = m.lead_id WHERE m.site_id = ? AND m.segment_key = ? ORDER BY l.email',
      [t.site.siteId, 'features_again'],
    );
    expect(members.map((m) => m.email)).toEqual(devices.map((_, k) => `again${k}@example.com`).sort());
    expect((await t.api(B, 'GET', '/api/segments/features_again')).body.count).toBe(LEADS);
    // and each one keeps a recheck, never after its latest view's window end (README, Segments: the next time its result
    // can change; an earlier one only costs the sweep a look), and none left overdue by the sweeps
    const rechecks = await t.db.all<{ email: string; due: number; latest: number }>(
      `SELECT l.email, r.due_at AS due, (SELECT MAX(e.at) FROM events e WHERE e.site_id = l.site_id AND e.lead_id = l.lead_id AND e.path LIKE '/features%') AS latest
       FROM leads l LEFT JOIN segment_rechecks r ON r.site_id = l.site_id AND r.lead_id = l.lead_id WHERE l.site_id = ? ORDER BY l.email`,
      [t.site.siteId],
    );
    const read = Date.now();
    for (const r of rechecks) {
      expect(r.due, `${r.email}: no recheck`).not.toBeNull();
      expect(Number(r.due) - Number(r.latest), `${r.email}: recheck due ${r.due}, latest view ${r.latest}`).toBeLessThanOrEqual(60_001);
      expect(Number(r.due), `${r.email}: recheck overdue`).toBeGreaterThan(read - 1000);
    }
    const payloads = await allDelivered(t);
    for (const [k] of devices.entries()) {
      const told = payloads
        .filter((p) => p.data.segment === 'features_again' && p.data.email === `again${k}@example.com`)
        .sort((a, b) => Date.parse(a.data.at) - Date.parse(b.data.at) || a.id.localeCompare(b.id))
        .map((p) => p.type);
      // entered, then (if it was out for a moment) exited and entered again: never twice the same in a row, ending in
      expect(told[0], `again${k}: ${told.join(', ')}`).toBe('segment.entered');
      expect(told.at(-1), `again${k}: ${told.join(', ')}`).toBe('segment.entered');
      expect(told.some((x, i) => i > 0 && x === told[i - 1]), `again${k}: ${told.join(', ')}`).toBe(false);
    }
  }, 45_000);

  test("a lead's two devices cross the MQL threshold at once on two collectors while the CRM's closed_won lands on the third: one lead.mql, each stage told once, every delivery delivered once", async () => {
    const t0 = Date.now() - 30 * MIN;
    const journey = async (t: Target, sendAtOnce: boolean) => {
      const hook = await t.api(A, 'PUT', '/api/webhooks/crm', { url: hookUrl, events: ['stage.changed', 'lead.mql'] });
      expect(hook.status, JSON.stringify(hook.body)).toBeLessThan(300);
      // 12 points on the first device (a visit 2, the newsletter 10); the second device is anonymous so far
      expect202(await t.beacon(A, 'v_mql4_device_0', eventsOf('mql4a', [{ n: 'pageview', t: t0, path: '/' }, { n: 'newsletter_signup', t: t0 + 1000, path: '/blog', f: 'newsletter', em: 'mql4@example.com' }])));
      expect202(await t.beacon(B, 'v_mql4_device_1', eventsOf('mql4b', [{ n: 'pageview', t: t0 + 2000, path: '/' }])));
      // then both devices view pricing and request a demo (with the email), and the CRM reports the deal won: either
      // device alone takes the lead past 50 (2 + 10 + 10 + 30)
      const sends = [
        () => t.beacon(A, 'v_mql4_device_0', eventsOf('mql4a', [{ n: 'pageview', t: t0 + 60_000, path: '/pricing' }, { n: 'demo_request', t: t0 + 61_000, path: '/demo', f: 'demo', em: 'mql4@example.com' }])),
        () => t.beacon(B, 'v_mql4_device_1', eventsOf('mql4b', [{ n: 'pageview', t: t0 + 60_005, path: '/pricing' }, { n: 'demo_request', t: t0 + 61_005, path: '/demo', f: 'demo', em: 'mql4@example.com' }])),
        () => t.api(C, 'POST', '/api/events', { email: 'mql4@example.com', name: 'closed_won', at: new Date(t0 + 120_000).toISOString(), id: 'crm_mql4_won' }),
      ];
      const answers = sendAtOnce ? await Promise.all(sends.map((s) => s())) : [await sends[0](), await sends[1](), await sends[2]()];
      for (const a of answers) expect202(a);
    };
    const multi = await multiTarget();
    await journey(multi, true);
    const one = await singleTarget(rig!.single);
    await journey(one, false);
    await rig!.single.deps.writer.flush();

    const payloads = await allDelivered(multi);
    const mql = payloads.filter((p) => p.type === 'lead.mql');
    expect(mql, 'a lead becomes an MQL once').toHaveLength(1);
    const tos = payloads.filter((p) => p.type === 'stage.changed').map((p) => `${p.data.email} ${p.data.to}`);
    expect(tos.filter((x, i) => tos.indexOf(x) !== i), 'a stage told twice').toEqual([]);
    expect(tos).toContain('mql4@example.com purchase');
    const [got, want] = await Promise.all([readStateSnapshot(multi.db, multi.site.siteId), readStateSnapshot(one.db, one.site.siteId)]);
    expect(want.leads).toHaveLength(1);
    expect(got.leads).toEqual(want.leads);
    expect(got.stagesEntered).toEqual(want.stagesEntered);
    expect(got.scorePointsByRule).toEqual(want.scorePointsByRule);
    const oneMql = (await one.db.all<{ payload: string }>('SELECT payload FROM webhook_deliveries WHERE site_id = ?', [one.site.siteId])).filter((d) => JSON.parse(d.payload).type === 'lead.mql');
    expect(oneMql).toHaveLength(1);
  }, 45_000);

  test('a CRM makes a lead by a new email on one collector at the same moment a device identifies with it on another: one lead, both on it', async () => {
    const t0 = Date.now() - 20 * MIN;
    const t = await multiTarget();
    const N = 8;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, k) => [
        t.api(k + 1, 'POST', '/api/events', { email: `fresh${k}@example.com`, name: 'opportunity_created', at: new Date(t0 + 5000).toISOString(), id: `crm_fresh4_${k}`, traits: { company: `Co${k}` } }),
        t.beacon(k, `v_fresh4_${k}_device`, eventsOf(`fresh4_${k}`, [{ n: 'pageview', t: t0, path: '/' }, { n: 'newsletter_signup', t: t0 + 1000, path: '/blog', f: 'newsletter', em: `Fresh${k}@Example.com` }])),
      ]).flat(),
    );
    for (const a of answers) expect202(a);
    const leads = await t.db.all<{ email: string; n: number }>('SELECT email, COUNT(*) AS n FROM leads WHERE site_id = ? GROUP BY email ORDER BY email', [t.site.siteId]);
    expect(leads.map((l) => `${l.email} ${Number(l.n)}`)).toEqual(Array.from({ length: N }, (_, k) => `fresh${k}@example.com 1`).sort());
    for (let k = 0; k < N; k++) {
      const profile = await t.api(k + 2, 'GET', `/api/leads/fresh${k}@example.com`);
      expect(profile.status).toBe(200);
      expect(profile.body.visitorIds).toEqual([`v_fresh4_${k}_device`]);
      const timeline = await t.api(k, 'GET', `/api/leads/fresh${k}@example.com/timeline?types=event&limit=100`);
      const names = timeline.body.items.filter((i: { kind: string }) => i.kind === 'event').map((i: { name: string }) => i.name).sort();
      expect(names).toEqual(['newsletter_signup', 'opportunity_created', 'pageview']);
    }
    // every event names a lead that exists
    const dangling = await t.db.all('SELECT e.event_id FROM events e LEFT JOIN leads l ON l.site_id = e.site_id AND l.lead_id = e.lead_id WHERE e.site_id = ? AND l.lead_id IS NULL', [t.site.siteId]);
    expect(dangling).toEqual([]);
  }, 30_000);

  test("a new device's first page on one collector and its identify on another, in flight at once: one lead, every event of the device on it, as on one collector", async () => {
    const t0 = Date.now() - 20 * MIN;
    const N = 10;
    const journey = async (t: Target, atOnce: boolean) => {
      const device = (k: number) => `v_first4_${String(k).padStart(2, '0')}_dev`;
      const play = async (sends: Array<() => Promise<{ status: number; body: unknown }>>) =>
        atOnce ? Promise.all(sends.map((s) => s())) : sends.reduce<Promise<Array<{ status: number; body: unknown }>>>(async (acc, s) => [...(await acc), await s()], Promise.resolve([]));
      // the device's first page and its newsletter signup, in flight at once on two collectors
      const first = await play(Array.from({ length: N }, (_, k) => [
        () => t.beacon(k + 1, device(k), eventsOf(`first4_${k}a`, [{ n: 'pageview', t: t0, path: '/' }])),
        () => t.beacon(k, device(k), eventsOf(`first4_${k}b`, [{ n: 'newsletter_signup', t: t0 + 1000, path: '/blog', f: 'newsletter', em: `first${k}@example.com` }])),
      ]).flat());
      // then its next page, while the CRM (which read the visitor id from the form) reports an opportunity by it on a third
      const next = await play(Array.from({ length: N }, (_, k) => [
        () => t.beacon(k + 1, device(k), eventsOf(`first4_${k}c`, [{ n: 'pageview', t: t0 + 60_000, path: '/pricing' }])),
        () => t.api(k + 2, 'POST', '/api/events', { visitorId: device(k), name: 'opportunity_created', at: new Date(t0 + 2000).toISOString(), id: `crm_first4_${k}` }),
      ]).flat());
      const answers = [...first, ...next];
      for (const a of answers) expect202(a);
    };
    const multi = await multiTarget();
    await journey(multi, true);
    const one = await singleTarget(rig!.single);
    await journey(one, false);
    await rig!.single.deps.writer.flush();
    const [got, want] = await Promise.all([readStateSnapshot(multi.db, multi.site.siteId), readStateSnapshot(one.db, one.site.siteId)]);
    expect(want.leads).toHaveLength(N);
    expect(got.orphanLeads, 'leads no device points at').toBe(0);
    expect(got.leads).toEqual(want.leads);
    expect(got.stagesEntered).toEqual(want.stagesEntered);
    expect(got.scorePointsByRule).toEqual(want.scorePointsByRule);
    // every event of a device is on the lead its email names
    const stray = await multi.db.all(
      `SELECT e.event_id, e.name FROM events e JOIN leads l ON l.site_id = e.site_id AND l.email = 'first' || substr(e.visitor_id, 10, 2)::int || '@example.com'
       WHERE e.site_id = ? AND e.visitor_id LIKE 'v_first4_%' AND (e.lead_id IS NULL OR e.lead_id <> l.lead_id)`,
      [multi.site.siteId],
    );
    expect(stray).toEqual([]);
    const counts = await multi.db.all<{ email: string; n: number }>(
      "SELECT l.email, COUNT(e.event_id) AS n FROM leads l LEFT JOIN events e ON e.site_id = l.site_id AND e.lead_id = l.lead_id WHERE l.site_id = ? GROUP BY l.email ORDER BY l.email",
      [multi.site.siteId],
    );
    expect(counts.map((c) => `${c.email} ${Number(c.n)}`)).toEqual(Array.from({ length: N }, (_, k) => `first${k}@example.com 4`).sort());
  }, 40_000);

  test('a webhook paused on A gets nothing from what B and C ingest meanwhile; resumed on C, what was queued goes out once', async () => {
    const t0 = Date.now() - 20 * MIN;
    const t = await multiTarget();
    const created = await t.api(A, 'PUT', '/api/webhooks/crm', { url: hookUrl, events: ['stage.changed'] });
    expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
    const paused = await t.api(A, 'PUT', '/api/webhooks/crm', { url: hookUrl, events: ['stage.changed'], active: false });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    const ours = () => received.filter((r) => r.type === 'stage.changed' && String(r.data.email ?? '').startsWith('pause4_'));
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        t.beacon(B + (k % 2), `v_pause4_${k}_device`, eventsOf(`pause4_${k}`, [{ n: 'pageview', t: t0, path: '/' }, { n: 'newsletter_signup', t: t0 + 1000, path: '/blog', f: 'newsletter', em: `pause4_${k}@example.com` }])),
      ),
    );
    for (const a of answers) expect202(a);
    // README, Webhooks: "A paused webhook gets nothing: no new deliveries are queued for it"
    await new Promise((r) => setTimeout(r, 1500));
    expect(ours()).toEqual([]);
    const queuedWhilePaused = await queuedOf(t);
    expect(queuedWhilePaused, 'deliveries queued for a paused webhook').toEqual([]);
    const resumed = await t.api(C, 'PUT', '/api/webhooks/crm', { url: hookUrl, events: ['stage.changed'], active: true });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    // events after the resumption are told
    expect202(await t.beacon(A, 'v_pause4_0_device', eventsOf('pause4_after', [{ n: 'pageview', t: t0 + 60_000, path: '/pricing' }])));
    const payloads = await allDelivered(t);
    expect(payloads.map((p) => `${p.data.email} ${p.data.to}`)).toEqual(['pause4_0@example.com consideration']);
  }, 40_000);

  for (const change of ['paused', 'unsubscribed from stage.changed'] as const) {
    test(`a webhook ${change} on A while B and C ingest without pause: nothing of that type is sent until the next PUT allows it`, async () => {
      const t = await multiTarget();
      const created = await t.api(A, 'PUT', '/api/webhooks/crm', { url: hookUrl, events: ['stage.changed', 'lead.mql'] });
      expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
      // new visitors all the time, on B and C: each one's first page enters awareness (a stage.changed)
      let stop = false;
      let n = 0;
      const load = async (via: number) => {
        while (!stop) {
          const answers = await Promise.all(Array.from({ length: 4 }, () => {
            const k = n++;
            return t.beacon(via, `v_hold4_${change.length}_${k}_dev`, eventsOf(`hold4_${change.length}_${k}`, [{ n: 'pageview', t: Date.now() - 1000, path: '/' }]));
          }));
          for (const a of answers) expect202(a);
        }
      };
      const loads = [load(B), load(C), load(B), load(C)];
      // the receiver must hear nothing of the type from just after each PUT that stops it until the next that allows it
      const quiet: Array<[number, number]> = [];
      // what was in flight (claimed by a worker) when each stopping PUT answered: those attempts may finish
      const inFlight = new Set<string>();
      const on = { url: hookUrl, events: ['stage.changed', 'lead.mql'], active: true };
      const off = change === 'paused' ? { ...on, active: false } : { ...on, events: ['lead.mql'] };
      try {
        await until(async () => Number((await t.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ?', [t.site.siteId]))?.n) > 20, 10_000);
        for (let round = 0; round < 8; round++) {
          const stopped = await t.api(A, 'PUT', '/api/webhooks/crm', off);
          expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);
          const from = Date.now();
          // (claimed before: still sending, or finished since the answer)
          for (const r of await t.db.all<{ delivery_id: string }>(
            "SELECT delivery_id FROM webhook_deliveries WHERE site_id = ? AND (status = 'sending' OR delivered_at >= ?)",
            [t.site.siteId, from - 50],
          )) inFlight.add(r.delivery_id);
          await new Promise((r) => setTimeout(r, 500));
          if (round === 7) {
            quiet.push([from, Infinity]);
            break;
          }
          quiet.push([from, Date.now()]);
          const allowed = await t.api(A, 'PUT', '/api/webhooks/crm', on);
          expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        stop = true;
        await Promise.all(loads);
      }
      // a moment for the workers to send whatever they would
      await new Promise((r) => setTimeout(r, 1500));
      const rows = await t.db.all<{ delivery_id: string; status: string; created_at: number }>("SELECT delivery_id, status, created_at FROM webhook_deliveries WHERE site_id = ? AND event_type = 'stage.changed'", [t.site.siteId]);
      const ours = new Set(rows.map((r) => r.delivery_id));
      const late = received.filter((r) => ours.has(r.id) && !inFlight.has(r.id) && quiet.some(([from, to]) => r.arrived! > from && r.arrived! < to));
      const queuedAfter = rows.filter((r) => r.status === 'pending' || r.status === 'sending');
      console.log(`[scale-out-4] ${change}: ${rows.length} stage.changed queued for the site, ${late.length} sent while it was stopped, ${queuedAfter.length} left pending`);
      expect(late.map((r) => r.id), 'sent while stopped').toEqual([]);
      expect(queuedAfter, 'left to be sent').toEqual([]);
    }, 40_000);
  }

  test('webhooks deleted on A while B and C ingest without pause: none of their deliveries is left queued', async () => {
    const t = await multiTarget();
    let stop = false;
    let n = 0;
    const load = async (via: number) => {
      while (!stop) {
        const answers = await Promise.all(Array.from({ length: 4 }, () => {
          const k = n++;
          return t.beacon(via, `v_gone4_${k}_dev`, eventsOf(`gone4_${k}`, [{ n: 'pageview', t: Date.now() - 1000, path: '/' }]));
        }));
        for (const a of answers) expect202(a);
      }
    };
    const loads = [load(B), load(C), load(B), load(C)];
    try {
      for (let round = 0; round < 6; round++) {
        const created = await t.api(A, 'PUT', `/api/webhooks/gone${round}`, { url: hookUrl, events: ['stage.changed'] });
        expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
        await new Promise((r) => setTimeout(r, 300));
        const gone = await t.api(A, 'DELETE', `/api/webhooks/gone${round}`);
        expect(gone.status).toBeLessThan(300);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      stop = true;
      await Promise.all(loads);
    }
    const left = await t.db.all<{ webhook_id: string; status: string }>('SELECT webhook_id, status FROM webhook_deliveries WHERE site_id = ?', [t.site.siteId]);
    console.log(`[scale-out-4] deleted webhooks: ${n} visitors sent, ${left.length} delivery rows left`);
    // a deleted webhook has no delivery log left (its GET is a 404) and nothing is queued for it to try
    expect(left, 'deliveries of deleted webhooks').toEqual([]);
    expect((await t.api(B, 'GET', '/api/webhooks/gone0')).status).toBe(404);
  }, 30_000);

  test("an erasure on A while C backfills the lead's server events dated before it and B ingests its beacons: nothing comes back; a later server event by the email is a new lead", async () => {
    const t0 = Date.now() - 20 * MIN;
    const t = await multiTarget();
    const v = 'v_erase4_device_01';
    expect202(await t.beacon(A, v, eventsOf('erase4', [{ n: 'pageview', t: t0 }, { n: 'newsletter_signup', t: t0 + 1000, path: '/blog', f: 'newsletter', em: 'erase4@example.com' }])));
    expect202(await t.api(C, 'POST', '/api/events', { email: 'erase4@example.com', name: 'opportunity_created', at: new Date(t0 + 2000).toISOString(), id: 'crm_erase4_0' }));
    const { leadId: erasedLead } = (await t.api(B, 'GET', '/api/leads/erase4@example.com')).body;
    expect(erasedLead).toBeTruthy();
    // the CRM's backfill (server events dated before the erasure, one at a time and in a batch) and the snippet's outbox
    const backfill = Array.from({ length: 8 }, (_, k) =>
      k % 2
        ? t.api(C, 'POST', '/api/events', { email: 'erase4@example.com', name: 'sales_note', at: new Date(t0 + 3000 + k).toISOString(), id: `crm_erase4_${k + 1}` })
        : t.api(C, 'POST', '/api/events', [{ email: 'Erase4@Example.com', name: 'demo_completed', at: new Date(t0 + 4000 + k).toISOString(), id: `crm_erase4_b${k}` }]),
    );
    const outbox = Array.from({ length: 8 }, (_, k) => t.beacon(k % 2 ? B : C, v, eventsOf(`erase4_${k}`, [{ n: 'pageview', t: t0 + 10_000 + k * 1000, path: `/p${k}` }])));
    const erase = t.api(A, 'DELETE', '/api/leads/erase4@example.com');
    const answers = await Promise.all([...backfill, ...outbox]);
    expect((await erase).status).toBe(200);
    for (const a of answers) expect202(a);
    // the same backfill resent after the erasure
    expect202(await t.api(B, 'POST', '/api/events', { email: 'erase4@example.com', name: 'sales_note', at: new Date(t0 + 5000).toISOString(), id: 'crm_erase4_late' }));
    expect((await t.db.all('SELECT event_id FROM events WHERE site_id = ?', [t.site.siteId]))).toEqual([]);
    expect(await t.db.all('SELECT lead_id FROM leads WHERE site_id = ?', [t.site.siteId])).toEqual([]);
    expect(await t.db.all('SELECT visitor_id FROM visitors WHERE site_id = ?', [t.site.siteId])).toEqual([]);
    for (const via of [A, B, C]) expect((await t.api(via, 'GET', '/api/leads/erase4@example.com')).status).toBe(404);
    // a server event without `at` after the erasure makes a new lead, under a new id, with only itself
    expect202(await t.api(A, 'POST', '/api/events', { email: 'erase4@example.com', name: 'sales_accepted', id: 'crm_erase4_new' }));
    const again = await t.api(C, 'GET', '/api/leads/erase4@example.com');
    expect(again.status).toBe(200);
    expect(again.body.leadId).not.toBe(erasedLead);
    const events = await t.db.all<{ name: string; lead_id: string }>('SELECT name, lead_id FROM events WHERE site_id = ?', [t.site.siteId]);
    expect(events).toEqual([{ name: 'sales_accepted', lead_id: again.body.leadId }]);
  }, 30_000);
});
