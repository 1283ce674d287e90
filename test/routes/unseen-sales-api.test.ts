// The sales-facing lead API judged from contract §5/§7 and the README "HTTP API" and "Audience exports" sections, on
// what earlier route tests leave out: refs that are emails with `/` in them, opt events out of order, what erasure does
// to counts, lists and merged-away ids, another site's key answered exactly as a ref that does not exist, `at` formats
// and retried mixed arrays of POST /api/events, and `limit` edges.
import { describe, expect, test } from 'vitest';
import { createKey, createSite } from '../../collector/admin.js';
import { DAY, HOUR, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents as post, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';

const { open } = useJourneys();

const enc = encodeURIComponent;
const call = async (j: Journey, path: string, init: { method?: string; secret?: string; body?: unknown } = {}) => {
  const headers = init.secret ? { ...j.auth, authorization: `Bearer ${init.secret}` } : j.auth;
  const res = await j.app.request(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  return { status: res.status, body: await res.json().catch(() => null) };
};
const putSegment = (j: Journey, key: string, definition: unknown) => call(j, `/api/segments/${key}`, { method: 'PUT', body: { definition } });
const funnelCount = async (j: Journey) => ((await get(j, '/api/funnel')).stages as Array<{ count: number }>).reduce((n, s) => n + s.count, 0);

describe('refs that are emails as people write them', () => {
  // RFC 5322 allows `/` in an email's local part, and POST /api/events and POST /e accept it: the lead routes take
  // such an email as a ref (sent as %2F), while no id ever holds a `/`.
  test('an email with a / in its local part (valid, and accepted by POST /api/events) names its lead on every lead route', async () => {
    const j = await open();
    const email = 'sales/emea@example.com';
    const { events } = await post(j, { email, name: 'crm_sync' });
    const leadId = events[0].leadId as string;
    expect((await profile(j, email)).leadId).toBe(leadId);
    expect((await timeline(j, email)).items.length).toBeGreaterThan(0);
    const erased = await call(j, `/api/leads/${enc(email)}`, { method: 'DELETE' });
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(erased.body.leadId).toBe(leadId);
  });

  test('an email with + and % in it, encoded, names its lead; the same text with a different case too', async () => {
    const j = await open();
    const { events } = await post(j, { email: 'ada+100%25@example.com', name: 'crm_sync' });
    const { events: other } = await post(j, { email: 'ada100@example.com', name: 'crm_sync' });
    expect((await profile(j, 'ADA+100%25@Example.com')).leadId).toBe(events[0].leadId);
    expect((await profile(j, 'ada100@example.com')).leadId).toBe(other[0].leadId);
  });
});

describe('optedOut in the profile (README "Audience exports")', () => {
  test('follows the latest opt event by at, whatever order they arrive in, and the list shows the same flag', async () => {
    const j = await open();
    j.clock.now = T0 + 10 * DAY;
    const email = 'opt@example.com';
    await post(j, { email, name: 'crm_sync', at: iso(T0) });
    expect((await profile(j, email)).optedOut).toBe(false);
    await post(j, { email, name: 'unsubscribed', at: iso(T0 + 2 * DAY) });
    expect((await profile(j, email)).optedOut).toBe(true);
    // an older opt-in arriving late does not undo the newer opt-out
    await post(j, { email, name: 'opted_in', at: iso(T0 + DAY) });
    expect((await profile(j, email)).optedOut).toBe(true);
    await post(j, { email, name: 'resubscribed', at: iso(T0 + 3 * DAY) });
    expect((await profile(j, email)).optedOut).toBe(false);
    // in one array, the later opt-out wins although it comes first
    await post(j, [{ email, name: 'opted_out', at: iso(T0 + 5 * DAY) }, { email, name: 'opted_in', at: iso(T0 + 4 * DAY) }]);
    expect((await profile(j, email)).optedOut).toBe(true);
    const listed = (await get(j, '/api/leads?q=opt%40')).items;
    expect(listed.map((l: { optedOut: boolean }) => l.optedOut)).toEqual([true]);
  });
});

describe('erasure as every read route sees it afterwards', () => {
  test('the lead is gone from the list, q, its segment, the segment counts and the funnel counts; its merged-away id is a 404', async () => {
    const j = await open();
    await j.visit('ada-phone-0000000001', [{ path: '/pricing' }], T0);
    const phoneLead = await j.leadOfVisitor('ada-phone-0000000001');
    await j.visit('ada-laptop-000000001', [{ path: '/' }, { n: 'identify', em: 'ada@example.com' }], T0 + HOUR);
    await j.visit('ada-phone-0000000001', [{ n: 'identify', em: 'ada@example.com' }], T0 + 2 * HOUR);
    await j.visit('bob-phone-0000000001', [{ path: '/' }, { n: 'identify', em: 'bob@example.com' }], T0 + 3 * HOUR);
    const ada = (await profile(j, 'ada@example.com')).leadId as string;
    expect((await profile(j, phoneLead)).leadId).toBe(ada);
    expect((await putSegment(j, 'known', { identified: true })).status).toBe(201);
    const before = (await get(j, '/api/segments/known')) as { count: number };
    expect(before.count).toBe(2);
    expect(await funnelCount(j)).toBe(2);

    expect((await call(j, `/api/leads/${ada}`, { method: 'DELETE' })).status).toBe(200);

    for (const ref of [ada, phoneLead, 'ada@example.com', 'ada-phone-0000000001', 'ada-laptop-000000001']) {
      expect((await call(j, `/api/leads/${enc(ref)}`)).status, ref).toBe(404);
      expect((await call(j, `/api/leads/${enc(ref)}/timeline`)).status, ref).toBe(404);
      expect((await call(j, `/api/leads/${enc(ref)}`, { method: 'DELETE' })).status, ref).toBe(404);
    }
    const emails = async (q: string) => (await get(j, `/api/leads?${q}`)).items.map((l: { email: string }) => l.email);
    expect(await emails('limit=500')).toEqual(['bob@example.com']);
    expect(await emails('q=ada')).toEqual([]);
    expect(await emails('segment=known')).toEqual(['bob@example.com']);
    expect(((await get(j, '/api/segments/known')) as { count: number }).count).toBe(1);
    const list = (await get(j, '/api/segments')) as Array<{ key: string; count: number }> | { segments: Array<{ key: string; count: number }> };
    const rows = Array.isArray(list) ? list : list.segments;
    expect(rows.find((s) => s.key === 'known')?.count).toBe(1);
    const members = await get(j, '/api/segments/known/members?format=json');
    expect(members.members.map((m: { email: string }) => m.email)).toEqual(['bob@example.com']);
    expect(await funnelCount(j)).toBe(1);
  });

  test('an event of the erased email or device dated before the erasure is dropped; one dated after makes a new lead', async () => {
    const j = await open();
    await j.visit('kim-phone-0000000001', [{ path: '/' }, { n: 'identify', em: 'kim@example.com' }], T0);
    const kim = (await profile(j, 'kim@example.com')).leadId as string;
    j.clock.now = T0 + DAY;
    expect((await call(j, `/api/leads/${kim}`, { method: 'DELETE' })).status).toBe(200);
    const late = await post(j, [{ email: 'kim@example.com', name: 'demo_completed', at: iso(T0 + HOUR) }, { visitorId: 'kim-phone-0000000001', name: 'note', at: iso(T0 + HOUR) }]);
    expect(late.events).toEqual([]);
    expect(late.rejected).toBeUndefined();
    expect((await call(j, '/api/leads/kim%40example.com')).status).toBe(404);
    expect((await get(j, '/api/leads')).items).toEqual([]);
    j.clock.now = T0 + 2 * DAY;
    const fresh = await post(j, { email: 'kim@example.com', name: 'crm_sync' });
    const again = await profile(j, 'kim@example.com');
    expect(again.leadId).toBe(fresh.events[0].leadId);
    expect(again.leadId).not.toBe(kim);
    expect(again.visitorIds).not.toContain('kim-phone-0000000001');
    expect((await timeline(j, 'kim@example.com', 'limit=500')).items.every((i) => Date.parse(i.at) > T0 + DAY)).toBe(true);
  });
});

describe("another site's key: every answer is the one a ref that does not exist gets", () => {
  test("A's lead id, merged-away id, email, visitor ids and srv: id are to B exactly an unknown ref of the same kind", async () => {
    const j = await open();
    await j.visit('ada-phone-0000000001', [{ path: '/pricing' }], T0);
    const phoneLead = await j.leadOfVisitor('ada-phone-0000000001');
    await j.visit('ada-laptop-000000001', [{ n: 'identify', em: 'ada@example.com' }], T0 + HOUR);
    await j.visit('ada-phone-0000000001', [{ n: 'identify', em: 'ada@example.com' }], T0 + 2 * HOUR);
    const ada = (await profile(j, 'ada@example.com')).leadId as string;
    expect((await putSegment(j, 'a_only', { identified: true })).status).toBe(201);
    const siteB = await createSite(j.db, { domain: 'b.example' }, T0);
    const b = (await createKey(j.db, siteB.siteId, ['admin'], T0)).secret;

    const pairs: Array<[string, string]> = [
      [ada, 'l_doesnotexist0000000'],
      [phoneLead, 'l_doesnotexist0000001'],
      ['ada@example.com', 'nobody@example.com'],
      ['ada-phone-0000000001', 'nobody-phone-000000001'],
      [`srv:${ada}`, 'srv:l_doesnotexist0000'],
    ];
    for (const [ofA, unknown] of pairs) {
      for (const [method, suffix] of [['GET', ''], ['GET', '/timeline'], ['DELETE', '']]) {
        const seen = await call(j, `/api/leads/${enc(ofA)}${suffix}`, { method, secret: b });
        const none = await call(j, `/api/leads/${enc(unknown)}${suffix}`, { method, secret: b });
        expect(seen, `${method} ${ofA}${suffix}`).toEqual(none);
        expect(seen.status).toBe(404);
      }
    }
    // A's segment key in B's list filter: what B's key gets for a segment nobody has, with the key named the same way
    const seg = await call(j, '/api/leads?segment=a_only', { secret: b });
    const noSeg = await call(j, '/api/leads?segment=zz_none', { secret: b });
    expect(seg.status).toBe(404);
    expect(JSON.stringify(seg.body).replace('a_only', 'zz_none')).toBe(JSON.stringify(noSeg.body));
    expect((await call(j, '/api/leads?q=ada', { secret: b })).body.items).toEqual([]);
    // A's segment and webhook on B's key: the answer for a key nobody has, the key named the same way
    expect((await call(j, '/api/webhooks/a_hook', { method: 'PUT', body: { url: 'http://127.0.0.1:9/hook', events: ['lead.mql'] } })).status).toBe(201);
    for (const [method, path] of [['GET', '/api/segments/a_only'], ['GET', '/api/segments/a_only/members?format=json'], ['DELETE', '/api/segments/a_only'], ['GET', '/api/webhooks/a_hook'], ['DELETE', '/api/webhooks/a_hook']]) {
      const seen = await call(j, path, { method, secret: b });
      const none = await call(j, path.replace(/a_only|a_hook/, 'zz_none'), { method, secret: b });
      expect(seen.status, `${method} ${path}`).toBe(404);
      expect(JSON.stringify(seen.body).replace(/a_only|a_hook/g, 'zz_none'), `${method} ${path}`).toBe(JSON.stringify(none.body));
    }
    // and A still has all of it
    expect((await profile(j, 'ada@example.com')).leadId).toBe(ada);
  });

  test("B's server event naming A's email or A's visitor id makes B's own lead and changes nothing of A", async () => {
    const j = await open();
    await j.visit('ada-phone-0000000001', [{ path: '/' }, { n: 'identify', em: 'ada@example.com' }], T0);
    const before = await profile(j, 'ada@example.com');
    const siteB = await createSite(j.db, { domain: 'b.example' }, T0);
    const b = (await createKey(j.db, siteB.siteId, ['admin'], T0)).secret;
    const r = await call(j, '/api/events', { method: 'POST', secret: b, body: [{ email: 'ada@example.com', name: 'closed_won' }, { visitorId: 'ada-phone-0000000001', name: 'closed_won' }] });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    for (const e of r.body.events as Array<{ leadId: string }>) expect(e.leadId).not.toBe(before.leadId);
    const after = await profile(j, 'ada@example.com');
    expect(after.stage).toBe(before.stage);
    expect(after.visitorIds).toEqual(before.visitorIds);
    expect((await timeline(j, 'ada@example.com', 'types=closed_won')).items).toEqual([]);
    expect((await call(j, '/api/leads/ada%40example.com', { secret: b })).body.stage).toBe('purchase');
  });
});

describe('POST /api/events: at formats, retries of mixed arrays', () => {
  test('every documented at format lands on the same instant in the timeline', async () => {
    const j = await open();
    j.clock.now = T0 + 10 * DAY;
    const at = Date.UTC(2025, 0, 7, 8, 30, 0);
    const midnight = Date.UTC(2025, 0, 7);
    const forms: Array<[unknown, number]> = [
      ['2025-01-07T08:30:00Z', at],
      ['2025-01-07T08:30:00.000Z', at],
      ['2025-01-07T09:30:00+01:00', at],
      ['2025-01-07T09:30:00+0100', at],
      ['2025-01-07T08:30:00.000+0000', at],
      ['2025-01-07', midnight],
      [at, at],
      [String(at), at],
    ];
    const body = forms.map(([when], i) => ({ email: 'at@example.com', name: `fmt_${i}`, at: when, id: `fmt-${i}` }));
    const r = await post(j, body);
    expect(r.rejected, JSON.stringify(r.rejected)).toBeUndefined();
    const items = (await timeline(j, 'at@example.com', 'types=event&limit=500')).items;
    for (const [i, [when, ms]] of forms.entries()) {
      expect(items.find((x) => x.name === `fmt_${i}`)?.at, String(when)).toBe(iso(ms));
    }
  });

  test('a mixed array retried with the same ids: the valid ones are duplicates, the bad ones refused again at the same indexes', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const body = [
      { id: 'm-1', email: 'mix@example.com', name: 'demo_completed' },
      { id: 'm-2', email: 'not an email', name: 'demo_completed' },
      { id: 'm-3', email: 'mix@example.com', name: 'closed_won', at: iso(T0 + 2 * DAY) },
      { id: 'm-4', leadId: 'l_nobody', name: 'note' },
      { id: 'm-5', email: 'mix@example.com', name: 'bad,name' },
      { id: 'm-6', email: 'mix@example.com', name: 'proposal_sent', at: 'yesterday' },
      { id: 'm-7', email: 'mix@example.com', name: 'sales_accepted' },
    ];
    const first = await post(j, body);
    expect(first.events.map((e: { index: number; duplicate: boolean }) => [e.index, e.duplicate])).toEqual([[0, false], [6, false]]);
    expect(first.rejected.map((e: { index: number }) => e.index)).toEqual([1, 2, 3, 4, 5]);
    const again = await post(j, body);
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(again.events.map((e: { index: number; duplicate: boolean }) => [e.index, e.duplicate])).toEqual([[0, true], [6, true]]);
    expect(again.rejected.map((e: { index: number }) => e.index)).toEqual([1, 2, 3, 4, 5]);
    const names = (await timeline(j, 'mix@example.com', 'types=event&limit=500')).items.map((i) => i.name).sort();
    expect(names).toEqual(['demo_completed', 'sales_accepted']);
  });
});

describe('GET /api/leads limit edges', () => {
  test('limit 1 pages one lead at a time; 0, negative, fractional and text are 400; over 500 is capped', async () => {
    const j = await open();
    for (let i = 0; i < 3; i++) await post(j, { email: `l${i}@example.com`, name: 'crm_sync' });
    const one = await get(j, '/api/leads?limit=1&order=id');
    expect(one.items.length).toBe(1);
    expect(one.nextCursor).toEqual(expect.any(String));
    for (const bad of ['0', '-1', '1.5', 'ten']) {
      const r = await call(j, `/api/leads?limit=${bad}`);
      expect(r.status, `limit=${bad}`).toBe(400);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'message']);
    }
    const big = await get(j, '/api/leads?limit=100000');
    expect(big.items.length).toBe(3);
    expect(big.nextCursor).toBeNull();
  });
});

