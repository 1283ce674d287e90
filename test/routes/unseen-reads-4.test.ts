// The timeline and the funnel's touch keys judged from contract §5 and the README ("HTTP API", "Funnel report"), on
// what earlier read tests leave out: `types`, `from`, `to`, `limit` and `cursor` together, in 150 seeded combinations
// over a lead of two devices merged, a burst of CRM events in one millisecond and items of every kind sharing a
// millisecond (each pass must list exactly the items of one big page that the filter keeps, in its order: no item
// twice, none skipped); a cursor read again gives the same page; a cursor of site A's lead on site B; GET /api/leads
// with six filters, both orders, limits and cursors in 120 seeded combinations; the timeline's default page of 50; a
// `srv:<leadId>` ref when a beacon carries that very visitor id; the last-touch breakdown of a period, whose entries and
// times in stage follow the lead to its new campaign when a later visit changes its last touch; and a device merged
// in later moving the lead's creation to its earlier day. Expected figures are worked out by hand in the comments.
// Populations go through POST /e and POST /api/events on a real database (TEST_ENGINE=pg: PostgreSQL).
import { describe, expect, test } from 'vitest';
import { createKey, createSite } from '../../collector/admin.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents, useJourneys, type Journey } from '../helpers/journey-api.js';
import { validate } from '../helpers/openapi-schema.js';

const { open } = useJourneys();
type Item = { kind: string; name: string; at: string; id: string; [k: string]: any };
type Page = { items: Item[]; nextCursor: string | null };
const keyOf = (i: Item) => `${i.kind}:${i.id}`;
const EM = 'combo@rd4.test';

/** Mulberry32: a small seeded generator, so a failing combination can be run again. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One lead (T0 = Mon 2025-01-06 09:00Z), every kind of item, many sharing a millisecond:
 *   laptop: T0 '/', identify; T0+10m '/pricing' (consideration: the segment `warm` is entered); T0+1d '/pricing' (a
 *           second session with pricing: interest is below, intent is entered).
 *   CRM:    `crm_call` at T0+10m, the very millisecond of the laptop's pricing view.
 *   phone:  anonymous, T0+2h '/', '/blog', '/docs'; identifies at T0+1d+1h: its lead merges in (identity items).
 *   CRM:    eight `crm_note` (ids n0…n7) and `demo_completed` at T0+1d+2h, one millisecond: an event burst with the
 *           score and stage items the demo makes (evaluation) and its exit from `warm`, all at that millisecond.
 */
async function comboLead(): Promise<Journey> {
  const j = await open();
  const seg = await j.app.request('/api/segments/warm', { method: 'PUT', headers: j.auth, body: JSON.stringify({ definition: { stage: { in: ['consideration', 'intent'] } } }) });
  expect(seg.status).toBe(201);
  await j.visit('v_rd4_laptop', [{ path: '/' }, { n: 'identify', em: EM }], T0);
  await j.visit('v_rd4_laptop', [{ path: '/pricing' }], T0 + 10 * MIN);
  await postEvents(j, { email: EM, name: 'crm_call', at: iso(T0 + 10 * MIN), id: 'call-1' });
  await j.visit('v_rd4_phone1', [{ path: '/' }, { path: '/blog' }, { path: '/docs' }], T0 + 2 * HOUR);
  await j.visit('v_rd4_laptop', [{ path: '/pricing' }], T0 + DAY);
  await j.visit('v_rd4_phone1', [{ n: 'identify', em: EM }], T0 + DAY + HOUR);
  j.clock.now = T0 + DAY + 2 * HOUR;
  const burst = T0 + DAY + 2 * HOUR;
  await postEvents(j, [
    ...Array.from({ length: 8 }, (_, k) => ({ email: EM, name: 'crm_note', at: iso(burst), id: `n${k}` })),
    { email: EM, name: 'demo_completed', at: iso(burst), id: 'demo-1' },
  ]);
  j.clock.now = T0 + 2 * DAY;
  return j;
}

/** What `types` keeps, by the README: a kind keeps its items, a name the events of that name; nothing named keeps all. */
function keeps(types: string[], item: Item): boolean {
  if (types.length === 0) return true;
  if (types.includes(item.kind)) return true;
  return item.kind === 'event' && types.includes(item.name);
}

