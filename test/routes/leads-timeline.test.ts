import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { CreatedApp } from '../../collector/app.js';
import type { Db } from '../../collector/storage/db.js';
import { ENGINES } from '../helpers/test-db.js';
import { closeLeadApp, openLeadApp, type LeadApp } from '../leads/lead-app.js';
import { DAY, T0, makeEvent, makeLead, makeLeadOnTwoDevices, makeLink, makeScoreChange, makeSegmentChange, makeVisitor } from '../leads/lead-factories.js';

let db: Db;
let created: CreatedApp;
let site: LeadApp['site'];

describe.each(ENGINES)('on %s', (engine) => {
  beforeEach(async () => {
    ({ db, created, site } = await openLeadApp(engine, T0 + 10 * DAY));
  });
  afterEach(() => closeLeadApp({ db, created, site }));

  interface Item { kind: string; name: string; at: string; id: string; [k: string]: unknown }
  const timeline = async (ref: string, qs = '') => {
    const res = await created.app.request(`/api/leads/${encodeURIComponent(ref)}/timeline${qs ? '?' + qs : ''}`, { headers: { authorization: site.leadsRead } });
    return { status: res.status, body: (await res.json()) as { items: Item[]; nextCursor: string | null; error?: { code: string } } };
  };
  const all = async (ref: string, qs: string, start: string | null = null) => {
    const items: Item[] = [];
    let cursor: string | null = start;
    do {
      const { body } = await timeline(ref, qs + (cursor ? `&cursor=${cursor}` : ''));
      items.push(...body.items);
      cursor = body.nextCursor;
    } while (cursor);
    return items;
  };

  describe('GET /api/leads/{ref}/timeline', () => {
    test('merges both devices, unattributed and server events, with stage, score, identity and segment items, newest first', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      const { status, body } = await timeline(lead.email);
      expect(status).toBe(200);
      const items = body.items;
      const ats = items.map((i) => Date.parse(i.at));
      expect([...ats].sort((a, b) => b - a)).toEqual(ats);
      expect(items.filter((i) => i.kind === 'event').map((i) => i.id).sort()).toEqual([...lead.events].sort());
      expect(new Set(items.filter((i) => i.kind === 'event').map((i) => i.visitorId))).toEqual(new Set([lead.phone, lead.laptop, `srv_${lead.leadId}`]));
      expect(items.filter((i) => i.kind === 'stage').map((i) => [i.from, i.to])).toEqual([
        ['consideration', 'evaluation'], ['awareness', 'consideration'], [null, 'awareness'],
      ]);
      expect(items.filter((i) => i.kind === 'score').map((i) => [i.points, i.rule, i.scoreAfter])).toEqual([
        [30, 'demo_request', 50], [10, 'newsletter_signup', 20], [10, 'pricing_view', 10],
      ]);
      expect(items.filter((i) => i.kind === 'identity').map((i) => i.visitorId)).toEqual([lead.laptop, lead.phone]);
      expect(items.filter((i) => i.kind === 'segment')).toMatchObject([{ name: 'segment_entered', segment: 'hot_leads', change: 'entered' }]);
      const demo = items.find((i) => i.name === 'demo_request')!;
      expect(demo).toMatchObject({ kind: 'event', visitorId: lead.laptop, url: 'https://example.com/demo', form: 'demo', attributed: false });
      // the stage it caused sits above it at the same moment
      const demoAt = items.indexOf(demo);
      expect(items[demoAt - 1]).toMatchObject({ kind: 'score', rule: 'demo_request' });
      expect(items[demoAt - 2]).toMatchObject({ kind: 'stage', to: 'evaluation' });
    });

    test('pages through everything with limit and cursor, in the same order as one big page', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      const full = (await timeline(lead.leadId, 'limit=500')).body.items;
      expect(full.length).toBe(5 + 3 + 3 + 2 + 1);
      for (const limit of [1, 2, 3, 5]) expect(await all(lead.leadId, `limit=${limit}`)).toEqual(full);
    });

    test('keeps its place when newer events arrive between pages, and breaks ties within a millisecond by id', async () => {
      const leadId = await makeLead(db, site.siteId);
      const v = await makeVisitor(db, site.siteId, { leadId });
      await makeLink(db, site.siteId, { visitorId: v, leadId, fromAt: T0 });
      for (let i = 0; i < 6; i++) await makeEvent(db, site.siteId, { visitorId: v, leadId, at: T0 + 1000, eventId: `e_tie_${i}` });
      for (let i = 0; i < 6; i++) await makeScoreChange(db, site.siteId, { leadId, at: T0 + 1000, points: 1, scoreAfter: i + 1, changeId: `c_${i}` });
      const first = await timeline(leadId, 'limit=4');
      await makeEvent(db, site.siteId, { visitorId: v, leadId, at: T0 + 5000 });
      await makeEvent(db, site.siteId, { visitorId: v, leadId, at: T0 + 1000, eventId: 'e_tie_9' });
      const rest = await all(leadId, 'limit=3', first.body.nextCursor);
      const ids = [...first.body.items, ...rest].map((i) => i.id);
      // the newer event sorts before the cursor and stays out; the late one at the tied millisecond sorts after it
      expect(ids).toEqual(['c_5', 'c_4', 'c_3', 'c_2', 'c_1', 'c_0', 'e_tie_9', 'e_tie_5', 'e_tie_4', 'e_tie_3', 'e_tie_2', 'e_tie_1', 'e_tie_0', `${v}@${T0}`]);
    });

    test('types filters by kind and by event name; from and to take ISO or epoch ms', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      const kinds = (items: Item[]) => [...new Set(items.map((i) => i.kind))].sort();
      expect(kinds((await timeline(lead.leadId, 'types=stage,score')).body.items)).toEqual(['score', 'stage']);
      const named = (await timeline(lead.leadId, 'types=demo_request,pageview,segment')).body.items;
      expect(named.map((i) => i.name).sort()).toEqual(['demo_request', 'pageview', 'pageview', 'segment_entered']);
      const from = new Date(T0 + DAY).toISOString();
      const win = (await timeline(lead.leadId, `types=event&from=${from}&to=${T0 + 3 * DAY}`)).body.items;
      expect(win.map((i) => i.at)).toEqual([new Date(T0 + 2 * DAY).toISOString(), new Date(T0 + DAY).toISOString()]);
    });

    test('rejects bad types, times and cursors with 400', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      for (const qs of ['types=%3Cscript%3E', 'from=yesterday', 'to=2025-13-45T99', `from=${T0 + DAY}&to=${T0}`, `from=${T0}&to=${T0}`, 'cursor=abc', 'cursor=' + Buffer.from('[1,2]').toString('base64url')]) {
        const r = await timeline(lead.leadId, qs);
        expect(r.status, qs).toBe(400);
      }
    });

    test('does not show events of a shared device from before the lead got it or after it left', async () => {
      const a = await makeLead(db, site.siteId, { email: 'a@example.com' });
      const b = await makeLead(db, site.siteId, { email: 'b@example.com' });
      const v = await makeVisitor(db, site.siteId, { leadId: b });
      await makeLink(db, site.siteId, { visitorId: v, leadId: a, fromAt: T0, toAt: T0 + DAY, reason: 'identify' });
      await makeLink(db, site.siteId, { visitorId: v, leadId: b, fromAt: T0 + DAY, reason: 'identify' });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: a, at: T0 + 10, eventId: 'a_attr' });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: null, at: T0 + 20, eventId: 'a_unattr' });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: b, at: T0 + DAY + 10, eventId: 'b_attr' });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: null, at: T0 + DAY + 20, eventId: 'b_unattr' });
      const ids = async (ref: string) => (await timeline(ref, 'types=event')).body.items.map((i) => i.id);
      expect(await ids('a@example.com')).toEqual(['a_unattr', 'a_attr']);
      expect(await ids('b@example.com')).toEqual(['b_unattr', 'b_attr']);
      const aIdentity = (await timeline('a@example.com', 'types=identity')).body.items.map((i) => i.name);
      expect(aIdentity).toEqual(['identity_unlinked', 'identity_linked']);
    });

    test('shows segment exits', async () => {
      const leadId = await makeLead(db, site.siteId);
      await makeSegmentChange(db, site.siteId, { segmentKey: 'k', leadId, kind: 'entered', at: T0 });
      await makeSegmentChange(db, site.siteId, { segmentKey: 'k', leadId, kind: 'exited', at: T0 + 5 });
      const items = (await timeline(leadId)).body.items;
      expect(items.map((i) => i.name)).toEqual(['segment_exited', 'segment_entered']);
    });
  });
});
