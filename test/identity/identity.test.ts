import { afterEach, describe, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { HOUR, MIN } from '../helpers/funnel-factories.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});
const app = async (engine: 'sqlite' | 'pg') => {
  const j = await makeJourneyApp({ engine });
  closers.push(j.close);
  return j;
};

describe.each(ENGINES)('identity through POST /e on %s', (engine) => {
  test('a new visitor gets an anonymous lead at first sight, with a first_seen link', async () => {
    const j = await app(engine);
    await j.visit('v_anon000001', [{ path: '/' }, { path: '/about' }]);
    const leadId = await j.leadOfVisitor('v_anon000001');
    const lead = await j.lead(leadId);
    expect(lead).toMatchObject({ email: null, stage: 'awareness' });
    const links = await j.db.all('SELECT reason, to_at FROM identity_links WHERE lead_id = ?', [leadId]);
    expect(links).toEqual([{ reason: 'first_seen', to_at: null }]);
    const ev = await j.db.all<{ lead_id: string; attributed: number }>('SELECT lead_id, attributed FROM events WHERE visitor_id = ?', ['v_anon000001']);
    expect(ev.every((e) => e.lead_id === leadId && Number(e.attributed) === 1)).toBe(true);
    expect((await j.db.get<{ lead_id: string }>('SELECT lead_id FROM visitors WHERE visitor_id = ?', ['v_anon000001']))?.lead_id).toBe(leadId);
  });

  test('identifying keeps the anonymous history on the same lead, which now has the email and traits', async () => {
    const j = await app(engine);
    await j.visit('v_laptop0001', [{ path: '/' }, { path: '/pricing' }]);
    const before = await j.leadOfVisitor('v_laptop0001');
    await j.visit('v_laptop0001', [{ n: 'identify', em: ' Ann@Acme.test ', tr: { firstName: 'Ann', company: 'Acme', favouriteColour: 'red' } }], j.clock.now + MIN);
    const after = await j.leadOfVisitor('v_laptop0001');
    expect(after).toBe(before);
    const lead = await j.lead(after);
    expect(lead).toMatchObject({ email: 'ann@acme.test', stage: 'consideration', traits: { firstName: 'Ann', company: 'Acme' } });
    const reasons = (await j.db.all<{ reason: string }>('SELECT reason FROM identity_links WHERE lead_id = ? ORDER BY from_at', [after])).map((r) => r.reason);
    expect(reasons).toEqual(['first_seen', 'identified']);
  });

  test('the same email on a second device merges the anonymous device into the known lead', async () => {
    const j = await app(engine);
    await j.visit('v_laptop0002', [{ path: '/' }, { n: 'newsletter_signup', f: 'newsletter', em: 'bob@beta.test', path: '/blog' }]);
    const known = await j.leadOfVisitor('v_laptop0002');
    await j.visit('v_phone00002', [{ path: '/pricing' }, { path: '/case-studies/acme' }], j.clock.now + HOUR);
    const anon = await j.leadOfVisitor('v_phone00002');
    expect(anon).not.toBe(known);
    await j.visit('v_phone00002', [{ n: 'demo_request', f: 'demo', em: 'bob@beta.test', path: '/demo' }], j.clock.now + MIN);

    expect(await j.leadOfVisitor('v_phone00002')).toBe(known);
    expect(await j.lead(anon)).toBeUndefined();
    const moved = await j.db.all<{ lead_id: string }>('SELECT DISTINCT lead_id FROM events WHERE visitor_id = ?', ['v_phone00002']);
    expect(moved).toEqual([{ lead_id: known }]);
    expect(await j.stages(known)).toEqual(['awareness', 'interest', 'consideration', 'evaluation']);
    const lead = await j.lead(known);
    expect(lead).toMatchObject({ stage: 'evaluation', sql: true });
    const links = await j.db.all<{ visitor_id: string; reason: string }>('SELECT visitor_id, reason FROM identity_links WHERE lead_id = ? ORDER BY from_at', [known]);
    expect(links.map((l) => `${l.visitor_id}:${l.reason}`)).toEqual(['v_laptop0002:first_seen', 'v_laptop0002:identified', 'v_phone00002:first_seen', 'v_phone00002:merged']);
  });

  test("a merged lead's old id still reaches the lead it became: profile, timeline and server events; erasure takes the alias", async () => {
    const j = await app(engine);
    await j.visit('v_laptop0003', [{ n: 'newsletter_signup', f: 'newsletter', em: 'cy@gamma.test', path: '/blog' }]);
    const known = await j.leadOfVisitor('v_laptop0003');
    await j.visit('v_phone00003', [{ path: '/pricing' }], j.clock.now + HOUR);
    const older = await j.leadOfVisitor('v_phone00003');
    await j.visit('v_phone00003', [{ path: '/features' }], j.clock.now + MIN);
    // the phone identifies with the same email: its anonymous lead merges into the known one
    await j.visit('v_phone00003', [{ n: 'demo_request', f: 'demo', em: 'cy@gamma.test', path: '/demo' }], j.clock.now + MIN);
    expect(await j.leadOfVisitor('v_phone00003')).toBe(known);
    expect(await j.lead(older)).toBeUndefined();

    const get = (path: string) => j.app.request(path, { headers: j.auth });
    const profile = await get(`/api/leads/${older}`);
    expect(profile.status).toBe(200);
    expect((await profile.json()).leadId).toBe(known);
    const timeline = await get(`/api/leads/${older}/timeline?types=demo_request`);
    expect(timeline.status).toBe(200);
    expect((await timeline.json()).items.map((i: { name: string }) => i.name)).toEqual(['demo_request']);
    const crm = await j.serverEvents({ leadId: older, name: 'demo_completed' });
    expect(crm.status).toBe(202);
    expect((await crm.json()).events[0].leadId).toBe(known);
    expect(await j.db.all('SELECT merged_lead_id, lead_id FROM lead_aliases')).toEqual([{ merged_lead_id: older, lead_id: known }]);

    expect((await j.app.request(`/api/leads/${known}`, { method: 'DELETE', headers: j.auth })).status).toBe(200);
    expect(await j.db.all('SELECT * FROM lead_aliases')).toEqual([]);
    expect((await get(`/api/leads/${older}`)).status).toBe(404);
  });

  test('a visitor tied to lead A who identifies as B moves to B from then on, and nothing of A moves (PostHog rule)', async () => {
    const j = await app(engine);
    await j.visit('v_shared0003', [{ path: '/pricing' }, { n: 'identify', em: 'a@alpha.test' }]);
    const a = await j.leadOfVisitor('v_shared0003');
    const aBefore = await j.snapshot();
    await j.visit('v_shared0003', [{ n: 'identify', em: 'b@beta.test' }, { path: '/careers' }], j.clock.now + HOUR);
    const b = await j.leadOfVisitor('v_shared0003');
    expect(b).not.toBe(a);
    expect(await j.lead(b)).toMatchObject({ email: 'b@beta.test' });
    const aAfter = await j.lead(a);
    expect(aAfter).toMatchObject({ email: 'a@alpha.test', stage: 'consideration' });
    const aEvents = await j.db.all('SELECT event_id FROM events WHERE lead_id = ? ORDER BY event_id', [a]);
    expect(aEvents).toEqual(aBefore.events.filter((e: any) => e.lead_id === a).map((e: any) => ({ event_id: e.event_id })));
    const bEvents = await j.db.all<{ name: string }>('SELECT name FROM events WHERE lead_id = ? ORDER BY at', [b]);
    expect(bEvents.map((e) => e.name)).toEqual(['identify', 'pageview']);
    const links = await j.db.all<{ lead_id: string; reason: string; to_at: number | null }>('SELECT lead_id, reason, to_at FROM identity_links WHERE visitor_id = ? ORDER BY from_at', ['v_shared0003']);
    expect(links.map((l) => [l.lead_id, l.reason, l.to_at === null])).toEqual([[a, 'first_seen', false], [a, 'identified', false], [b, 'switched', true]]);
  });

  test('a visitor who switches to B in the middle of a session gives B that session as its first touch', async () => {
    const j = await app(engine);
    await j.visit('v_shared0005', [{ path: '/?utm_source=ads&utm_medium=cpc&utm_campaign=q3' }, { n: 'identify', em: 'e@eps.test' }]);
    await j.visit('v_shared0005', [{ n: 'identify', em: 'f@phi.test' }, { path: '/pricing' }], j.clock.now + 5 * MIN);
    const get = async (ref: string) => (await j.app.request(`/api/leads/${encodeURIComponent(ref)}`, { headers: j.auth })).json();
    const a = await get('e@eps.test');
    const b = await get('f@phi.test');
    expect(a.firstTouch).toMatchObject({ utm_source: 'ads', utm_campaign: 'q3' });
    // none of B's events opened a session, so none carried the visitor's first touch
    expect(b.firstTouch).toMatchObject({ channel: a.firstTouch.channel, utm_source: 'ads', utm_medium: 'cpc', utm_campaign: 'q3' });
    expect(b.firstTouch.sessionId).toBeUndefined();
    expect(b.lastTouch).toMatchObject({ utm_campaign: 'q3' });
    const cols = await j.db.get('SELECT ft_channel, ft_campaign FROM leads WHERE lead_id = ?', [b.leadId]);
    expect(cols).toEqual({ ft_channel: a.firstTouch.channel, ft_campaign: 'q3' });
  });

  test('switching back to an existing lead links the visitor to it again without merging', async () => {
    const j = await app(engine);
    await j.visit('v_desk000004', [{ n: 'identify', em: 'c@gamma.test' }]);
    await j.visit('v_kiosk00004', [{ n: 'identify', em: 'd@delta.test' }]);
    const c = await j.leadOfVisitor('v_desk000004');
    await j.visit('v_kiosk00004', [{ n: 'identify', em: 'c@gamma.test' }], j.clock.now + MIN);
    expect(await j.leadOfVisitor('v_kiosk00004')).toBe(c);
    expect(await j.db.get('SELECT email FROM leads WHERE email = ?', ['d@delta.test'])).toBeDefined();
  });
});
