import { afterEach, describe, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { createKey } from '../../collector/admin.js';
import { DAY, HOUR, MIN } from '../helpers/funnel-factories.js';
import { LIMITS } from '../../shared/limits.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});
const app = async (engine: 'sqlite' | 'pg' = 'sqlite') => {
  const j = await makeJourneyApp({ engine });
  closers.push(j.close);
  return j;
};
const rejectedCount = async (j: Awaited<ReturnType<typeof app>>) =>
  Number((await j.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM rejected_events WHERE route = '/api/events'"))!.n);

describe.each(ENGINES)('POST /api/events on %s', (engine) => {
  test('an unknown email makes a lead; closed_won moves it to purchase', async () => {
    const j = await app(engine);
    const res = await j.serverEvents({ email: 'New@Corp.test', name: 'closed_won', props: { amount: 12000 } });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ accepted: 1, duplicates: 0 });
    const lead = await j.lead(body.events[0].leadId);
    expect(lead).toMatchObject({ email: 'new@corp.test', stage: 'purchase' });
    expect(await j.stages(body.events[0].leadId)).toEqual(['awareness', 'purchase']);
    const ev = await j.db.get<Record<string, unknown>>('SELECT source, visitor_id, lead_id, attributed FROM events WHERE event_id = ?', ['srv:' + body.events[0].id]);
    expect(ev).toMatchObject({ source: 'server', visitor_id: 'srv:' + body.events[0].leadId, lead_id: body.events[0].leadId });
    expect(Number(ev!.attributed)).toBe(1);
  });

  test('a lead named by visitor id gets the server event next to its web history', async () => {
    const j = await app(engine);
    await j.visit('v_crmform001', [{ path: '/' }, { path: '/pricing' }]);
    const leadId = await j.leadOfVisitor('v_crmform001');
    const res = await j.serverEvents([
      { id: 'crm-1', visitorId: 'v_crmform001', name: 'demo_completed' },
      { id: 'crm-2', visitorId: 'v_crmform001', name: 'sales_accepted' },
    ]);
    expect(res.status).toBe(202);
    expect((await res.json()).events.map((e: { leadId: string }) => e.leadId)).toEqual([leadId, leadId]);
    expect(await j.lead(leadId)).toMatchObject({ stage: 'evaluation', sql: true });
  });

  test('a visitor first named by a server event keeps that lead when its beacons arrive', async () => {
    const j = await app(engine);
    const made = await (await j.serverEvents({ visitorId: 'v_crmfirst01', email: 'early@corp.test', name: 'opportunity_created' })).json();
    await j.visit('v_crmfirst01', [{ path: '/pricing' }]);
    expect(await j.leadOfVisitor('v_crmfirst01')).toBe(made.events[0].leadId);
    const v = await j.db.get<{ lead_id: string }>('SELECT lead_id FROM visitors WHERE visitor_id = ?', ['v_crmfirst01']);
    expect(v?.lead_id).toBe(made.events[0].leadId);
    expect(await j.lead(made.events[0].leadId)).toMatchObject({ email: 'early@corp.test', stage: 'consideration' });
  });

  test('email with visitor id identifies that visitor, as a form would', async () => {
    const j = await app(engine);
    await j.visit('v_crmform002', [{ path: '/pricing' }]);
    const anon = await j.leadOfVisitor('v_crmform002');
    const res = await j.serverEvents({ visitorId: 'v_crmform002', email: 'cara@corp.test', name: 'opportunity_created', traits: { company: 'Corp', jobTitle: 'CTO' } });
    expect(res.status).toBe(202);
    expect(await j.lead(anon)).toMatchObject({ email: 'cara@corp.test', traits: { company: 'Corp', jobTitle: 'CTO' } });
  });

  test('a retried event id is stored once', async () => {
    const j = await app(engine);
    const ev = { id: 'deal-42-won', email: 'dup@corp.test', name: 'closed_won' };
    expect((await (await j.serverEvents(ev)).json()).accepted).toBe(1);
    const again = await (await j.serverEvents([ev])).json();
    expect(again).toMatchObject({ accepted: 0, duplicates: 1, events: [{ id: 'deal-42-won', duplicate: true }] });
    expect(Number((await j.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE source = 'server'"))!.n)).toBe(1);
  });

  test('the at time is kept, as ISO or epoch ms; a future time is refused', async () => {
    const j = await app(engine);
    const at = j.clock.now - 3 * DAY;
    await j.serverEvents([{ email: 'when@corp.test', name: 'proposal_sent', at: new Date(at).toISOString() }, { email: 'when@corp.test', name: 'closed_lost', at: at + HOUR }]);
    const rows = await j.db.all<{ at: number }>("SELECT at FROM events WHERE source = 'server' ORDER BY at");
    expect(rows.map((r) => Number(r.at))).toEqual([at, at + HOUR]);
    const res = await j.serverEvents({ email: 'when@corp.test', name: 'closed_won', at: j.clock.now + HOUR });
    expect(res.status).toBe(400);
  });

  test('bad input answers 400 naming the problem and is kept in the rejected store', async () => {
    const j = await app(engine);
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'closed_won' }, /email, leadId or visitorId/],
      [{ email: 'not-an-email', name: 'closed_won' }, /^email: /],
      [[{ email: 'a@b.test', name: 'bad name!' }], /^0\.name: /],
      [{ email: 'a@b.test', name: 'x', props: { nested: { a: 1 } } }, /^props\.nested/],
      [{ leadId: 'ld_nope', name: 'closed_won' }, /no lead "ld_nope"/],
      [[], /no events/],
    ];
    for (const [body, message] of cases) {
      const res = await j.serverEvents(body);
      expect(res.status).toBe(400);
      const err = (await res.json()).error;
      expect(err.message).toMatch(message);
    }
    const res = await j.app.request('/api/events', { method: 'POST', body: '{not json', headers: j.auth });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_event');
    expect(await rejectedCount(j)).toBe(cases.length + 1);
    expect(Number((await j.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n)).toBe(0);
  });

  test('a bad event inside an array is refused alone: listed in rejected, kept in the rejected store, the rest stored', async () => {
    const j = await app(engine);
    const res = await j.serverEvents([
      { id: 'ok-1', email: 'mixed@corp.test', name: 'demo_completed' },
      { id: 'no-lead', name: 'closed_won' },
      { id: 'ok-2', email: 'mixed@corp.test', name: 'proposal_sent' },
      { leadId: 'ld_nope', name: 'closed_won' },
      { email: 'mixed@corp.test', name: 'closed_won', at: j.clock.now + DAY },
    ]);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(body.events.map((e: { index: number; id: string }) => [e.index, e.id])).toEqual([[0, 'ok-1'], [2, 'ok-2']]);
    expect(body.rejected).toEqual([
      { index: 1, id: 'no-lead', code: 'invalid_event', message: expect.stringMatching(/^1: name the lead/) },
      { index: 3, id: null, code: 'unknown_lead', message: '3.leadId: no lead "ld_nope" on this site' },
      { index: 4, id: null, code: 'invalid_event', message: '4.at: is in the future' },
    ]);
    expect(await j.stages(body.events[0].leadId)).toEqual(['awareness', 'evaluation']);
    const kept = await j.db.all<{ reason: string; raw: string }>("SELECT reason, raw FROM rejected_events WHERE route = '/api/events' ORDER BY message");
    expect(kept.map((r) => [r.reason, JSON.parse(r.raw)])).toEqual([
      ['invalid_event', { id: 'no-lead', name: 'closed_won' }],
      ['unknown_lead', { leadId: 'ld_nope', name: 'closed_won' }],
      ['invalid_event', { email: 'mixed@corp.test', name: 'closed_won', at: j.clock.now + DAY }],
    ]);
    const again = await (await j.serverEvents([{ id: 'ok-1', email: 'mixed@corp.test', name: 'demo_completed' }])).json();
    expect(again).toEqual({ accepted: 0, duplicates: 1, events: [{ index: 0, id: 'ok-1', leadId: body.events[0].leadId, duplicate: true }] });
  });

  test('GET /api/rejected pages through the refused events of one request (same millisecond) without losing one', async () => {
    const j = await app(engine);
    await j.serverEvents([{ email: 'ok@corp.test', name: 'x' }, ...Array.from({ length: 5 }, (_, i) => ({ leadId: `ld_nope${i}`, name: 'x' }))]);
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const res = await j.app.request(`/api/rejected?limit=2${cursor ? '&cursor=' + cursor : ''}`, { headers: j.auth });
      const page = await res.json();
      seen.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect((await j.app.request('/api/rejected?cursor=WyJ4Il0', { headers: j.auth })).status).toBe(400);
  });

  test('an array whose every event is bad is refused with 400, each event kept in the rejected store', async () => {
    const j = await app(engine);
    const res = await j.serverEvents([{ name: 'a' }, { email: 'a@b.test', name: 'bad name!' }]);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toEqual({ code: 'invalid_event', message: '0: name the lead: email, leadId or visitorId (and 1 more refused events)' });
    expect(await rejectedCount(j)).toBe(2);
    expect(Number((await j.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n)).toBe(0);
  });

  test('an at in epoch seconds is refused instead of landing in 1970', async () => {
    const j = await app(engine);
    const res = await j.serverEvents({ email: 'secs@corp.test', name: 'closed_won', at: Math.floor(j.clock.now / 1000) });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toBe('at: epoch numbers are milliseconds (this looks like seconds)');
  });

  test('more events than the batch limit are refused', async () => {
    const j = await app(engine);
    const many = Array.from({ length: LIMITS.apiBatchEvents + 1 }, (_, i) => ({ email: `x${i}@corp.test`, name: 'n' }));
    const res = await j.serverEvents(many);
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/at most 1000/);
  });

  test('needs a key with events:write; a leads:read key is forbidden', async () => {
    const j = await app(engine);
    const reader = await createKey(j.db, j.site.siteId, ['leads:read']);
    const body = JSON.stringify({ email: 'a@b.test', name: 'x' });
    expect((await j.app.request('/api/events', { method: 'POST', body })).status).toBe(401);
    const res = await j.app.request('/api/events', { method: 'POST', body, headers: { authorization: `Bearer ${reader.secret}` } });
    expect(res.status).toBe(403);
    const writer = await createKey(j.db, j.site.siteId, ['events:write']);
    expect((await j.app.request('/api/events', { method: 'POST', body, headers: { authorization: `Bearer ${writer.secret}` } })).status).toBe(202);
  });

  test('a lead id of another site is unknown here', async () => {
    const j = await app(engine);
    const other = await makeJourneyApp({ db: j.db, engine });
    const made = await (await other.serverEvents({ email: 'theirs@corp.test', name: 'x' })).json();
    const res = await j.serverEvents({ leadId: made.events[0].leadId, name: 'closed_won' });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('unknown_lead');
    await other.close();
  });

  test('server events queue stage.changed and lead.mql webhooks in the same transaction', async () => {
    const j = await app(engine);
    const now = j.clock.now;
    await j.db.run(
      `INSERT INTO webhooks (site_id, webhook_id, url, secret, events, active, created_at, updated_at) VALUES (?, 'wh1', 'http://127.0.0.1:9/x', 's', ?, 1, ?, ?)`,
      [j.site.siteId, JSON.stringify(['stage.changed', 'lead.mql']), now, now],
    );
    await j.serverEvents([
      { email: 'hook@corp.test', name: 'demo_completed', at: now - 2 * MIN },
      { email: 'hook@corp.test', name: 'proposal_sent', at: now - 2 * MIN + 1 },
      { email: 'hook@corp.test', name: 'demo_request', at: now - MIN },
    ]);
    const rows = await j.db.all<{ event_type: string; payload: string }>('SELECT event_type, payload FROM webhook_deliveries ORDER BY created_at, event_type');
    const types = rows.map((r) => r.event_type);
    expect(types.filter((t) => t === 'stage.changed')).toHaveLength(2);
    expect(types).toContain('lead.mql');
    const stage = rows.map((r) => JSON.parse(r.payload).data).find((d) => d.to === 'evaluation');
    expect(stage).toMatchObject({ email: 'hook@corp.test', from: 'awareness', to: 'evaluation', rule: 'demo_completed' });
  });
});
