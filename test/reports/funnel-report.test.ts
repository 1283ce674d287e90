import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { CreatedApp } from '../../collector/app.js';
import type { Db } from '../../collector/storage/db.js';
import { ENGINES } from '../helpers/test-db.js';
import { closeLeadApp, openLeadApp, type LeadApp } from '../leads/lead-app.js';
import { DAY, T0, makeEvent, makeLead, makeSite, makeStageChange, makeVisitor } from '../leads/lead-factories.js';
import { listLeadFacts } from '../../collector/storage/funnel-report.js';

const H = 3_600_000;
const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];
let db: Db;
let created: CreatedApp;
let site: LeadApp['site'];

describe.each(ENGINES)('on %s', (engine) => {
  beforeEach(async () => {
    ({ db, created, site } = await openLeadApp(engine, T0 + 25 * DAY));
  });
  afterEach(() => closeLeadApp({ db, created, site }));

  /** A lead that walked `path` ([stage, at] in order), with its first and last touch channel. */
  async function walk(path: Array<[string, number]>, o: { channel: string; lastChannel?: string; isBot?: boolean; createdAt?: number; legacy?: boolean }) {
    const [last] = path.slice(-1);
    const leadId = await makeLead(db, site.siteId, {
      stage: last[0], stageRank: STAGES.indexOf(last[0]), stageAt: last[1], createdAt: o.createdAt ?? path[0][1], isBot: o.isBot,
      firstTouch: { channel: o.channel, utm_source: o.channel === 'email' ? 'newsletter' : undefined },
      lastTouch: { channel: o.lastChannel ?? o.channel },
    });
    let from: string | null = null;
    let fromAt: number | null = null;
    for (const [to, at] of path) {
      // legacy rows (written before stage_changes.from_at) leave it empty; the report joins them to their entry
      await makeStageChange(db, site.siteId, { leadId, from, to, at, fromAt: o.legacy ? null : fromAt });
      from = to;
      fromAt = at;
    }
    return leadId;
  }

  async function scenario() {
    const l1 = await walk([['awareness', T0]], { channel: 'organic_search' });
    const l2 = await walk([['awareness', T0], ['interest', T0 + DAY], ['consideration', T0 + 3 * DAY]], { channel: 'organic_search', lastChannel: 'email' });
    const l3 = await walk([['awareness', T0], ['evaluation', T0 + 2 * H]], { channel: 'paid_search' });
    const l4 = await walk(
      [['awareness', T0 + DAY], ['interest', T0 + 2 * DAY], ['consideration', T0 + 4 * DAY], ['intent', T0 + 5 * DAY], ['evaluation', T0 + 7 * DAY], ['purchase', T0 + 10 * DAY]],
      { channel: 'email', legacy: true },
    );
    const l5 = await walk([['awareness', T0 - 60 * DAY], ['interest', T0 + DAY]], { channel: 'direct' });
    await walk([['awareness', T0], ['purchase', T0 + H]], { channel: 'direct', isBot: true });
    return { l1, l2, l3, l4, l5 };
  }

  const funnel = async (qs: string, auth = site.audiences) => {
    const res = await created.app.request(`/api/funnel?${qs}`, { headers: { authorization: auth } });
    return { status: res.status, body: await res.json() };
  };
  const WINDOW = `from=${new Date(T0 - H).toISOString()}&to=${T0 + 20 * DAY}`;
  const col = (stages: Array<Record<string, unknown>>, field: string) => stages.map((s) => s[field]);

  describe('GET /api/funnel', () => {
    test('counts leads now, entries in the period, cohort conversions and time in stage, bots left out', async () => {
      await scenario();
      const { status, body } = await funnel(WINDOW);
      expect(status).toBe(200);
      expect(col(body.stages, 'stage')).toEqual(STAGES);
      expect(col(body.stages, 'count')).toEqual([1, 1, 1, 0, 1, 1]);
      expect(col(body.stages, 'entered')).toEqual([4, 3, 2, 1, 2, 1]);
      expect(col(body.stages, 'reached')).toEqual([4, 3, 3, 2, 2, 1]);
      expect(col(body.stages, 'conversionNext')).toEqual([0.75, 1, 0.6667, 1, 0.5, null]);
      expect(col(body.stages, 'conversionCumulative')).toEqual([1, 0.75, 0.75, 0.5, 0.5, 0.25]);
      expect(col(body.stages, 'timeInStage')).toEqual([
        { p50: DAY, p90: DAY, n: 3 },
        { p50: 2 * DAY, p90: 2 * DAY, n: 2 },
        { p50: DAY, p90: DAY, n: 1 },
        { p50: 2 * DAY, p90: 2 * DAY, n: 1 },
        { p50: 3 * DAY, p90: 3 * DAY, n: 1 },
        { p50: null, p90: null, n: 0 },
      ]);
      expect(body.breakdown).toBeNull();
    });

    test('defaults to the 30 days before now', async () => {
      await scenario();
      const { body } = await funnel('');
      expect(body.to).toBe(new Date(T0 + 25 * DAY).toISOString());
      expect(body.from).toBe(new Date(T0 - 5 * DAY).toISOString());
      expect(col(body.stages, 'entered')).toEqual([4, 3, 2, 1, 2, 1]);
    });

    test('breaks down by first-touch and last-touch channel', async () => {
      await scenario();
      const first = (await funnel(`${WINDOW}&breakdown=channel`)).body;
      expect(first.attribution).toBe('first');
      const byKey = Object.fromEntries(first.breakdown.map((b: { key: string; stages: unknown[] }) => [b.key, b.stages]));
      expect(Object.keys(byKey).sort()).toEqual(['direct', 'email', 'organic_search', 'paid_search']);
      expect(col(byKey.organic_search, 'count')).toEqual([1, 0, 1, 0, 0, 0]);
      expect(col(byKey.organic_search, 'reached')).toEqual([2, 1, 1, 0, 0, 0]);
      expect(col(byKey.direct, 'entered')).toEqual([0, 1, 0, 0, 0, 0]);
      expect(first.breakdown[0].key).toBe('organic_search');
      const last = (await funnel(`${WINDOW}&breakdown=channel&attribution=last`)).body;
      const lastByKey = Object.fromEntries(last.breakdown.map((b: { key: string; stages: unknown[] }) => [b.key, b.stages]));
      expect(col(lastByKey.email, 'count')).toEqual([0, 0, 1, 0, 0, 1]);
      const source = (await funnel(`${WINDOW}&breakdown=source`)).body;
      expect(source.breakdown.map((b: { key: string }) => b.key).sort()).toEqual(['(none)', 'newsletter']);
    });

    test('linear attribution splits each lead equally over its distinct web sessions', async () => {
      const { l2, l1 } = await scenario();
      const v = await makeVisitor(db, site.siteId, { leadId: l2 });
      // the first event of each session carries the visitor's first touch, as live ingest stores it
      const ft = { url: 'https://example.com/', at: T0 };
      await makeEvent(db, site.siteId, { visitorId: v, leadId: l2, at: T0, sessionId: 's1', channel: 'organic_search', firstTouch: ft });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: l2, at: T0 + 1, sessionId: 's1', channel: 'organic_search' });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: l2, at: T0 + DAY, sessionId: 's2', channel: 'organic_search', firstTouch: ft });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: l2, at: T0 + 2 * DAY, sessionId: 's3', channel: 'email', firstTouch: ft });
      await makeEvent(db, site.siteId, { visitorId: v, leadId: l2, at: T0 + 2 * DAY, sessionId: 'srv', channel: 'direct', source: 'server', name: 'closed_lost' });
      const w = await makeVisitor(db, site.siteId, { leadId: l1 });
      await makeEvent(db, site.siteId, { visitorId: w, leadId: l1, at: T0, sessionId: 's9', channel: 'referral', firstTouch: ft });
      const { body } = await funnel(`${WINDOW}&breakdown=channel&attribution=linear`);
      const byKey = Object.fromEntries(body.breakdown.map((b: { key: string; stages: unknown[] }) => [b.key, b.stages]));
      expect(col(byKey.organic_search, 'count')).toEqual([0, 0, 0.6667, 0, 0, 0]);
      expect(col(byKey.referral, 'count')).toEqual([1, 0, 0, 0, 0, 0]);
      // leads without web sessions of their own count whole under their first touch's key: l3 (paid search), l4
      // (email) and l5 (direct); (none) only for a lead without a first touch either
      expect(col(byKey.email, 'count')).toEqual([0, 0, 0.3333, 0, 0, 1]);
      expect(col(byKey.paid_search, 'count')).toEqual([0, 0, 0, 0, 1, 0]);
      expect(col(byKey.direct, 'count')).toEqual([0, 1, 0, 0, 0, 0]);
      expect(byKey['(none)']).toBeUndefined();
      const totalCount = body.breakdown.reduce((s: number, b: { stages: Array<{ count: number }> }) => s + b.stages.reduce((t, x) => t + x.count, 0), 0);
      expect(totalCount).toBeCloseTo(5, 3);
    });

    test('linear attribution pages through every non-bot lead once, across page boundaries', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 11; i++) ids.add(await makeLead(db, site.siteId, { createdAt: T0 + i, firstTouch: { channel: i % 2 ? 'email' : 'direct' } }));
      await makeLead(db, site.siteId, { isBot: true });
      const other = await makeSite(db, 'other.example');
      await makeLead(db, other.siteId, {});
      const seen: string[] = [];
      let pages = 0;
      for (let after: string | null = ''; after !== null; pages++) {
        const page = await listLeadFacts(db, site.siteId, after, 3, 'ft_channel');
        seen.push(...page.leads.map((l) => l.leadId));
        after = page.next;
      }
      expect(pages).toBeGreaterThanOrEqual(4);
      expect(seen.sort()).toEqual([...ids].sort());
    });

    test('rejects bad parameters with 400', async () => {
      for (const qs of ['from=soon', 'breakdown=country', 'attribution=last', 'attribution=u_shaped&breakdown=channel', `from=${T0}&to=${T0 - 1}`]) {
        const r = await funnel(qs);
        expect(r.status, qs).toBe(400);
        expect(r.body.error.code).toBeTruthy();
      }
    });

    test('a key of another site sees an empty funnel; leads:read cannot read it', async () => {
      await scenario();
      const other = await makeSite(db, 'other.example');
      const { body } = await funnel(`${WINDOW}&breakdown=channel`, other.audiences);
      expect(col(body.stages, 'count')).toEqual([0, 0, 0, 0, 0, 0]);
      expect(col(body.stages, 'entered')).toEqual([0, 0, 0, 0, 0, 0]);
      expect(body.breakdown).toEqual([]);
      expect((await funnel(WINDOW, site.leadsRead)).status).toBe(403);
      expect((await funnel(WINDOW, site.admin)).status).toBe(200);
    });
  });
});
