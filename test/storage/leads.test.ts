// Funnel-engine storage (leads, stage/score changes, identity links, attribution marks) on every engine.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import {
  claimLeadEmail, deleteLeadRow, getLeadEmail, getLeadFoldRow, getLeadFoldRows, getLeadIdByEmail, insertFoldedLeads, insertLead, listLeadIds,
  updateLeadFold, updateLeadFolds, type LeadFoldUpdate,
} from '../../collector/storage/leads.js';
import {
  insertScoreChange, insertStageChange, listScoreChangesOf, listStageChangesOf, upsertScoreChange, upsertStageChange,
} from '../../collector/storage/changes.js';
import { getCurrentLink, getLinkAt, mergeLeadInto, setVisitorLead, startLink } from '../../collector/storage/identity.js';
import { findStoredEvents, listLeadFoldEvents, listUnattributed, markEventsAttributed } from '../../collector/storage/lead-events.js';
import { insertEvents, upsertVisitors } from '../../collector/storage/events.js';
import type { EnrichedEvent } from '../../collector/ingest/types.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

const T0 = 1_760_000_000_000;

const makeEvent = (siteId: string, eventId: string, over: Partial<EnrichedEvent> = {}): EnrichedEvent => ({
  siteId, eventId, visitorId: 'v_1', leadId: null, sessionId: 'v_1.s', name: 'pageview', at: T0, receivedAt: T0, source: 'web',
  url: 'https://example.com/', path: '/', referrer: '', props: null, form: null, email: null, traits: null, channel: 'direct',
  utmSource: null, utmMedium: null, utmCampaign: null, utmTerm: null, utmContent: null, clickId: null, firstTouch: null,
  sessionTouch: null, browser: null, os: null, device: null, isBot: false, ...over,
});

const fold = (over: Partial<LeadFoldUpdate> = {}): LeadFoldUpdate => ({
  stage: 'interest', stageRank: 1, stageAt: T0 + 10, score: 7.5, scoreAt: T0 + 10, mqlAt: null, sqlAt: T0 + 20,
  traits: '{"company":"Acme"}', firstTouch: '{"channel":"direct"}', lastTouch: null, state: '{"n":1}', now: T0 + 30, ...over,
});

