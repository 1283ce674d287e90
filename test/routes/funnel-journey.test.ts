import { afterEach, describe, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { HOUR, MIN } from '../helpers/funnel-factories.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

describe('a journey through POST /e and POST /api/events, read back through the lead API', () => {
  test('profile and timeline show the merged devices, stage, score, MQL/SQL and the changes in line', async () => {
    const j = await makeJourneyApp();
    closers.push(j.close);
    const t = j.clock.now;
    await j.visit('v_jlaptop001', [{ path: '/' }, { path: '/pricing' }, { n: 'download', path: '/resources', p: { url: 'http://127.0.0.1/w/whitepaper.pdf' } }], t);
    await j.visit('v_jlaptop001', [{ n: 'newsletter_signup', f: 'newsletter', path: '/blog', em: 'dana@delta.test', tr: { firstName: 'Dana' } }], t + 10 * MIN);
    await j.visit('v_jphone0001', [{ path: '/pricing' }, { n: 'demo_request', f: 'demo', path: '/demo', em: 'dana@delta.test' }], t + 2 * HOUR);
    j.clock.now = t + 3 * HOUR;
    expect((await j.serverEvents({ id: 'crm-d-1', email: 'dana@delta.test', name: 'closed_won', at: t + 3 * HOUR })).status).toBe(202);

    const res = await j.app.request('/api/leads/' + encodeURIComponent('dana@delta.test'), { headers: j.auth });
    expect(res.status).toBe(200);
    const profile = await res.json();
    expect(profile).toMatchObject({ email: 'dana@delta.test', stage: 'purchase', mql: true, sql: true });
    expect([...profile.visitorIds].sort()).toEqual(['v_jlaptop001', 'v_jphone0001']);
    const changes = await j.db.all<{ points: number }>('SELECT points FROM score_changes WHERE lead_id = ?', [profile.leadId]);
    expect(profile.score).toBeCloseTo(changes.reduce((s, c) => s + Number(c.points), 0), 0);

    const timeline = await (await j.app.request(`/api/leads/${profile.leadId}/timeline?limit=200`, { headers: j.auth })).json();
    const kinds = new Set(timeline.items.map((i: { kind: string }) => i.kind));
    for (const k of ['event', 'stage', 'score', 'identity']) expect(kinds).toContain(k);
    const stages = timeline.items.filter((i: { kind: string }) => i.kind === 'stage').map((i: { to: string }) => i.to).reverse();
    // pricing on the phone is a second session with pricing once the devices are one lead: intent
    expect(stages).toEqual(['awareness', 'consideration', 'intent', 'evaluation', 'purchase']);
    const devices = new Set(timeline.items.filter((i: { kind: string }) => i.kind === 'event').map((i: { visitorId: string }) => i.visitorId));
    expect(devices).toEqual(new Set(['v_jlaptop001', 'v_jphone0001', `srv:${profile.leadId}`]));
  });
});
