// Erasure as a data-protection auditor sees it: after DELETE /api/leads/{ref}, no table holds the person's email in
// any spelling a sender may have used (upper case, an international domain in either form, a JSON body written with
// \u escapes as Python's json.dumps writes it), and what belongs to other people stays.
// Real databases (a SQLite file, or PostgreSQL with TEST_ENGINE=pg), real HTTP through app.request().
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createApp, type CreatedApp } from '../../collector/app.js';
import { openDb } from '../../collector/storage/open-db.js';
import type { Db } from '../../collector/storage/db.js';
import type { WireEvent } from '../../shared/wire.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { freshPgUrl, tempDir } from '../helpers/test-db.js';
import { T0, makeSite } from './lead-factories.js';

const ENGINE = process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite';
const MIN = 60_000;
const HOUR = 60 * MIN;

let db: Db;
let created: CreatedApp;
let site: Awaited<ReturnType<typeof makeSite>>;
let clock: number;

beforeEach(async () => {
  clock = T0 + 2 * HOUR;
  db = ENGINE === 'pg'
    ? await openDb({ databaseUrl: await freshPgUrl(), poolSize: 4 })
    : await openDb({ databasePath: join(tempDir(), 'test.db') });
  site = await makeSite(db);
  created = createApp({ db, now: () => clock });
});

afterEach(async () => {
  await created.close();
  await db.close();
});

const id = () => (Date.now().toString(36) + randomId(16)).slice(0, 20);

const postBeacon = (v: string, e: WireEvent[]) =>
  created.app.request('/e', {
    method: 'POST',
    body: JSON.stringify({ s: site.siteKey, v, e, t: clock }),
    headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://example.com', 'user-agent': CHROME_UA },
  });

/** A CRM's body sent as the text given (so escapes stay as the CRM wrote them). */
const postServerText = (text: string) =>
  created.app.request('/api/events', { method: 'POST', body: text, headers: { authorization: site.events, 'content-type': 'application/json' } });

const api = (path: string, method = 'GET', auth = site.leadsRead) => created.app.request(path, { method, headers: { authorization: auth } });

/**
 * Every row of every table as text, read as a person would: JSON \u escapes and URL %-escapes decoded, NFC, lower case.
 * That is how an auditor searches for an email: in any spelling it was sent in.
 */