describe.each(ENGINES)('funnel storage on %s', (engine) => {
  let db: Db;
  const site = () => `site_${randomUUID()}`;
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('insertLead refuses a second lead with the same id or the same email', async () => {
    const s = site();
    const lead = { siteId: s, leadId: 'l_1', email: 'ada@example.com', stage: 'awareness', at: T0, now: T0 };
    expect(await insertLead(db, lead)).toBe(true);
    expect(await insertLead(db, { ...lead, email: null })).toBe(false);
    expect(await insertLead(db, { ...lead, leadId: 'l_2' })).toBe(false);
    expect(await insertLead(db, { ...lead, leadId: 'l_3', email: null })).toBe(true);
    expect(await getLeadIdByEmail(db, s, 'ada@example.com')).toBe('l_1');
    expect(await getLeadEmail(db, s, 'l_3')).toEqual({ email: null });
  });

  test('claimLeadEmail names an anonymous lead once and refuses an email another lead holds', async () => {
    const s = site();
    await insertLead(db, { siteId: s, leadId: 'l_anon', email: null, stage: 'awareness', at: T0, now: T0 });
    await insertLead(db, { siteId: s, leadId: 'l_known', email: 'bob@example.com', stage: 'awareness', at: T0, now: T0 });
    await insertLead(db, { siteId: s, leadId: 'l_other', email: null, stage: 'awareness', at: T0, now: T0 });
    expect(await claimLeadEmail(db, s, 'l_anon', 'eve@example.com', T0 + 1, T0 + 1)).toBe(true);
    expect(await claimLeadEmail(db, s, 'l_anon', 'eve2@example.com', T0 + 2, T0 + 2)).toBe(false);
    await expect(claimLeadEmail(db, s, 'l_other', 'bob@example.com', T0 + 3, T0 + 3)).rejects.toThrow();
    expect(await getLeadEmail(db, s, 'l_anon')).toEqual({ email: 'eve@example.com' });
  });

  test('updateLeadFold writes only over the version it read, and bumps it', async () => {
    const s = site();
    await insertLead(db, { siteId: s, leadId: 'l_1', email: null, stage: 'awareness', at: T0, now: T0 });
    const before = await getLeadFoldRow(db, s, 'l_1');
    expect(before?.version).toBe(0);
    expect(await updateLeadFold(db, s, 'l_1', 0, fold())).toBe(true);
    expect(await updateLeadFold(db, s, 'l_1', 0, fold({ stage: 'intent', stageRank: 3 }))).toBe(false);
    expect(await getLeadFoldRow(db, s, 'l_1')).toMatchObject({
      stage: 'interest', stage_rank: 1, stage_at: T0 + 10, score: 7.5, mql: 0, mql_at: null, sql: 1, sql_at: T0 + 20,
      traits: '{"company":"Acme"}', state: '{"n":1}', version: 1,
    });
  });

  test('concurrent fold writers over one version: exactly one wins', async () => {
    const s = site();
    await insertLead(db, { siteId: s, leadId: 'l_1', email: null, stage: 'awareness', at: T0, now: T0 });
    const wins = await Promise.all(
      Array.from({ length: 6 }, (_, i) => db.transaction((tx) => updateLeadFold(tx, s, 'l_1', 0, fold({ score: i })))),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect((await getLeadFoldRow(db, s, 'l_1'))?.version).toBe(1);
  });

  test('folded leads insert and update many at once, version-checked, keeping scores as doubles', async () => {
    const s = site();
    const score = 111.2164; // not representable in 32 bits: a float4 cast anywhere would change it
    await insertLead(db, { siteId: s, leadId: 'l_old', email: null, stage: 'awareness', at: T0, now: T0 });
    const inserted = await insertFoldedLeads(db, s, [
      { leadId: 'l_new', createdAt: T0, u: fold({ score }) },
      { leadId: 'l_old', createdAt: T0, u: fold() },
    ]);
    expect([...inserted]).toEqual(['l_new']);
    const written = await updateLeadFolds(db, s, [
      { leadId: 'l_new', version: 0, u: fold({ score: score * 2, stage: 'intent', stageRank: 3 }) },
      { leadId: 'l_old', version: 5, u: fold() },
    ]);
    expect([...written]).toEqual(['l_new']);
    const rows = await getLeadFoldRows(db, s, ['l_new', 'l_old']);
    expect(rows.get('l_new')).toMatchObject({ stage: 'intent', stage_rank: 3, score: score * 2, version: 1, sql: 1, sql_at: T0 + 20 });
    expect(rows.get('l_old')).toMatchObject({ stage: 'awareness', version: 0 });
  });

  test('listLeadIds pages through lead ids in order, and deleteLeadRow removes one', async () => {
    const s = site();
    for (const id of ['l_c', 'l_a', 'l_b']) await insertLead(db, { siteId: s, leadId: id, email: null, stage: 'awareness', at: T0, now: T0 });
    expect(await listLeadIds(db, s, '', 2)).toEqual(['l_a', 'l_b']);
    expect(await listLeadIds(db, s, 'l_b', 2)).toEqual(['l_c']);
    await deleteLeadRow(db, s, 'l_b');
    expect(await listLeadIds(db, s, '', 10)).toEqual(['l_a', 'l_c']);
  });

  test('a stage is entered once; upsert rewrites it; changes list in time order', async () => {
    const s = site();
    const c = { leadId: 'l_1', toStage: 'interest', fromStage: 'awareness', at: T0 + 5, eventId: 'e_1', rule: 'newsletter' };
    expect(await insertStageChange(db, s, c)).toBe(true);
    expect(await insertStageChange(db, s, { ...c, at: T0 + 9 })).toBe(false);
    await insertStageChange(db, s, { ...c, toStage: 'awareness', fromStage: null, at: T0 });
    await upsertStageChange(db, s, { ...c, at: T0 + 7, eventId: 'e_2' });
    expect(await listStageChangesOf(db, s, 'l_1')).toEqual([
      { leadId: 'l_1', toStage: 'awareness', fromStage: null, at: T0, eventId: 'e_1', rule: 'newsletter', fromAt: null },
      { leadId: 'l_1', toStage: 'interest', fromStage: 'awareness', at: T0 + 7, eventId: 'e_2', rule: 'newsletter', fromAt: null },
    ]);
  });

  test('score changes are stored once per change id with fractional points', async () => {
    const s = site();
    const c = { changeId: 'c_1', leadId: 'l_1', at: T0, eventId: 'e_1', rule: 'pricing', points: 2.5, scoreAfter: 2.5 };
    await insertScoreChange(db, s, c);
    await insertScoreChange(db, s, { ...c, points: 99 });
    await upsertScoreChange(db, s, { ...c, changeId: 'c_2', at: T0 + 1, points: -0.25, scoreAfter: 2.25 });
    expect(await listScoreChangesOf(db, s, 'l_1')).toEqual([c, { ...c, changeId: 'c_2', at: T0 + 1, points: -0.25, scoreAfter: 2.25 }]);
  });

  test('identity links end where the next one starts and are found by time', async () => {
    const s = site();
    const link = { siteId: s, visitorId: 'v_1', leadId: 'l_anon', email: null, eventId: 'e_1', reason: 'first_seen' as const, now: T0 };
    await startLink(db, { ...link, fromAt: T0 });
    await startLink(db, { ...link, fromAt: T0 + 100, leadId: 'l_known', email: 'ada@example.com', reason: 'identified' });
    expect(await getCurrentLink(db, s, 'v_1')).toEqual({ lead_id: 'l_known', from_at: T0 + 100 });
    expect(await getLinkAt(db, s, 'v_1', T0 + 50)).toEqual({ lead_id: 'l_anon', from_at: T0 });
    expect(await getLinkAt(db, s, 'v_1', T0 - 50)).toEqual({ lead_id: 'l_anon', from_at: T0 });
    const rows = await db.all('SELECT lead_id, from_at, to_at FROM identity_links WHERE site_id = ? ORDER BY from_at', [s]);
    expect(rows).toEqual([
      { lead_id: 'l_anon', from_at: T0, to_at: T0 + 100 },
      { lead_id: 'l_known', from_at: T0 + 100, to_at: null },
    ]);
  });

  test('attribution marks tie events to leads; listings read them back', async () => {
    const s = site();
    await db.transaction((tx) =>
      insertEvents(tx, [makeEvent(s, 'e_2', { at: T0 + 2 }), makeEvent(s, 'e_1', { at: T0 + 1 }), makeEvent(s, 'e_3', { at: T0 + 3 })]),
    );
    await db.transaction((tx) => markEventsAttributed(tx, s, [['e_2', 'l_1'], ['e_1', 'l_1'], ['e_2', 'l_2']]));
    expect((await listLeadFoldEvents(db, s, 'l_1')).map((e) => e.eventId)).toEqual(['e_1']);
    expect((await listLeadFoldEvents(db, s, 'l_2')).map((e) => e.eventId)).toEqual(['e_2']);
    expect((await listUnattributed(db, s, 10)).map((e) => e.eventId)).toEqual(['e_3']);
    expect(await findStoredEvents(db, s, ['e_1', 'e_3', 'e_nope'])).toEqual(new Map([['e_1', 'l_1'], ['e_3', null]]));
  });

  test('a merge moves visitors, links and events to the surviving lead and drops the merged one', async () => {
    const s = site();
    await insertLead(db, { siteId: s, leadId: 'l_from', email: null, stage: 'awareness', at: T0, now: T0 });
    await insertLead(db, { siteId: s, leadId: 'l_into', email: 'ada@example.com', stage: 'awareness', at: T0, now: T0 });
    await db.transaction(async (tx) => {
      await insertEvents(tx, [makeEvent(s, 'e_1')]);
      await upsertVisitors(tx, [{
        siteId: s, visitorId: 'v_1', firstSeen: T0, lastSeen: T0, session: { sessionId: 'v_1.s', started: T0, lastSeen: T0, campaign: '' },
        newSessions: 1, newEvents: 1, firstTouch: null, lastTouch: null, browser: null, os: null, device: null, isBot: false,
      }]);
      await setVisitorLead(tx, s, 'v_1', 'l_from');
      await markEventsAttributed(tx, s, [['e_1', 'l_from']]);
      await startLink(tx, { siteId: s, visitorId: 'v_1', fromAt: T0, leadId: 'l_from', email: null, eventId: 'e_1', reason: 'first_seen', now: T0 });
      await insertStageChange(tx, s, { leadId: 'l_from', toStage: 'interest', fromStage: null, at: T0, eventId: 'e_1', rule: null });
      await mergeLeadInto(tx, s, 'l_from', 'l_into');
    });
    expect(await db.get('SELECT lead_id FROM visitors WHERE site_id = ?', [s])).toEqual({ lead_id: 'l_into' });
    expect(await getCurrentLink(db, s, 'v_1')).toEqual({ lead_id: 'l_into', from_at: T0 });
    expect((await listLeadFoldEvents(db, s, 'l_into')).map((e) => e.eventId)).toEqual(['e_1']);
    expect(await listStageChangesOf(db, s, 'l_from')).toEqual([]);
    expect(await getLeadFoldRow(db, s, 'l_from')).toBeUndefined();
  });
});