describe('GET /api/leads order=id while leads are made, merged and erased between pages', () => {
  test('every lead that exists throughout is listed exactly once; an erased or merged-away lead never after it went', async () => {
    const j = await open();
    for (let i = 0; i < 12; i++) await j.visit(`anon-${String(i).padStart(2, '0')}-00000000001`, [{ path: '/' }], T0 + i * 1000);
    for (let i = 0; i < 6; i++) await post(j, { email: `known${i}@example.com`, name: 'crm_sync' });
    const all = (await get(j, '/api/leads?order=id&limit=500')).items.map((l: { leadId: string }) => l.leadId as string);
    expect(all.length).toBe(18);
    const gone = new Set<string>();
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const body = await get(j, `/api/leads?order=id&limit=3${cursor ? '&cursor=' + cursor : ''}`);
      for (const l of body.items as Array<{ leadId: string }>) {
        expect(gone.has(l.leadId), `${l.leadId} listed after it went`).toBe(false);
        seen.push(l.leadId);
      }
      cursor = body.nextCursor;
      if (!cursor) break;
      // meanwhile: a new lead, an anonymous lead merged into a known one, a lead erased
      await post(j, { email: `new${page}@example.com`, name: 'crm_sync' });
      const i = page % 12;
      const visitor = `anon-${String(i).padStart(2, '0')}-00000000001`;
      const anon = await j.leadOfVisitor(visitor).catch(() => null);
      if (anon && page % 2 === 0) {
        await j.visit(visitor, [{ n: 'identify', em: `known${page % 6}@example.com` }]);
        if ((await j.leadOfVisitor(visitor)) !== anon) gone.add(anon);
      } else if (anon) {
        expect((await call(j, `/api/leads/${anon}`, { method: 'DELETE' })).status).toBe(200);
        gone.add(anon);
      }
    }
    expect(new Set(seen).size, 'no lead twice').toBe(seen.length);
    for (const id of all.filter((x: string) => !gone.has(x))) expect(seen, id).toContain(id);
  });
});

