import { describe, expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { makeBatch } from '../helpers/factories.js';
import { createKey, createSite } from '../../collector/admin.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import { listSegments } from '../../collector/storage/segments.js';
import { putSegment } from '../../collector/segments/segment-admin.js';
import { updateMembershipsFor } from '../../collector/segments/update-memberships.js';
import { DAY, T0 } from './fixtures.js';

async function setup(engine: 'sqlite' | 'pg' = 'sqlite') {
  let now = T0;
  const s = await makeIngestApp({ now: () => now, engine });
  const segmentsOf = async (visitorId: string, siteKey = s.site.siteKey) => {
    const res = await s.app.request(`/api/visitors/${visitorId}/segments?site=${siteKey}`, { headers: { origin: 'http://127.0.0.1' } });
    expect(res.status).toBe(200);
    return (await res.json()).segments as string[];
  };
  const send = async (visitorId: string, events: Array<Record<string, unknown>>) => {
    const res = await s.post(makeBatch(s.site.siteKey, { v: visitorId }, events.map((e) => ({ t: now, ...e }))));
    expect(res.status, await res.clone().text()).toBe(202);
  };
  return { ...s, segmentsOf, send, setNow: (t: number) => (now = t) };
}

describe('membership through POST /e', () => {
  test('a visitor who views pricing enters pricing_no_demo, and a demo request moves it to demo_no_close', async () => {
    const s = await setup();
    await s.send('v_ann_visitor', [{ n: 'pageview', u: 'http://127.0.0.1/' }, { n: 'pageview', u: 'http://127.0.0.1/pricing' }]);
    expect(await s.segmentsOf('v_ann_visitor')).toEqual(['pricing_no_demo']);

    s.setNow(T0 + 60_000);
    await s.send('v_ann_visitor', [{ n: 'demo_request', u: 'http://127.0.0.1/demo', f: 'demo', em: 'ann@example.com' }]);
    expect(await s.segmentsOf('v_ann_visitor')).toEqual(['demo_no_close']);
    const kinds = await s.db.all<{ segment_key: string; kind: string }>(
      'SELECT segment_key, kind FROM segment_changes WHERE site_id = ? ORDER BY at, kind', [s.site.siteId]);
    expect(kinds).toEqual([
      { segment_key: 'pricing_no_demo', kind: 'entered' },
      { segment_key: 'demo_no_close', kind: 'entered' },
      { segment_key: 'pricing_no_demo', kind: 'exited' },
    ]);
    const counts = (await listSegments(s.db, s.site.siteId)).filter((x) => ['pricing_no_demo', 'demo_no_close'].includes(x.key));
    expect(counts.map((x) => [x.key, x.memberCount])).toEqual([['demo_no_close', 1], ['pricing_no_demo', 0]]);
    await s.close();
  });

  test('time moves a visitor into stalled_consideration and out of pricing_no_demo, by the sweep only', async () => {
    const s = await setup();
    await s.send('v_bob_visitor', [{ n: 'pageview', u: 'http://127.0.0.1/pricing' }]);
    await s.send('v_other_visitor', [{ n: 'pageview', u: 'http://127.0.0.1/blog' }]);
    expect(await s.segmentsOf('v_bob_visitor')).toEqual(['pricing_no_demo']);

    const early = await sweepSegments(s.deps, T0 + 21 * DAY - 1);
    expect(early.changes).toEqual([]);
    const at21 = await sweepSegments(s.deps, T0 + 21 * DAY);
    expect(at21.leads).toBe(1);
    expect(at21.changes.map((c) => `${c.segment}:${c.kind}`)).toEqual(['stalled_consideration:entered']);
    expect(await s.segmentsOf('v_bob_visitor')).toEqual(['pricing_no_demo', 'stalled_consideration']);

    const at30 = await sweepSegments(s.deps, T0 + 30 * DAY);
    expect(at30.changes.map((c) => `${c.segment}:${c.kind}`)).toEqual(['pricing_no_demo:exited']);
    expect(await s.segmentsOf('v_bob_visitor')).toEqual(['stalled_consideration']);
    expect(await s.segmentsOf('v_other_visitor')).toEqual([]);
    await s.close();
  });

  test('a closed_won server event makes the lead a customer and takes it out of the retargeting segments', async () => {
    const s = await setup();
    await s.send('v_cat_visitor', [{ n: 'pageview', u: 'http://127.0.0.1/pricing' }, { n: 'download', u: 'http://127.0.0.1/files/ebook.pdf' }]);
    expect(await s.segmentsOf('v_cat_visitor')).toEqual(['content_downloaders', 'pricing_no_demo']);
    const key = (await createKey(s.db, s.site.siteId, ['events:write'])).secret;
    const res = await s.app.request('/api/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ visitorId: 'v_cat_visitor', name: 'closed_won' }),
    });
    expect(res.status).toBe(202);
    expect(await s.segmentsOf('v_cat_visitor')).toEqual(['customers']);
    await s.close();
  });

  test('the key of another site reads no segments of this site\'s visitors', async () => {
    const s = await setup();
    const other = await createSite(s.db, { domain: '127.0.0.1' });
    await s.send('v_dan_visitor', [{ n: 'download', u: 'http://127.0.0.1/files/ebook.pdf' }]);
    expect(await s.segmentsOf('v_dan_visitor')).toEqual(['content_downloaders']);
    expect(await s.segmentsOf('v_dan_visitor', other.siteKey)).toEqual([]);
    await s.close();
  });

  test.each(ENGINES)('memberships decided from the rows and events attribution has in hand are what a full re-evaluation from the tables decides (%s)', async (engine) => {
    const s = await setup(engine);
    // beside the presets: a props test (rows), a windowed min 2 and an any-event test
    for (const [key, definition] of [
      ['plan_pro', { did: { event: 'plan_viewed', props: { plan: 'pro' } } }],
      ['two_pricing_views', { did: { event: 'pageview', path: '/PRICING*', within: '1d', min: 2 } }],
      ['anything_recent', { all: [{ did: { event: '*', within: '12h' } }, { not: { did: { event: 'download' } } }] }],
      ['known_warm', { all: [{ identified: true }, { score: { gte: 5 } }] }],
    ] as const) expect((await putSegment(s.deps, s.site.siteId, key, { definition })).ok).toBe(true);
    const menu: Array<Record<string, unknown>> = [
      { n: 'pageview', u: 'http://127.0.0.1/pricing' },
      { n: 'pageview', u: 'http://127.0.0.1/Pricing/plans' },
      { n: 'pageview', u: 'http://127.0.0.1/blog' },
      { n: 'download', u: 'http://127.0.0.1/files/ebook.pdf', p: { url: 'http://127.0.0.1/files/ebook.pdf' } },
      { n: 'newsletter_signup', u: 'http://127.0.0.1/', f: 'newsletter' },
      { n: 'plan_viewed', u: 'http://127.0.0.1/pricing', p: { plan: 'pro' } },
      { n: 'plan_viewed', u: 'http://127.0.0.1/pricing', p: { plan: 'team' } },
    ];
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647);
    const visitors = Array.from({ length: 40 }, (_, i) => `v_new_${String(i).padStart(3, '0')}`);
    // each visitor's first batch: its lead is created in the flush that evaluates it
    await Promise.all(visitors.map((v) => s.send(v, Array.from({ length: 1 + (next() % 5) }, () => menu[next() % menu.length]))));
    // then half of them come back (their folds are updated), some identifying through a form
    s.setNow(T0 + 3_600_000);
    await Promise.all(visitors.filter((_, i) => i % 2 === 0).map((v, i) => s.send(v, [
      ...Array.from({ length: 1 + (next() % 3) }, () => menu[next() % menu.length]),
      ...(i % 3 === 0 ? [{ n: 'newsletter_signup', u: 'http://127.0.0.1/', f: 'newsletter', em: `${v}@example.com` }] : []),
    ])));
    const snapshot = async () => ({
      members: await s.db.all('SELECT segment_key, lead_id FROM segment_members WHERE site_id = ? ORDER BY segment_key, lead_id', [s.site.siteId]),
      rechecks: await s.db.all('SELECT lead_id, due_at FROM segment_rechecks WHERE site_id = ? ORDER BY lead_id', [s.site.siteId]),
    });
    const live = await snapshot();
    // every kind of test above decided something for someone
    const keys = new Set((live.members as Array<{ segment_key: string }>).map((m) => m.segment_key));
    for (const key of ['pricing_no_demo', 'newsletter_cold', 'content_downloaders', 'plan_pro', 'two_pricing_views', 'anything_recent', 'known_warm']) {
      expect(keys, key).toContain(key);
    }
    expect(live.rechecks.length).toBeGreaterThan(0);
    const leadIds = (await s.db.all<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ?', [s.site.siteId])).map((r) => r.lead_id);
    expect(leadIds).toHaveLength(visitors.length);
    const changes = await s.db.transaction((tx) => updateMembershipsFor(tx, s.deps, s.site.siteId, leadIds, T0 + 3_600_000));
    expect(changes).toEqual([]);
    expect(await snapshot()).toEqual(live);
    await s.close();
  });
});
