import { describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { updateMemberships } from '../../collector/segments/update-memberships.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import { getSegment } from '../../collector/storage/segments.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { DAY, T0, insertEvent, insertLead, memberKeys, updateLead } from './fixtures.js';

async function setup(engine: 'sqlite' | 'pg') {
  const db = await openTestDb(engine);
  const site = await createSite(db, { domain: '127.0.0.1' }, T0 - 100 * DAY);
  let now = T0;
  const created = createApp({ db, now: () => now });
  const deps = created.deps;
  const update = (leadIds: string[]) => db.transaction((tx) => updateMemberships(tx, deps, site.siteId, leadIds, now));
  const count = async (key: string) =>
    (await getSegment(db, site.siteId, key))!.memberCount;
  const changes = (leadId: string) =>
    db.all<{ segment_key: string; kind: string; at: number }>('SELECT segment_key, kind, at FROM segment_changes WHERE site_id = ? AND lead_id = ? ORDER BY at, kind', [site.siteId, leadId]);
  const recheck = async (leadId: string) =>
    (await db.get<{ due_at: number }>('SELECT due_at FROM segment_rechecks WHERE site_id = ? AND lead_id = ?', [site.siteId, leadId]))?.due_at ?? null;
  return { db, site, deps, update, count, changes, recheck, setNow: (t: number) => (now = t), close: async () => { await created.close(); await db.close(); } };
}

describe.each(ENGINES)('live membership (%s)', (engine) => {
  test('a lead who sees pricing enters pricing_no_demo and leaves it when it requests a demo', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId, { stage: 'consideration' });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'pageview', path: '/pricing', at: T0 - 1000 });
    await s.update([leadId]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual(['pricing_no_demo']);
    expect(await s.count('pricing_no_demo')).toBe(1);

    s.setNow(T0 + 5000);
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'demo_request', path: '/demo', at: T0 + 4000 });
    await updateLead(s.db, s.site.siteId, leadId, { stage: 'evaluation', stageAt: T0 + 4000 });
    await s.update([leadId]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual(['demo_no_close']);
    expect(await s.count('pricing_no_demo')).toBe(0);
    expect(await s.count('demo_no_close')).toBe(1);
    expect(await s.changes(leadId)).toEqual([
      { segment_key: 'pricing_no_demo', kind: 'entered', at: T0 },
      { segment_key: 'demo_no_close', kind: 'entered', at: T0 + 5000 },
      { segment_key: 'pricing_no_demo', kind: 'exited', at: T0 + 5000 },
    ]);
    await s.close();
  });

  test('re-evaluating an unchanged lead writes no change', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId);
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'download', path: '/files/ebook.pdf', at: T0 });
    await s.update([leadId]);
    await s.update([leadId, leadId]);
    expect(await s.changes(leadId)).toHaveLength(1);
    expect(await s.count('content_downloaders')).toBe(1);
    await s.close();
  });

  test('entering and leaving queue segment webhooks in the same transaction', async () => {
    const s = await setup(engine);
    await s.db.run(
      `INSERT INTO webhooks (site_id, webhook_id, url, secret, events, active, created_at, updated_at) VALUES (?, 'wh1', 'http://127.0.0.1:9/hook', 's', ?, 1, ?, ?)`,
      [s.site.siteId, JSON.stringify(['segment.entered', 'segment.exited']), T0, T0],
    );
    // the CRM's closed_won took the lead to purchase: the customers preset is that stage
    const { leadId } = await insertLead(s.db, s.site.siteId, { email: 'ann@example.com', stage: 'purchase' });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'closed_won', at: T0 });
    await s.update([leadId]);
    const rows = await s.db.all<{ event_type: string; payload: string }>('SELECT event_type, payload FROM webhook_deliveries WHERE site_id = ?', [s.site.siteId]);
    expect(rows.map((r) => r.event_type)).toEqual(['segment.entered']);
    const data = JSON.parse(rows[0].payload).data;
    expect(data).toMatchObject({ segment: 'customers', leadId, email: 'ann@example.com' });
    await s.close();
  });

  test('bot leads never enter segments', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId, { isBot: true });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'download', at: T0 });
    await s.update([leadId]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual([]);
    await s.close();
  });

  test('a lead that no longer exists (merged or erased) loses its memberships and the counts follow', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId);
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'download', at: T0 });
    await s.update([leadId]);
    expect(await s.count('content_downloaders')).toBe(1);
    await s.db.run('DELETE FROM leads WHERE site_id = ? AND lead_id = ?', [s.site.siteId, leadId]);
    await s.update([leadId]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual([]);
    expect(await s.count('content_downloaders')).toBe(0);
    await s.close();
  });

  test('events of other leads and other sites do not count', async () => {
    const s = await setup(engine);
    const other = await createSite(s.db, { domain: 'other.example' }, T0);
    const { leadId } = await insertLead(s.db, s.site.siteId);
    const { leadId: otherLead } = await insertLead(s.db, s.site.siteId);
    await insertEvent(s.db, s.site.siteId, otherLead, { name: 'download', at: T0 });
    await insertEvent(s.db, other.siteId, leadId, { name: 'download', at: T0 });
    await s.update([leadId]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual([]);
    await s.close();
  });
});