describe('timeline from and to as a sales tool writes them', () => {
  test('an offset sent with + unencoded, encoded or as Z, a date alone and epoch ms all bound the same instants; from = to is a 400', async () => {
    const j = await open();
    j.clock.now = T0 + 10 * DAY;
    const at = (h: number) => iso(Date.UTC(2025, 0, 7, h));
    await post(j, [8, 9, 10, 11].map((h) => ({ email: 'tl@example.com', name: `at_${h}`, at: at(h), id: `tl-${h}` })));
    const names = async (q: string) => (await timeline(j, 'tl@example.com', `types=event&${q}`)).items.map((i) => i.name);
    const expected = ['at_10', 'at_9'];
    expect(await names('from=2025-01-07T09:00:00Z&to=2025-01-07T11:00:00Z')).toEqual(expected);
    expect(await names('from=2025-01-07T10:00:00+01:00&to=2025-01-07T12:00:00+01:00')).toEqual(expected);
    expect(await names('from=2025-01-07T10:00:00%2B01:00&to=2025-01-07T12:00:00%2B01:00')).toEqual(expected);
    expect(await names(`from=${Date.UTC(2025, 0, 7, 9)}&to=${Date.UTC(2025, 0, 7, 11)}`)).toEqual(expected);
    expect(await names('from=2025-01-07&to=2025-01-08')).toEqual(['at_11', 'at_10', 'at_9', 'at_8']);
    expect(await names('to=2025-01-07')).toEqual([]);
    // an empty or reversed range is refused as a mistake (collector/timeline/get-lead-timeline.ts; the README does not say so)
    for (const q of ['from=2025-01-07T09:00:00Z&to=2025-01-07T09:00:00Z', 'from=2025-01-08&to=2025-01-07']) {
      const r = await call(j, `/api/leads/tl%40example.com/timeline?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
    }
  });
});

describe('POST /api/events edges of the body', () => {
  test('an empty array is a 400 in the error shape; numeric traits are kept as their digits', async () => {
    const j = await open();
    const empty = await j.serverEvents([]);
    expect(empty.status).toBe(400);
    const body = await empty.json();
    expect(Object.keys(body)).toEqual(['error']);
    await post(j, { email: 'num@example.com', name: 'crm_sync', traits: { zip: 10115, phone: 4930123456 } });
    expect((await profile(j, 'num@example.com')).traits).toMatchObject({ zip: '10115', phone: '4930123456' });
  });

  test('GET /api/leads identified takes true, 1, false and 0; another value is a 400', async () => {
    const j = await open();
    await post(j, { email: 'id@example.com', name: 'crm_sync' });
    await j.visit('anon-visitor-0000000001', [{ path: '/' }]);
    const count = async (v: string) => (await get(j, `/api/leads?identified=${v}`)).items.length;
    expect([await count('true'), await count('1'), await count('false'), await count('0')]).toEqual([1, 1, 1, 1]);
    expect((await call(j, '/api/leads?identified=yes')).status).toBe(400);
  });
});

describe('erasure reaches the rejected store (contract §7: erasure removes everything of a lead)', () => {
  test("a refused server event naming the lead's email is gone from GET /api/rejected after the erasure; another lead's stays", async () => {
    const j = await open();
    await post(j, [
      { email: 'gone@example.com', name: 'crm_sync' },
      { email: 'gone@example.com', name: 'bad,name' },
      { email: 'kept@example.com', name: 'bad,name' },
    ]);
    const rejectedText = async () => JSON.stringify((await get(j, '/api/rejected?limit=500')).items);
    expect(await rejectedText()).toContain('gone@example.com');
    expect((await call(j, '/api/leads/gone%40example.com', { method: 'DELETE' })).status).toBe(200);
    const after = await rejectedText();
    expect(after).not.toContain('gone@example.com');
    expect(after).toContain('kept@example.com');
  });
});
