// The read API a sales tool uses, judged from contract §5 and the README "HTTP API" section, on what earlier route
// tests leave out: GET /api/leads filtered by stage and paged by id while leads leave the stage and new ones arrive
// between pages; a timeline of 600 CRM events sharing one millisecond, paged with a limit above the maximum; `limit`
// values a client gets wrong on the timeline; and real answers of the four read routes validated against the served
// /openapi.json, with the fields the contract names on each timeline item kind. Populations go through POST /e and
// POST /api/events on a real database.
import { describe, expect, test } from 'vitest';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents, useJourneys, type Journey } from '../helpers/journey-api.js';
import { validate, type Schema } from '../helpers/openapi-schema.js';

const { open } = useJourneys();

const call = async (j: Journey, path: string, init: { method?: string; body?: unknown } = {}) => {
  const res = await j.app.request(path, { method: init.method ?? 'GET', headers: j.auth, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  return { status: res.status, body: await res.json().catch(() => null) };
};

describe('GET /api/leads?stage=…&order=id while leads move between pages', () => {
  test('every lead in the stage throughout is listed once; one that left before its turn is not; none twice; a new one at most once', async () => {
    const j = await open();
    // 24 identified visitors in awareness, one page each, a minute apart
    const email = (n: number) => `p${String(n).padStart(2, '0')}@paging.test`;
    for (let n = 0; n < 24; n++) await j.visit(`v_page_${String(n).padStart(2, '0')}_x`, [{ path: '/' }, { n: 'identify', em: email(n) }], T0 + n * MIN);
    const leadOf = new Map<string, string>();
    for (const l of (await get(j, '/api/leads?limit=500')).items) leadOf.set(l.email, l.leadId);
    expect(leadOf.size).toBe(24);

    const listed: string[] = [];
    const left = new Set<string>(); // leads moved out of awareness, and when (page index)
    let cursor: string | null = null;
    let page = 0;
    do {
      const r = await get(j, `/api/leads?stage=awareness&order=id&limit=5${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      for (const l of r.items) {
        expect(l.stage).toBe('awareness');
        listed.push(l.leadId);
      }
      cursor = r.nextCursor;
      // between pages: one lead already listed and one not yet listed book a demo (evaluation, README: demo_completed),
      // and a new visitor arrives in awareness
      const notYet = [...leadOf.values()].filter((id) => !listed.includes(id) && !left.has(id)).sort().reverse();
      const movers = [listed[listed.length - 1], notYet[notYet.length - 1]].filter(Boolean);
      for (const id of movers) {
        await postEvents(j, { leadId: id, name: 'demo_completed' });
        left.add(id);
      }
      await j.visit(`v_new_${page}_visitor`, [{ path: '/' }], T0 + DAY + page * MIN);
      page++;
    } while (cursor && page < 50);
    expect(cursor).toBeNull();
    // none twice
    expect(new Set(listed).size).toBe(listed.length);
    // every lead that stayed in awareness throughout is listed
    const stayed = [...leadOf.values()].filter((id) => !left.has(id));
    for (const id of stayed) expect(listed, id).toContain(id);
    // a lead that moved before the pass reached it is never listed (it was not in the stage when its turn came)
    const movedUnlisted = [...left].filter((id) => !listed.includes(id));
    expect(movedUnlisted.length).toBeGreaterThan(0);
    // and each lead listed was in awareness: the 24 or a newcomer
    const newcomers = listed.filter((id) => ![...leadOf.values()].includes(id));
    expect(new Set(newcomers).size).toBe(newcomers.length);
  });
});

describe('GET /api/leads in activity order when a collector\'s clock is behind', () => {
  // README: order=activity (default) lists newest activity first, "so a lead that becomes active while a client pages
  // moves ahead of its cursor and is missing from that pass (never listed twice)". With several collectors (README
  // "Scaling out") one collector's clock can be behind another's; here the app's clock steps back behind the cursor, as
  // a second collector's would read, and writes an event of a lead the first page already listed. Its activity time must
  // not go back behind the cursor, or the lead is listed twice in one pass.
  // storage/leads.ts keeps the later of the stored and the new activity time (updateLeadFold, the multi-row
  // updateFoldsSql, claimLeadEmail).
  test('a lead written by a collector whose clock is behind is not listed again after the cursor', async () => {
    const j = await open();
    for (let n = 0; n < 10; n++) await j.visit(`v_skew_${n}_visitor`, [{ path: '/' }, { n: 'identify', em: `s${n}@skew.test` }], T0 + n * MIN);
    j.clock.now = T0 + 20 * MIN;
    const first = await get(j, '/api/leads?limit=3');
    const listed = first.items.map((l: any) => l.leadId);
    // the newest lead (active at T0+9min), listed first, gets a CRM event through a collector whose clock reads
    // T0+5min: behind the cursor, which stands at the third lead (T0+7min)
    j.clock.now = T0 + 5 * MIN;
    await postEvents(j, { email: first.items[0].email, name: 'crm_note' });
    let cursor: string | null = first.nextCursor;
    while (cursor) {
      const r = await get(j, `/api/leads?limit=3&cursor=${encodeURIComponent(cursor)}`);
      listed.push(...r.items.map((l: any) => l.leadId));
      cursor = r.nextCursor;
    }
    expect(listed.length).toBe(new Set(listed).size);
    expect(new Set(listed).size).toBe(10);
  });
});

describe('a timeline of 600 CRM events in one millisecond', () => {
  test('limit above 500 is capped at 500; the pages give every item once in one order, the same as pages of 500 and of 37', async () => {
    const j = await open();
    j.clock.now = T0 + HOUR;
    const at = iso(T0);
    // one array of 600 events with one `at` (a CRM import): equal timestamps, ordered by their ids
    const events = Array.from({ length: 600 }, (_, k) => ({ id: `crm-${String(k).padStart(4, '0')}`, email: 'tie@tie.test', name: 'crm_note', at }));
    await postEvents(j, events);
    const pages = async (limit: number, types = 'event') => {
      const ids: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const r = await get(j, `/api/leads/tie%40tie.test/timeline?types=${types}&limit=${limit}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
        ids.push(...r.items.map((i: any) => `${i.kind}:${i.id}`));
        sizes.push(r.items.length);
        cursor = r.nextCursor;
      } while (cursor);
      return { ids, sizes };
    };
    const big = await pages(100000);
    expect(big.sizes).toEqual([500, 100]);
    expect(new Set(big.ids).size).toBe(600);
    expect((await pages(500)).ids).toEqual(big.ids);
    expect((await pages(37)).ids).toEqual(big.ids);
    // every kind together: the events plus the lead's stage and identity items, each once
    const all = await pages(1000, '');
    expect(all.sizes[0]).toBe(500);
    expect(new Set(all.ids).size).toBe(all.ids.length);
    expect(all.ids.filter((id) => id.startsWith('event:')).length).toBe(600);
  });

  test('a limit of 0, below 0, fractional, in words or empty of digits is a 400 in the error shape', async () => {
    const j = await open();
    await postEvents(j, { email: 'lim@lim.test', name: 'crm_note' });
    for (const limit of ['0', '-1', '1.5', 'ten', '%20', '1e', 'Infinity']) {
      const r = await call(j, `/api/leads/lim%40lim.test/timeline?limit=${limit}`);
      expect(r.status, limit).toBe(400);
      expect(typeof r.body?.error?.code, limit).toBe('string');
      expect(typeof r.body?.error?.message, limit).toBe('string');
    }
  });
});


describe('the read routes answer what /openapi.json says', () => {
  test('funnel (plain, first, last, linear), lead list, profile by id, visitor and email, and a timeline of every kind validate', async () => {
    const j = await open();
    const doc = (await call(j, '/openapi.json')).body;
    const ok = (path: string, method = 'get') => doc.paths[path][method].responses['200'].content['application/json'].schema;
    // a segment, so segment items exist
    expect((await call(j, '/api/segments/deciders', { method: 'PUT', body: { definition: { stage: { in: ['intent', 'evaluation'] } } } })).status).toBe(201);
    const google = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'q1', url: 'http://127.0.0.1/?utm_source=google&utm_medium=cpc&utm_campaign=q1' };
    await j.visit('v_doc_laptop1', [{ path: '/', ft: google, st: google }, { path: '/pricing', st: google }], T0);
    await j.visit('v_doc_laptop1', [{ path: '/pricing' }, { n: 'form_submit', f: 'other', path: '/contact', em: 'doc@doc.test' }], T0 + DAY);
    await j.visit('v_doc_phone01', [{ path: '/' }, { n: 'identify', em: 'doc@doc.test' }], T0 + DAY + HOUR);
    j.clock.now = T0 + 2 * DAY;
    await postEvents(j, { email: 'doc@doc.test', name: 'demo_completed', at: iso(T0 + DAY + 2 * HOUR) });

    const answers: Array<[string, unknown, Schema]> = [];
    for (const qs of ['', '&breakdown=campaign', '&breakdown=source&attribution=last', '&breakdown=channel&attribution=linear']) {
      answers.push([`funnel${qs}`, await get(j, `/api/funnel?from=${iso(T0 - HOUR)}&to=${iso(T0 + 2 * DAY)}${qs}`), ok('/api/funnel')]);
    }
    answers.push(['leads', await get(j, '/api/leads?limit=500'), ok('/api/leads')]);
    const profile = await get(j, '/api/leads/doc%40doc.test');
    for (const ref of [profile.leadId, 'v_doc_phone01', 'DOC@doc.test']) answers.push([`profile ${ref}`, await get(j, `/api/leads/${encodeURIComponent(ref)}`), ok('/api/leads/{ref}')]);
    const tl = await get(j, `/api/leads/${profile.leadId}/timeline?limit=500`);
    answers.push(['timeline', tl, ok('/api/leads/{ref}/timeline')]);
    for (const [what, body, schema] of answers) expect(validate(doc, schema, body), what).toEqual([]);

    // contract §5: every kind is in line, each with an ISO 8601 `at`; an event item has visitorId and url, a form its
    // form kind; a stage item has from and to
    const kinds = new Set(tl.items.map((i: any) => i.kind));
    expect([...kinds].sort()).toEqual(['event', 'identity', 'score', 'segment', 'stage']);
    for (const i of tl.items) expect(new Date(i.at).toISOString(), JSON.stringify(i)).toBe(i.at);
    const web = tl.items.filter((i: any) => i.kind === 'event' && i.source === 'web');
    expect(new Set(web.map((i: any) => i.visitorId))).toEqual(new Set(['v_doc_laptop1', 'v_doc_phone01']));
    for (const i of web) expect(i.url, i.id).toMatch(/^http:\/\/127\.0\.0\.1\//);
    expect(tl.items.find((i: any) => i.name === 'form_submit')?.form).toBe('other');
    const stages = tl.items.filter((i: any) => i.kind === 'stage').map((i: any) => [i.from, i.to]);
    // newest first: demo_completed → evaluation; the contact form → intent; pricing → consideration; first page → awareness
    expect(stages).toEqual([['intent', 'evaluation'], ['consideration', 'intent'], ['awareness', 'consideration'], [null, 'awareness']]);
  });

  // The served TimelineItem schema names its common fields as properties and, per kind, the fields each kind adds in
  // its description ("event items add visitorId, …; stage items from, to, rule; …"): a client generated from the
  // document knows no other (event: source, referrer, clickId, email, traits, attributed; stage, score and identity:
  // eventId are named in collector/routes/leads.ts's description).
  test('every field a timeline item of each kind carries is one the served document names for it', async () => {
    const j = await open();
    const doc = (await call(j, '/openapi.json')).body;
    const schema = doc.components.schemas.TimelineItem;
    const named = new Map<string, Set<string>>();
    for (const part of String(schema.description).split(';')) {
      const m = /^\s*(\w+) items (?:add )?(.+)$/.exec(part);
      if (m) named.set(m[1], new Set(m[2].split(',').map((f) => f.trim().split(' ')[0])));
    }
    expect([...named.keys()].sort()).toEqual(['event', 'identity', 'score', 'segment', 'stage']);
    expect((await call(j, '/api/segments/deciders', { method: 'PUT', body: { definition: { stage: { in: ['intent', 'evaluation'] } } } })).status).toBe(201);
    await j.visit('v_doc_laptop1', [{ path: '/' }, { path: '/pricing' }], T0);
    await j.visit('v_doc_laptop1', [{ path: '/pricing' }, { n: 'form_submit', f: 'other', path: '/contact', em: 'doc@doc.test' }], T0 + DAY);
    j.clock.now = T0 + 2 * DAY;
    await postEvents(j, { email: 'doc@doc.test', name: 'demo_completed' });
    const tl = await get(j, '/api/leads/doc%40doc.test/timeline?limit=500');
    const undocumented = new Set<string>();
    for (const item of tl.items) {
      for (const field of Object.keys(item)) {
        if (!(field in schema.properties) && !named.get(item.kind)?.has(field)) undocumented.add(`${item.kind}.${field}`);
      }
    }
    expect([...undocumented].sort()).toEqual([]);
  });
});