describe('types, from, to, limit and cursor together', () => {
  test('150 seeded combinations: every pass lists exactly the items one big page keeps, in its order', async () => {
    const j = await comboLead();
    const all = (await get(j, `/api/leads/${encodeURIComponent(EM)}/timeline?limit=500`)) as Page;
    expect(all.nextCursor).toBeNull();
    // the population is what the comment says: both devices, the burst, and every kind
    expect(new Set(all.items.map((i) => i.kind))).toEqual(new Set(['event', 'identity', 'score', 'stage', 'segment']));
    expect(new Set(all.items.filter((i) => i.kind === 'event' && i.source === 'web').map((i) => i.visitorId))).toEqual(new Set(['v_rd4_laptop', 'v_rd4_phone1']));
    const burstItems = all.items.filter((i) => Date.parse(i.at) === T0 + DAY + 2 * HOUR);
    expect(burstItems.filter((i) => i.name === 'crm_note')).toHaveLength(8);
    expect(new Set(burstItems.map((i) => i.kind))).toEqual(new Set(['event', 'score', 'stage', 'segment']));
    expect(all.items.filter((i) => Date.parse(i.at) === T0 + 10 * MIN).length).toBeGreaterThanOrEqual(4); // pageview, crm_call, stage, …

    const doc = await (await j.app.request('/openapi.json')).json();
    const tlSchema = doc.paths['/api/leads/{ref}/timeline'].get.responses['200'].content['application/json'].schema;
    const times = [...new Set(all.items.map((i) => Date.parse(i.at)))].sort((a, b) => a - b);
    const TYPE_WORDS = ['event', 'stage', 'score', 'identity', 'segment', 'pageview', 'crm_note', 'demo_completed', 'identify', 'no_such_event'];
    const random = rng(4242);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    /** A bound: none, an item's very millisecond, or one millisecond either side of it. */
    const bound = () => (random() < 0.25 ? undefined : pick(times) + pick([-1, 0, 0, 1]));
    let checked = 0;
    for (let round = 0; round < 150; round++) {
      const types = TYPE_WORDS.filter(() => random() < 0.2);
      let from = bound();
      let to = bound();
      if (from !== undefined && to !== undefined && from >= to) [from, to] = to === from ? [from, undefined] : [to, from];
      const limit = 1 + Math.floor(random() * 7);
      const base = [
        types.length ? `types=${types.join(',')}` : '',
        from === undefined ? '' : `from=${random() < 0.5 ? from : encodeURIComponent(iso(from))}`,
        to === undefined ? '' : `to=${random() < 0.5 ? to : encodeURIComponent(iso(to))}`,
        `limit=${limit}`,
      ].filter(Boolean).join('&');
      const expected = all.items
        .filter((i) => keeps(types, i) && (from === undefined || Date.parse(i.at) >= from) && (to === undefined || Date.parse(i.at) < to))
        .map(keyOf);
      const listed: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const qs: string = base + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
        const page = (await get(j, `/api/leads/${encodeURIComponent(EM)}/timeline?${qs}`)) as Page;
        expect(validate(doc, tlSchema, page), qs).toEqual([]);
        expect(page.items.length, qs).toBeLessThanOrEqual(limit);
        // a page that is not the last is full
        if (page.nextCursor) expect(page.items.length, qs).toBe(limit);
        listed.push(...page.items.map(keyOf));
        if (pages === 1 && cursor) {
          // the same cursor read again gives the same page
          const again = (await get(j, `/api/leads/${encodeURIComponent(EM)}/timeline?${qs}`)) as Page;
          expect(again.items.map(keyOf), `${qs} again`).toEqual(page.items.map(keyOf));
          expect(again.nextCursor).toBe(page.nextCursor);
        }
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 200);
      expect(listed, `round ${round}: ${base}`).toEqual(expected);
      checked += expected.length;
    }
    // the combinations listed items, not only empty pages
    expect(checked).toBeGreaterThan(500);
  });

  test("a cursor of site A's lead is a 400 on site B's lead, and B's answer is the documented error shape", async () => {
    const j = await comboLead();
    const a = (await get(j, `/api/leads/${encodeURIComponent(EM)}/timeline?limit=2`)) as Page;
    expect(a.nextCursor).not.toBeNull();
    const other = await createSite(j.db, { domain: 'other.rd4.test' }, j.clock.now);
    const key = await createKey(j.db, other.siteId, ['admin'], j.clock.now);
    const auth = { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' };
    const sent = await j.app.request('/api/events', { method: 'POST', headers: auth, body: JSON.stringify(Array.from({ length: 5 }, (_, k) => ({ email: EM, name: 'crm_note', id: `b${k}` }))) });
    expect(sent.status).toBe(202);
    // B has a lead of the same email: its own timeline pages, A's cursor on it is refused
    const own = await j.app.request(`/api/leads/${encodeURIComponent(EM)}/timeline?limit=2`, { headers: auth });
    expect(own.status).toBe(200);
    const res = await j.app.request(`/api/leads/${encodeURIComponent(EM)}/timeline?limit=2&cursor=${a.nextCursor}`, { headers: auth });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('invalid_cursor');
    const doc = await (await j.app.request('/openapi.json')).json();
    const schema = doc.paths['/api/leads/{ref}/timeline'].get.responses['400'].content['application/json'].schema;
    expect(validate(doc, schema, body)).toEqual([]);
    // and A's own lead still pages with it
    const next = (await get(j, `/api/leads/${encodeURIComponent(EM)}/timeline?limit=2&cursor=${a.nextCursor}`)) as Page;
    expect(next.items).toHaveLength(2);
  });
});

