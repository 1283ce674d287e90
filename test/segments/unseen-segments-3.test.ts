// Segments judged from outside, third round, over real HTTP on a real SQLite file: a `score lt` segment entered by
// decay alone; `did` with props, `within` and `min` fed by back-dated CRM events; `inStage` reset by a stage move;
// `touch` first against last as a new session arrives; a replaced definition moving members in and out with webhooks
// and timeline items; the visitor route of a device whose lead merged; an erased lead and the sweep; path globs
// written decoded ("/über-uns*") against the percent-encoded paths browsers send; a new half-life; two PUTs of one
// segment at once; and a stage renamed or removed by the funnel config under a segment that names it.
import { describe, expect, test } from 'vitest';
import { T0, useUnthrottledApps } from '../hardening/hardening-app.js';
import { randomId } from '../helpers/factories.js';
import { judgeCalls } from './judge-calls.js';
import { createKey } from '../../collector/admin.js';
import { sweepSegments } from '../../collector/segments/sweep.js';

const DAY = 86_400_000;
const ORIGIN = 'http://127.0.0.1';
const { open } = useUnthrottledApps();

async function setup() {
  const h = await open();
  const reader = (await createKey(h.db, h.site.siteId, ['audiences:read'], T0)).secret;
  const writer = (await createKey(h.db, h.site.siteId, ['events:write'], T0)).secret;
  const { put, send, server } = judgeCalls(h, writer, ORIGIN);
  const segmentsOf = async (v: string) => {
    const res = await h.app.request(`/api/visitors/${v}/segments?site=${h.site.siteKey}`, { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    return (await res.json()).segments as string[];
  };
  /** the members' emails from the JSON export, after checking its count against GET /api/segments */
  const emailsIn = async (key: string) => {
    const res = await h.api(`/api/segments/${key}/members?format=json`, { secret: reader });
    expect(res.status).toBe(200);
    const body = await res.json();
    const listed = (await (await h.api('/api/segments', { secret: reader })).json()).segments.find((s: { key: string }) => s.key === key);
    expect(listed.count, key).toBe(body.count);
    expect(body.members.length, key).toBe(body.count);
    return (body.members as Array<{ email: string | null }>).map((m) => m.email).sort();
  };
  const sweepTo = async (t: number) => {
    h.clock.t = t;
    const { changes } = await sweepSegments(h.deps, t);
    return changes.map((c) => `${c.segment}:${c.kind}`).filter((c) => c.startsWith('t_')).sort();
  };
  return Object.assign(h, { put, send, server, segmentsOf, emailsIn, sweepTo });
}

describe('score conditions as the score decays', () => {
  test('a lead enters a `score lt` segment by the sweep alone once its decayed score falls under the bound', async () => {
    const h = await setup();
    await h.put('t_cooled', { all: [{ identified: true }, { score: { lt: 10 } }] });
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'newsletter_signup', f: 'newsletter', em: `${v}@example.com` }]);
    const score = (await (await h.api(`/api/leads/${v}`)).json()).score as number;
    expect(score).toBeGreaterThanOrEqual(10);
    expect(await h.emailsIn('t_cooled')).toEqual([]);
    // the 90-day half-life: under 10 at 90·log2(score/10) days
    const crossing = T0 + 90 * DAY * Math.log2(score / 10);
    expect(await h.sweepTo(Math.floor(crossing) - 60_000)).toEqual([]);
    expect(await h.sweepTo(Math.ceil(crossing) + 60_000)).toEqual(['t_cooled:entered']);
    expect((await (await h.api(`/api/leads/${v}`)).json()).score).toBeLessThan(10);
    expect(await h.segmentsOf(v)).toContain('t_cooled');
    expect(await h.emailsIn('t_cooled')).toEqual([`${v.toLowerCase()}@example.com`]);
  });
});

