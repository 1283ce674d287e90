// The read API (contract §5: GET /api/leads, /api/leads/{ref}, /api/leads/{ref}/timeline, /api/funnel, /openapi.json)
// judged from the contract and the README "HTTP API" and "Funnel report" sections, on what earlier read tests leave out:
// a timeline paged while CRM backfills, a merging device and a late outbox page arrive; `from`/`to` at the very
// millisecond of every item kind; `types` as clients write it; refs and `q` in either spelling of an international
// domain; page sizes at 500/501 and pages exactly full; the list's four filters together with cursors; nearest-rank
// p50/p90 over odd and even samples and periods nobody entered; the first/last-touch breakdown against each lead's
// profile (through a merge, late and out-of-order batches, a shared device, an erasure and a creation moved back); and
// answers at the edges against the served /openapi.json, fields included. Expected values are worked out by hand in
// the comments. Populations go through POST /e and POST /api/events on a real database (TEST_ENGINE=pg: PostgreSQL).
import { describe, expect, test } from 'vitest';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents, useJourneys, type Journey } from '../helpers/journey-api.js';
import { validate } from '../helpers/openapi-schema.js';

const { open } = useJourneys();
const call = async (j: Journey, path: string, init: { method?: string; body?: unknown } = {}) => {
  const res = await j.app.request(path, { method: init.method ?? 'GET', headers: j.auth, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  return { status: res.status, body: await res.json().catch(() => null) };
};
type Item = { kind: string; name: string; at: string; id: string; [k: string]: any };
const keyOf = (i: Item) => `${i.kind}:${i.id}`;

describe('a timeline paged while its lead keeps changing', () => {
  test('each page continues where the last ended: no item twice, every item behind the cursor listed, in the order of one big page', async () => {
    const j = await open();
    const EM = 'pager@pages.test';
    const tl = async (qs: string) => (await get(j, `/api/leads/pager%40pages.test/timeline?${qs}`)) as { items: Item[]; nextCursor: string | null };
    // device A: three sessions a day apart (awareness, then interest with the second); then ten CRM notes a minute apart
    await j.visit('v_pager_laptop', [{ path: '/' }, { n: 'identify', em: EM }], T0);
    await j.visit('v_pager_laptop', [{ path: '/' }], T0 + DAY);
    await j.visit('v_pager_laptop', [{ path: '/blog' }], T0 + 2 * DAY);
    j.clock.now = T0 + 4 * DAY;
    const note = (id: string, at: number) => ({ id, email: EM, name: 'crm_note', at: iso(at) });
    await postEvents(j, Array.from({ length: 10 }, (_, k) => note(`note-0${k}`, T0 + 3 * DAY + k * MIN)));
    // device B, anonymous for now, visited after A's second day (a session that moves no stage: A was in interest then)
    await j.visit('v_pager_phone1', [{ path: '/' }], T0 + DAY + HOUR);
    j.clock.now = T0 + 4 * DAY;

    const full = async () => (await tl('limit=500')).items;
    let before = await full();
    const absent = new Set<string>(); // items that appeared ahead of the cursor: this pass must not show them
    const listed: Item[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const r = await tl(`limit=4${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      listed.push(...r.items);
      cursor = r.nextCursor;
      const last = r.items[r.items.length - 1];
      // arrivals between pages
      if (page === 0) {
        // the page ended on note-06 (newest first: 09, 08, 07, 06); a note at its very millisecond with a greater id sorts
        // ahead of it, one with a smaller id behind it; a newer note is ahead, an older one (a CRM backfill) behind
        expect(last.id).toBe('srv:note-06');
        await postEvents(j, [note('note-06z', T0 + 3 * DAY + 6 * MIN), note('note-05z', T0 + 3 * DAY + 6 * MIN), note('note-new', T0 + 4 * DAY), note('note-old', T0 + 2 * DAY + HOUR)]);
      } else if (page === 1) {
        // device B identifies as the lead: its anonymous lead merges in, with its earlier visit
        await j.visit('v_pager_phone1', [{ n: 'identify', em: EM }], T0 + 4 * DAY + MIN);
      } else if (page === 2) {
        // a page of A's that its outbox sends late, dated behind the cursor
        await j.visit('v_pager_laptop', [{ path: '/late' }], T0 + 2 * DAY - HOUR);
      }
      const now = await full();
      const at = new Map(before.map((i) => [keyOf(i), i.at]));
      const cut = now.findIndex((i) => keyOf(i) === keyOf(last));
      expect(cut, 'the cursor item still exists').toBeGreaterThanOrEqual(0);
      now.forEach((i, idx) => {
        const was = at.get(keyOf(i));
        if (was === undefined && idx <= cut) absent.add(keyOf(i));
        // an item that already existed keeps its time (the arrivals above rewrite no history)
        if (was !== undefined) expect(i.at, keyOf(i)).toBe(was);
      });
      before = now;
      page++;
    } while (cursor && page < 40);
    expect(cursor).toBeNull();
    const keys = listed.map(keyOf);
    expect(keys.length, 'no item twice').toBe(new Set(keys).size);
    // the pass is the final timeline without what appeared ahead of the cursor, in the same order
    expect(keys).toEqual(before.map(keyOf).filter((k) => !absent.has(k)));
    // by hand: the tie behind the cursor, the backfill, the merged device's visit and the late page are in the pass;
    // the tie ahead of it and the newer note are not
    for (const k of ['event:srv:note-05z', 'event:srv:note-old']) expect(keys).toContain(k);
    for (const k of ['event:srv:note-06z', 'event:srv:note-new']) expect(keys).not.toContain(k);
    const web = listed.filter((i) => i.kind === 'event' && i.source === 'web');
    expect(web.filter((i) => i.visitorId === 'v_pager_phone1').map((i) => i.at)).toEqual([iso(T0 + DAY + HOUR)]);
    expect(web.some((i) => i.path === '/late')).toBe(true);
  });
});

describe('timeline `from` (inclusive) and `to` (exclusive) at the very millisecond of every kind', () => {
  // T0: '/' (awareness, visit, an identity link from first sight); T0+1ms identify (the link ends and a new one begins);
  // T0+1d '/pricing' in a second session: the event, three score awards (visit, return_visit, pricing_view) and two
  // stage items (interest, then consideration) all at T0+1d; the segment entry it causes, made as it arrives, at T0+1d+1ms
  test('every item at `from` is in, every item at `to` is out, for each kind, in ISO with an offset or epoch ms, and paged', async () => {
    const j = await open();
    expect((await call(j, '/api/segments/weighing', { method: 'PUT', body: { definition: { stage: { in: ['consideration'] } } } })).status).toBe(201);
    await j.visit('v_edge_device', [{ path: '/' }, { n: 'identify', em: 'edge@edge.test' }], T0);
    await j.visit('v_edge_device', [{ path: '/pricing' }], T0 + DAY);
    j.clock.now = T0 + 2 * DAY;
    const tl = async (qs: string) => (await get(j, `/api/leads/edge%40edge.test/timeline?limit=500&${qs}`)).items as Item[];
    const all = await tl('');
    const names = (items: Item[]) => items.map((i) => `${i.kind}:${i.name}`).sort();
    const at = (ms: number) => names(all.filter((i) => i.at === iso(ms)));
    // the population is as described (so the edges below fall on items of every kind)
    expect(at(T0 + DAY)).toEqual(['event:pageview', 'score:score_changed', 'score:score_changed', 'score:score_changed', 'stage:stage_changed', 'stage:stage_changed']);
    expect(at(T0 + 1)).toEqual(['event:identify', 'identity:identity_linked', 'identity:identity_unlinked']);
    expect(all.filter((i) => i.kind === 'segment').map((i) => [i.name, i.segment, i.at])).toContainEqual(['segment_entered', 'weighing', iso(T0 + DAY + 1)]);
    const segAt = all.filter((i) => i.kind === 'segment').map((i) => Date.parse(i.at));

    // [T0+1d, T0+1d+1ms): exactly the six items of that millisecond, whichever way the edges are written
    for (const qs of [`from=${T0 + DAY}&to=${T0 + DAY + 1}`, `from=2025-01-07T10:00:00%2B01:00&to=2025-01-07T09:00:00.001Z`, `from=2025-01-07T04:00:00-05:00&to=${T0 + DAY + 1}`]) {
      expect(names(await tl(qs)), qs).toEqual(at(T0 + DAY));
    }
    // `to` at T0+1d: nothing of that millisecond; `from` at T0+1d+1ms: the segment entries alone
    expect((await tl(`to=${T0 + DAY}`)).every((i) => Date.parse(i.at) < T0 + DAY)).toBe(true);
    expect((await tl(`to=${T0 + DAY}`)).length).toBe(all.filter((i) => Date.parse(i.at) < T0 + DAY).length);
    expect((await tl(`from=${T0 + DAY + 1}`)).map((i) => i.kind)).toEqual(segAt.filter((t) => t >= T0 + DAY + 1).map(() => 'segment'));
    // identity items at their edge, with `types`
    expect(names(await tl(`types=identity&from=${T0 + 1}&to=${T0 + 2}`))).toEqual(['identity:identity_linked', 'identity:identity_unlinked']);
    expect(names(await tl(`types=identity&to=${T0 + 1}`))).toEqual(['identity:identity_linked']);
    // a date alone is midnight UTC: to=2025-01-07 ends before the second day
    expect((await tl('to=2025-01-07')).length).toBe(all.filter((i) => Date.parse(i.at) < Date.UTC(2025, 0, 7)).length);
    // paged by 2 inside the one-millisecond window: the same six, once each, then no cursor
    const paged: Item[] = [];
    let cursor: string | null = null;
    do {
      const r = await get(j, `/api/leads/edge%40edge.test/timeline?limit=2&from=${T0 + DAY}&to=${T0 + DAY + 1}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      paged.push(...r.items);
      cursor = r.nextCursor;
    } while (cursor);
    expect(paged.map(keyOf)).toEqual((await tl(`from=${T0 + DAY}&to=${T0 + DAY + 1}`)).map(keyOf));
    expect(paged.length).toBe(6);
  });
});

describe('GET /api/funnel: nearest-rank times in stage over odd and even samples, and periods nobody entered', () => {
  // Eleven CRM-only leads: lead i books a demo at T0+i·h (awareness and evaluation at that instant: a lead never seen on
  // the web enters awareness with its first server event, README) and is won D[i] minutes later (purchase). A twelfth
  // books a demo at T0+30min and is never won. README: timeInStage is the nearest-rank p50/p90 (rank ⌈p·n⌉ of the sorted
  // times, always an observed value) of entries in the period that have moved on.
  const D = [7, 3, 11, 1, 9, 5, 2, 10, 4, 8, 6];
  async function population() {
    const j = await open();
    j.clock.now = T0 + 2 * DAY;
    const events = D.flatMap((d, i) => [
      { email: `p${i}@pct.test`, name: 'demo_completed', at: iso(T0 + i * HOUR) },
      { email: `p${i}@pct.test`, name: 'closed_won', at: iso(T0 + i * HOUR + d * MIN) },
    ]);
    await postEvents(j, [...events, { email: 'open@pct.test', name: 'demo_completed', at: iso(T0 + 30 * MIN) }]);
    return j;
  }
  const report = (j: Journey, from: number, to: number, qs = '') => get(j, `/api/funnel?from=${iso(from)}&to=${iso(to)}${qs}`);
  const tis = (r: any, stage: string) => r.stages.find((s: any) => s.stage === stage).timeInStage;

  test('n = 11, 10, 5, 4, 2 and 1: p50 and p90 are the ⌈0.5n⌉-th and ⌈0.9n⌉-th smallest times', async () => {
    const j = await population();
    // [T0, T0+11h): all eleven: 1..11 min; p50 rank 6, p90 rank ⌈9.9⌉ = 10
    expect(tis(await report(j, T0, T0 + 11 * HOUR), 'evaluation')).toEqual({ p50: 6 * MIN, p90: 10 * MIN, n: 11 });
    // [T0, T0+10h): 7 3 11 1 9 5 2 10 4 8 → 1 2 3 4 5 7 8 9 10 11; rank 5 → 5, rank 9 → 10
    expect(tis(await report(j, T0, T0 + 10 * HOUR), 'evaluation')).toEqual({ p50: 5 * MIN, p90: 10 * MIN, n: 10 });
    // [T0, T0+5h): 7 3 11 1 9 → 1 3 7 9 11; rank 3 → 7, rank ⌈4.5⌉ = 5 → 11
    expect(tis(await report(j, T0, T0 + 5 * HOUR), 'evaluation')).toEqual({ p50: 7 * MIN, p90: 11 * MIN, n: 5 });
    // [T0, T0+4h): 1 3 7 11; rank 2 → 3, rank ⌈3.6⌉ = 4 → 11 (never an interpolation such as 5 or 9.8)
    expect(tis(await report(j, T0, T0 + 4 * HOUR), 'evaluation')).toEqual({ p50: 3 * MIN, p90: 11 * MIN, n: 4 });
    // [T0, T0+2h): 3 7; rank 1 → 3, rank 2 → 7
    expect(tis(await report(j, T0, T0 + 2 * HOUR), 'evaluation')).toEqual({ p50: 3 * MIN, p90: 7 * MIN, n: 2 });
    // [T0+10h, T0+10h+1min): lead 10 entered in the period and was won 6 min later, after `to`: it moved on, so it counts
    expect(tis(await report(j, T0 + 10 * HOUR, T0 + 10 * HOUR + MIN), 'evaluation')).toEqual({ p50: 6 * MIN, p90: 6 * MIN, n: 1 });
    // awareness was left at the instant it was entered, by all twelve; the open deal has not moved on from evaluation
    expect(tis(await report(j, T0, T0 + 11 * HOUR), 'awareness')).toEqual({ p50: 0, p90: 0, n: 12 });
    expect(tis(await report(j, T0, T0 + HOUR), 'evaluation')).toEqual({ p50: 7 * MIN, p90: 7 * MIN, n: 1 });
    // the stages skipped and the last stage have no time in stage
    for (const s of ['interest', 'consideration', 'intent', 'purchase']) expect(tis(await report(j, T0, T0 + 11 * HOUR), s)).toEqual({ p50: null, p90: null, n: 0 });
  });

  test('counts and conversions of the twelve, by hand', async () => {
    const j = await population();
    const r = await report(j, T0, T0 + 11 * HOUR);
    const col = (f: string) => r.stages.map((s: any) => s[f]);
    expect(col('stage')).toEqual(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase']);
    expect(col('count')).toEqual([0, 0, 0, 0, 1, 11]);
    // entries: awareness and evaluation by all twelve, purchase by the eleven won (the last at T0+10h06 < to)
    expect(col('entered')).toEqual([12, 0, 0, 0, 12, 11]);
    // the cohort is the twelve; a skipped stage counts as reached
    expect(col('reached')).toEqual([12, 12, 12, 12, 12, 11]);
    // 11/12 = 0.91666… shown to 4 decimals
    expect(col('conversionNext')).toEqual([1, 1, 1, 1, 0.9167, null]);
    expect(col('conversionCumulative')).toEqual([1, 1, 1, 1, 1, 0.9167]);
  });

  test('a period before anyone and one after now: leads now, and nothing entered, reached or timed; conversions null, not NaN or 0', async () => {
    const j = await population();
    for (const [from, to] of [[T0 - 7 * DAY, T0], [T0 + 3 * DAY, T0 + 4 * DAY]]) {
      for (const qs of ['', '&breakdown=channel', '&breakdown=campaign&attribution=last', '&breakdown=source&attribution=linear']) {
        const r = await report(j, from, to, qs);
        const groups = [{ key: 'total', stages: r.stages }, ...(r.breakdown ?? [])];
        for (const g of groups) {
          for (const s of g.stages) {
            expect(s.entered, `${qs} ${g.key} ${s.stage}`).toBe(0);
            expect(s.reached, `${qs} ${g.key} ${s.stage}`).toBe(0);
            expect(s.conversionNext, `${qs} ${g.key} ${s.stage}`).toBeNull();
            expect(s.conversionCumulative, `${qs} ${g.key} ${s.stage}`).toBeNull();
            expect(s.timeInStage, `${qs} ${g.key} ${s.stage}`).toEqual({ p50: null, p90: null, n: 0 });
          }
        }
        expect(r.stages.map((s: any) => s.count), qs).toEqual([0, 0, 0, 0, 1, 11]);
        // CRM-only leads have no touch: every breakdown puts them under (none)
        if (r.breakdown) expect(r.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => s.count)]), qs).toEqual([['(none)', [0, 0, 0, 0, 1, 11]]]);
      }
    }
  });
});

describe('timeline `types` as clients write it', () => {
  test('unknown names match nothing; kinds and names mix; a list of only commas or spaces filters nothing, as an empty one; a bad entry or 51 entries are a 400', async () => {
    const j = await open();
    await j.visit('v_types_device', [{ path: '/' }, { n: 'identify', em: 'types@types.test' }], T0);
    j.clock.now = T0 + HOUR;
    await postEvents(j, [{ email: 'types@types.test', name: 'Demo Booked' }, { email: 'types@types.test', name: 'demo_completed' }]);
    const tl = (qs: string) => call(j, `/api/leads/types%40types.test/timeline?limit=500&${qs}`);
    const all = (await tl('')).body.items as Item[];
    const sig = (items: Item[]) => items.map(keyOf);
    expect(all.length).toBeGreaterThan(6);
    // README: "an unknown name matches nothing"; names are kept as given, so `Pageview` is not `pageview`
    for (const t of ['nosuch', 'Pageview', 'stages']) {
      const r = await tl('types=' + t);
      expect(r.status, t).toBe(200);
      expect(r.body.items, t).toEqual([]);
    }
    // an unknown name beside a kind changes nothing of the kind's items
    expect(sig((await tl('types=stage,nosuch')).body.items)).toEqual(sig(all.filter((i) => i.kind === 'stage')));
    // names with a space (README: event names may hold spaces), as a query string writes it (+) and encoded
    for (const t of ['Demo+Booked', 'Demo%20Booked', '%20Demo%20Booked%20,']) expect((await tl('types=' + t)).body.items.map((i: Item) => i.name), t).toEqual(['Demo Booked']);
    // a list that names nothing (a form whose boxes are all unticked, joined with commas) is no filter, as `types=` is
    expect(sig((await tl('types=')).body.items)).toEqual(sig(all));
    for (const t of [',', '%20,%20', ',,,']) expect(sig((await tl('types=' + t)).body.items), t).toEqual(sig(all));
    // refused, in the error shape: a character no event name has, a name of 65 characters, 51 entries
    const many = Array.from({ length: 51 }, (_, k) => `n${k}`).join(',');
    for (const t of ['stage;score', 'a'.repeat(65), many]) {
      const r = await tl('types=' + t);
      expect(r.status, t).toBe(400);
      expect(r.body.error.code, t).toBe('invalid_request');
    }
    expect((await tl('types=' + 'a'.repeat(64))).status).toBe(200);
  });
});

describe('refs and searches by email, spelled as people and browsers write it', () => {
  // README: emails are matched in one spelling (trimmed, lower-cased, the domain in Unicode); a browser's email field
  // gives `anna@xn--bcher-kva.example`, a CRM writes `Anna@Bücher.example`
  test('the profile by any case, spaces around it, the punycode or full-width domain; `q` by a part of either spelling', async () => {
    const j = await open();
    await postEvents(j, { email: 'Anna.Ölund+crm@Bücher.example', name: 'crm_note' });
    const lead = (await get(j, '/api/leads?q=lund')).items[0];
    expect(lead.email).toBe('anna.ölund+crm@bücher.example');
    for (const ref of ['anna.ölund+crm@bücher.example', ' ANNA.ÖLUND+CRM@XN--BCHER-KVA.EXAMPLE ', 'anna.ölund+crm@ｂüｃｈｅｒ．example', '\u00a0Anna.Ölund+CRM@Bücher.Example\u00a0']) {
      const r = await call(j, '/api/leads/' + encodeURIComponent(ref));
      expect(r.status, ref).toBe(200);
      expect(r.body.leadId, ref).toBe(lead.leadId);
    }
    // `q` is a part of the email, in any case; the punycode spelling of the address or its domain finds it as the Unicode one does
    for (const q of ['ÖLUND', '@bücher', 'BÜCHER.EXAMPLE', 'ölund crm', 'anna.ölund%2Bcrm@bücher.example', 'anna.ölund+crm@xn--bcher-kva.example', '@XN--BCHER-KVA.example', 'xn--bcher-kva.example']) {
      const r = await call(j, '/api/leads?q=' + q.replace(/[^%+\w.@-]/g, encodeURIComponent));
      expect(r.status, q).toBe(200);
      expect(r.body.items.map((l: any) => l.leadId), q).toEqual([lead.leadId]);
    }
    // and a part that is in no email finds nothing
    expect((await get(j, '/api/leads?q=xn--brcher')).items).toEqual([]);
  });
});

describe('page sizes at the edges: 500 is the most, a page exactly full has no next cursor', () => {
  test('GET /api/leads with 501 leads, then 500, in both orders; a timeline of exactly `limit` items', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    await postEvents(j, Array.from({ length: 501 }, (_, k) => ({ email: `l${String(k).padStart(3, '0')}@size.test`, name: 'crm_note', at: iso(T0 + k * 1000) })));
    const pages = async (qs: string) => {
      const sizes: number[] = [];
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await get(j, `/api/leads?${qs}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
        sizes.push(r.items.length);
        ids.push(...r.items.map((l: any) => l.leadId));
        cursor = r.nextCursor;
      } while (cursor && sizes.length < 10);
      expect(new Set(ids).size, qs).toBe(ids.length);
      return sizes;
    };
    for (const order of ['activity', 'id']) {
      expect(await pages(`order=${order}&limit=500`), order).toEqual([500, 1]);
      expect(await pages(`order=${order}&limit=501`), order).toEqual([500, 1]);
      expect(await pages(`order=${order}&limit=100000`), order).toEqual([500, 1]);
      expect(await pages(`order=${order}&limit=250`), order).toEqual([250, 250, 1]);
      expect(await pages(`order=${order}&limit=167`), order).toEqual([167, 167, 167]);
    }
    // the default is 50
    expect((await get(j, '/api/leads')).items.length).toBe(50);
    // one lead erased: 500 left, one full page and no cursor to an empty one
    expect((await call(j, '/api/leads/l000%40size.test', { method: 'DELETE' })).status).toBe(200);
    for (const order of ['activity', 'id']) {
      expect(await pages(`order=${order}&limit=500`), order).toEqual([500]);
      expect(await pages(`order=${order}&limit=250`), order).toEqual([250, 250]);
    }
    // a timeline of exactly `limit` items has no next cursor; one item short, the next page holds the last one alone
    const tl = await get(j, '/api/leads/l001%40size.test/timeline?limit=500');
    const n = tl.items.length;
    expect(tl.nextCursor).toBeNull();
    expect((await get(j, `/api/leads/l001%40size.test/timeline?limit=${n}`)).nextCursor).toBeNull();
    const short = await get(j, `/api/leads/l001%40size.test/timeline?limit=${n - 1}`);
    expect(short.items.length).toBe(n - 1);
    const rest = await get(j, `/api/leads/l001%40size.test/timeline?limit=${n}&cursor=${encodeURIComponent(short.nextCursor)}`);
    expect(rest.items.map(keyOf)).toEqual([keyOf(tl.items[n - 1])]);
    expect(rest.nextCursor).toBeNull();
  });
});

describe('GET /api/leads with stage, segment, q and identified together, while leads change between pages', () => {
  // a1..a6@acme.test: identified, pricing viewed (consideration), a minute apart; b1@acme.test: identified, '/' only
  // (awareness); c1@other.test: consideration at another domain; an anonymous visitor in consideration. Segment
  // `deciders`: stage consideration or intent.
  async function population() {
    const j = await open();
    expect((await call(j, '/api/segments/deciders', { method: 'PUT', body: { definition: { stage: { in: ['consideration', 'intent'] } } } })).status).toBe(201);
    for (let n = 1; n <= 6; n++) await j.visit(`v_acme_a${n}_dev`, [{ path: '/pricing' }, { n: 'identify', em: `a${n}@acme.test` }], T0 + n * MIN);
    await j.visit('v_acme_b1_dev', [{ path: '/' }, { n: 'identify', em: 'b1@acme.test' }], T0 + 10 * MIN);
    await j.visit('v_other_c1_dev', [{ path: '/pricing' }, { n: 'identify', em: 'c1@other.test' }], T0 + 11 * MIN);
    await j.visit('v_anon_d1_dev', [{ path: '/pricing' }], T0 + 12 * MIN);
    j.clock.now = T0 + HOUR;
    return j;
  }
  const FILTERS = 'stage=consideration&segment=deciders&q=ACME.test&identified=true';

  test('activity order: only leads that meet all four, none twice; one that leaves the stage or arrives ahead of the cursor is not in the pass', async () => {
    const j = await population();
    const emails: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const r = await get(j, `/api/leads?${FILTERS}&limit=2${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      for (const l of r.items) {
        expect([l.stage, l.segments.includes('deciders'), l.identified, l.email.endsWith('@acme.test')], l.email).toEqual(['consideration', true, true, true]);
        emails.push(l.email);
      }
      cursor = r.nextCursor;
      if (page === 0) {
        // newest first: a6, a5 listed. a6 comes back (activity moves it ahead again); a2, not yet listed, fills a
        // contact form (intent: out of the stage); b1 views pricing (consideration now, but newest: ahead of the cursor)
        await j.visit('v_acme_a6_dev', [{ path: '/blog' }], T0 + HOUR + MIN);
        await j.visit('v_acme_a2_dev', [{ n: 'form_submit', f: 'other', path: '/contact' }], T0 + HOUR + 2 * MIN);
        await j.visit('v_acme_b1_dev', [{ path: '/pricing' }], T0 + HOUR + 3 * MIN);
      }
      page++;
    } while (cursor && page < 10);
    expect(emails).toEqual(['a6@acme.test', 'a5@acme.test', 'a4@acme.test', 'a3@acme.test', 'a1@acme.test']);
    // a new pass lists what matches now: b1 and a6 (newest activity) first, a2 no more
    const now = await get(j, `/api/leads?${FILTERS}&limit=500`);
    expect(now.items.map((l: any) => l.email)).toEqual(['b1@acme.test', 'a6@acme.test', 'a5@acme.test', 'a4@acme.test', 'a3@acme.test', 'a1@acme.test']);
  });

  test('a cursor is read with the same filters however they are spelled, and refused with other ones', async () => {
    const j = await population();
    for (const order of ['activity', 'id']) {
      const first = await get(j, `/api/leads?${FILTERS}&order=${order}&limit=2`);
      const all = (await get(j, `/api/leads?${FILTERS}&order=${order}&limit=500`)).items.map((l: any) => l.email);
      const c = encodeURIComponent(first.nextCursor);
      // the same filters spelled otherwise: q in another case or with spaces around it, identified=1, the parameters in another order
      for (const same of [
        `stage=consideration&segment=deciders&q=acme.TEST&identified=1`,
        'identified=true&q=%20acme.test%20&segment=deciders&stage=consideration',
      ]) {
        const r = await call(j, `/api/leads?${same}&order=${order}&limit=500&cursor=${c}`);
        expect(r.status, `${order} ${same}`).toBe(200);
        expect([...first.items.map((l: any) => l.email), ...r.body.items.map((l: any) => l.email)], `${order} ${same}`).toEqual(all);
      }
      // other filters: another stage, no segment, another q, identified dropped, the other order
      for (const other of [
        'stage=intent&segment=deciders&q=acme.test&identified=true',
        'stage=consideration&q=acme.test&identified=true',
        'stage=consideration&segment=deciders&q=acme&identified=true',
        'stage=consideration&segment=deciders&q=acme.test',
      ]) {
        const r = await call(j, `/api/leads?${other}&order=${order}&cursor=${c}`);
        expect(r.status, `${order} ${other}`).toBe(400);
        expect(r.body.error.code, `${order} ${other}`).toBe('invalid_cursor');
      }
      const flipped = await call(j, `/api/leads?${FILTERS}&order=${order === 'id' ? 'activity' : 'id'}&cursor=${c}`);
      expect(flipped.body?.error?.code, order).toBe('invalid_cursor');
    }
  });
});


describe('answers at the edges validate against the served /openapi.json', () => {
  test('an empty list, a CRM-only profile, an empty or filtered-out timeline, funnels of a period nobody entered, and each refusal', async () => {
    const j = await open();
    const doc = (await call(j, '/openapi.json')).body;
    j.clock.now = T0 + DAY;
    const answers: Array<[route: string, path: string, body: unknown]> = [];
    const answer = async (route: string, path: string) => {
      const r = await call(j, path);
      expect(r.status, path).toBe(200);
      answers.push([route, path, r.body]);
      return r.body;
    };
    // a site with no lead yet: an empty list, and funnels of nothing (no count, no conversion)
    await answer('/api/leads', '/api/leads?q=nobody-matches-this');
    for (const qs of ['', '?breakdown=channel', '?breakdown=campaign&attribution=linear', '?breakdown=source&attribution=last']) {
      const r = await answer('/api/funnel', `/api/funnel${qs}`);
      expect(r.stages.filter((s: any) => s.count !== 0 || s.conversionNext !== null || s.conversionCumulative !== null), qs).toEqual([]);
      expect(r.breakdown, qs).toEqual(qs ? [] : null);
    }
    await postEvents(j, [{ email: 'crm@only.test', name: 'demo_completed', at: iso(T0) }, { email: 'crm@only.test', name: 'closed_won', at: iso(T0 + HOUR), props: { amount: 1200 }, traits: { company: 'Only' } }]);
    await j.visit('v_edge_anon_dev', [{ path: '/pricing' }], T0 + 2 * HOUR);
    await answer('/api/leads', '/api/leads?limit=500');
    await answer('/api/leads', '/api/leads?identified=false&stage=consideration');
    await answer('/api/leads/{ref}', '/api/leads/crm%40only.test');
    await answer('/api/leads/{ref}', '/api/leads/v_edge_anon_dev');
    await answer('/api/leads/{ref}/timeline', '/api/leads/crm%40only.test/timeline');
    await answer('/api/leads/{ref}/timeline', '/api/leads/crm%40only.test/timeline?types=nosuch');
    await answer('/api/leads/{ref}/timeline', `/api/leads/crm%40only.test/timeline?to=${T0}`);
    await answer('/api/leads/{ref}/timeline', '/api/leads/v_edge_anon_dev/timeline?limit=1');
    for (const qs of ['', '&breakdown=medium', '&breakdown=channel&attribution=linear', '&breakdown=campaign&attribution=last']) {
      await answer('/api/funnel', `/api/funnel?from=${iso(T0 - 7 * DAY)}&to=${iso(T0)}${qs}`);
      await answer('/api/funnel', `/api/funnel?from=${iso(T0)}&to=${iso(T0 + DAY)}${qs}`);
    }
    const refusals: Array<[string, string, number]> = [
      ['/api/leads', '/api/leads?cursor=' + Buffer.from('[1,"x","y"]').toString('base64url'), 400],
      ['/api/leads', '/api/leads?segment=no_such', 404],
      ['/api/leads', '/api/leads?order=newest', 400],
      ['/api/leads/{ref}', '/api/leads/nobody%40only.test', 404],
      ['/api/leads/{ref}', '/api/leads/a%5Cb', 400],
      ['/api/leads/{ref}/timeline', '/api/leads/crm%40only.test/timeline?types=a;b', 400],
      ['/api/leads/{ref}/timeline', `/api/leads/crm%40only.test/timeline?from=${T0}&to=${T0}`, 400],
      ['/api/leads/{ref}/timeline', '/api/leads/v_nobody_device/timeline', 404],
      ['/api/funnel', '/api/funnel?attribution=linear', 400],
      ['/api/funnel', '/api/funnel?from=2025-02-30', 400],
    ];
    for (const [route, path, body] of answers) {
      const schema = doc.paths[route].get.responses['200'].content['application/json'].schema;
      expect(validate(doc, schema, body), `${path} ${JSON.stringify(body).slice(0, 200)}`).toEqual([]);
    }
    for (const [route, path, status] of refusals) {
      const r = await call(j, path);
      expect(r.status, path).toBe(status);
      const documented = doc.paths[route].get.responses[String(status)];
      expect(documented, `${path}: ${status} documented`).toBeDefined();
      expect(validate(doc, documented.content['application/json'].schema, r.body), path).toEqual([]);
    }
    // contract §5: a CRM-only lead's touches are objects; the profile's times are ISO 8601
    const p = (await call(j, '/api/leads/crm%40only.test')).body;
    expect([p.firstTouch, p.lastTouch, p.stage, p.sql]).toEqual([{}, {}, 'purchase', false]);
    for (const f of ['stageEnteredAt', 'createdAt', 'updatedAt', 'scoreAt']) expect(new Date(p[f]).toISOString(), f).toBe(p[f]);
  });
});

describe('the funnel breakdown by first and last touch agrees with each lead\'s profile', () => {
  // README: the breakdown counts each lead under the channel, source, medium or campaign of its first or last touch
  // "as it is now"; the profile shows those touches (`lastTouch`: the visit that began last, on any device, at its
  // start). Two routes, one truth: grouping the profiles by hand must give the breakdown's counts.
  const touch = (source: string, medium: string, campaign: string) => ({
    utm_source: source, utm_medium: medium, utm_campaign: campaign, url: `http://127.0.0.1/?utm_source=${source}&utm_medium=${medium}&utm_campaign=${campaign}`,
  });
  const land = (first: ReturnType<typeof touch>, session: ReturnType<typeof touch> | null, path = '/') => ({
    path: session ? `${path}?utm_source=${session.utm_source}&utm_medium=${session.utm_medium}&utm_campaign=${session.utm_campaign}` : path,
    ft: first,
    ...(session ? { st: session } : {}),
  });
  test('merged devices, a late batch of an earlier visit, sessions sent out of order, a device that changes person, a direct last visit, a CRM-only lead', async () => {
    const j = await open();
    const a = touch('news', 'email', 'a'), b = touch('google', 'cpc', 'b'), p = touch('news', 'email', 'p'), q = touch('linkedin', 'paid_social', 'q');
    const s1 = touch('bing', 'cpc', 's1'), s2 = touch('news', 'email', 's2'), c1 = touch('news', 'email', 'c1'), c2 = touch('google', 'cpc', 'c2'), z = touch('partner', 'affiliate', 'z');
    // S1: laptop (a) identifies at T0; the phone (b) visits at T0+2h anonymously, then identifies: merged; last touch b
    await j.visit('v_s1_laptop_dev', [land(a, a), { n: 'identify', em: 's1@touch.test' }], T0);
    await j.visit('v_s1_phone_devc', [land(b, b, '/pricing')], T0 + 2 * HOUR);
    await j.visit('v_s1_phone_devc', [{ n: 'identify', em: 's1@touch.test', ft: b }], T0 + 2 * HOUR + 5 * MIN);
    // S2: p at T0, q the next day; then a later page of the first visit arrives last: the last touch stays q
    await j.visit('v_s2_device_abc', [land(p, p), { n: 'identify', em: 's2@touch.test' }], T0 + MIN);
    await j.visit('v_s2_device_abc', [land(p, q)], T0 + DAY);
    await j.visit('v_s2_device_abc', [{ path: '/more', ft: p }], T0 + MIN + 10 * MIN);
    // S3: the second visit (s2) is sent before the first (s1)
    await j.visit('v_s3_device_abc', [land(s1, s2, '/pricing'), { n: 'identify', em: 's3@touch.test', ft: s1 }], T0 + DAY + HOUR);
    await j.visit('v_s3_device_abc', [land(s1, s1)], T0 + 2 * MIN);
    // S4: a shared device: c1 as s4a at T0; c2 the next day, where it identifies as s4b
    await j.visit('v_s4_shared_dev', [land(c1, c1), { n: 'identify', em: 's4a@touch.test' }], T0 + 3 * MIN);
    await j.visit('v_s4_shared_dev', [land(c1, c2, '/pricing'), { n: 'identify', em: 's4b@touch.test', ft: c1 }], T0 + DAY + 2 * HOUR);
    // S4 still: a page of its first visit (as s4a) sent late by the outbox, after the device became s4b's
    await j.visit('v_s4_shared_dev', [{ path: '/s4a-late', ft: c1 }], T0 + 3 * MIN + 10 * MIN);
    // S6: z, then a direct visit (no campaign, channel direct) the next day
    await j.visit('v_s6_device_abc', [land(z, z), { n: 'identify', em: 's6@touch.test' }], T0 + 4 * MIN);
    await j.visit('v_s6_device_abc', [{ path: '/', ft: z }], T0 + DAY + 3 * HOUR);
    // S5: CRM only
    j.clock.now = T0 + 3 * DAY;
    await postEvents(j, { email: 's5@touch.test', name: 'demo_completed', at: iso(T0 + 5 * MIN) });

    const leads = (await get(j, '/api/leads?limit=500')).items as any[];
    const byEmail = Object.fromEntries(leads.map((l) => [l.email, l]));
    // by hand, from the README's definitions
    expect([byEmail['s1@touch.test'].firstTouch.utm_campaign, byEmail['s1@touch.test'].lastTouch.utm_campaign]).toEqual(['a', 'b']);
    expect([byEmail['s2@touch.test'].firstTouch.utm_campaign, byEmail['s2@touch.test'].lastTouch.utm_campaign]).toEqual(['p', 'q']);
    expect([byEmail['s3@touch.test'].firstTouch.utm_campaign, byEmail['s3@touch.test'].lastTouch.utm_campaign]).toEqual(['s1', 's2']);
    expect([byEmail['s6@touch.test'].lastTouch.utm_campaign, byEmail['s6@touch.test'].lastTouch.channel]).toEqual([undefined, 'direct']);
    expect([byEmail['s5@touch.test'].firstTouch, byEmail['s5@touch.test'].lastTouch]).toEqual([{}, {}]);

    const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];
    const FIELD = { channel: 'channel', source: 'utm_source', medium: 'utm_medium', campaign: 'utm_campaign' } as const;
    const FROM = T0 - DAY;
    const TO = T0 + 3 * DAY;
    /** Every breakdown and first/last attribution against the profiles: count by key now, and the cohort (created in the period). */
    const compare = async (when: string) => {
      const all = (await get(j, '/api/leads?limit=500')).items as any[];
      for (const [breakdown, field] of Object.entries(FIELD)) {
        for (const attribution of ['first', 'last'] as const) {
          const count: Record<string, number[]> = {};
          const cohort: Record<string, number> = {};
          for (const l of all) {
            const t = attribution === 'first' ? l.firstTouch : l.lastTouch;
            const key = t[field] || '(none)';
            (count[key] ??= STAGES.map(() => 0))[STAGES.indexOf(l.stage)]++;
            const created = Date.parse(l.createdAt);
            cohort[key] = (cohort[key] ?? 0) + (created >= FROM && created < TO ? 1 : 0);
          }
          const r = await get(j, `/api/funnel?from=${iso(FROM)}&to=${iso(TO)}&breakdown=${breakdown}&attribution=${attribution}`);
          const what = `${when}: ${breakdown} ${attribution}`;
          expect(Object.fromEntries(r.breakdown.map((g: any) => [g.key, g.stages.map((s: any) => s.count)])), what).toEqual(count);
          // every lead reached the first stage, so its `reached` is the group's cohort
          expect(Object.fromEntries(r.breakdown.map((g: any) => [g.key, g.stages[0].reached])), what).toEqual(cohort);
        }
      }
      return all;
    };
    expect((await compare('as made')).length).toBe(7);
    // erasure: S2's lead and its touches leave every group
    expect((await call(j, '/api/leads/s2%40touch.test', { method: 'DELETE' })).status).toBe(200);
    expect((await compare('S2 erased')).length).toBe(6);
    // a CRM event dated before the period moves S3's creation out of the cohort (README: creation moves back)
    await postEvents(j, { email: 's3@touch.test', name: 'crm_note', at: iso(T0 - 2 * DAY) });
    const after = await compare('S3 created earlier');
    expect(after.find((l) => l.email === 's3@touch.test').createdAt).toBe(iso(T0 - 2 * DAY));
    // and the profile's devices are the devices of the web events its timeline shows (README: visitorIds are every device
    // whose events are the lead's; the shared device is listed for both of its people)
    for (const l of after) {
      const tl = await get(j, `/api/leads/${l.leadId}/timeline?types=event&limit=500`);
      const devices = new Set(tl.items.filter((i: Item) => i.source === 'web').map((i: Item) => i.visitorId));
      expect([...devices].sort(), l.email).toEqual(l.visitorIds.filter((v: string) => !v.startsWith('srv:')).sort());
      // each stage entered once, forward only, the last one the profile's stage (README: stages only move forward)
      const moves = (await get(j, `/api/leads/${l.leadId}/timeline?types=stage&limit=500`)).items.map((i: Item) => i.to).reverse();
      expect(new Set(moves).size, l.email).toBe(moves.length);
      expect([...moves].sort((x, y) => STAGES.indexOf(x) - STAGES.indexOf(y)), l.email).toEqual(moves);
      expect(moves[moves.length - 1], l.email).toBe(l.stage);
      // the score is explained by the timeline: its newest score item holds the stored score, at its time, and the
      // profile decays it to now by the 90-day half-life (README "Scores"; contract §6)
      const top = (await get(j, `/api/leads/${l.leadId}/timeline?types=score&limit=1`)).items[0];
      expect([l.scoreStored, l.scoreAt], l.email).toEqual(top ? [top.scoreAfter, top.at] : [0, l.scoreAt]);
      const decayed = l.scoreStored * 0.5 ** ((j.clock.now - Date.parse(l.scoreAt)) / (90 * DAY));
      expect(Math.abs(l.score - decayed), l.email).toBeLessThan(0.0001);
    }
    expect(after.filter((l) => l.visitorIds.includes('v_s4_shared_dev')).map((l) => l.email).sort()).toEqual(['s4a@touch.test', 's4b@touch.test']);
    // the late page is the person's whose visit it was (README: when the device identifies as B, nothing of A moves;
    // events of the same millisecond or later are B's)
    const late = async (email: string) =>
      (await get(j, `/api/leads/${encodeURIComponent(email)}/timeline?types=pageview&limit=500`)).items.some((i: Item) => i.path === '/s4a-late');
    expect([await late('s4a@touch.test'), await late('s4b@touch.test')]).toEqual([true, false]);
    expect(byEmail['s1@touch.test'].visitorIds.sort()).toEqual(['v_s1_laptop_dev', 'v_s1_phone_devc']);
  });
});

describe('GET /api/leads?mql=true', () => {
  // The profile carries `mql` and `sql` (contract §5) and a sales tool's first question is "which leads are MQLs", but the
  // list filters only by stage, segment, q and identified, and an unknown query parameter is dropped by validation: the
  // answer to `?mql=true` was every lead, MQL or not, with a 200. Segments cannot say it either (no `mql` condition).
  // Now `mql`/`sql` filter in listLeadRows (collector/storage/lead-reads.ts).
  test('lists MQLs only (or refuses the parameter), never every lead', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    // 30 (demo_request) + 20 (contact_sales) + 20 (demo_completed) = 70 ≥ the MQL threshold of 50
    await postEvents(j, ['demo_request', 'contact_sales', 'demo_completed'].map((name) => ({ email: 'hot@mql.test', name })));
    await postEvents(j, { email: 'cold@mql.test', name: 'crm_note' });
    const all = (await get(j, '/api/leads')).items;
    expect(all.map((l: any) => [l.email, l.mql]).sort()).toEqual([['cold@mql.test', false], ['hot@mql.test', true]]);
    for (const [qs, emails] of [['mql=true', ['hot@mql.test']], ['mql=false', ['cold@mql.test']], ['sql=true', ['hot@mql.test']]] as const) {
      const r = await call(j, `/api/leads?${qs}`);
      if (r.status === 400) continue;
      expect(r.body.items.map((l: any) => l.email), qs).toEqual(emails);
    }
  });
});