async function everyRowAsRead(): Promise<Array<{ table: string; text: string }>> {
  const tables = await db.all<{ name: string }>(
    db.dialect === 'pg'
      ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
      : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
  );
  const out: Array<{ table: string; text: string }> = [];
  for (const { name } of tables) {
    for (const row of await db.all(`SELECT * FROM "${name}"`)) {
      let text = JSON.stringify(row);
      for (let i = 0; i < 3; i++) {
        text = text.replace(/\\+u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
        text = text.replace(/(%[0-9a-fA-F]{2})+/g, (m) => { try { return decodeURIComponent(m); } catch { return m; } });
      }
      out.push({ table: name, text: text.normalize('NFC').toLowerCase() });
    }
  }
  return out;
}

const page = (path: string, at: number): WireEvent => ({ i: id(), n: 'pageview', t: at, u: 'https://example.com' + path });
const identify = (email: string, at: number): WireEvent => ({ i: id(), n: 'identify', t: at, u: 'https://example.com/signup', em: email });

describe(`erasure leaves no spelling of the email behind (${ENGINE})`, () => {
  test('refused input naming the person in upper case, or an international domain written with \\u escapes, goes with the lead', async () => {
    // Before the people exist: a sales rep looks Ada up as the CRM writes her, and a CRM's refused events name both
    // (an `at` in the future), one as Python's json.dumps writes an international address: "B\u00dcCHER"
    expect((await api('/api/leads/Ada@Example.COM')).status).toBe(404);
    const future = clock + 2 * HOUR;
    expect((await postServerText(`{"email": "Ada@Example.COM", "name": "demo_completed", "at": ${future}}`)).status).toBe(400);
    expect((await postServerText(`{"email": "ANNA@B\\u00dcCHER.example", "name": "demo_completed", "at": ${future}}`)).status).toBe(400);
    expect((await postServerText(`[{"email": "Anna@XN--BCHER-KVA.example", "name": "demo_completed", "at": ${future}}]`)).status).toBe(400);
    // and someone else's refused input, which must stay
    expect((await postServerText(`{"email": "Bob@Example.COM", "name": "demo_completed", "at": ${future}}`)).status).toBe(400);
    const rejectedBefore = Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM rejected_events'))?.n);
    expect(rejectedBefore).toBe(5);

    // then they come: Ada and Anna identify on their laptops (the browser gives Anna's domain in punycode)
    const ada = id();
    const anna = id();
    expect((await postBeacon(ada, [page('/', clock - 20 * MIN), identify('ada@example.com', clock - 19 * MIN)])).status).toBe(202);
    expect((await postBeacon(anna, [page('/', clock - 18 * MIN), identify('anna@xn--bcher-kva.example', clock - 17 * MIN)])).status).toBe(202);
    clock += 10 * MIN;

    expect((await api('/api/leads/ada@example.com', 'DELETE', site.admin)).status).toBe(200);
    expect((await api('/api/leads/' + encodeURIComponent('anna@bücher.example'), 'DELETE', site.admin)).status).toBe(200);

    const needles = ['ada@example.com', 'anna@bücher.example', 'anna@xn--bcher-kva.example', ada, anna];
    const left = (await everyRowAsRead()).filter(({ text }) => needles.some((n) => text.includes(n.toLowerCase())));
    expect(left).toEqual([]);
    // Bob's refused event is still there, as he sent it
    const bob = await db.all<{ raw: string }>('SELECT raw FROM rejected_events');
    expect(bob.map((r) => r.raw)).toEqual([`{"email": "Bob@Example.COM", "name": "demo_completed", "at": ${future}}`]);
  });
});

describe(`erasure of a device's later lead (${ENGINE})`, () => {
  const profile = async (ref: string) => {
    const res = await api('/api/leads/' + encodeURIComponent(ref));
    return res.status === 200 ? await res.json() : res.status;
  };
  const leadIdOf = async (email: string) => (await db.get<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND email = ?', [site.siteId, email]))?.lead_id;
  const eventLead = async (eventId: string) => (await db.get<{ lead_id: string | null }>('SELECT lead_id FROM events WHERE site_id = ? AND event_id = ?', [site.siteId, eventId]))?.lead_id;


  test('A then B on one device, B erased: A keeps its period, a late page of A’s period still reaches A, and the device starts afresh', async () => {
    const device = id();
    const aEvents = [page('/a-landing', clock - 60 * MIN), identify('amy@example.com', clock - 59 * MIN), page('/a-pricing', clock - 58 * MIN)];
    const bEvents = [identify('ben@example.com', clock - 30 * MIN), page('/b-docs', clock - 29 * MIN)];
    expect((await postBeacon(device, aEvents)).status).toBe(202);
    expect((await postBeacon(device, bEvents)).status).toBe(202);
    const amy = (await leadIdOf('amy@example.com'))!;
    const ben = (await leadIdOf('ben@example.com'))!;
    expect(amy && ben && amy !== ben).toBeTruthy();

    clock += 10 * MIN;
    const res = await api('/api/leads/ben@example.com', 'DELETE', site.admin);
    expect(res.status).toBe(200);
    expect((await res.json()).erased).toMatchObject({ events: 2, visitors: 0, leads: 1 });
    // Amy's three events stay hers; the device's row points at no lead (its current one was Ben)
    for (const e of aEvents) expect(await eventLead(e.i)).toBe(amy);
    const row = await db.get<{ lead_id: string | null; event_count: number; last_seen: number }>(
      'SELECT lead_id, event_count, last_seen FROM visitors WHERE site_id = ? AND visitor_id = ?', [site.siteId, device],
    );
    expect(row?.lead_id ?? null).toBeNull();
    expect(Number(row?.event_count)).toBe(3);
    expect(Number(row?.last_seen)).toBe(aEvents[2].t);

    // a page of Amy's period that the outbox held back arrives now: it is Amy's (her period is not tombstoned)
    clock += MIN;
    const lateA = page('/a-late', clock - 11 * MIN - 57 * MIN);
    const fresh = page('/after', clock - 1000); // after the erasure (a page at its very millisecond would be dropped)
    const again = await postBeacon(device, [...bEvents, lateA, fresh]);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ accepted: 2 });
    expect(await eventLead(lateA.i)).toBe(amy);
    // the page after the erasure: a new anonymous lead, neither Amy nor Ben
    const after = await eventLead(fresh.i);
    expect(after).toBeTruthy();
    expect(after).not.toBe(amy);
    expect(after).not.toBe(ben);
    const now = await profile(device);
    expect(now.email).toBeNull();
    expect(now.leadId).toBe(after);
    expect((await profile(amy)).email).toBe('amy@example.com');
    expect(await profile(ben)).toBe(404);
  });

  test('A, then B, then A again on one device, A erased: B keeps its middle period, and nothing of A is left', async () => {
    const device = id();
    const a1 = [page('/a1', clock - 90 * MIN), identify('amy@example.com', clock - 89 * MIN)];
    const b = [identify('ben@example.com', clock - 60 * MIN), page('/b', clock - 59 * MIN)];
    const a2 = [identify('amy@example.com', clock - 30 * MIN), page('/a2', clock - 29 * MIN)];
    for (const batch of [a1, b, a2]) expect((await postBeacon(device, batch)).status).toBe(202);
    const ben = (await leadIdOf('ben@example.com'))!;
    const amy = (await leadIdOf('amy@example.com'))!;
    clock += 10 * MIN;
    const res = await api('/api/leads/amy@example.com', 'DELETE', site.admin);
    expect(res.status).toBe(200);
    expect((await res.json()).erased).toMatchObject({ events: 4, visitors: 0, leads: 1 });
    for (const e of b) expect(await eventLead(e.i)).toBe(ben);
    for (const e of [...a1, ...a2]) expect(await eventLead(e.i)).toBeUndefined();
    const row = await db.get<Record<string, unknown>>('SELECT * FROM visitors WHERE site_id = ? AND visitor_id = ?', [site.siteId, device]);
    expect(row?.lead_id ?? null).toBeNull(); // its current lead was Amy: it starts afresh, never falls back to Ben
    expect(Number(row?.event_count)).toBe(2);
    expect(Number(row?.first_seen)).toBe(b[0].t);
    expect(Number(row?.last_seen)).toBe(b[1].t);
    expect(row?.first_touch ?? null).toBeNull();
    const left = (await everyRowAsRead()).filter(({ text }) => ['amy@example.com', amy, '/a1', '/a2'].some((n) => text.includes(n.toLowerCase())));
    expect(left).toEqual([]);
    // Amy's two outboxes again: dropped; Ben's: duplicates
    clock += MIN;
    const again = await postBeacon(device, [...a1, ...b, ...a2]);
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(await leadIdOf('amy@example.com')).toBeUndefined();
    expect((await profile(ben)).email).toBe('ben@example.com');
  });
});

