// An address at an international domain is one person whichever spelling a source gives: a CRM writes the domain in
// Unicode (`anna@bücher.example`), a browser's email field in punycode (`anna@xn--bcher-kva.example`). One spelling
// (trimmed, lower-cased, the domain in Unicode) for identity, lookups, exports, erasure and the rows stored before.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { canonicalEmail, emailSpellings } from '../../collector/identity/canonical-email.js';
import { normalizeEmail } from '../../collector/audiences/normalize-email.js';
import { canonicalizeStoredEmails, CANONICAL_EMAILS_STEP } from '../../collector/storage/canonicalize-stored-emails.js';
import { insertTombstones, subjectHash } from '../../collector/storage/erasure-tombstones.js';
import { openDb } from '../../collector/storage/open-db.js';
import type { Db } from '../../collector/storage/db.js';
import type { PgDb } from '../../collector/storage/pg-db.js';
import type { SqliteDb } from '../../collector/storage/sqlite-db.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { MIN } from '../helpers/funnel-factories.js';

// the same address, as a CRM and as a browser give it (punycode of "bücher" worked out per RFC 3492: xn--bcher-kva)
const UNICODE = 'anna@bücher.example';
const PUNYCODE = 'anna@xn--bcher-kva.example';
/** What Google, Meta and LinkedIn ask for before hashing: trimmed, lower-cased, SHA-256 hex of the UTF-8 text. */
const platformHash = (s: string) => createHash('sha256').update(s.trim().toLowerCase(), 'utf8').digest('hex');

describe('canonicalEmail', () => {
  test('both spellings of an international domain, in any case and with spaces, become the Unicode one', () => {
    expect(canonicalEmail(PUNYCODE)).toBe(UNICODE);
    expect(canonicalEmail(' Anna@XN--BCHER-KVA.Example ')).toBe(UNICODE);
    expect(canonicalEmail('ANNA@BÜCHER.EXAMPLE')).toBe(UNICODE);
    // ü typed as u + combining diaeresis, and full-width letters and an ideographic full stop (a CJK input method)
    expect(canonicalEmail('anna@bu\u0308cher.example')).toBe(UNICODE);
    expect(canonicalEmail('anna@ｂüｃｈｅｒ。example')).toBe(UNICODE);
    // a Cyrillic top-level domain
    expect(canonicalEmail('Ivan@XN--80AK6AA92E.xn--p1ai')).toBe('ivan@аррӏе.рф');
  });

  test('the local part stays as written apart from lower-casing; plain addresses are only trimmed and lower-cased', () => {
    expect(canonicalEmail('Ünal.X+Tag@xn--bcher-kva.example')).toBe('ünal.x+tag@bücher.example');
    expect(canonicalEmail('u\u0308nal@example.com')).toBe('u\u0308nal@example.com');
    expect(canonicalEmail('  Bob.Smith@Example.COM ')).toBe('bob.smith@example.com');
    expect(canonicalEmail('sales/emea@example.com')).toBe('sales/emea@example.com');
  });

  test('an invalid domain or no address at all does not throw and is only trimmed and lower-cased', () => {
    expect(canonicalEmail('Anna@XN--A.example')).toBe('anna@xn--a.example');
    expect(canonicalEmail('anna@bü\u200dcher.example')).toBe('anna@bü\u200dcher.example');
    expect(canonicalEmail('anna@[1.2.3.4]')).toBe('anna@[1.2.3.4]');
    expect(canonicalEmail(' No-At-Sign ')).toBe('no-at-sign');
    expect(canonicalEmail('anna@')).toBe('anna@');
    expect(canonicalEmail('')).toBe('');
  });

  test('is idempotent', () => {
    for (const raw of [PUNYCODE, UNICODE, 'anna@xn--a.example', 'anna@ｂüｃｈｅｒ。example', 'x@example.com.', 'Ivan@XN--80AK6AA92E.xn--p1ai']) {
      expect(canonicalEmail(canonicalEmail(raw))).toBe(canonicalEmail(raw));
    }
  });

  test('the spellings an email may have been stored under: itself, and its domain in punycode', () => {
    expect(emailSpellings(UNICODE)).toEqual([UNICODE, PUNYCODE]);
    expect(emailSpellings('bob@example.com')).toEqual(['bob@example.com']);
    expect(emailSpellings('anna@xn--a.example')).toEqual(['anna@xn--a.example']);
  });

  test('the export normalizer gives one address for both spellings, the one a platform hashes from it as written', () => {
    expect(normalizeEmail(' ANNA@XN--BCHER-KVA.EXAMPLE ')).toBe(UNICODE);
    expect(normalizeEmail('Anna@Bücher.example')).toBe(UNICODE);
  });
});

