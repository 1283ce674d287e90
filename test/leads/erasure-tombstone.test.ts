// An erased lead stays erased: what its devices' outboxes and a CRM send again, dated before the erasure, is answered
// 202 and stored nowhere (erasure tombstones); a device shared with another lead keeps nothing of the erased one.
// Real databases (a SQLite file, or PostgreSQL with TEST_ENGINE=pg), real HTTP through app.request().
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createApp, type CreatedApp } from '../../collector/app.js';
import { openDb } from '../../collector/storage/open-db.js';
import type { Db } from '../../collector/storage/db.js';
import type { WireEvent } from '../../shared/wire.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { freshPgUrl, tempDir } from '../helpers/test-db.js';
import { purgeExpired } from '../../collector/hardening/retention-purge.js';
import { subjectHash } from '../../collector/storage/erasure-tombstones.js';
import pg from 'pg';
import { T0, makeSite } from './lead-factories.js';

const ENGINE = process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite';
const MIN = 60_000;
const HOUR = 60 * MIN;

let openDatabase: () => Promise<Db>;
let pgUrl: string;
let db: Db;
let created: CreatedApp;
let site: Awaited<ReturnType<typeof makeSite>>;
let clock: number;
/** everything opened by a test, closed after it (apps first) */
let toClose: Array<() => Promise<void>>;

async function startCollector(on: Db): Promise<CreatedApp> {
  const app = createApp({ db: on, now: () => clock });
  toClose.unshift(() => app.close());
  return app;
}

async function openMore(): Promise<Db> {
  const more = await openDatabase();
  toClose.push(() => more.close());
  return more;
}

beforeEach(async () => {
  toClose = [];
  clock = T0 + 2 * HOUR;
  if (ENGINE === 'pg') {
    const url = (pgUrl = await freshPgUrl());
    openDatabase = () => openDb({ databaseUrl: url, poolSize: 4 });
  } else {
    const path = join(tempDir(), 'test.db');
    openDatabase = () => openDb({ databasePath: path });
  }
  db = await openMore();
  site = await makeSite(db);
  created = await startCollector(db);
});

afterEach(async () => {
  for (const close of toClose) await close();
});

const id = () => (Date.now().toString(36) + randomId(16)).slice(0, 20);

/** A beacon as the snippet sends it: its events as they sit in the outbox, stamped with the device's clock now. */
const postBeacon = (app: CreatedApp, v: string, e: WireEvent[]) =>
  app.app.request('/e', {
    method: 'POST',
    body: JSON.stringify({ s: site.siteKey, v, e, t: clock }),
    headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://example.com', 'user-agent': CHROME_UA },
  });

const postServerEvents = (app: CreatedApp, body: unknown) =>
  app.app.request('/api/events', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { authorization: site.events, 'content-type': 'application/json' },
  });

const erase = (app: CreatedApp, ref: string) =>
  app.app.request(`/api/leads/${encodeURIComponent(ref)}`, { method: 'DELETE', headers: { authorization: site.admin } });

const profile = (app: CreatedApp, ref: string) =>
  app.app.request(`/api/leads/${encodeURIComponent(ref)}`, { headers: { authorization: site.leadsRead } });

const page = (path: string, at: number, extra: Partial<WireEvent> = {}): WireEvent => ({ i: id(), n: 'pageview', t: at, u: 'https://example.com' + path, ...extra });
const identify = (email: string, at: number, path = '/signup'): WireEvent => ({ i: id(), n: 'identify', t: at, u: 'https://example.com' + path, em: email });

async function count(sql: string, params: unknown[]): Promise<number> {
  return Number((await db.get<{ n: number }>(sql, params))?.n ?? 0);
}
const eventsOf = (visitors: string[]) =>
  count(`SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND visitor_id IN (${visitors.map(() => '?').join(', ')})`, [site.siteId, ...visitors]);
const visitorsOf = (visitors: string[]) =>
  count(`SELECT COUNT(*) AS n FROM visitors WHERE site_id = ? AND visitor_id IN (${visitors.map(() => '?').join(', ')})`, [site.siteId, ...visitors]);