describe.each(ENGINES)('segment sweep (%s)', (engine) => {
  test('a pricing visit expires out of pricing_no_demo when its 30-day window passes, by the sweep', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId, { stage: 'intent' });
    const seen = T0 - 2 * DAY;
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'pageview', path: '/pricing', at: seen });
    await s.update([leadId]);
    expect(await s.recheck(leadId)).toBe(seen + 30 * DAY);

    const early = await sweepSegments(s.deps, seen + 30 * DAY - 1);
    expect(early.leads).toBe(0);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual(['pricing_no_demo']);

    const due = await sweepSegments(s.deps, seen + 30 * DAY);
    expect(due.leads).toBe(1);
    expect(due.changes).toEqual([{ leadId, segment: 'pricing_no_demo', kind: 'exited' }]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual([]);
    expect(await s.count('pricing_no_demo')).toBe(0);
    await s.close();
  });

  test('a later pricing visit keeps the member in, and the early recheck moves to the new expiry', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId, { stage: 'intent' });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'pageview', path: '/pricing', at: T0 });
    await s.update([leadId]);
    s.setNow(T0 + 5 * DAY);
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'pageview', path: '/pricing', at: T0 + 5 * DAY });
    await s.update([leadId]);
    // the stored recheck stays at the earlier moment: an active lead does not rewrite it on every flush
    expect(await s.recheck(leadId)).toBe(T0 + 30 * DAY);
    const first = await sweepSegments(s.deps, T0 + 30 * DAY);
    expect(first).toEqual({ leads: 1, changes: [] });
    expect(await s.recheck(leadId)).toBe(T0 + 35 * DAY);
    const second = await sweepSegments(s.deps, T0 + 35 * DAY);
    expect(second.changes).toEqual([{ leadId, segment: 'pricing_no_demo', kind: 'exited' }]);
    await s.close();
  });

  test('the sweep re-evaluates only leads that are due, never the whole site', async () => {
    const s = await setup(engine);
    const quiet: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { leadId } = await insertLead(s.db, s.site.siteId);
      await insertEvent(s.db, s.site.siteId, leadId, { name: 'download', at: T0 });
      quiet.push(leadId);
    }
    const { leadId: timed } = await insertLead(s.db, s.site.siteId, { stage: 'consideration', stageAt: T0 });
    await s.update([...quiet, timed]);
    const due = await s.db.all('SELECT lead_id FROM segment_rechecks WHERE site_id = ?', [s.site.siteId]);
    expect(due).toEqual([{ lead_id: timed }]);
    const result = await sweepSegments(s.deps, T0 + 21 * DAY);
    expect(result.leads).toBe(1);
    expect(result.changes).toEqual([{ leadId: timed, segment: 'stalled_consideration', kind: 'entered' }]);
    await s.close();
  });

  test('a newsletter subscriber goes cold 30 days after the last visit, and warms up on the next one', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId, { stage: 'interest' });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'newsletter_signup', at: T0 - 5 * DAY });
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'pageview', path: '/blog', at: T0 - DAY });
    await s.update([leadId]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual([]);
    await sweepSegments(s.deps, T0 + 29 * DAY - 1);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual([]);
    await sweepSegments(s.deps, T0 + 29 * DAY);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual(['newsletter_cold']);
    expect(await s.recheck(leadId)).toBeNull();

    s.setNow(T0 + 40 * DAY);
    await insertEvent(s.db, s.site.siteId, leadId, { name: 'pageview', path: '/blog', at: T0 + 40 * DAY });
    await s.update([leadId]);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual([]);
    expect(await s.recheck(leadId)).toBe(T0 + 70 * DAY);
    await s.close();
  });

  test('the sweep service runs on the app clock and stops with the app', async () => {
    const s = await setup(engine);
    const { leadId } = await insertLead(s.db, s.site.siteId, { stage: 'consideration', stageAt: T0 });
    await s.update([leadId]);
    const created = createApp({ db: s.db, now: () => T0 + 22 * DAY });
    const sweep = created.services.find((x) => x.name === 'segment-sweep') as unknown as { runOnce(): Promise<{ leads: number }> };
    expect((await sweep.runOnce()).leads).toBe(1);
    expect(await memberKeys(s.db, s.site.siteId, leadId)).toEqual(['stalled_consideration']);
    await created.close();
    await s.close();
  });
});