const HOUR = 60 * MIN;
let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
  vi.restoreAllMocks();
});
const journey = async (engine: 'sqlite' | 'pg') => {
  const j = await makeJourneyApp({ engine });
  closers.push(j.close);
  return j;
};
type Journey = Awaited<ReturnType<typeof makeJourneyApp>>;

const leadsWithEmail = async (j: Journey) =>
  j.db.all<{ lead_id: string; email: string }>('SELECT lead_id, email FROM leads WHERE site_id = ? AND email IS NOT NULL ORDER BY lead_id', [j.site.siteId]);
const getLead = (j: Journey, ref: string) => j.app.request('/api/leads/' + encodeURIComponent(ref), { headers: j.auth });
const postEvents = async (j: Journey, body: unknown) => {
  const res = await j.serverEvents(body);
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(202);
  return json as { events?: unknown[]; rejected?: unknown[] };
};

describe.each(ENGINES)('one lead for both spellings on %s', (engine) => {
  test('a form email in punycode, then a CRM event in Unicode: one lead, found by either spelling', async () => {
    const j = await journey(engine);
    const t0 = j.clock.now;
    await j.visit('v_idnform0001', [{ path: '/' }, { n: 'demo_request', f: 'demo', em: PUNYCODE, path: '/demo' }]);
    const formLead = await j.leadOfVisitor('v_idnform0001');
    j.clock.now = t0 + HOUR;
    await postEvents(j, { email: 'Anna@Bücher.example', name: 'demo_completed', at: t0 + HOUR });

    expect(await leadsWithEmail(j)).toEqual([{ lead_id: formLead, email: UNICODE }]);
    for (const ref of [UNICODE, PUNYCODE, ' ANNA@XN--BCHER-KVA.EXAMPLE ']) {
      const res = await getLead(j, ref);
      expect(res.status, ref).toBe(200);
      expect((await res.json()).leadId, ref).toBe(formLead);
    }
    // the CRM event is the form lead's
    const crm = await j.db.get<{ lead_id: string }>('SELECT lead_id FROM events WHERE site_id = ? AND name = ?', [j.site.siteId, 'demo_completed']);
    expect(crm?.lead_id).toBe(formLead);
  });

  test('a CRM lead in Unicode, then a device identifying in punycode, joins it', async () => {
    const j = await journey(engine);
    const t0 = j.clock.now;
    await postEvents(j, { email: UNICODE, name: 'demo_completed', at: t0 - HOUR });
    const [crmLead] = await leadsWithEmail(j);
    await j.visit('v_idnform0002', [{ path: '/pricing' }, { n: 'identify', em: ' Anna@xn--BCHER-kva.example' }], t0 + MIN);
    expect(await j.leadOfVisitor('v_idnform0002')).toBe(crmLead.lead_id);
    expect(await leadsWithEmail(j)).toEqual([crmLead]);
  });

  test('platform exports hash the address as the platforms normalise it, whichever spelling came in', async () => {
    const j = await journey(engine);
    const put = await j.app.request('/api/segments/known', { method: 'PUT', headers: j.auth, body: JSON.stringify({ definition: { identified: true } }) });
    expect(put.status).toBeLessThan(300);
    await j.visit('v_idnform0003', [{ n: 'identify', em: PUNYCODE }]);
    await postEvents(j, { email: 'ivan@XN--80AK6AA92E.xn--p1ai', name: 'demo_completed' });
    const expected = [platformHash(UNICODE), platformHash('ivan@аррӏе.рф')].sort();
    for (const format of ['google', 'meta', 'linkedin']) {
      const res = await j.app.request(`/api/segments/known/members?format=${format}`, { headers: j.auth });
      expect(res.status, format).toBe(200);
      const rows = (await res.text()).trim().split('\n').slice(1);
      expect(rows.map((r) => r.split(',')[0]).sort(), format).toEqual(expected);
    }
  });

  test('erasure by one spelling blocks re-creation by the other', async () => {
    const j = await journey(engine);
    const t0 = j.clock.now;
    await postEvents(j, { email: UNICODE, name: 'demo_completed', at: t0 - 2 * HOUR });
    const erased = await j.app.request('/api/leads/' + encodeURIComponent(PUNYCODE), { method: 'DELETE', headers: j.auth });
    expect(erased.status).toBe(200);
    expect(await leadsWithEmail(j)).toEqual([]);

    // the CRM backfills the deal in punycode, the snippet's outbox resends a form in punycode, both from before the erasure
    const again = await postEvents(j, { email: PUNYCODE, name: 'demo_completed', at: t0 - HOUR });
    expect(again.events ?? []).toEqual([]);
    await j.visit('v_idnform0004', [{ n: 'identify', em: PUNYCODE }], t0 - 30 * MIN);
    await postEvents(j, { email: 'ANNA@BÜCHER.EXAMPLE', name: 'closed_won', at: t0 - 10 * MIN });
    expect(await leadsWithEmail(j)).toEqual([]);
    expect((await getLead(j, UNICODE)).status).toBe(404);
  });

  test('an erasure made before emails had one spelling (its tombstone hashed the punycode) still blocks the Unicode one', async () => {
    const j = await journey(engine);
    const t0 = j.clock.now;
    await insertTombstones(j.db, [{ siteId: j.site.siteId, subjectHash: subjectHash('email', j.site.siteId, PUNYCODE), fromAt: 0, toAt: t0, erasedAt: t0 }]);
    await postEvents(j, { email: UNICODE, name: 'demo_completed', at: t0 - HOUR });
    await j.visit('v_idnform0005', [{ n: 'identify', em: 'Anna@Bücher.example' }], t0 - 30 * MIN);
    expect(await leadsWithEmail(j)).toEqual([]);
    // after the erasure's time, the person is welcome again
    await postEvents(j, { email: UNICODE, name: 'demo_completed', at: t0 + MIN });
    expect((await leadsWithEmail(j)).map((l) => l.email)).toEqual([UNICODE]);
  });
});

