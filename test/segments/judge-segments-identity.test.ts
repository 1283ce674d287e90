// Segment membership when a device switches person, judged over real HTTP (app.request) on a real SQLite file, from
// README (Identity): "When a visitor tied to lead A identifies as B, its future events go to B and nothing of A moves.
// Events of the same millisecond as an identification are the new lead's … a page of that millisecond stored before
// the identification arrived … moves to the new lead, and both leads are rebuilt", and (Segments) "Membership is
// updated inside the ingest transaction for every lead a batch touches … member counts are live".
import { describe, expect, test } from 'vitest';
import { T0, useUnthrottledApps } from '../hardening/hardening-app.js';
import { createKey } from '../../collector/admin.js';
import { judgeCalls } from './judge-calls.js';

const HOUR = 3_600_000;
const ORIGIN = 'http://127.0.0.1';
const { open } = useUnthrottledApps();

async function rig() {
  const h = await open();
  for (const { key } of (await (await h.api('/api/segments')).json()).segments as Array<{ key: string }>) {
    expect((await h.api(`/api/segments/${key}`, { method: 'DELETE' })).status).toBe(204);
  }
  const writer = (await createKey(h.db, h.site.siteId, ['events:write'], T0)).secret;
  const calls = judgeCalls(h, writer, ORIGIN);
  await calls.put('t_pricing', { did: { event: 'pageview', path: '/pricing' } });
  await calls.put('t_pricing_known', { all: [{ did: { event: 'pageview', path: '/pricing' } }, { identified: true }] });
  const membersOf = async (key: string) => {
    const res = await h.api(`/api/segments/${key}/members?format=json`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.count).toBe(body.members.length);
    return (body.members as Array<{ email: string | null }>).map((m) => m.email).sort();
  };
  const countOf = async (key: string) => (await (await h.api(`/api/segments/${key}`)).json()).count as number;
  const visitorSegments = async (v: string) => {
    const res = await h.app.request(`/api/visitors/${v}/segments?site=${h.site.siteKey}`, { headers: { origin: ORIGIN } });
    return ((await res.json()).segments as string[]).sort();
  };
  return { ...h, ...calls, membersOf, countOf, visitorSegments };
}

describe('a device that switches person in the millisecond of a page it sent', () => {
  test('the page moves to the new person: the old one leaves the pricing segments, the new one enters them', async () => {
    const h = await rig();
    const v = 'v_switch_ms_0001';
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/', t: T0 }, { n: 'identify', em: 'anna@example.com', t: T0 }]);
    h.clock.t = T0 + HOUR;
    const pageAt = T0 + HOUR - 5000;
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing', t: pageAt }]);
    expect(await h.membersOf('t_pricing')).toEqual(['anna@example.com']);
    // the identification of that same millisecond arrives late (a batch retried): the page is Ben's
    h.clock.t = T0 + 2 * HOUR;
    await h.send(v, [{ n: 'identify', em: 'ben@example.com', t: pageAt }]);
    const anna = await (await h.api('/api/leads/anna@example.com')).json();
    const ben = await (await h.api('/api/leads/ben@example.com')).json();
    expect(ben.visitorIds).toEqual([v]);
    expect(anna.leadId).not.toBe(ben.leadId);
    expect(await h.membersOf('t_pricing')).toEqual(['ben@example.com']);
    expect(await h.membersOf('t_pricing_known')).toEqual(['ben@example.com']);
    expect(await h.countOf('t_pricing')).toBe(1);
    expect(await h.countOf('t_pricing_known')).toBe(1);
    expect(await h.visitorSegments(v)).toEqual(['t_pricing', 't_pricing_known']);
  });

  test('the same switch told by the CRM (POST /api/events naming the device at the page\'s time)', async () => {
    const h = await rig();
    const v = 'v_switch_ms_0002';
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/', t: T0 }, { n: 'identify', em: 'cara@example.com', t: T0 }]);
    h.clock.t = T0 + HOUR;
    const pageAt = T0 + HOUR - 5000;
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing', t: pageAt }]);
    h.clock.t = T0 + 2 * HOUR;
    await h.server({ visitorId: v, email: 'dan@example.com', name: 'crm_identified', at: new Date(pageAt).toISOString() });
    expect(await h.membersOf('t_pricing')).toEqual(['dan@example.com']);
    expect(await h.membersOf('t_pricing_known')).toEqual(['dan@example.com']);
    expect(await h.countOf('t_pricing')).toBe(1);
  });
});