describe('did with props, within and min, fed by back-dated CRM events', () => {
  test('events older than the window never count; the member leaves when its min-th newest event leaves the window', async () => {
    const h = await setup();
    await h.put('t_pro_trials', { did: { event: 'trial_seat_added', props: { plan: 'pro', seats: '5' }, within: '14d', min: 2 } });
    const email = 'ops@acme.example';
    const at = (daysAgo: number) => new Date(h.clock.t - daysAgo * DAY).toISOString();
    // 20 days ago: outside the window; 10 days ago: inside; another plan: never counts
    await h.server([
      { email, name: 'trial_seat_added', at: at(20), props: { plan: 'pro', seats: 5 } },
      { email, name: 'trial_seat_added', at: at(10), props: { plan: 'pro', seats: 5 } },
      { email, name: 'trial_seat_added', at: at(1), props: { plan: 'team', seats: 5 } },
    ]);
    expect(await h.emailsIn('t_pro_trials')).toEqual([]);
    // a second matching event (numbers compared as text) makes two inside the window
    await h.server({ email, name: 'trial_seat_added', at: at(2), props: { plan: 'pro', seats: 5 } });
    expect(await h.emailsIn('t_pro_trials')).toEqual([email]);
    // the one of 10 days ago leaves the window 4 days from now: out by the sweep, with no event of its own
    const leaves = h.clock.t + 4 * DAY;
    expect(await h.sweepTo(leaves - 60_000)).toEqual([]);
    expect(await h.sweepTo(leaves + 60_000)).toEqual(['t_pro_trials:exited']);
    expect(await h.emailsIn('t_pro_trials')).toEqual([]);
    // a late event dated before the window's start changes nothing
    await h.server({ email, name: 'trial_seat_added', at: at(30), props: { plan: 'pro', seats: '5' } });
    expect(await h.emailsIn('t_pro_trials')).toEqual([]);
  });
});

describe('inStage measures the current stage', () => {
  test('a member of `inStage.days gte 21` leaves at once when a new event moves it to the next stage, and comes back 21 days later', async () => {
    const h = await setup();
    await h.put('t_stuck', { inStage: { days: { gte: 21 } } });
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/blog' }, { n: 'identify', em: `${v}@example.com` }]);
    const first = Date.parse((await (await h.api(`/api/leads/${v}`)).json()).stageEnteredAt);
    expect(await h.sweepTo(first + 21 * DAY + 1000)).toEqual(['t_stuck:entered']);
    h.clock.t += DAY;
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    const profile = await (await h.api(`/api/leads/${v}`)).json();
    expect(profile.stage).toBe('consideration');
    expect(await h.segmentsOf(v)).not.toContain('t_stuck');
    expect(await h.emailsIn('t_stuck')).toEqual([]);
    const moved = Date.parse(profile.stageEnteredAt);
    expect(await h.sweepTo(moved + 21 * DAY - 60_000)).toEqual([]);
    expect(await h.sweepTo(moved + 21 * DAY + 60_000)).toEqual(['t_stuck:entered']);
  });
});

describe('touch first and last', () => {
  test('a new session from another source moves the lead out of the last-touch segment, live, and leaves first touch alone', async () => {
    const h = await setup();
    await h.put('t_first_google', { touch: { model: 'first', source: 'google' } });
    await h.put('t_last_google', { touch: { model: 'last', source: 'google' } });
    await h.put('t_last_linkedin', { all: [{ touch: { model: 'last', source: 'linkedin', medium: 'paid_social' } }, { not: { touch: { model: 'first', source: 'linkedin' } } }] });
    const v = 'v_' + randomId();
    const google = { utm_source: 'google', utm_medium: 'cpc', url: ORIGIN + '/?utm_source=google&utm_medium=cpc' };
    await h.send(v, [{ n: 'pageview', u: google.url, st: google, ft: google }, { n: 'identify', em: `${v}@example.com` }]);
    expect((await h.segmentsOf(v)).filter((k) => k.startsWith('t_')).sort()).toEqual(['t_first_google', 't_last_google']);
    h.clock.t += 3 * DAY;
    const linkedin = { utm_source: 'LinkedIn', utm_medium: 'paid_social', url: ORIGIN + '/?utm_source=LinkedIn&utm_medium=paid_social' };
    await h.send(v, [{ n: 'pageview', u: linkedin.url, st: linkedin, ft: google }]);
    expect((await h.segmentsOf(v)).filter((k) => k.startsWith('t_')).sort()).toEqual(['t_first_google', 't_last_linkedin']);
    const email = `${v.toLowerCase()}@example.com`;
    expect(await h.emailsIn('t_last_google')).toEqual([]);
    expect(await h.emailsIn('t_last_linkedin')).toEqual([email]);
    expect(await h.emailsIn('t_first_google')).toEqual([email]);
  });
});

