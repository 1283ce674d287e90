// What a user running three collectors behind a load balancer expects and the earlier scale-out files do not check,
// judged from the contract and the README ("Scaling out", "Segments"), not from the code:
// - a segment PUT on one collector while the other two ingest events that move leads in and out of it: the members
//   and the count every collector answers are what the definition says of the stored events;
// - a segment DELETE on one collector while the others ingest events that would enter it: nothing of it comes back;
// - a CRM's batch of server events (`POST /api/events`, an array with ids, new emails) retried on all three
//   collectors at once: every event stored once, one lead per email, the stages, scores and segments one collector
//   gives.
// Real collector processes over real HTTP on one PostgreSQL database (test/scale-out/start-collector.ts).
import { describe, expect, test } from 'vitest';
import { readStateSnapshot } from './state-snapshot.js';
import { A, B, C, expect202 } from './three-collectors.js';
import { useThreeAndOne } from './use-three-and-one.js';
import { collectorsTarget, eventsOf, singleTarget, type Target } from './journey-targets.js';

const MIN = 60_000;
const LEADS = 12;
const PRICING_LEADS = { all: [{ identified: true }, { did: { event: 'pageview', path: '/pricing*' } }] };
const BLOG_LEADS = { all: [{ identified: true }, { did: { event: 'pageview', path: '/blog*' } }] };

/** Identified leads `lead<k>@example.com` on devices `v_scale3_<tag>_<k>`, one after the other on A. */
async function identifiedLeads(t: Target, tag: string, t0: number): Promise<string[]> {
  const devices = Array.from({ length: LEADS }, (_, k) => `v_scale3_${tag}_${String(k).padStart(4, '0')}`);
  for (const [k, v] of devices.entries()) {
    expect202(await t.beacon(A, v, eventsOf(`${tag}${k}`, [{ n: 'pageview', t: t0, path: '/' }, { n: 'identify', t: t0 + 1, em: `${tag}${k}@example.com` }])));
  }
  return devices;
}