describe('every field a read route answers is one /openapi.json names', () => {
  // A client generated from the document knows only the properties it names: a field the route adds beyond them
  // (the schemas are open objects, so validation alone passes) is one no such client can read. Here: a profile whose
  // touches carry every click id the snippet captures (gclid … ttclid, and Google's iOS gbraid/wbraid) and whose
  // last touch names its session; a list page; funnels with and without a breakdown.
  test('profile (with first and last touch), list page and funnel', async () => {
    const j = await open();
    const doc = (await call(j, '/openapi.json')).body;
    const t = {
      utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'c', utm_term: 't', utm_content: 'x', gclid: 'G1', gbraid: 'GB', wbraid: 'WB',
      fbclid: 'F', msclkid: 'M', li_fat_id: 'L', ttclid: 'T', ref: 'https://www.google.com/', url: 'http://127.0.0.1/?gclid=G1&gbraid=GB&wbraid=WB&utm_source=google',
    };
    await j.visit('v_named_device', [{ path: '/?gclid=G1&gbraid=GB&wbraid=WB&utm_source=google', ft: t, st: t, r: t.ref }, { n: 'identify', em: 'named@doc.test', tr: { company: 'Doc' } }], T0);
    j.clock.now = T0 + DAY;
    const resolve = (s: any): any => (s?.$ref ? doc.components.schemas[String(s.$ref).replace('#/components/schemas/', '')] : s);
    const props = (s: any) => new Set(Object.keys(resolve(s)?.properties ?? {}));
    const undocumented = (value: Record<string, unknown>, schema: any, at: string) => Object.keys(value).filter((k) => !props(schema).has(k)).map((k) => `${at}.${k}`);
    const ok = (path: string) => resolve(doc.paths[path].get.responses['200'].content['application/json'].schema);

    const found: string[] = [];
    const profile = (await call(j, '/api/leads/named%40doc.test')).body;
    const profileSchema = ok('/api/leads/{ref}');
    found.push(...undocumented(profile, profileSchema, 'profile'));
    found.push(...undocumented(profile.firstTouch, resolve(profileSchema.properties.firstTouch), 'profile.firstTouch'));
    found.push(...undocumented(profile.lastTouch, resolve(profileSchema.properties.lastTouch), 'profile.lastTouch'));
    const list = (await call(j, '/api/leads')).body;
    found.push(...undocumented(list, ok('/api/leads'), 'list'));
    found.push(...undocumented(list.items[0], resolve(ok('/api/leads').properties.items.items), 'list.items[]'));
    for (const qs of ['', '?breakdown=campaign&attribution=linear']) {
      const f = (await call(j, `/api/funnel${qs}`)).body;
      const fs = ok('/api/funnel');
      found.push(...undocumented(f, fs, 'funnel'));
      found.push(...undocumented(f.stages[0], resolve(fs.properties.stages.items), 'funnel.stages[]'));
      found.push(...undocumented(f.stages[0].timeInStage, resolve(resolve(fs.properties.stages.items).properties.timeInStage), 'funnel.stages[].timeInStage'));
    }
    // the touches hold what was sent (the fixture reached them)
    expect([profile.firstTouch.gclid, profile.firstTouch.gbraid, profile.lastTouch.utm_campaign]).toEqual(['G1', 'GB', 'c']);
    expect([...new Set(found)].sort()).toEqual([]);
  });
});