describe(`what comes again in another spelling (${ENGINE})`, () => {
  test('a CRM backfill and a new device naming the erased email in upper case or punycode, dated before the erasure, are dropped', async () => {
    const laptop = id();
    expect((await postBeacon(laptop, [page('/', clock - 30 * MIN), identify('anna@bücher.example', clock - 29 * MIN)])).status).toBe(202);
    clock += 10 * MIN;
    const erasedAt = clock;
    expect((await api('/api/leads/' + encodeURIComponent('Anna@BÜCHER.example'), 'DELETE', site.admin)).status).toBe(200);
    clock += 10 * MIN;
    const backfill = await postServerText(JSON.stringify([
      { id: 'old-1', email: 'ANNA@BÜCHER.EXAMPLE', name: 'closed_won', at: erasedAt - 5 * MIN },
      { id: 'old-2', email: 'Anna@XN--BCHER-KVA.example', name: 'closed_won', at: erasedAt - 4 * MIN },
    ]));
    expect(backfill.status).toBe(202);
    expect(await backfill.json()).toEqual({ accepted: 0, duplicates: 0, events: [] });
    // her phone's outbox: it identified with her address as the browser gives it, before the erasure
    const phone = id();
    const res = await postBeacon(phone, [page('/m', erasedAt - 3 * MIN), identify(' Anna@xn--bcher-kva.EXAMPLE ', erasedAt - 2 * MIN)]);
    expect(res.status).toBe(202);
    expect(await db.get('SELECT lead_id FROM leads WHERE site_id = ? AND email IS NOT NULL', [site.siteId])).toBeUndefined();
    expect(await db.get("SELECT event_id FROM events WHERE site_id = ? AND email IS NOT NULL", [site.siteId])).toBeUndefined();
    expect(created.deps.metrics.value('funnelbeam_events_erased_total')).toBeGreaterThanOrEqual(3);
  });
});

