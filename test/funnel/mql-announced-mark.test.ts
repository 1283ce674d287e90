// The lead.mql mark as storage keeps it (`leads.mql_announced_at`, storage/leads.ts) on every engine: a fold write sets
// it only where there is none and never clears it; a merge leaves the survivor the earlier of the two leads' marks; its
// migration marks every lead that was an MQL already.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import {
  carryMqlAnnounced, getLeadFoldRow, getLeadFoldRows, insertFoldedLeads, insertLead, updateLeadFold, updateLeadFolds, type LeadFoldUpdate,
} from '../../collector/storage/leads.js';
import { databaseUpTo, ENGINES, openTestDb } from '../helpers/test-db.js';

const T0 = 1_760_000_000_000;
const fold = (over: Partial<LeadFoldUpdate> = {}): LeadFoldUpdate => ({
  stage: 'interest', stageRank: 1, stageAt: T0, score: 9, scoreAt: T0, mqlAt: T0, sqlAt: null, traits: '{}', firstTouch: null, lastTouch: null,
  state: '{}', now: T0, ...over,
});

describe.each(ENGINES)('the lead.mql mark on %s', (engine) => {
  let db: Db;
  const site = () => `site_${randomUUID()}`;
  const markOf = async (s: string, leadId: string) => {
    const m = (await getLeadFoldRow(db, s, leadId))?.mql_announced_at;
    return m == null ? null : Number(m);
  };
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('a fold write sets it where there is none, keeps it where there is one, and never clears it', async () => {
    const s = site();
    await insertLead(db, { siteId: s, leadId: 'l_1', email: null, stage: 'seen', at: T0, now: T0 });
    expect(await markOf(s, 'l_1')).toBeNull();
    expect(await updateLeadFold(db, s, 'l_1', 0, fold())).toBe(true);
    expect(await markOf(s, 'l_1')).toBeNull();
    expect(await updateLeadFold(db, s, 'l_1', 1, fold({ mqlAnnouncedAt: T0 + 5 }))).toBe(true);
    expect(await markOf(s, 'l_1')).toBe(T0 + 5);
    // a rebuild without the crossing (mqlAt null) and one that would announce another: the first mark stands
    expect(await updateLeadFold(db, s, 'l_1', 2, fold({ mqlAt: null, mqlAnnouncedAt: null }))).toBe(true);
    expect(await updateLeadFold(db, s, 'l_1', 3, fold({ mqlAnnouncedAt: T0 + 9 }))).toBe(true);
    expect(await getLeadFoldRow(db, s, 'l_1')).toMatchObject({ mql_at: T0, version: 4 });
    expect(await markOf(s, 'l_1')).toBe(T0 + 5);
  });

  test('many at once: inserted with the mark, updated without clearing it', async () => {
    const s = site();
    expect([...(await insertFoldedLeads(db, s, [
      { leadId: 'l_a', createdAt: T0, u: fold({ mqlAnnouncedAt: T0 + 1 }) },
      { leadId: 'l_b', createdAt: T0, u: fold({ mqlAt: null }) },
    ]))].sort()).toEqual(['l_a', 'l_b']);
    expect([...(await updateLeadFolds(db, s, [
      { leadId: 'l_a', version: 0, u: fold({ mqlAt: null }) },
      { leadId: 'l_b', version: 0, u: fold({ mqlAnnouncedAt: T0 + 2 }) },
    ]))].sort()).toEqual(['l_a', 'l_b']);
    const rows = await getLeadFoldRows(db, s, ['l_a', 'l_b']);
    expect(Number(rows.get('l_a')!.mql_announced_at)).toBe(T0 + 1);
    expect(Number(rows.get('l_b')!.mql_announced_at)).toBe(T0 + 2);
  });

  test('a merge leaves the survivor the earlier mark of the two, and its own when the merged lead has none', async () => {
    const s = site();
    await insertFoldedLeads(db, s, [
      { leadId: 'l_from', createdAt: T0, u: fold({ mqlAnnouncedAt: T0 + 3 }) },
      { leadId: 'l_none', createdAt: T0, u: fold({ mqlAt: null }) },
      { leadId: 'l_late', createdAt: T0, u: fold({ mqlAnnouncedAt: T0 + 7 }) },
      { leadId: 'l_early', createdAt: T0, u: fold({ mqlAnnouncedAt: T0 + 1 }) },
      { leadId: 'l_bare', createdAt: T0, u: fold({ mqlAt: null }) },
    ]);
    await carryMqlAnnounced(db, s, 'l_from', 'l_none');
    await carryMqlAnnounced(db, s, 'l_from', 'l_late');
    await carryMqlAnnounced(db, s, 'l_from', 'l_early');
    await carryMqlAnnounced(db, s, 'l_bare', 'l_early');
    expect([await markOf(s, 'l_none'), await markOf(s, 'l_late'), await markOf(s, 'l_early')]).toEqual([T0 + 3, T0 + 3, T0 + 1]);
    await carryMqlAnnounced(db, s, 'l_bare', 'l_bare2');
    expect(await markOf(s, 'l_bare')).toBeNull();
  });

  test('the migration marks every lead already an MQL at its mqlAt, and no other', async () => {
    // a database as it was before the mark (SQLite migrations 0000–0013, PostgreSQL 0000–0011), with an MQL and another lead
    const { db: before, reopen } = await databaseUpTo(engine, engine === 'pg' ? 11 : 13);
    for (const [leadId, mqlAt] of [['l_mql', T0 + 4], ['l_not', null]] as const) {
      await before.run(
        `INSERT INTO leads (site_id, lead_id, stage, stage_at, score_at, mql, mql_at, created_at, updated_at) VALUES ('s', ?, 'seen', 1, 1, ?, ?, 1, 1)`,
        [leadId, mqlAt === null ? 0 : 1, mqlAt],
      );
    }
    await before.close();
    const after = await reopen();
    try {
      const rows = await after.all<{ lead_id: string; m: number | string | null }>('SELECT lead_id, mql_announced_at AS m FROM leads ORDER BY lead_id');
      expect(rows.map((r) => [r.lead_id, r.m === null ? null : Number(r.m)])).toEqual([['l_mql', T0 + 4], ['l_not', null]]);
    } finally {
      await after.close();
    }
  });
});
