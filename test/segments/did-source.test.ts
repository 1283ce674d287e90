// A `did` test limited by source: 'server' counts only events of POST /api/events (the CRM), 'web' only the page's.
// demo_no_close ends on the CRM's closed_lost, never on a page's own event of that name (funnelbeam('track', …)).
import { describe, expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { makeBatch } from '../helpers/factories.js';
import { createKey } from '../../collector/admin.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import { reevaluateSiteSegments } from '../../collector/segments/recompute-segments.js';
import { DAY, T0 } from './fixtures.js';

async function setup(engine: 'sqlite' | 'pg') {
  let now = T0;
  const s = await makeIngestApp({ now: () => now, engine });
  const admin = (await createKey(s.db, s.site.siteId, ['admin'])).secret;
  const crm = (await createKey(s.db, s.site.siteId, ['events:write'])).secret;
  const segmentsOf = async (visitorId: string) => {
    const res = await s.app.request(`/api/visitors/${visitorId}/segments?site=${s.site.siteKey}`, { headers: { origin: 'http://127.0.0.1' } });
    expect(res.status).toBe(200);
    return (await res.json()).segments as string[];
  };
  const send = async (visitorId: string, events: Array<Record<string, unknown>>) => {
    const res = await s.post(makeBatch(s.site.siteKey, { v: visitorId }, events.map((e) => ({ t: now, u: 'http://127.0.0.1/', ...e }))));
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const serverEvent = async (body: Record<string, unknown>) => {
    const res = await s.app.request('/api/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${crm}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const put = (key: string, definition: unknown) =>
    s.app.request(`/api/segments/${key}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ definition }),
    });
  const members = async () =>
    (await s.db.all<{ segment_key: string; lead_id: string }>(
      'SELECT segment_key, lead_id FROM segment_members WHERE site_id = ? ORDER BY segment_key, lead_id', [s.site.siteId],
    )).map((r) => `${r.segment_key}:${r.lead_id}`);
  return { ...s, segmentsOf, send, serverEvent, put, members, setNow: (t: number) => (now = t) };
}

describe.each(ENGINES)('did with source (%s)', (engine) => {
  test('a page\'s own closed_lost keeps a demo lead in demo_no_close; the CRM\'s closed_lost takes it out', async () => {
    const s = await setup(engine);
    await s.send('v_ann_visitor', [{ n: 'demo_request', u: 'http://127.0.0.1/demo', f: 'demo', em: 'ann@example.com' }]);
    expect(await s.segmentsOf('v_ann_visitor')).toEqual(['demo_no_close']);

    // a chat widget, a script or a visitor at the console: no deal was lost
    s.setNow(T0 + 60_000);
    await s.send('v_ann_visitor', [{ n: 'closed_lost', p: { from: 'page' } }]);
    expect(await s.segmentsOf('v_ann_visitor')).toEqual(['demo_no_close']);

    // the CRM says the deal is lost
    s.setNow(T0 + 120_000);
    await s.serverEvent({ email: 'ann@example.com', name: 'closed_lost' });
    expect(await s.segmentsOf('v_ann_visitor')).toEqual([]);
    await s.close();
  });

  test('a page\'s closed_lost sent with the demo request in the lead\'s first batch ends nothing either', async () => {
    const s = await setup(engine);
    await s.send('v_bea_visitor', [
      { n: 'demo_request', u: 'http://127.0.0.1/demo', f: 'demo', em: 'bea@example.com' },
      { n: 'closed_lost' },
    ]);
    expect(await s.segmentsOf('v_bea_visitor')).toEqual(['demo_no_close']);
    await s.close();
  });

  test('live, recompute and sweep agree on `did` tests with a source, counted, with props and windowed', async () => {
    const s = await setup(engine);
    const defs: Record<string, unknown> = {
      lost_server: { did: { event: 'closed_lost', source: 'server' } },
      lost_web: { did: { event: 'closed_lost', source: 'web' } },
      lost_web_props: { did: { event: 'closed_lost', source: 'web', props: { from: 'page' } } },
      lost_server_props: { did: { event: 'closed_lost', source: 'server', props: { reason: 'price' } } },
      any_server_1d: { did: { event: '*', source: 'server', within: '1d' } },
      web_twice: { did: { event: '*', source: 'web', min: 2 } },
    };
    for (const [key, definition] of Object.entries(defs)) expect((await s.put(key, definition)).status).toBe(201);

    // Page-only: one batch creates the lead with its page closed_lost
    await s.send('v_page_only', [{ n: 'pageview' }, { n: 'closed_lost', p: { from: 'page' } }]);
    // CRM-only: a pageview, then the CRM's closed_lost with a reason (counted from the tables)
    await s.send('v_crm_only', [{ n: 'pageview' }]);
    s.setNow(T0 + 1000);
    await s.serverEvent({ visitorId: 'v_crm_only', name: 'closed_lost', props: { reason: 'price' } });
    // Both: a page closed_lost in a later batch, then the CRM's without the reason
    await s.send('v_both_visitor', [{ n: 'pageview' }]);
    s.setNow(T0 + 2000);
    await s.send('v_both_visitor', [{ n: 'closed_lost', p: { from: 'page' } }]);
    await s.serverEvent({ visitorId: 'v_both_visitor', name: 'closed_lost', props: { reason: 'timing' } });

    const page = (await s.segmentsOf('v_page_only')).filter((k) => k in defs);
    const crm = (await s.segmentsOf('v_crm_only')).filter((k) => k in defs);
    const both = (await s.segmentsOf('v_both_visitor')).filter((k) => k in defs);
    expect(page).toEqual(['lost_web', 'lost_web_props', 'web_twice']);
    expect(crm).toEqual(['any_server_1d', 'lost_server', 'lost_server_props']);
    expect(both).toEqual(['any_server_1d', 'lost_server', 'lost_web', 'lost_web_props', 'web_twice']);

    const live = await s.members();
    await reevaluateSiteSegments(s.deps, s.site.siteId);
    expect(await s.members()).toEqual(live);

    // a day after the last server event, the windowed test ends for both leads, by the sweep alone
    const swept = await sweepSegments(s.deps, T0 + 2000 + DAY);
    expect(swept.changes.filter((c) => c.segment === 'any_server_1d').map((c) => c.kind)).toEqual(['exited', 'exited']);
    expect((await s.segmentsOf('v_crm_only')).filter((k) => k in defs)).toEqual(['lost_server', 'lost_server_props']);
    expect((await s.segmentsOf('v_both_visitor')).filter((k) => k in defs)).toEqual(['lost_server', 'lost_web', 'lost_web_props', 'web_twice']);
    const afterSweep = await s.members();
    s.setNow(T0 + 2000 + DAY);
    await reevaluateSiteSegments(s.deps, s.site.siteId);
    expect(await s.members()).toEqual(afterSweep);
    await s.close();
  });

  test('a source other than web or server is refused with 400, and an unknown did key lists source', async () => {
    const s = await setup(engine);
    const bad = await s.put('bad', { all: [{ identified: true }, { not: { did: { event: 'closed_lost', source: 'crm' } } }] });
    expect(bad.status).toBe(400);
    const body = await bad.json();
    expect(body.error.code).toBe('invalid_definition');
    expect(body.error.message).toMatch(/^all\[1\]\.not\.did\.source: /);
    const typo = await (await s.put('bad', { did: { event: 'closed_lost', sourc: 'server' } })).json();
    expect(typo.error.message).toBe('did.sourc: unknown key (expected event, path, props, within, min, source)');
    expect((await s.put('fine', { did: { event: 'closed_lost', source: 'server' } })).status).toBe(201);
    await s.close();
  });
});
