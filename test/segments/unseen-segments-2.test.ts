// Segments judged from outside, over real HTTP on a real database file (PostgreSQL with TEST_ENGINE=pg): the contract
// §6 example and a definition nesting every condition kind through all/any/not, entered and left as events arrive and
// as time passes (the sweep); the counts of GET /api/segments (`count`, and `memberCount` kept for older clients)
// against the members export; a refused PUT that changes nothing; DELETE then GET; keys with odd characters; and the
// snippet's visitor route for anonymous, unknown and foreign visitors.
import { describe, expect, test } from 'vitest';
import { T0, useUnthrottledApps } from '../hardening/hardening-app.js';
import { makeBatch, randomId } from '../helpers/factories.js';
import { createKey, createSite } from '../../collector/admin.js';
import { sweepSegments } from '../../collector/segments/sweep.js';
import { CONTRACT_SEGMENT_EXAMPLE } from './fixtures.js';

const DAY = 86_400_000;
const ORIGIN = 'http://127.0.0.1';
const { open, closeLater } = useUnthrottledApps();

async function setup() {
  const h = await open();
  const reader = (await createKey(h.db, h.site.siteId, ['audiences:read'], T0)).secret;
  const put = (key: string, body: unknown, init: { headers?: Record<string, string> } = {}) =>
    h.api(`/api/segments/${key}`, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
  const send = async (v: string, events: Array<Record<string, unknown>>) => {
    const res = await h.postBeacon(makeBatch(h.site.siteKey, { v }, events.map((e) => ({ t: h.clock.t, u: ORIGIN + '/', ...e }))));
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const segmentsOf = async (v: string) => {
    const res = await h.app.request(`/api/visitors/${v}/segments?site=${h.site.siteKey}`, { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    return (await res.json()).segments as string[];
  };
  /** moves the clock and runs the sweep as its timer would; the keys that changed, as key:kind */
  const sweepTo = async (t: number) => {
    h.clock.t = t;
    const { changes } = await sweepSegments(h.deps, t);
    return changes.map((c) => `${c.segment}:${c.kind}`).filter((c) => c.startsWith('t_')).sort();
  };
  const listed = async () => {
    const res = await h.api('/api/segments', { secret: reader });
    expect(res.status).toBe(200);
    return (await res.json()).segments as Array<{ key: string; count: number; memberCount: number; definition: unknown; name: string }>;
  };
  /** every way the API gives a segment's size must agree; returns it */
  const sizeOf = async (key: string) => {
    const one = (await listed()).find((s) => s.key === key)!;
    const got = await (await h.api(`/api/segments/${key}`, { secret: reader })).json();
    const json = await (await h.api(`/api/segments/${key}/members?format=json`, { secret: reader })).json();
    const csv = (await (await h.api(`/api/segments/${key}/members?format=csv`, { secret: reader })).text()).split('\r\n').filter(Boolean).length - 1;
    expect({ list: one.count, listMemberCount: one.memberCount, get: got.count, getMemberCount: got.memberCount, members: json.members.length, csv }, key).toEqual({
      list: json.count, listMemberCount: json.count, get: json.count, getMemberCount: json.count, members: json.count, csv: json.count,
    });
    return json.count as number;
  };
  return Object.assign(h, { reader, put, send, segmentsOf, sweepTo, listed, sizeOf });
}

describe('GET /api/segments gives `count`, the name the members export uses, next to `memberCount`', () => {
  test('every listed segment has count === memberCount === the export\'s count, as members come and go', async () => {
    const h = await setup();
    expect((await h.put('t_pricing', { definition: { did: { event: 'pageview', path: '/pricing*' } } })).status).toBe(201);
    const put = await h.put('t_known', { definition: { identified: true } });
    expect(await put.json()).toMatchObject({ key: 't_known', count: 0, memberCount: 0 });
    const vs = Array.from({ length: 5 }, () => 'v_' + randomId());
    for (const v of vs) await h.send(v, [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    await h.send(vs[0], [{ n: 'identify', em: 'one@example.com' }]);
    await h.send(vs[1], [{ n: 'identify', em: 'one@example.com' }]); // the second device merges into the same lead
    for (const s of await h.listed()) {
      expect(typeof s.count, s.key).toBe('number');
      expect(s.count, s.key).toBe(s.memberCount);
    }
    expect(await h.sizeOf('t_pricing')).toBe(4);
    expect(await h.sizeOf('t_known')).toBe(1);
    expect(await h.sizeOf('pricing_no_demo')).toBe(4);
    // erasure and a replaced definition move the counts; every view follows
    expect((await h.api('/api/leads/one@example.com', { method: 'DELETE' })).status).toBeLessThan(300);
    expect(await h.sizeOf('t_pricing')).toBe(3);
    expect(await h.sizeOf('t_known')).toBe(0);
    const replaced = await h.put('t_pricing', { definition: { did: { event: 'pageview', path: '/nowhere' } } });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ count: 0, memberCount: 0 });
    expect(await h.sizeOf('t_pricing')).toBe(0);
    // the description says so
    const doc = await (await h.app.request('/openapi.json')).json();
    expect(doc.components.schemas.Segment.required).toEqual(expect.arrayContaining(['count', 'memberCount']));
  });
});

describe('membership follows events and time for definitions nesting every condition kind', () => {
  test('the contract §6 example: entered by the sweep once 21 days in stage pass, left when the 30-day pricing window ends', async () => {
    const h = await setup();
    const example = CONTRACT_SEGMENT_EXAMPLE;
    expect((await h.put('t_example', { name: 'Stalled Google leads', definition: example })).status).toBe(201);
    const v = 'v_' + randomId();
    const google = { utm_source: 'google', utm_medium: 'cpc', url: ORIGIN + '/pricing' };
    // a Google visitor views pricing, downloads a case study and leaves an email: consideration, score past 20
    await h.send(v, [
      { n: 'pageview', u: ORIGIN + '/pricing?utm_source=google&utm_medium=cpc', st: google, ft: google },
      { n: 'download', u: ORIGIN + '/files/case-study.pdf', p: { url: ORIGIN + '/files/case-study.pdf' } },
      { n: 'newsletter_signup', f: 'newsletter', em: `${v}@example.com` },
    ]);
    const profile = await (await h.api(`/api/leads/${v}`)).json();
    expect(profile.stage).toBe('consideration');
    expect(profile.score).toBeGreaterThanOrEqual(24); // still ≥ 20 after 21 days of the 90-day half-life
    const stageAt = Date.parse(profile.stageEnteredAt);
    expect(await h.segmentsOf(v)).not.toContain('t_example');
    expect(await h.sizeOf('t_example')).toBe(0);

    // nothing changes before 21 days in stage; just after, the sweep lets the lead in, with no event of its own
    expect(await h.sweepTo(stageAt + 21 * DAY - 1)).toEqual([]);
    expect(await h.sweepTo(stageAt + 21 * DAY + 1000)).toEqual(['t_example:entered']);
    expect(await h.segmentsOf(v)).toContain('t_example');
    expect(await h.sizeOf('t_example')).toBe(1);
    // the pricing view is the only one: 30 days after it the lead leaves, again by time alone
    const pricingAt = T0;
    expect(await h.sweepTo(pricingAt + 30 * DAY - 1000)).toEqual([]);
    expect(await h.sweepTo(pricingAt + 30 * DAY + 1000)).toEqual(['t_example:exited']);
    expect(await h.segmentsOf(v)).not.toContain('t_example');
    expect(await h.sizeOf('t_example')).toBe(0);
    // its timeline has both moves as segment items, newest first
    const timeline = await (await h.api(`/api/leads/${v}/timeline?types=segment`)).json();
    expect(timeline.items.filter((i: { name?: string; segment?: string }) => JSON.stringify(i).includes('t_example')).length).toBe(2);
  });

  test('all / any / not nested three deep over stage, did, score, identified, touch and inStage, live and by the sweep', async () => {
    const h = await setup();
    // "fresh, engaged or paid-search anonymous visitors who have not asked for a demo"
    const nested = { all: [
      { any: [
        { all: [{ touch: { model: 'last', channel: 'paid_search' } }, { not: { stage: { gte: 'intent' } } }] },
        { did: { event: 'download', within: '7d' } },
      ] },
      { not: { any: [{ did: { event: 'demo_request' } }, { identified: true }] } },
      { not: { not: { inStage: { days: { lte: 10 } } } } },
      { score: { lt: 1000 } },
    ] };
    expect((await h.put('t_nested', { definition: nested })).status).toBe(201);
    const paid = 'v_' + randomId();
    const reader = 'v_' + randomId();
    const plain = 'v_' + randomId();
    const cpc = { utm_source: 'google', utm_medium: 'cpc', url: ORIGIN + '/' };
    await h.send(paid, [{ n: 'pageview', u: ORIGIN + '/?utm_source=google&utm_medium=cpc', st: cpc, ft: cpc }]);
    await h.send(reader, [{ n: 'pageview', u: ORIGIN + '/blog' }, { n: 'download', u: ORIGIN + '/files/ebook.pdf', p: { url: ORIGIN + '/files/ebook.pdf' } }]);
    await h.send(plain, [{ n: 'pageview', u: ORIGIN + '/blog' }]);
    expect(await h.segmentsOf(paid)).toContain('t_nested');
    expect(await h.segmentsOf(reader)).toContain('t_nested');
    expect(await h.segmentsOf(plain)).not.toContain('t_nested');
    expect(await h.sizeOf('t_nested')).toBe(2);

    // identifying takes the paid visitor out at once (not any[identified])
    h.clock.t += 60_000;
    await h.send(paid, [{ n: 'identify', em: `${paid}@example.com` }]);
    expect(await h.segmentsOf(paid)).not.toContain('t_nested');
    expect(await h.sizeOf('t_nested')).toBe(1);

    // the reader's download leaves its 7-day window: out by the sweep; the 10-days-in-stage bound would come later
    const readerStage = Date.parse((await (await h.api(`/api/leads/${reader}`)).json()).stageEnteredAt);
    expect(await h.sweepTo(T0 + 7 * DAY - 1000)).toEqual([]);
    expect(await h.sweepTo(T0 + 7 * DAY + 1000)).toEqual(['t_nested:exited']);
    expect(readerStage + 10 * DAY).toBeGreaterThan(T0 + 7 * DAY);
    expect(await h.sizeOf('t_nested')).toBe(0);

    // a new download brings the reader back while the stage is under 10 days old, live
    h.clock.t = T0 + 8 * DAY;
    await h.send(reader, [{ n: 'download', u: ORIGIN + '/files/ebook.pdf', p: { url: ORIGIN + '/files/ebook.pdf' } }]);
    const stageNow = Date.parse((await (await h.api(`/api/leads/${reader}`)).json()).stageEnteredAt);
    expect(await h.segmentsOf(reader)).toContain('t_nested');
    // and past 10 days in its stage it leaves by the sweep, although the download is still in its window
    const out = stageNow + 10 * DAY + 1000;
    expect(out).toBeLessThan(h.clock.t + 7 * DAY);
    expect(await h.sweepTo(out)).toEqual(['t_nested:exited']);
    expect(await h.segmentsOf(reader)).not.toContain('t_nested');
    expect(await h.sizeOf('t_nested')).toBe(0);
  });
});

describe('a refused PUT changes nothing', () => {
  test.each([
    ['an unknown condition', { all: [{ identified: true }, { visited: '/pricing' }] }, 'all[1].visited'],
    ['a bad duration', { did: { event: 'pageview', within: '30 days' } }, 'did.within'],
    ['a duration of the wrong type', { did: { event: 'pageview', within: 30 } }, 'did.within'],
    ['a score bound as text', { score: { gte: '20' } }, 'score.gte'],
    ['identified as a number', { identified: 1 }, 'identified'],
    ['stage.in as a string', { stage: { in: 'consideration' } }, 'stage.in'],
    ['an empty all', { all: [] }, 'all'],
    ['an empty any deep inside', { not: { all: [{ identified: true }, { any: [] }] } }, 'not.all[1].any'],
    ['an empty not', { not: {} }, 'not'],
    ['inStage days as text', { inStage: { days: { gte: '21' } } }, 'inStage.days.gte'],
    ['an unknown touch key', { touch: { source: 'google', referrer: 'x' } }, 'touch.referrer'],
  ])('%s: 400 {error:{code,message}} naming the bad part; the segment, its members and its history stay as they were', async (_what, definition, path) => {
    const h = await setup();
    expect((await h.put('t_keep', { name: 'Kept', definition: { did: { event: 'pageview' } } })).status).toBe(201);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview' }]);
    const before = await (await h.api('/api/segments/t_keep')).json();
    const history = await h.count('SELECT COUNT(*) AS n FROM segment_changes WHERE site_id = ?', [h.site.siteId]);
    expect(before.count).toBe(1);

    h.clock.t += 60_000;
    const res = await h.put('t_keep', { name: 'Changed', definition });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe('invalid_definition');
    expect(body.error.message.startsWith(`${path}: `), body.error.message).toBe(true);

    expect(await (await h.api('/api/segments/t_keep')).json()).toEqual(before);
    expect(await h.count('SELECT COUNT(*) AS n FROM segment_changes WHERE site_id = ?', [h.site.siteId])).toBe(history);
    expect(await h.segmentsOf(v)).toContain('t_keep');
    expect(await h.sizeOf('t_keep')).toBe(1);
  });
});

describe('DELETE, then every read of the segment', () => {
  test('is 404 in the same error shape; the list, the visitor route and the lead filter forget it; a new PUT starts over', async () => {
    const h = await setup();
    expect((await h.put('t_gone', { definition: { did: { event: 'pageview' } } })).status).toBe(201);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview' }, { n: 'identify', em: `${v}@example.com` }]);
    expect(await h.segmentsOf(v)).toContain('t_gone');
    expect(await h.sizeOf('t_gone')).toBe(1);

    const del = await h.api('/api/segments/t_gone', { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    for (const path of ['/api/segments/t_gone', ...['json', 'csv', 'google', 'meta', 'linkedin'].map((f) => `/api/segments/t_gone/members?format=${f}`)]) {
      const res = await h.api(path, { secret: h.reader });
      expect(res.status, path).toBe(404);
      const body = await res.json();
      expect(body.error.code, path).toMatch(/^[a-z_]*not_found$/);
      expect(body.error.message, path).toContain('t_gone');
    }
    const again = await h.api('/api/segments/t_gone', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect((await again.json()).error.code).toMatch(/not_found$/);
    expect((await h.listed()).map((s) => s.key)).not.toContain('t_gone');
    expect(await h.segmentsOf(v)).not.toContain('t_gone');
    expect((await h.api('/api/leads?segment=t_gone')).status).toBe(404);
    expect(await h.count("SELECT COUNT(*) AS n FROM segment_members WHERE site_id = ? AND segment_key = 't_gone'", [h.site.siteId])).toBe(0);

    // new events do not bring it back; a new PUT creates it afresh (201) from the stored events
    h.clock.t += 60_000;
    await h.send(v, [{ n: 'pageview', u: ORIGIN + '/again' }]);
    expect(await h.segmentsOf(v)).not.toContain('t_gone');
    const created = await h.put('t_gone', { definition: { identified: true } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ key: 't_gone', name: 't_gone', count: 1, memberCount: 1, definition: { identified: true } });
    expect(await h.sizeOf('t_gone')).toBe(1);
  });
});

describe('segment keys with odd characters', () => {
  test('keys outside [a-z0-9_-] are refused by PUT and found by no read; the longest valid key works end to end', async () => {
    const h = await setup();
    const odd = ['%C3%A9t%C3%A9', 'a%2Fb', 'a%20b', 'a.b', 'A', '-lead', 'a%00b', '%F0%9F%98%80', 'a%22b', 'a%27b', "a'b", 'a%3Cb%3E'];
    for (const key of odd) {
      const put = await h.put(key, { definition: { identified: true } });
      expect(put.status, key).toBe(400);
      expect((await put.json()).error.code, key).toMatch(/^[a-z_]+$/);
      for (const path of [`/api/segments/${key}`, `/api/segments/${key}/members`, `/api/segments/${key}/members?format=csv`]) {
        const res = await h.api(path);
        expect([400, 404], `${path} → ${res.status}`).toContain(res.status);
        const body = await res.json();
        expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
      }
      expect([400, 404]).toContain((await h.api(`/api/segments/${key}`, { method: 'DELETE' })).status);
    }
    expect(await h.count('SELECT COUNT(*) AS n FROM segments WHERE site_id = ?', [h.site.siteId])).toBe(6); // the presets only

    const longest = 'k' + '_-0'.repeat(21); // 64 characters
    expect(longest.length).toBe(64);
    expect((await h.put(longest + 'x', { definition: { identified: true } })).status).toBe(400);
    expect((await h.put(longest, { definition: { identified: false } })).status).toBe(201);
    const v = 'v_' + randomId();
    await h.send(v, [{ n: 'pageview' }]);
    expect(await h.segmentsOf(v)).toContain(longest);
    const csv = await h.api(`/api/segments/${longest}/members?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="${longest}-csv.csv"`);
    expect(await h.sizeOf(longest)).toBe(1);
    expect((await h.api(`/api/segments/${longest}`, { method: 'DELETE' })).status).toBe(204);
  });
});

describe('GET /api/visitors/{visitorId}/segments?site=', () => {
  test('an anonymous visitor gets its segments; an unknown one none; a wrong, missing or foreign site key is refused or sees nothing', async () => {
    const h = await setup();
    expect((await h.put('t_anon', { definition: { all: [{ identified: false }, { did: { event: 'pageview', path: '/pricing*' } }] } })).status).toBe(201);
    const anon = 'v_' + randomId();
    await h.send(anon, [{ n: 'pageview', u: ORIGIN + '/pricing' }]);
    const read = (visitor: string, query: string, origin: string | null = ORIGIN) =>
      h.app.request(`/api/visitors/${visitor}/segments${query}`, { headers: origin ? { origin } : {} });

    const res = await read(anon, `?site=${h.site.siteKey}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const mine = (await res.json()).segments as string[];
    expect(mine).toEqual(expect.arrayContaining(['t_anon', 'pricing_no_demo']));
    expect([...mine].sort()).toEqual(mine); // by key

    // an unknown visitor: 200 with none (the snippet cannot tell a new visitor from an unknown one)
    const unknown = await read('v_' + randomId(), `?site=${h.site.siteKey}`);
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toEqual({ segments: [] });

    // a site key that does not exist: 404; none at all, or an empty one: 400
    for (const [query, status, code] of [[`?site=nope_${randomId()}`, 404, 'unknown_site'], ['', 400, /./], ['?site=', 400, /./]] as const) {
      const r = await read(anon, query);
      expect(r.status, query).toBe(status);
      const body = await r.json();
      expect(body.error.code, query).toMatch(typeof code === 'string' ? new RegExp(`^${code}$`) : code);
      expect(body.error.message.length).toBeGreaterThan(0);
    }

    // the key of another site: refused from this site's origin, and from its own origin it knows no such visitor
    const other = await createSite(h.db, { domain: 'other.example' }, T0);
    const fromHere = await read(anon, `?site=${other.siteKey}`);
    expect(fromHere.status).toBe(403);
    expect((await fromHere.json()).error.code).toBe('origin_not_allowed');
    const fromThere = await read(anon, `?site=${other.siteKey}`, 'https://other.example');
    expect(fromThere.status).toBe(200);
    expect(await fromThere.json()).toEqual({ segments: [] });

    // identifying leaves the anonymous segment, seen from the same device at once
    h.clock.t += 60_000;
    await h.send(anon, [{ n: 'identify', em: `${anon}@example.com` }]);
    expect(await h.segmentsOf(anon)).not.toContain('t_anon');
  });
});

describe('a score with decimals decides membership the same way however the lead is read', () => {
  test('two leads with the same score are both members, whether decided live at ingest or from the stored row by a PUT', async () => {
    const h = await setup();
    // one rule worth 20.3 points, no decay: a float that a 4-byte column cannot hold exactly
    const config = await (await h.api('/api/config/funnel')).json();
    const put = await h.api('/api/config/funnel', {
      method: 'PUT',
      body: JSON.stringify({ ...config, scoreRules: [{ id: 'visit', points: 20.3, when: { event: 'pageview' }, cap: 20.3 }], halfLifeDays: null }),
    });
    expect(put.status, await put.clone().text()).toBe(200);
    const early = 'v_' + randomId();
    await h.send(early, [{ n: 'pageview' }]);
    // the segment is made after the first lead: its membership is computed from the stored row
    expect((await h.put('t_exact', { definition: { score: { gte: 20.3 } } })).status).toBe(201);
    h.clock.t += 60_000;
    const late = 'v_' + randomId();
    await h.send(late, [{ n: 'pageview' }]); // decided live, from the row the fold just wrote
    for (const v of [early, late]) {
      expect((await (await h.api(`/api/leads/${v}`)).json()).score, v).toBe(20.3);
      expect(await h.segmentsOf(v), v).toContain('t_exact');
    }
    expect(await h.sizeOf('t_exact')).toBe(2);
    // and a full recompute (PUT of the same definition) keeps both
    expect((await h.put('t_exact', { definition: { score: { gte: 20.3 } } })).status).toBe(200);
    expect(await h.sizeOf('t_exact')).toBe(2);
    // the segment webhooks' and the export's score is the lead's score
    const json = await (await h.api('/api/segments/t_exact/members')).json();
    expect(json.members.map((m: { score: number }) => m.score)).toEqual([20.3, 20.3]);
  });
});