/** A landing pageview of a campaign, as the snippet sends it. */
const touch = (campaign: string) => ({ utm_source: 'news', utm_medium: 'email', utm_campaign: campaign, url: `http://127.0.0.1/?utm_source=news&utm_medium=email&utm_campaign=${campaign}` });
const landing = (first: string, session: string, path = '/') => ({ path: `${path}?utm_campaign=${session}`, ft: touch(first), st: touch(session) });

describe('the last-touch breakdown follows the lead when a later visit changes its last touch', () => {
  test('entries and times in stage of a past period move from the old campaign to the new one; first touch stays', async () => {
    const j = await open();
    // L: T0 `alpha` (awareness), T0+1d `alpha` again (second session: interest). K: T0+2h `beta` /pricing
    // (awareness and consideration at one millisecond), as a second key that never changes.
    await j.visit('v_rd4_last', [landing('alpha', 'alpha')], T0);
    await j.visit('v_rd4_kept', [landing('beta', 'beta', '/pricing')], T0 + 2 * HOUR);
    await j.visit('v_rd4_last', [landing('alpha', 'alpha')], T0 + DAY);
    j.clock.now = T0 + 2 * DAY;
    const PERIOD = `from=${iso(T0)}&to=${iso(T0 + 2 * DAY)}`;
    const groups = async (attribution: string) =>
      Object.fromEntries(((await get(j, `/api/funnel?${PERIOD}&breakdown=campaign&attribution=${attribution}`)).breakdown as any[]).map((g) => [
        g.key,
        { count: g.stages.map((s: any) => s.count), entered: g.stages.map((s: any) => s.entered), aw: [g.stages[0].timeInStage.n, g.stages[0].timeInStage.p50] },
      ]));
    // before: last touch alpha for L. L entered awareness (T0) and interest (T0+1d) in the period; its awareness lasted
    // 1d. K: awareness and consideration, 0 ms in awareness.
    const before = await groups('last');
    expect(before).toEqual({
      alpha: { count: [0, 1, 0, 0, 0, 0], entered: [1, 1, 0, 0, 0, 0], aw: [1, DAY] },
      beta: { count: [0, 0, 1, 0, 0, 0], entered: [1, 0, 1, 0, 0, 0], aw: [1, 0] },
    });
    // after the period, L comes back from `gamma` (a third session: nothing new in the funnel, a new last touch)
    await j.visit('v_rd4_last', [landing('alpha', 'gamma')], T0 + 3 * DAY);
    j.clock.now = T0 + 3 * DAY + HOUR;
    // README: a lead counts under its touch as it is now: the same past period now credits L's entries and time to gamma
    expect(await groups('last')).toEqual({
      gamma: { count: [0, 1, 0, 0, 0, 0], entered: [1, 1, 0, 0, 0, 0], aw: [1, DAY] },
      beta: { count: [0, 0, 1, 0, 0, 0], entered: [1, 0, 1, 0, 0, 0], aw: [1, 0] },
    });
    // first touch is alpha before and after
    expect(await groups('first')).toEqual(before);
    // the totals did not move: entries awareness 2, interest 1, consideration 1
    const totals = await get(j, `/api/funnel?${PERIOD}`);
    expect(totals.stages.map((s: any) => s.entered)).toEqual([2, 1, 1, 0, 0, 0]);
  });
});