describe(`erasure takes no one else's rows (${ENGINE})`, () => {
  test('queued deliveries and refused input of mada@example.com and ada@example.com.au stay when ada@example.com is erased', async () => {
    const { insertWebhookIfNew } = await import('../../collector/storage/webhooks.js');
    // a CRM webhook: its delivery log (and what waits for a retry) is the other leads' as much as the timeline
    await insertWebhookIfNew(db, {
      siteId: site.siteId, webhookId: 'wh_crm', url: 'http://127.0.0.1:9/hook', secret: 'whsec_test_0123456789abcdef',
      events: ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'], active: true, createdAt: clock, updatedAt: clock,
    });
    const people = { ada: 'ada@example.com', mada: 'mada@example.com', au: 'ada@example.com.au' };
    for (const [name, email] of Object.entries(people)) {
      const v = `dev-${name}-${id()}`;
      expect((await postBeacon(v, [page('/', clock - 20 * MIN), identify(email, clock - 19 * MIN), page('/pricing', clock - 18 * MIN)])).status).toBe(202);
      // and a refused CRM event of each (an `at` in the future)
      expect((await postServerText(JSON.stringify({ email, name: 'demo_completed', at: clock + 2 * 60 * MIN }))).status).toBe(400);
    }
    const leadOf = async (email: string) => (await db.get<{ lead_id: string }>('SELECT lead_id FROM leads WHERE site_id = ? AND email = ?', [site.siteId, email]))!.lead_id;
    const others = [await leadOf(people.mada), await leadOf(people.au)];
    const payloadsOf = async (leadId: string) =>
      (await db.all<{ payload: string }>('SELECT payload FROM webhook_deliveries WHERE site_id = ?', [site.siteId])).filter((r) => r.payload.includes(`"${leadId}"`)).length;
    const before = await Promise.all(others.map(payloadsOf));
    expect(before[0]).toBeGreaterThan(0);
    expect(before[1]).toBeGreaterThan(0);

    clock += 10 * MIN;
    expect((await api('/api/leads/ada@example.com', 'DELETE', site.admin)).status).toBe(200);
    expect(await Promise.all(others.map(payloadsOf))).toEqual(before);
    const refused = (await db.all<{ raw: string }>('SELECT raw FROM rejected_events WHERE site_id = ?', [site.siteId])).map((r) => JSON.parse(r.raw).email).sort();
    expect(refused).toEqual([people.au, people.mada].sort());
  });
});

describe(`erasure matches whole ids (${ENGINE})`, () => {
  test('a CRM-named device "v1" of the erased lead takes no refused input of device "v10" or "v1x" with it', async () => {
    expect((await postServerText(JSON.stringify({ visitorId: 'v1', email: 'ada@example.com', name: 'signup', at: clock - 10 * MIN }))).status).toBe(202);
    for (const v of ['v10', 'v1x', 'v1']) {
      expect((await postServerText(JSON.stringify({ visitorId: v, name: 'demo_completed', at: clock + 2 * 60 * MIN }))).status).toBe(400);
    }
    clock += MIN;
    expect((await api('/api/leads/ada@example.com', 'DELETE', site.admin)).status).toBe(200);
    const left = (await db.all<{ raw: string }>('SELECT raw FROM rejected_events WHERE site_id = ?', [site.siteId])).map((r) => JSON.parse(r.raw).visitorId).sort();
    expect(left).toEqual(['v10', 'v1x']);
  });
});
