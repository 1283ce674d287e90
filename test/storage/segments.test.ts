// Segment membership storage (collector/storage/segments.ts) on every engine: the multi-row writes of live upkeep.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import {
  COUNT_SHARDS, addMemberCounts, deleteMembers, deleteRechecks, deleteSegment, getSegment, insertMembers, insertSegment, insertSegmentChanges,
  listSegments, loadMemberships, loadRechecks, memberKeyId, recountMembers, upsertRechecks, type MemberKey,
} from '../../collector/storage/segments.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

const T0 = 1_760_000_000_000;
// 85 rows cross every chunk size of the multi-row statements (64 + 16 + 4 + 1)
const leads = Array.from({ length: 85 }, (_, i) => `ld_${String(i).padStart(3, '0')}`);

describe.each(ENGINES)('segment membership storage on %s', (engine) => {
  let db: Db;
  const site = () => `site_${randomUUID()}`;
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  const membersOf = async (s: string, key: string) =>
    (await loadMemberships(db, s, [key], leads)).filter((m) => m.segment_key === key).map((m) => m.lead_id).sort();

  test('insertMembers adds in one go and tells which were new; deleteMembers tells which were there', async () => {
    const s = site();
    const first = leads.slice(0, 40).map((leadId): MemberKey => ({ key: 'hot', leadId }));
    expect((await insertMembers(db, s, first, T0)).size).toBe(40);
    const all = leads.map((leadId): MemberKey => ({ key: 'hot', leadId }));
    const added = await insertMembers(db, s, [...all, { key: 'cold', leadId: leads[0] }], T0 + 1);
    expect([...added].sort()).toEqual([...leads.slice(40).map((l) => memberKeyId({ key: 'hot', leadId: l })), memberKeyId({ key: 'cold', leadId: leads[0] })].sort());
    expect(await membersOf(s, 'hot')).toEqual(leads);
    // the first 40 kept the time they entered
    const entered = await db.all<{ lead_id: string; entered_at: number }>('SELECT lead_id, entered_at FROM segment_members WHERE site_id = ? AND segment_key = ?', [s, 'hot']);
    expect(entered.filter((r) => Number(r.entered_at) === T0)).toHaveLength(40);

    const gone = leads.filter((_, i) => i % 2 === 0).map((leadId): MemberKey => ({ key: 'hot', leadId }));
    const removed = await deleteMembers(db, s, [...gone, { key: 'hot', leadId: 'ld_never' }, { key: 'cold', leadId: leads[1] }]);
    expect([...removed].sort()).toEqual(gone.map(memberKeyId).sort());
    expect(await membersOf(s, 'hot')).toEqual(leads.filter((_, i) => i % 2 === 1));
    expect(await membersOf(s, 'cold')).toEqual([leads[0]]);
    expect((await insertMembers(db, s, [], T0)).size).toBe(0);
    expect((await deleteMembers(db, s, [])).size).toBe(0);
  });

  test('another site is never touched', async () => {
    const [a, b] = [site(), site()];
    await insertMembers(db, a, [{ key: 'hot', leadId: leads[0] }], T0);
    expect((await insertMembers(db, b, [{ key: 'hot', leadId: leads[0] }], T0)).size).toBe(1);
    expect((await deleteMembers(db, b, [{ key: 'hot', leadId: leads[0] }])).size).toBe(1);
    expect(await membersOf(a, 'hot')).toEqual([leads[0]]);
  });

  test('upsertRechecks sets and moves due times; deleteRechecks clears them', async () => {
    const s = site();
    await upsertRechecks(db, s, leads.map((l, i) => [l, T0 + i] as const));
    await upsertRechecks(db, s, leads.slice(0, 21).map((l) => [l, T0 - 5] as const));
    await deleteRechecks(db, s, leads.slice(80));
    const due = new Map((await loadRechecks(db, s, leads)).map((r) => [r.lead_id, Number(r.due_at)]));
    expect(due.size).toBe(80);
    expect(due.get(leads[0])).toBe(T0 - 5);
    expect(due.get(leads[20])).toBe(T0 - 5);
    expect(due.get(leads[21])).toBe(T0 + 21);
    expect(due.has(leads[80])).toBe(false);
  });

  test('insertSegmentChanges writes every row of a large batch', async () => {
    const s = site();
    await insertSegmentChanges(db, s, leads.map((leadId, i) => ({ changeId: `c_${i}`, key: 'hot', leadId, kind: i % 3 ? 'entered' : 'exited', at: T0 + i })));
    const rows = await db.all<{ n: number; exited: number }>(
      `SELECT COUNT(*) AS n, SUM(CASE WHEN kind = 'exited' THEN 1 ELSE 0 END) AS exited FROM segment_changes WHERE site_id = ?`, [s]);
    expect(Number(rows[0].n)).toBe(85);
    expect(Number(rows[0].exited)).toBe(29);
  });

  test('member counts: the base plus every shard row; a recount resets them; deleting the segment removes them', async () => {
    const s = site();
    for (const key of ['a', 'b']) await insertSegment(db, { siteId: s, key, name: key, definition: '{}', at: T0 });
    await addMemberCounts(db, s, new Map([['a', 5], ['b', 2]]), 0);
    await addMemberCounts(db, s, new Map([['a', -2], ['b', 0]]), COUNT_SHARDS - 1);
    await addMemberCounts(db, s, new Map([['a', 1]]), 0);
    await addMemberCounts(db, s, new Map(), 3); // nothing to add: no statement
    expect((await listSegments(db, s)).map((x) => [x.key, x.memberCount])).toEqual([['a', 4], ['b', 2]]);
    const rows = await db.all<{ segment_key: string; shard: number; n: number }>(
      'SELECT segment_key, shard, n FROM segment_counts WHERE site_id = ? ORDER BY segment_key, shard', [s]);
    expect(rows.map((r) => [r.segment_key, Number(r.shard), Number(r.n)])).toEqual([['a', 0, 6], ['a', COUNT_SHARDS - 1, -2], ['b', 0, 2]]);

    await insertMembers(db, s, leads.slice(0, 3).map((leadId): MemberKey => ({ key: 'a', leadId })), T0);
    expect(await recountMembers(db, s, 'a')).toBe(3);
    expect((await getSegment(db, s, 'a'))?.memberCount).toBe(3);
    expect((await getSegment(db, s, 'b'))?.memberCount).toBe(2);
    expect(await deleteSegment(db, s, 'b')).toBe(true);
    expect(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM segment_counts WHERE site_id = ? AND segment_key = ?', [s, 'b']))?.n)).toBe(0);
  });

  // The point of the shard rows: two flushes moving the same segment's count do not wait for each other's commit.
  test.runIf(engine === 'pg')('two open transactions add to the same segment on different shards without waiting for each other', async () => {
    const s = site();
    await insertSegment(db, { siteId: s, key: 'hot', name: 'hot', definition: '{}', at: T0 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let firstAdded!: () => void;
    const added = new Promise<void>((r) => (firstAdded = r));
    const first = db.transaction(async (tx) => {
      await addMemberCounts(tx, s, new Map([['hot', 1]]), 0);
      firstAdded();
      await held; // keeps its row lock until released
    });
    await added;
    const second = db.transaction((tx) => addMemberCounts(tx, s, new Map([['hot', 1]]), 1));
    // the second commits while the first still holds shard 0 (with one shared row it would wait here forever)
    await expect(Promise.race([second.then(() => 'committed'), new Promise((r) => setTimeout(() => r('blocked'), 5000))])).resolves.toBe('committed');
    release();
    await first;
    expect((await getSegment(db, s, 'hot'))?.memberCount).toBe(2);
  });
});