const leadOfEmail = async (email: string) =>
  (await db.get<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND email = ?', [site.siteId, email]))?.lead_id;

/** Every row of every table, as text. */
async function everyRow(): Promise<Array<{ table: string; text: string }>> {
  const tables = await db.all<{ name: string }>(
    db.dialect === 'pg'
      ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
      : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
  );
  const out: Array<{ table: string; text: string }> = [];
  for (const { name } of tables) for (const row of await db.all(`SELECT * FROM "${name}"`)) out.push({ table: name, text: JSON.stringify(row) });
  return out;
}

const ADA = 'ada@example.com';

/** Ada on a laptop (landing with a campaign, identify, pricing) and a phone (a view, identify): one lead. */
async function adaOnTwoDevices(app = created) {
  const laptop = id();
  const phone = id();
  const laptopEvents = [
    page('/landing', clock - 50 * MIN, { st: { utm_campaign: 'ada-spring', url: 'https://example.com/landing?utm_campaign=ada-spring' }, ft: { utm_campaign: 'ada-spring', url: 'https://example.com/landing?utm_campaign=ada-spring' } }),
    identify(ADA, clock - 40 * MIN),
    { i: id(), n: 'newsletter_signup', t: clock - 35 * MIN, u: 'https://example.com/newsletter' },
    page('/pricing', clock - 30 * MIN),
  ];
  const phoneEvents = [page('/blog/ada-private-post', clock - 20 * MIN), identify(ADA, clock - 10 * MIN, '/webinar')];
  expect((await postBeacon(app, laptop, laptopEvents)).status).toBe(202);
  expect((await postBeacon(app, phone, phoneEvents)).status).toBe(202);
  const leadId = await leadOfEmail(ADA);
  expect(leadId).toBeDefined();
  expect(await eventsOf([laptop, phone])).toBe(6);
  return { laptop, phone, laptopEvents, phoneEvents, leadId: leadId! };
}

describe(`erasure tombstones (${ENGINE})`, () => {
  test('the outboxes of an erased lead’s two devices, resent as they were, are answered 202 and stored nowhere', async () => {
    const ada = await adaOnTwoDevices();
    clock += 10 * MIN;
    const res = await erase(created, ADA);
    expect(res.status).toBe(200);
    // tombstones: two devices, the email, the lead id and the phone's anonymous lead id merged into it
    expect((await res.json()).erased).toMatchObject({ events: 6, visitors: 2, leads: 1, tombstones: 5 });

    clock += 10 * MIN;
    const laptopAgain = await postBeacon(created, ada.laptop, ada.laptopEvents);
    const phoneAgain = await postBeacon(created, ada.phone, ada.phoneEvents);
    expect(laptopAgain.status).toBe(202);
    expect(phoneAgain.status).toBe(202);
    expect(await laptopAgain.json()).toMatchObject({ accepted: 0, duplicates: 0 });
    expect(await phoneAgain.json()).toMatchObject({ accepted: 0, duplicates: 0 });

    expect(await eventsOf([ada.laptop, ada.phone])).toBe(0);
    expect(await visitorsOf([ada.laptop, ada.phone])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM leads WHERE site_id = ?', [site.siteId])).toBe(0);
    // nothing of Ada anywhere, the tombstones included (they hold hashes only)
    const needles = [ADA, ada.leadId, ada.laptop, ada.phone, 'ada-spring', 'ada-private-post'];
    for (const { table, text } of await everyRow()) for (const n of needles) expect(text.includes(n), `${table} holds ${n}: ${text}`).toBe(false);
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(6);
    expect(created.deps.metrics.value('funnelbeam_events_duplicate_total')).toBe(0);
    const metrics = await (await created.app.request('/metrics')).text();
    expect(metrics).toContain('# TYPE funnelbeam_events_erased_total counter');
    expect(metrics).toMatch(/^funnelbeam_events_erased_total 6$/m);
    // (these 404s keep the refused refs in the rejected store, as every refused API request does)
    expect((await profile(created, ADA)).status).toBe(404);
    expect((await profile(created, ada.laptop)).status).toBe(404);
    expect((await profile(created, ada.leadId)).status).toBe(404);
    expect(await count('SELECT COUNT(*) AS n FROM erasure_tombstones WHERE site_id = ?', [site.siteId])).toBe(5);
  });

  test('an outbox resent after 7 days (its events too old to store) leaves nothing in the rejected store either', async () => {
    const ada = await adaOnTwoDevices();
    clock += 10 * MIN;
    expect((await erase(created, ADA)).status).toBe(200);
    clock += 8 * 24 * HOUR;
    const later = page('/pricing', clock - MIN);
    const res = await postBeacon(created, ada.laptop, [...ada.laptopEvents, later]);
    expect(res.status).toBe(202);
    // the old events are refused as too old in the answer, as any would be, but kept nowhere: they are the erased lead's
    expect((await res.json()).rejected).toHaveLength(ada.laptopEvents.length);
    const needles = [ADA, ada.leadId, ada.laptop, 'ada-spring'];
    for (const { table, text } of await everyRow()) {
      if (table === 'events' || table === 'visitors' || table === 'identity_links' || table === 'leads') continue; // the new visit's own rows
      for (const n of needles) expect(text.includes(n), `${table} holds ${n}: ${text}`).toBe(false);
    }
    expect(await count("SELECT COUNT(*) AS n FROM rejected_events WHERE site_id = ?", [site.siteId])).toBe(0);
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(ada.laptopEvents.length);
    // the device's new visit is a new anonymous lead, under an id of its own: the erased lead's id names nothing again
    const now = await (await profile(created, ada.laptop)).json();
    expect(now).toMatchObject({ email: null, stage: 'consideration' }); // its pricing view
    expect(now.leadId).not.toBe(ada.leadId);
    expect((await profile(created, ada.leadId)).status).toBe(404);
  });

  test('a device’s events made after the erasure make a new anonymous lead without the old email', async () => {
    const ada = await adaOnTwoDevices();
    clock += 10 * MIN;
    const erasedAt = clock;
    expect((await erase(created, ADA)).status).toBe(200);

    clock += 45 * MIN;
    // the old outbox and a new view in one beacon: only the new one is stored
    const fresh = page('/docs', clock - MIN);
    const res = await postBeacon(created, ada.laptop, [...ada.laptopEvents, fresh]);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    const rows = await db.all<{ event_id: string; at: number }>('SELECT event_id, at FROM events WHERE site_id = ? AND visitor_id = ?', [site.siteId, ada.laptop]);
    expect(rows.map((r) => r.event_id)).toEqual([fresh.i]);
    expect(Number(rows[0].at)).toBeGreaterThan(erasedAt);
    const visitor = await db.get<{ first_seen: number; first_touch: string | null }>(
      'SELECT first_seen, first_touch FROM visitors WHERE site_id = ? AND visitor_id = ?', [site.siteId, ada.laptop],
    );
    expect(Number(visitor?.first_seen)).toBe(Number(rows[0].at));

    const res2 = await profile(created, ada.laptop);
    expect(res2.status).toBe(200);
    const lead = await res2.json();
    expect(lead.email).toBeNull();
    expect(lead.stage).toBe('awareness');
    expect(lead.visitorIds).toEqual([ada.laptop]);
    expect(await leadOfEmail(ADA)).toBeUndefined();
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(4);
  });

  test('server events of an erased lead dated before its erasure are dropped, by visitorId and by email; later ones are a new start', async () => {
    const ada = await adaOnTwoDevices();
    clock += 10 * MIN;
    const erasedAt = clock;
    expect((await erase(created, ADA)).status).toBe(200);
    clock += HOUR;

    // a CRM backfill of old deals: by the lead id (gone: dropped, not refused), the device, the email, both
    const old = await postServerEvents(created, [
      { id: 'crm-0', leadId: ada.leadId, name: 'proposal_sent', at: erasedAt - 2 * HOUR },
      { id: 'crm-1', visitorId: ada.laptop, name: 'demo_completed', at: erasedAt - HOUR },
      { id: 'crm-2', email: ADA, name: 'closed_won', at: new Date(erasedAt - MIN).toISOString() },
      { id: 'crm-3', visitorId: ada.phone, email: ADA, name: 'sales_accepted', at: erasedAt },
    ]);
    expect(old.status).toBe(202);
    expect(await old.json()).toEqual({ accepted: 0, duplicates: 0, events: [] });
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND event_id LIKE 'srv:crm-%'", [site.siteId])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM leads WHERE site_id = ?', [site.siteId])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM identity_links WHERE site_id = ?', [site.siteId])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM rejected_events WHERE site_id = ?', [site.siteId])).toBe(0);
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(4);

    // after the erasure: the device is a new anonymous lead, the email a new lead, neither with anything old
    const later = await postServerEvents(created, [
      { id: 'crm-4', visitorId: ada.laptop, name: 'demo_completed', at: erasedAt + MIN },
      { id: 'crm-5', email: ADA, name: 'demo_completed' },
    ]);
    expect(later.status).toBe(202);
    const body = await later.json();
    expect(body).toMatchObject({ accepted: 2, duplicates: 0 });
    const byEmail = await leadOfEmail(ADA);
    expect(byEmail).toBeDefined();
    expect(byEmail).not.toBe(ada.leadId);
    const events = await db.all<{ event_id: string }>('SELECT event_id FROM events WHERE site_id = ? AND lead_id = ?', [site.siteId, byEmail!]);
    expect(events.map((e) => e.event_id)).toEqual(['srv:crm-5']);
    const deviceLead = await (await profile(created, ada.laptop)).json();
    expect(deviceLead.email).toBeNull();
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(4);

    // the old lead id, dated before the erasure, reaches nothing, whatever lead the id may name now
    const byOldId = await postServerEvents(created, { id: 'crm-6', leadId: ada.leadId, name: 'closed_won', at: erasedAt - HOUR });
    expect(byOldId.status).toBe(202);
    expect(await byOldId.json()).toEqual({ accepted: 0, duplicates: 0, events: [] });
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE site_id = ? AND event_id = 'srv:crm-6'", [site.siteId])).toBe(0);
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(5);
  });

  test('a device shared with another live lead points at it and keeps nothing of the erased one; only the erased period is tombstoned', async () => {
    const device = id();
    const ft = { utm_campaign: 'grace-campaign', url: 'https://example.com/grace-landing?utm_campaign=grace-campaign' };
    // Grace first, then Bob on the same device, each in a session of their own
    const graceEvents = [page('/grace-landing', clock - 3 * HOUR, { ft, st: ft }), identify('grace@example.com', clock - 3 * HOUR + MIN, '/grace-form')];
    const bobEvents = [
      { ...identify('bob@example.com', clock - HOUR, '/bob-form'), ft, st: { utm_campaign: 'bob-campaign' } },
      page('/bob-page', clock - HOUR + MIN),
      page('/bob-pricing', clock - HOUR + 2 * MIN),
    ];
    expect((await postBeacon(created, device, graceEvents)).status).toBe(202);
    expect((await postBeacon(created, device, bobEvents)).status).toBe(202);
    const grace = (await leadOfEmail('grace@example.com'))!;
    const bob = (await leadOfEmail('bob@example.com'))!;
    expect(grace).toBeDefined();
    expect(bob).toBeDefined();
    expect(grace).not.toBe(bob);

    clock += 10 * MIN;
    const res = await erase(created, 'grace@example.com');
    expect(res.status).toBe(200);
    // tombstones: Grace's two periods on the device (anonymous, then identified), her email and lead id
    expect((await res.json()).erased).toMatchObject({ events: 2, visitors: 0, leads: 1, tombstones: 4 });

    const row = await db.get<Record<string, unknown>>('SELECT * FROM visitors WHERE site_id = ? AND visitor_id = ?', [site.siteId, device]);
    const bobRows = await db.all<{ at: number }>('SELECT at FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at', [site.siteId, device]);
    expect(bobRows).toHaveLength(3);
    expect(row?.lead_id).toBe(bob);
    expect(Number(row?.first_seen)).toBe(Number(bobRows[0].at));
    expect(Number(row?.last_seen)).toBe(Number(bobRows[2].at));
    expect(Number(row?.event_count)).toBe(3);
    expect(Number(row?.session_count)).toBe(1);
    for (const n of ['grace', grace]) expect(JSON.stringify(row).includes(n), `visitors row holds ${n}: ${JSON.stringify(row)}`).toBe(false);
    for (const { table, text } of await everyRow()) {
      for (const n of ['grace@example.com', grace, 'grace-form']) expect(text.includes(n), `${table} holds ${n}: ${text}`).toBe(false);
    }
    const bobProfile = await (await profile(created, device)).json();
    expect(bobProfile.email).toBe('bob@example.com');

    // Grace's outbox is dropped; Bob's comes through: his stored events as duplicates, one that never arrived stored
    clock += 10 * MIN;
    const late = page('/bob-late', clock - 40 * MIN);
    expect((await postBeacon(created, device, graceEvents)).status).toBe(202);
    const again = await postBeacon(created, device, [...bobEvents, late]);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ accepted: 1, duplicates: 3 });
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(2);
    const stored = await db.get<{ lead_id: string }>('SELECT lead_id FROM events WHERE site_id = ? AND event_id = ?', [site.siteId, late.i]);
    expect(stored?.lead_id).toBe(bob);
    expect(await eventsOf([device])).toBe(4);
    expect(await leadOfEmail('grace@example.com')).toBeUndefined();
  });

  test('tombstones outlive a collector restart', async () => {
    const ada = await adaOnTwoDevices();
    clock += 10 * MIN;
    expect((await erase(created, ADA)).status).toBe(200);

    // the collector stops; a new process on the same database, with no memory of the erasure
    await created.close();
    await db.close();
    toClose = [];
    db = await openMore();
    const restarted = await startCollector(db);
    clock += 10 * MIN;
    expect((await postBeacon(restarted, ada.laptop, ada.laptopEvents)).status).toBe(202);
    expect((await postBeacon(restarted, ada.phone, ada.phoneEvents)).status).toBe(202);
    expect(await eventsOf([ada.laptop, ada.phone])).toBe(0);
    expect(await leadOfEmail(ADA)).toBeUndefined();
    expect(restarted.deps.metrics.value('funnelbeam_events_erased_total')).toBe(6);
  });

  test('a collector that did not erase drops the resent events too, although it saw the devices before', async () => {
    // two collectors on one database (PostgreSQL: scale-out; SQLite: two processes on one file)
    const other = await startCollector(await openMore());
    const ada = await adaOnTwoDevices(other);
    clock += 10 * MIN;
    expect((await erase(created, ADA)).status).toBe(200);
    clock += 10 * MIN;
    expect((await postBeacon(other, ada.laptop, ada.laptopEvents)).status).toBe(202);
    expect((await postBeacon(other, ada.phone, [...ada.phoneEvents, page('/after', clock - MIN)])).status).toBe(202);
    expect(await eventsOf([ada.laptop])).toBe(0);
    expect(await eventsOf([ada.phone])).toBe(1);
    expect(await leadOfEmail(ADA)).toBeUndefined();
    expect(other.deps.metrics.value('funnelbeam_events_erased_total')).toBe(6);
  });

  test('a later erasure’s catalog sweep keeps the tombstones of an earlier one', async () => {
    const ada = await adaOnTwoDevices();
    const bea = id();
    expect((await postBeacon(created, bea, [page('/x', clock - MIN), identify('bea@example.com', clock - 30_000)])).status).toBe(202);
    clock += 10 * MIN;
    expect((await erase(created, ADA)).status).toBe(200);
    const tombstones = await db.all('SELECT * FROM erasure_tombstones ORDER BY subject_hash, from_at');
    expect(tombstones).toHaveLength(5);

    const res = await erase(created, 'bea@example.com');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.erased.other).toEqual({});
    const after = await db.all('SELECT * FROM erasure_tombstones ORDER BY subject_hash, from_at');
    expect(after).toHaveLength(8);
    expect(after).toEqual(expect.arrayContaining(tombstones));

    clock += 10 * MIN;
    expect((await postBeacon(created, ada.laptop, ada.laptopEvents)).status).toBe(202);
    expect(await eventsOf([ada.laptop, bea])).toBe(0);
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(4);
  });

  test('the retention sweep deletes tombstones older than RETENTION_DAYS, and keeps newer ones', async () => {
    await adaOnTwoDevices();
    clock += 10 * MIN;
    expect((await erase(created, ADA)).status).toBe(200);
    const days = created.deps.config.RETENTION_DAYS;
    expect(days).toBeGreaterThan(7);
    clock += (days - 1) * 24 * HOUR;
    await purgeExpired(created.deps);
    expect(await count('SELECT COUNT(*) AS n FROM erasure_tombstones', [])).toBe(5);
    clock += 2 * 24 * HOUR;
    await purgeExpired(created.deps);
    expect(await count('SELECT COUNT(*) AS n FROM erasure_tombstones', [])).toBe(0);
  });

  test.runIf(ENGINE === 'pg')('on PostgreSQL a flush that meets an erasure under way on another collector waits for it, then drops its events', async () => {
    const visitor = id();
    const event = page('/x', clock - MIN);
    // another collector's erasure, caught between its tombstone and its commit
    const other = new pg.Client({ connectionString: pgUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      // the lock an erasure holds (erasure-tombstones.ts TOMBSTONE_LOCK), then its tombstone, not yet committed
      await other.query('SELECT pg_advisory_xact_lock(7262003)');
      await other.query('INSERT INTO erasure_tombstones (site_id, subject_hash, from_at, to_at, erased_at) VALUES ($1, $2, 0, $3, $3)', [
        site.siteId, subjectHash('visitor', site.siteId, visitor), clock,
      ]);
      let answered = false;
      const res = Promise.resolve(postBeacon(created, visitor, [event])).then((r) => ((answered = true), r));
      await new Promise((r) => setTimeout(r, 300));
      expect(answered).toBe(false);
      await other.query('COMMIT');
      expect((await res).status).toBe(202);
    } finally {
      await other.end();
    }
    expect(await eventsOf([visitor])).toBe(0);
    expect(await visitorsOf([visitor])).toBe(0);
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBe(1);
  });
});