describe('a device merged in later moves the lead\'s creation, entries and times to its earlier day', () => {
  test('the cohort and entries of both days, by hand, before and after the merge', async () => {
    const j = await open();
    // P: anonymous phone, '/' at T0 (Mon 09:00Z): an anonymous lead, created T0, awareness at T0.
    // X: laptop, '/' and identify at T0+2d: lead X created T0+2d, awareness at T0+2d.
    await j.visit('v_rd4_mphone', [{ path: '/' }], T0);
    await j.visit('v_rd4_mlapt', [{ path: '/' }, { n: 'identify', em: 'mover@rd4.test' }], T0 + 2 * DAY);
    j.clock.now = T0 + 2 * DAY + 30 * MIN;
    const day1 = `from=${iso(T0)}&to=${iso(T0 + DAY)}`;
    const day3 = `from=${iso(T0 + 2 * DAY)}&to=${iso(T0 + 3 * DAY)}`;
    const fig = async (qs: string) => {
      const r = await get(j, `/api/funnel?${qs}`);
      return { count: r.stages.map((s: any) => s.count), entered: r.stages.map((s: any) => s.entered), reached: r.stages.map((s: any) => s.reached), aw: [r.stages[0].timeInStage.n, r.stages[0].timeInStage.p50] };
    };
    // before: two leads in awareness; day 1 holds P's creation and entry, day 3 X's
    expect(await fig(day1)).toEqual({ count: [2, 0, 0, 0, 0, 0], entered: [1, 0, 0, 0, 0, 0], reached: [1, 0, 0, 0, 0, 0], aw: [0, null] });
    expect(await fig(day3)).toEqual({ count: [2, 0, 0, 0, 0, 0], entered: [1, 0, 0, 0, 0, 0], reached: [1, 0, 0, 0, 0, 0], aw: [0, null] });

    // the phone identifies as X at T0+2d+1h: P merges into X, whose first event is now the phone's page at T0. Its
    // history, rebuilt in time order: awareness at T0 (the phone's visit), and the laptop's visit at T0+2d is its
    // second session: interest at T0+2d. One lead now, in interest; created T0.
    await j.visit('v_rd4_mphone', [{ path: '/', n: 'identify', em: 'mover@rd4.test' }], T0 + 2 * DAY + HOUR);
    j.clock.now = T0 + 2 * DAY + 2 * HOUR;
    const x = await get(j, '/api/leads/mover%40rd4.test');
    expect(x.createdAt).toBe(iso(T0));
    expect(x.stage).toBe('interest');
    // day 1: the cohort is X (interest now): reached 1, 1; entered awareness 1 (X's, at T0; P's own entry went with
    // its lead); X's awareness lasted T0 → T0+2d: 2d
    expect(await fig(day1)).toEqual({ count: [0, 1, 0, 0, 0, 0], entered: [1, 0, 0, 0, 0, 0], reached: [1, 1, 0, 0, 0, 0], aw: [1, 2 * DAY] });
    // day 3: nobody created (X moved back to day 1); entered interest 1 (T0+2d), awareness none (X's is at T0 now)
    expect(await fig(day3)).toEqual({ count: [0, 1, 0, 0, 0, 0], entered: [0, 1, 0, 0, 0, 0], reached: [0, 0, 0, 0, 0, 0], aw: [0, null] });
    // and by first-touch channel (SQLite reads its touch day counts): the same figures under `direct`
    const b = await get(j, `/api/funnel?${day1}&breakdown=channel`);
    expect(b.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => s.reached), g.stages[0].timeInStage.n])).toEqual([['direct', [1, 1, 0, 0, 0, 0], 1]]);
    const b3 = await get(j, `/api/funnel?${day3}&breakdown=channel&attribution=last`);
    expect(b3.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => s.entered), g.stages.map((s: any) => s.reached)])).toEqual([['direct', [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]]);
  });
});