describe('a replaced definition', () => {
  test('moves members out and in, each move a segment webhook and a timeline item, and the old members are not reported again', async () => {
    const h = await setup();
    const hook = await h.api('/api/webhooks/seg', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['segment.entered', 'segment.exited'] }) });
    expect(hook.status).toBe(201);
    await h.put('t_swap', { did: { event: 'pageview', path: '/pricing' } }, 'Swap');
    const a = 'v_' + randomId();
    const b = 'v_' + randomId();
    await h.send(a, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: `${a}@example.com` }]);
    await h.send(b, [{ n: 'pageview', u: ORIGIN + '/features' }, { n: 'identify', em: `${b}@example.com` }]);
    const [ea, eb] = [a, b].map((v) => `${v.toLowerCase()}@example.com`);
    expect(await h.emailsIn('t_swap')).toEqual([ea]);
    h.clock.t += 60_000;
    const replaced = await h.put('t_swap', { did: { event: 'pageview', path: '/features' } });
    expect(replaced).toMatchObject({ name: 'Swap', count: 1 });
    expect(await h.emailsIn('t_swap')).toEqual([eb]);
    const sent = (await h.db.all<{ event_type: string; payload: string }>('SELECT event_type, payload FROM webhook_deliveries WHERE site_id = ?', [h.site.siteId]))
      .map((r) => ({ type: r.event_type, data: JSON.parse(r.payload).data }))
      .filter((d) => d.data.segment === 't_swap')
      .map((d) => `${d.type}:${d.data.email}`)
      .sort();
    expect(sent).toEqual([`segment.entered:${ea}`, `segment.entered:${eb}`, `segment.exited:${ea}`].sort());
    for (const [v, kinds] of [[a, 2], [b, 1]] as const) {
      const items = (await (await h.api(`/api/leads/${v}/timeline?types=segment`)).json()).items as Array<Record<string, unknown>>;
      expect(items.filter((i) => JSON.stringify(i).includes('t_swap')).length, v).toBe(kinds);
    }
    // the same definition again moves nobody and sends nothing
    const before = await h.count('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ?', [h.site.siteId]);
    h.clock.t += 60_000;
    await h.put('t_swap', { did: { event: 'pageview', path: '/features' } });
    expect(await h.count('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE site_id = ?', [h.site.siteId])).toBe(before);
  });
});

describe('the visitor route after devices merge', () => {
  test('a device that was anonymous reads the segments the merged lead earned on another device, min counted across both', async () => {
    const h = await setup();
    await h.put('t_pricing_twice', { did: { event: 'pageview', path: '/pricing*', min: 2 } });
    const laptop = 'v_' + randomId();
    const phone = 'v_' + randomId();
    await h.send(laptop, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: 'pair@example.com' }]);
    await h.send(phone, [{ n: 'pageview', u: ORIGIN + '/pricing/enterprise' }]);
    expect(await h.segmentsOf(laptop)).not.toContain('t_pricing_twice');
    expect(await h.segmentsOf(phone)).not.toContain('t_pricing_twice');
    h.clock.t += 60_000;
    await h.send(phone, [{ n: 'identify', em: 'pair@example.com' }]);
    expect(await h.segmentsOf(laptop)).toContain('t_pricing_twice');
    expect(await h.segmentsOf(phone)).toContain('t_pricing_twice');
    expect(await h.emailsIn('t_pricing_twice')).toEqual(['pair@example.com']);
  });
});

