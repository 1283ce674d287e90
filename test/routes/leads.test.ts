import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createApp, type CreatedApp } from '../../collector/app.js';
import type { Db } from '../../collector/storage/db.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { DAY, T0, makeLead, makeLeadOnTwoDevices, makeSegment, makeSegmentMember, makeSite } from '../leads/lead-factories.js';

let db: Db;
let created: CreatedApp;
let site: Awaited<ReturnType<typeof makeSite>>;
let now = T0 + 5 * DAY;

describe.each(ENGINES)('on %s', (engine) => {
  beforeEach(async () => {
    db = await openTestDb(engine);
    now = T0 + 5 * DAY;
    created = createApp({ db, now: () => now });
    site = await makeSite(db);
  });
  afterEach(async () => {
    await created.close();
    await db.close();
  });

  const get = (path: string, auth: string) => created.app.request(path, { headers: { authorization: auth } });

  describe('GET /api/leads/{ref}', () => {
    test('finds the same profile by lead id, by email in any case and by either visitor id', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      const refs = [lead.leadId, 'ADA@Example.com', lead.phone, lead.laptop];
      const bodies = [];
      for (const ref of refs) {
        const res = await get(`/api/leads/${encodeURIComponent(ref)}`, site.leadsRead);
        expect(res.status).toBe(200);
        bodies.push(await res.json());
      }
      for (const b of bodies) expect(b).toEqual(bodies[0]);
      expect(bodies[0]).toMatchObject({
        leadId: lead.leadId,
        email: 'ada@example.com',
        identified: true,
        visitorIds: [lead.phone, lead.laptop].sort(),
        stage: 'evaluation',
        mql: true,
        sql: true,
        firstTouch: { channel: 'organic_search', utm_source: 'google' },
        lastTouch: { channel: 'email', utm_source: 'newsletter' },
        traits: { firstName: 'Ada', company: 'Analytical' },
        segments: ['hot_leads'],
        stageEnteredAt: new Date(T0 + 3 * DAY).toISOString(),
        mqlAt: new Date(T0 + 2 * DAY).toISOString(),
        sqlAt: new Date(T0 + 3 * DAY).toISOString(),
      });
    });

    test('decays the stored score to now by the default 90-day half-life', async () => {
      const leadId = await makeLead(db, site.siteId, { score: 80, scoreAt: T0 });
      now = T0 + 90 * DAY;
      const body = await (await get(`/api/leads/${leadId}`, site.leadsRead)).json();
      expect(body.score).toBeCloseTo(40, 6);
      expect(body.scoreStored).toBe(80);
      now = T0 + 180 * DAY;
      expect((await (await get(`/api/leads/${leadId}`, site.leadsRead)).json()).score).toBeCloseTo(20, 6);
    });

    test('answers 404 not_found for an unknown lead, visitor or email', async () => {
      for (const ref of ['lead_nope', 'nobody@example.com', 'v_nope']) {
        const res = await get(`/api/leads/${encodeURIComponent(ref)}`, site.leadsRead);
        expect(res.status).toBe(404);
        expect((await res.json()).error.code).toBe('not_found');
      }
    });

    test('rejects path traversal, control characters and backslashes in the ref with 400', async () => {
      for (const ref of ['..%2F..%2Fetc%2Fpasswd', 'a..b', 'a%00b', 'x%0D%0Ay', 'a%5Cb', '%2Fetc']) {
        const res = await get(`/api/leads/${ref}`, site.leadsRead);
        expect(res.status, ref).toBe(400);
        expect((await res.json()).error.code).toBe('invalid_ref');
      }
    });

    test('needs a key: 401 without one, 403 for a key without leads:read', async () => {
      const leadId = await makeLead(db, site.siteId);
      expect((await created.app.request(`/api/leads/${leadId}`)).status).toBe(401);
      const res = await get(`/api/leads/${leadId}`, site.audiences);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('forbidden');
    });
  });

  describe('GET /api/leads', () => {
    async function makeMany() {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push(
          await makeLead(db, site.siteId, {
            email: i % 2 === 0 ? `user${i}@Acme.io`.toLowerCase() : null,
            stage: i < 3 ? 'awareness' : 'intent',
            stageRank: i < 3 ? 0 : 3,
            updatedAt: T0 + i * 1000 + (i === 5 ? -3000 : 0),
          }),
        );
      }
      return ids;
    }

    test('lists newest activity first and pages with an opaque cursor without gaps or repeats', async () => {
      const ids = await makeMany();
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`/api/leads?limit=3${cursor ? `&cursor=${cursor}` : ''}`, site.leadsRead);
        expect(res.status).toBe(200);
        const body = await res.json();
        expect(body.items.length).toBeLessThanOrEqual(3);
        seen.push(...body.items.map((l: { leadId: string }) => l.leadId));
        cursor = body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(7);
      // lead 5 was touched earlier than leads 3 and 4
      expect(seen).toEqual([ids[6], ids[4], ids[3], ids[5], ids[2], ids[1], ids[0]]);
    });

    test('filters by stage, email part (case-insensitive), identified and segment', async () => {
      const ids = await makeMany();
      await makeSegment(db, site.siteId, 'my_list');
      await makeSegmentMember(db, site.siteId, { segmentKey: 'my_list', leadId: ids[4], at: T0 });
      const list = async (qs: string) => (await (await get(`/api/leads?${qs}`, site.leadsRead)).json()).items.map((l: { leadId: string }) => l.leadId).sort();
      expect(await list('stage=intent')).toEqual([ids[3], ids[4], ids[5], ids[6]].sort());
      expect(await list('q=USER4')).toEqual([ids[4]]);
      expect(await list('q=acme.io&stage=awareness')).toEqual([ids[0], ids[2]].sort());
      expect(await list('identified=false')).toEqual([ids[1], ids[3], ids[5]].sort());
      expect(await list('identified=true')).toEqual([ids[0], ids[2], ids[4], ids[6]].sort());
      expect(await list('segment=my_list')).toEqual([ids[4]]);
      expect(await list('q=%25')).toEqual([]);
    });

    test('a stage the funnel does not have is a 400 naming the stages; a segment that does not exist a 404', async () => {
      await makeMany();
      const bad = await get('/api/leads?stage=intnet', site.leadsRead);
      expect(bad.status).toBe(400);
      expect((await bad.json()).error).toEqual({ code: 'invalid_request', message: expect.stringContaining('awareness, interest, consideration') });
      const missing = await get('/api/leads?segment=no_such_list', site.leadsRead);
      expect(missing.status).toBe(404);
      expect((await missing.json()).error.code).toBe('not_found');
    });

    test('caps limit at 500 and rejects a cursor it did not issue', async () => {
      await makeMany();
      expect((await get('/api/leads?limit=100000', site.leadsRead)).status).toBe(200);
      const res = await get('/api/leads?cursor=bm90LWEtY3Vyc29y', site.leadsRead);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_cursor');
    });
  });

  describe('site isolation and scopes on every lead route', () => {
    test('a key of another site sees an empty list and 404 for the lead, its timeline and its erasure', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      const other = await makeSite(db, 'other.example');
      const list = await (await get('/api/leads', other.leadsRead)).json();
      expect(list).toEqual({ items: [], nextCursor: null });
      for (const ref of [lead.leadId, lead.email, lead.phone]) {
        const enc = encodeURIComponent(ref);
        expect((await get(`/api/leads/${enc}`, other.leadsRead)).status).toBe(404);
        expect((await get(`/api/leads/${enc}/timeline`, other.leadsRead)).status).toBe(404);
        const del = await created.app.request(`/api/leads/${enc}`, { method: 'DELETE', headers: { authorization: other.admin } });
        expect(del.status).toBe(404);
      }
      // nothing of site A was touched by the other site's DELETE
      expect((await get(`/api/leads/${lead.leadId}`, site.leadsRead)).status).toBe(200);
    });

    test('wrong scopes get 403: leads:read cannot erase, audiences:read and events:write cannot read leads', async () => {
      const leadId = await makeLead(db, site.siteId);
      const del = await created.app.request(`/api/leads/${leadId}`, { method: 'DELETE', headers: { authorization: site.leadsRead } });
      expect(del.status).toBe(403);
      for (const key of [site.audiences, site.events]) {
        expect((await get('/api/leads', key)).status).toBe(403);
        expect((await get(`/api/leads/${leadId}/timeline`, key)).status).toBe(403);
      }
    });

    test('GET /openapi.json documents the lead routes', async () => {
      const doc = await (await created.app.request('/openapi.json')).json();
      expect(Object.keys(doc.paths['/api/leads/{ref}'])).toEqual(expect.arrayContaining(['get', 'delete']));
      expect(doc.paths['/api/leads/{ref}/timeline'].get).toBeDefined();
      expect(doc.paths['/api/leads'].get).toBeDefined();
    });
  });
});