describe('GET /api/leads: filters, order, limit and cursor together', () => {
  test('120 seeded combinations: every pass lists exactly the leads of the full list the filters keep, in its order', async () => {
    const j = await open();
    for (const [key, definition] of [['evals', { stage: { in: ['evaluation'] } }], ['scored', { score: { gte: 20 } }]] as const) {
      const res = await j.app.request(`/api/segments/${key}`, { method: 'PUT', headers: j.auth, body: JSON.stringify({ definition }) });
      expect(res.status).toBe(201);
    }
    // six anonymous visitors (two on /pricing: consideration), a minute apart
    for (let k = 0; k < 6; k++) await j.visit(`v_rd4_anon_${k}`, [{ path: k % 3 === 0 ? '/pricing' : '/' }], T0 + k * MIN);
    // twelve CRM leads, p0…p11 at Acme.test or beta.test, an hour apart: every third books a demo and is sent a proposal
    // (30 + 20 + 10 = 60 points ≥ 50: MQL; a demo request: SQL), every other third completes a demo alone (20 points,
    // evaluation, neither), every fourth is accepted by sales (SQL)
    j.clock.now = T0 + 13 * HOUR;
    const events: unknown[] = [];
    for (let i = 0; i < 12; i++) {
      const email = `P${i}@${i % 2 ? 'Beta' : 'Acme'}.test`;
      const at = (m: number) => iso(T0 + (i + 1) * HOUR + m * MIN);
      events.push({ email, name: 'crm_note', at: at(0) });
      if (i % 3 === 1) events.push({ email, name: 'demo_completed', at: at(1) });
      if (i % 3 === 2) events.push({ email, name: 'demo_request', at: at(1) }, { email, name: 'demo_completed', at: at(2) }, { email, name: 'proposal_sent', at: at(3) });
      if (i % 4 === 0) events.push({ email, name: 'sales_accepted', at: at(4) });
    }
    await postEvents(j, events);
    const full = {
      activity: (await get(j, '/api/leads?limit=500')).items as any[],
      id: (await get(j, '/api/leads?limit=500&order=id')).items as any[],
    };
    expect(full.activity).toHaveLength(18);
    // the population is as described: MQLs p2, p5, p8, p11; SQLs those four (a demo request) and p0, p4 (sales_accepted)
    expect(full.activity.filter((l) => l.mql).map((l) => l.email).sort()).toEqual(['p11@beta.test', 'p2@acme.test', 'p5@beta.test', 'p8@acme.test']);
    expect(full.activity.filter((l) => l.sql).map((l) => l.email).sort()).toEqual(['p0@acme.test', 'p11@beta.test', 'p2@acme.test', 'p4@acme.test', 'p5@beta.test', 'p8@acme.test']);

    const doc = await (await j.app.request('/openapi.json')).json();
    const listSchema = doc.paths['/api/leads'].get.responses['200'].content['application/json'].schema;
    const random = rng(1818);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    const truth = (v: string) => v === 'true' || v === '1';
    for (let round = 0; round < 120; round++) {
      const f = {
        stage: pick([undefined, undefined, 'awareness', 'consideration', 'evaluation', 'purchase']),
        q: pick([undefined, undefined, 'acme', 'ACME.T', 'p1', '@beta', 'zz', ' Beta ']),
        identified: pick([undefined, undefined, 'true', 'false', '1', '0']),
        mql: pick([undefined, undefined, 'true', 'false']),
        sql: pick([undefined, undefined, '1', '0']),
        segment: pick([undefined, undefined, 'evals', 'scored']),
      };
      const order = pick(['activity', 'id'] as const);
      const limit = 1 + Math.floor(random() * 6);
      const base = [
        ...Object.entries(f).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(v!)}`),
        order === 'id' || random() < 0.5 ? `order=${order}` : '',
        `limit=${limit}`,
      ].filter(Boolean).join('&');
      // README: q a part of the email, any case (spaces around it ignored); identified = has an email; segment = a member now
      const expected = full[order]
        .filter((l) =>
          (f.stage === undefined || l.stage === f.stage) &&
          (f.q === undefined || (l.email !== null && l.email.includes(f.q.trim().toLowerCase()))) &&
          (f.identified === undefined || (l.email !== null) === truth(f.identified)) &&
          (f.mql === undefined || l.mql === truth(f.mql)) &&
          (f.sql === undefined || l.sql === truth(f.sql)) &&
          (f.segment === undefined || l.segments.includes(f.segment)))
        .map((l) => l.leadId);
      const listed: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: any = await get(j, `/api/leads?${base}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(validate(doc, listSchema, page), base).toEqual([]);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        if (page.nextCursor) expect(page.items.length).toBe(limit);
        listed.push(...page.items.map((l: any) => l.leadId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(listed, `round ${round}: ${base}`).toEqual(expected);
    }
  });
});

describe('the timeline without a limit', () => {
  test('pages of 50 (README: default 50): 60 CRM notes and the awareness entry are 50, then 11 and no cursor', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    // 60 notes a minute apart: the first one makes the lead (awareness, at the first note); notes score nothing
    await postEvents(j, Array.from({ length: 60 }, (_, k) => ({ email: 'fifty@rd4.test', name: 'crm_note', at: iso(T0 + k * MIN), id: `note-${String(k).padStart(2, '0')}` })));
    const first = (await get(j, '/api/leads/fifty%40rd4.test/timeline')) as Page;
    expect(first.items).toHaveLength(50);
    // newest first: note-59 … note-10
    expect(first.items[0].id).toBe('srv:note-59');
    expect(first.items[49].id).toBe('srv:note-10');
    expect(first.nextCursor).not.toBeNull();
    const second = (await get(j, `/api/leads/fifty%40rd4.test/timeline?cursor=${encodeURIComponent(first.nextCursor!)}`)) as Page;
    // note-09 … note-00, then the awareness entry of T0 (a stage item sits above the event of its millisecond, so the
    // entry comes before note-00)
    expect(second.items.map((i) => i.id)).toEqual([...Array.from({ length: 9 }, (_, k) => `srv:note-0${9 - k}`), 'awareness', 'srv:note-00']);
    expect(second.nextCursor).toBeNull();
  });
});

describe('`srv:<leadId>` names that lead on the read routes, as it does in POST /api/events', () => {
  // README: `visitorId: "srv:<leadId>"` (what the timeline shows for a server event) means that lead, in a ref and in
  // POST /api/events. A beacon may carry any id-shaped visitor id, `srv:…` included (the wire's id pattern allows `:`):
  // a device that sent one must not take over what that ref names, or a sales rep who follows a server event's
  // visitorId from the timeline opens another person's profile while a CRM writing to it reaches the right lead.
  test('a web device whose visitor id is `srv:<leadId>` does not take the ref over: profile and timeline name the lead, as the CRM write does', async () => {
    const j = await open();
    j.clock.now = T0 + HOUR;
    await postEvents(j, { email: 'owner@rd4.test', name: 'crm_note', at: iso(T0) });
    const owner = await get(j, '/api/leads/owner%40rd4.test');
    const ref = encodeURIComponent(`srv:${owner.leadId}`);
    // the server event's item shows that visitorId
    const tl = (await get(j, `/api/leads/${ref}/timeline`)) as Page;
    expect(tl.items.find((i) => i.name === 'crm_note')?.visitorId).toBe(`srv:${owner.leadId}`);
    // a beacon with that very visitor id (an anonymous device of someone else)
    await j.visit(`srv:${owner.leadId}`, [{ path: '/other-person' }], T0 + 2 * HOUR);
    // POST /api/events by that visitorId reaches the owner (README), so the reads must name the owner too
    await postEvents(j, { visitorId: `srv:${owner.leadId}`, name: 'closed_won', at: iso(T0 + 2 * HOUR + MIN) });
    expect((await get(j, '/api/leads/owner%40rd4.test')).stage).toBe('purchase');
    const p = await get(j, `/api/leads/${ref}`);
    expect([p.leadId, p.email, p.stage]).toEqual([owner.leadId, 'owner@rd4.test', 'purchase']);
    const after = (await get(j, `/api/leads/${ref}/timeline`)) as any;
    expect(after.leadId).toBe(owner.leadId);
    expect(after.items.map((i: Item) => i.name)).not.toContain('pageview');
  });
});