describe('an erased lead and the sweep', () => {
  test('a lead erased while a recheck is due is never swept back, reported or counted; its device reads no segments', async () => {
    const h = await setup();
    const hook = await h.api('/api/webhooks/seg', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['segment.entered', 'segment.exited'] }) });
    expect(hook.status).toBe(201);
    await h.put('t_recent', { did: { event: 'pageview', path: '/pricing', within: '1d' } });
    await h.put('t_quiet', { not: { did: { event: 'pageview', within: '2d' } } });
    const v = 'v_' + randomId();
    const keep = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: `${v}@example.com` }]);
    await h.send(keep, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: `${keep}@example.com` }]);
    expect(await h.segmentsOf(v)).toContain('t_recent');
    expect((await h.api(`/api/leads/${v}`, { method: 'DELETE' })).status).toBeLessThan(300);
    expect(await h.segmentsOf(v)).toEqual([]);
    const kept = `${keep.toLowerCase()}@example.com`;
    expect(await h.emailsIn('t_recent')).toEqual([kept]);
    // the windows pass: only the lead that is left moves
    expect(await h.sweepTo(T0 + DAY + 60_000)).toEqual(['t_recent:exited']);
    expect(await h.sweepTo(T0 + 2 * DAY + 60_000)).toEqual(['t_quiet:entered']);
    expect(await h.emailsIn('t_quiet')).toEqual([kept]);
    expect(await h.segmentsOf(v)).toEqual([]);
    const payloads = (await h.db.all<{ payload: string }>('SELECT payload FROM webhook_deliveries WHERE site_id = ?', [h.site.siteId])).map((r) => r.payload);
    expect(payloads.filter((p) => p.toLowerCase().includes(v.toLowerCase()))).toEqual([]);
    expect(await h.count('SELECT COUNT(*) AS n FROM segment_rechecks WHERE site_id = ? AND lead_id NOT IN (SELECT lead_id FROM leads WHERE site_id = ?)', [h.site.siteId, h.site.siteId])).toBe(0);
  });
});

describe('path globs written as the address bar shows them', () => {
  test('"/über-uns*" and "/case studies/*" match the pages the browser sent percent-encoded, live and from stored events', async () => {
    const h = await setup();
    const defs = {
      t_uber: { did: { event: 'pageview', path: '/über-uns*' } },
      t_uber_sent: { did: { event: 'pageview', path: '/%C3%BCber-uns*' } },
      t_cases: { did: { event: 'pageview', path: '/case studies/*' } },
      t_tokyo: { did: { event: 'pageview', path: '/ja/料金' } },
      t_percent: { did: { event: 'pageview', path: '/100%-free' } },
    };
    for (const [key, definition] of Object.entries(defs)) await h.put(key, definition);
    const v = 'v_' + randomId();
    const other = 'v_' + randomId();
    // what the snippet sends: location.href, percent-encoded by the browser
    await h.send(v, [
      { n: 'pageview', u: new URL('/über-uns', ORIGIN).href },
      { n: 'pageview', u: new URL('/case studies/acme', ORIGIN).href },
      { n: 'pageview', u: new URL('/ja/料金', ORIGIN).href },
      { n: 'pageview', u: ORIGIN + '/100%-free' },
    ]);
    await h.send(other, [{ n: 'pageview', u: new URL('/uber-uns', ORIGIN).href }, { n: 'pageview', u: new URL('/case-studies/acme', ORIGIN).href }]);
    const live = (await h.segmentsOf(v)).filter((k) => k.startsWith('t_')).sort();
    expect(live).toEqual(Object.keys(defs).sort());
    expect((await h.segmentsOf(other)).filter((k) => k.startsWith('t_'))).toEqual([]);
    // the same definitions decided again from the stored events (a PUT re-evaluates every lead)
    for (const [key, definition] of Object.entries(defs)) await h.put(key + '_2', definition);
    const stored = (await h.segmentsOf(v)).filter((k) => k.endsWith('_2')).sort();
    expect(stored).toEqual(Object.keys(defs).map((k) => k + '_2').sort());
    expect((await h.segmentsOf(other)).filter((k) => k.startsWith('t_'))).toEqual([]);
    // the definition reads back as it was written
    const got = await (await h.api('/api/segments/t_uber')).json();
    expect(got.definition).toEqual(defs.t_uber);
  });
});