/** The emails of a segment's members as the JSON export of collector `via` lists them, with its count. */
async function exported(t: Target, via: number, key: string) {
  const r = await t.api(via, 'GET', `/api/segments/${key}/members?format=json`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return { emails: (r.body.members as Array<{ email: string | null }>).map((m) => m.email).sort(), count: r.body.count as number };
}

describe.skipIf(!process.env.TEST_DATABASE_URL)('three collectors on one PostgreSQL database: segment edits under load, a CRM batch retried everywhere', () => {
  const rig = useThreeAndOne();

  test('segment PUTs on A (created, then redefined) while B and C ingest events that move leads in and out: members and count as the last definition says, on every collector', async () => {
    const t0 = Date.now() - 30 * MIN;
    const multi = await collectorsTarget(rig.shared, rig.collectors);
    const devices = await identifiedLeads(multi, 'put', t0);
    // each round, B and C send every lead a page: even leads view pricing, odd ones the blog; an anonymous visitor
    // views pricing too (not identified: never a member). Two PUTs on A land in the middle of the rounds: the segment
    // is created for pricing viewers, then redefined for blog readers (every even lead leaves, every odd one enters).
    const ROUNDS = 8;
    const round = (r: number) =>
      Promise.all([
        ...devices.map((v, k) =>
          multi.beacon(k % 2 ? C : B, v, eventsOf(`put${k}r${r}`, [{ n: 'pageview', t: t0 + (r + 1) * 1000, path: k % 2 ? `/blog/${r}` : `/pricing?r=${r}` }])),
        ),
        multi.beacon(B + (r % 2), `v_scale3_put_anon_${r}`, eventsOf(`putanon${r}`, [{ n: 'pageview', t: t0 + (r + 1) * 1000, path: '/pricing' }])),
      ]);
    const rounds = Array.from({ length: ROUNDS }, (_, r) => round(r));
    const puts = (async () => [
      await multi.api(A, 'PUT', '/api/segments/pricing_leads', { name: 'Pricing leads', definition: PRICING_LEADS }),
      await multi.api(A, 'PUT', '/api/segments/pricing_leads', { definition: BLOG_LEADS }),
    ])();
    for (const answers of await Promise.all(rounds)) for (const a of answers) expect202(a);
    for (const saved of await puts) expect(saved.status, JSON.stringify(saved.body)).toBeLessThan(300);

    const want = devices.map((_, k) => `put${k}@example.com`).filter((_, k) => k % 2 === 1).sort();
    for (const via of [A, B, C]) {
      expect(await exported(multi, via, 'pricing_leads'), `export from collector ${via}`).toEqual({ emails: want, count: want.length });
      const listed = await multi.api(via, 'GET', '/api/segments/pricing_leads');
      expect(listed.body, `GET from collector ${via}`).toMatchObject({ count: want.length, memberCount: want.length });
    }
    const rows = await multi.db.all('SELECT lead_id FROM segment_members WHERE site_id = ? AND segment_key = ?', [multi.site.siteId, 'pricing_leads']);
    expect(rows).toHaveLength(want.length);
    // an even lead reading the blog now, on any collector, enters at once
    expect202(await multi.beacon(A, devices[0], eventsOf('putlate', [{ n: 'pageview', t: t0 + 60_000, path: '/blog/late' }])));
    expect((await exported(multi, C, 'pricing_leads')).count).toBe(want.length + 1);
  }, 120_000);

  test('a segment DELETE on A while B and C ingest events that would enter it: no member, count or listing comes back', async () => {
    const t0 = Date.now() - 30 * MIN;
    const multi = await collectorsTarget(rig.shared, rig.collectors);
    const devices = await identifiedLeads(multi, 'del', t0);
    const made = await multi.api(A, 'PUT', '/api/segments/deleted_pricing', { definition: PRICING_LEADS });
    expect(made.status, JSON.stringify(made.body)).toBeLessThan(300);
    const rounds = Array.from({ length: 4 }, (_, r) =>
      Promise.all(devices.map((v, k) => multi.beacon(k % 2 ? C : B, v, eventsOf(`del${k}r${r}`, [{ n: 'pageview', t: t0 + (r + 1) * 1000, path: '/pricing' }])))),
    );
    const removed = multi.api(A, 'DELETE', '/api/segments/deleted_pricing');
    for (const answers of await Promise.all(rounds)) for (const a of answers) expect202(a);
    expect((await removed).status).toBeLessThan(300);
    // one more event after the delete, on each collector
    for (const via of [A, B, C]) expect202(await multi.beacon(via, devices[via], eventsOf(`delafter${via}`, [{ n: 'pageview', t: t0 + 60_000, path: '/pricing' }])));
    for (const table of ['segment_members', 'segment_counts', 'segments']) {
      expect(await multi.db.all(`SELECT * FROM ${table} WHERE site_id = ? AND segment_key = ?`, [multi.site.siteId, 'deleted_pricing']), table).toEqual([]);
    }
    for (const via of [A, B, C]) {
      expect((await multi.api(via, 'GET', '/api/segments/deleted_pricing')).status).toBe(404);
      const seg = await multi.api(via, 'GET', `/api/visitors/${devices[0]}/segments?site=${multi.site.siteKey}`);
      expect(seg.body.segments).not.toContain('deleted_pricing');
    }
  }, 120_000);

  test("a CRM's batch of server events with ids, retried on all three collectors at once: each stored once, one lead per email, as one collector gives", async () => {
    const t0 = Date.now() - 60 * MIN;
    const at = (m: number) => new Date(t0 + m * MIN).toISOString();
    const batch = Array.from({ length: 6 }, (_, k) => [
      { email: `crm${k}@example.com`, name: 'opportunity_created', at: at(k), id: `crm_batch_opp_${k}`, traits: { company: `Acme ${k}` } },
      ...(k % 2 ? [] : [{ email: `crm${k}@example.com`, name: 'closed_won', at: at(k + 10), id: `crm_batch_won_${k}` }]),
    ]).flat();
    const multi = await collectorsTarget(rig.shared, rig.collectors);
    const one = await singleTarget(rig.single);
    const answers = await Promise.all([A, B, C].map((via) => multi.api(via, 'POST', '/api/events', batch)));
    for (const a of answers) expect202(a);
    const sum = (field: string) => answers.reduce((n, a) => n + Number(a.body[field]), 0);
    expect(sum('accepted'), JSON.stringify(answers.map((a) => a.body))).toBe(batch.length);
    expect(sum('duplicates')).toBe(2 * batch.length);
    expect202(await one.api(A, 'POST', '/api/events', batch));
    await rig.single.deps.writer.flush();

    const stored = await multi.db.all<{ event_id: string }>('SELECT event_id FROM events WHERE site_id = ? ORDER BY event_id', [multi.site.siteId]);
    expect(stored).toHaveLength(batch.length);
    const leads = await multi.db.all<{ email: string }>('SELECT email FROM leads WHERE site_id = ? ORDER BY email', [multi.site.siteId]);
    expect(leads.map((l) => l.email)).toEqual(Array.from({ length: 6 }, (_, k) => `crm${k}@example.com`));
    const decided = async (t: Target) => {
      const s = await readStateSnapshot(t.db, t.site.siteId);
      return { leads: s.leads, stagesEntered: s.stagesEntered, scorePointsByRule: s.scorePointsByRule, segmentMembers: s.segmentMembers, memberCounts: s.memberCounts };
    };
    const want = await decided(one);
    expect(want.stagesEntered).toContain('email:crm0@example.com purchase');
    expect(await decided(multi)).toEqual(want);
  }, 60_000);
});