/** The same database opened again, the way a restarted collector opens it (migrations, then the data steps). */
const reopen = (db: Db) =>
  db.dialect === 'pg'
    ? openDb({ databaseUrl: (db as PgDb).pool.options.connectionString!, poolSize: 2 })
    : openDb({ databasePath: (db as SqliteDb).raw.name });

describe.each(ENGINES)('emails stored before they had one spelling, on %s', (engine) => {
  test('a restart rewrites them once: leads, identity links and events; the lead is found and joined by both spellings', async () => {
    const j = await journey(engine);
    const t0 = j.clock.now;
    await j.visit('v_idnold00001', [{ path: '/' }, { n: 'identify', em: 'anna@example.org' }]);
    await postEvents(j, { email: 'bob@example.org', name: 'demo_completed', at: t0 });
    const anna = await j.leadOfVisitor('v_idnold00001');
    // as an older collector stored them: the punycode spelling as it came, and a decomposed ü (NFD) as a CRM sent it
    const site = j.site.siteId;
    await j.db.run('UPDATE leads SET email = ? WHERE site_id = ? AND email = ?', [PUNYCODE, site, 'anna@example.org']);
    await j.db.run('UPDATE identity_links SET email = ? WHERE site_id = ? AND email = ?', [PUNYCODE, site, 'anna@example.org']);
    await j.db.run('UPDATE events SET email = ? WHERE site_id = ? AND email = ?', [PUNYCODE, site, 'anna@example.org']);
    await j.db.run('UPDATE leads SET email = ? WHERE site_id = ? AND email = ?', ['bob@bu\u0308cher.example', site, 'bob@example.org']);
    await j.db.run('DELETE FROM data_steps WHERE name = ?', [CANONICAL_EMAILS_STEP]);

    const db2 = await reopen(j.db);
    closers.push(() => db2.close());
    const byLead = Object.fromEntries((await leadsWithEmail(j)).map((l) => [l.lead_id, l.email]));
    expect(byLead[anna]).toBe(UNICODE);
    expect(Object.values(byLead).sort()).toEqual(['anna@bücher.example', 'bob@bücher.example']);
    const links = await j.db.all<{ email: string }>('SELECT email FROM identity_links WHERE site_id = ? AND email IS NOT NULL', [site]);
    expect(links.map((l) => l.email)).toEqual([UNICODE]);
    const events = await j.db.all<{ email: string }>('SELECT email FROM events WHERE site_id = ? AND email IS NOT NULL ORDER BY email', [site]);
    expect(events.map((e) => e.email)).toEqual([UNICODE, 'bob@example.org']);
    // done once: a second restart finds nothing to do
    expect(await canonicalizeStoredEmails(j.db)).toBeNull();

    expect((await (await getLead(j, PUNYCODE)).json()).leadId).toBe(anna);
    expect((await (await getLead(j, UNICODE)).json()).leadId).toBe(anna);
    j.clock.now = t0 + HOUR;
    await postEvents(j, { email: UNICODE, name: 'demo_completed', at: t0 + HOUR });
    expect((await leadsWithEmail(j)).length).toBe(2);
    const crm = await j.db.get<{ lead_id: string }>('SELECT lead_id FROM events WHERE site_id = ? AND at = ?', [site, t0 + HOUR]);
    expect(crm?.lead_id).toBe(anna);
  });

  test('two leads that already hold both spellings stay two leads, logged once by id', async () => {
    const j = await journey(engine);
    const t0 = j.clock.now;
    await postEvents(j, [{ email: UNICODE, name: 'demo_completed', at: t0 }, { email: 'other@example.org', name: 'demo_completed', at: t0 }]);
    const site = j.site.siteId;
    await j.db.run('UPDATE leads SET email = ? WHERE site_id = ? AND email = ?', [PUNYCODE, site, 'other@example.org']);
    const before = await leadsWithEmail(j);
    await j.db.run('DELETE FROM data_steps WHERE name = ?', [CANONICAL_EMAILS_STEP]);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});

    const report = await canonicalizeStoredEmails(j.db);
    const owner = before.find((l) => l.email === UNICODE)!.lead_id;
    const kept = before.find((l) => l.email === PUNYCODE)!.lead_id;
    expect(report?.clashes).toEqual([[site, kept, owner]]);
    expect(await leadsWithEmail(j)).toEqual(before);
    expect(warn).toHaveBeenCalledTimes(1);
    const line = JSON.parse(String(warn.mock.calls[0][0]));
    expect(line).toMatchObject({ level: 'warn', count: 1, leads: [{ siteId: site, oldSpelling: kept, owner }] });
    expect(JSON.stringify(line)).not.toContain('anna@');
    // either spelling finds the lead in the one spelling
    expect((await (await getLead(j, PUNYCODE)).json()).leadId).toBe(owner);
  });
});