describe('segments that name a stage the funnel config then renames', () => {
  // NOT FIXED (collector/routes/funnel-config.ts, collector/funnel/*: not this judge's files). PUT /api/config/funnel
  // renaming `consideration` to `considering` answers 200 while `t_cons` and the preset `stalled_consideration` still
  // name `consideration`: after the lead's next event they match nobody (count 1 → 0), and the same definition PUT
  // again is refused as `unknown stage "consideration"`. Expected: the config PUT refuses (4xx naming the segments that
  // use the stage), or the segments keep matching the renamed stage.
  test('a segment naming the old stage keeps its member: a stage renamed in place is renamed in segment definitions', async () => {
    const h = await setup();
    await h.put('t_cons', { stage: { in: ['consideration'] } });
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'identify', em: `${v}@example.com` }]);
    expect(await h.emailsIn('t_cons')).toHaveLength(1);
    const config = await (await h.api('/api/config/funnel')).json();
    const to = (s: string) => (s === 'consideration' ? 'considering' : s);
    config.stages = config.stages.map(to);
    config.stageRules = config.stageRules.map((r: { stage: string }) => ({ ...r, stage: to(r.stage) }));
    const put = await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify(config) });
    h.clock.t += 60_000;
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    expect(put.status).toBe(200);
    expect(put.headers.get('funnelbeam-warning')).toBeNull();
    expect(await h.emailsIn('t_cons')).toHaveLength(1);
    const segments = (await (await h.api('/api/segments')).json()).segments as Array<{ key: string; definition: unknown }>;
    expect(segments.find((x) => x.key === 't_cons')!.definition).toEqual({ stage: { in: ['considering'] } });
    // the preset that waits in consideration follows the rename too
    expect(JSON.stringify(segments.find((x) => x.key === 'stalled_consideration')!.definition)).toContain('"considering"');
  });

  test('a stage removed from the funnel: the PUT is stored and warns which segments still name it', async () => {
    const h = await setup();
    await h.put('t_eval', { any: [{ stage: { eq: 'evaluation' } }, { not: { stage: { in: ['intent', 'evaluation'] } } }] });
    const config = await (await h.api('/api/config/funnel')).json();
    config.stages = config.stages.filter((x: string) => x !== 'evaluation');
    config.stageRules = config.stageRules.filter((r: { stage: string }) => r.stage !== 'evaluation');
    const put = await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify(config) });
    expect(put.status).toBe(200);
    expect(put.headers.get('funnelbeam-warning')).toBe('segments naming stages no longer in the funnel match no lead by them: t_eval (evaluation)');
  });
});

describe('a new half-life', () => {
  test('a shorter half-life takes a lead out of a score segment at once, and a longer one brings it back, with no event of its own', async () => {
    const h = await setup();
    await h.put('t_hot', { score: { gte: 20 } });
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }, { n: 'newsletter_signup', f: 'newsletter', em: `${v}@example.com` }]);
    const score = (await (await h.api(`/api/leads/${v}`)).json()).score as number;
    expect(score).toBeGreaterThanOrEqual(21);
    h.clock.t = T0 + 10 * DAY; // 90-day half-life: still ≥ 20
    expect(await h.sweepTo(h.clock.t)).toEqual([]);
    expect(await h.segmentsOf(v)).toContain('t_hot');
    const setHalfLife = async (days: number) => {
      const config = await (await h.api('/api/config/funnel')).json();
      const res = await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify({ ...config, halfLifeDays: days }) });
      expect(res.status, await res.clone().text()).toBe(200);
    };
    await setHalfLife(7); // 10 days at a 7-day half-life: under 20
    expect((await (await h.api(`/api/leads/${v}`)).json()).score).toBeLessThan(20);
    expect(await h.segmentsOf(v)).not.toContain('t_hot');
    expect(await h.emailsIn('t_hot')).toEqual([]);
    await setHalfLife(365);
    expect((await (await h.api(`/api/leads/${v}`)).json()).score).toBeGreaterThanOrEqual(20);
    expect(await h.segmentsOf(v)).toContain('t_hot');
    expect(await h.emailsIn('t_hot')).toHaveLength(1);
  });
});

describe('two PUTs of one segment at once', () => {
  test('the members and the count are those of the definition that was stored last, whatever order the recomputes ran in', async () => {
    const h = await setup();
    const writer = async (events: unknown[]) => h.server(events);
    const rows = Array.from({ length: 1200 }, (_, i) => ({ email: `p${i}@example.com`, name: i % 3 === 0 ? 'fizz' : 'buzz' }));
    for (let i = 0; i < rows.length; i += 600) await writer(rows.slice(i, i + 600));
    await h.put('t_race', { did: { event: 'fizz' } });
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([
        h.api('/api/segments/t_race', { method: 'PUT', body: JSON.stringify({ definition: { did: { event: 'buzz' } } }) }),
        h.api('/api/segments/t_race', { method: 'PUT', body: JSON.stringify({ definition: { did: { event: round % 2 ? 'fizz' : 'nothing' } } }) }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const stored = (await (await h.api('/api/segments/t_race')).json()).definition.did.event as string;
      const expected = stored === 'buzz' ? 800 : stored === 'fizz' ? 400 : 0;
      const emails = await h.emailsIn('t_race');
      expect(emails.length, `round ${round}: ${stored}`).toBe(expected);
    }
  });
});
