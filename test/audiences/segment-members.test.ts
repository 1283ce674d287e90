import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import type { Db } from '../../collector/storage/db.js';
import { createLog } from '../../collector/ops/log.js';
import { exportAudience } from '../../collector/audiences/export-audience.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';
import { addMembers, makeLead, makeManyMembers, makeSegment, makeSiteWithKey, makeVisitor, T0 } from './fixtures.js';
import { parseCsv } from './rfc4180.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const quietLog = createLog('error', () => {});

describe.each(ENGINES)('GET /api/segments/{key}/members on %s', (engine) => {
  let db: Db;
  let app: ReturnType<typeof createApp>['app'];
  let site: Awaited<ReturnType<typeof makeSiteWithKey>>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(engine);
    // the app reads the clock the fixtures wrote with: a score stored at T0 is worth the same at T0 (it decays after)
    const created = createApp({ db, log: quietLog, now: () => T0 });
    await created.close(); // stop background services; requests still work
    app = created.app;
    site = await makeSiteWithKey(db);
    const s = site.siteId;
    await makeSegment(db, s, 'hot');
    await makeSegment(db, s, 'customers');
    ids.john = await makeLead(db, s, {
      email: 'John.Smith@Example.com',
      stage: 'intent',
      score: 42,
      traits: { phone: '(650) 555-1234', firstName: 'John', lastName: 'Smith', country: 'US', zip: '94043', city: 'St. Louis', state: 'MO', company: '=HYPERLINK("http://x")', jobTitle: 'CTO, "Tech"' },
    });
    ids.anon = await makeLead(db, s, { email: null, stage: 'consideration', score: 5 });
    ids.optedOut = await makeLead(db, s, { email: 'out@example.com', optedOut: true });
    ids.buyer = await makeLead(db, s, { email: 'buyer@example.com', stage: 'purchase' });
    ids.customer = await makeLead(db, s, { email: 'customer@example.com', stage: 'evaluation' });
    ids.bot = await makeLead(db, s, { email: 'bot@example.com', isBot: true });
    ids.outsider = await makeLead(db, s, { email: 'not-in-segment@example.com' });
    await addMembers(db, s, 'hot', [ids.john, ids.anon, ids.optedOut, ids.buyer, ids.customer, ids.bot]);
    await addMembers(db, s, 'customers', [ids.customer]);
    await makeVisitor(db, s, ids.john, 'v_old_laptop', T0);
    await makeVisitor(db, s, ids.john, 'v_new_phone', T0 + 60_000);
  });

  const get = (path: string, headers = site.auth) => app.request(path, { headers });

  test('json streams every member with the most recent visitor and an exact count', async () => {
    const res = await get('/api/segments/hot/members?format=json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = await res.json();
    expect(body.segment).toBe('hot');
    expect(body.count).toBe(6);
    expect(body.members).toHaveLength(6);
    const john = body.members.find((m: { leadId: string }) => m.leadId === ids.john);
    expect(john).toEqual({ leadId: ids.john, visitorId: 'v_new_phone', email: 'John.Smith@Example.com', stage: 'intent', score: 42 });
    const anon = body.members.find((m: { leadId: string }) => m.leadId === ids.anon);
    expect(anon).toMatchObject({ email: null, visitorId: null, stage: 'consideration' });
    expect(body.members.map((m: { leadId: string }) => m.leadId)).not.toContain(ids.outsider);
  });

  test('json is the default format', async () => {
    const body = await (await get('/api/segments/hot/members')).json();
    expect(body.count).toBe(6);
  });

  test('csv opens with a standard parser, defuses formulas and keeps quotes and commas', async () => {
    const res = await get('/api/segments/hot/members?format=csv');
    expect(res.headers.get('content-type')).toContain('text/csv');
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual(['leadId', 'visitorId', 'email', 'stage', 'score', 'phone', 'firstName', 'lastName', 'company', 'jobTitle', 'country', 'city', 'state', 'zip']);
    expect(rows).toHaveLength(7);
    const john = Object.fromEntries(rows[0].map((h, i) => [h, rows.find((r) => r[0] === ids.john)![i]]));
    expect(john).toMatchObject({ email: 'John.Smith@Example.com', score: '42', company: `'=HYPERLINK("http://x")`, jobTitle: 'CTO, "Tech"', phone: '(650) 555-1234' });
  });

  test('google holds identified, opted-in non-customers only, hashed as Customer Match asks', async () => {
    const res = await get('/api/segments/hot/members?format=google');
    expect(res.status).toBe(200);
    expect(res.headers.get('funnelbeam-member-count')).toBe('1');
    const text = await res.text();
    expect(text.startsWith('Email,Phone,First Name,Last Name,Country,Zip\r\n')).toBe(true);
    const rows = parseCsv(text);
    expect(rows.slice(1)).toEqual([[sha256('john.smith@example.com'), sha256('+16505551234'), sha256('john'), sha256('smith'), 'US', '94043']]);
  });

  test('the customers segment itself exports its identified customers: the suppression list for an exclusion audience', async () => {
    await addMembers(db, site.siteId, 'customers', [ids.buyer, ids.optedOut, ids.anon]);
    try {
      const res = await get('/api/segments/customers/members?format=google');
      expect(res.headers.get('funnelbeam-member-count')).toBe('2');
      const rows = parseCsv(await res.text());
      expect(rows.slice(1).map((r) => r[0]).sort()).toEqual([sha256('buyer@example.com'), sha256('customer@example.com')].sort());
      // other segments still leave customers out
      expect((await get('/api/segments/hot/members?format=google')).headers.get('funnelbeam-member-count')).toBe('1');
    } finally {
      await db.run(`DELETE FROM segment_members WHERE site_id = ? AND segment_key = 'customers' AND lead_id <> ?`, [site.siteId, ids.customer]);
    }
  });

  test('meta hashes all eight keys and warns below its minimum of 100', async () => {
    const res = await get('/api/segments/hot/members?format=meta');
    expect(res.headers.get('funnelbeam-warning')).toMatch(/below Meta's minimum of 100/);
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual(['email', 'phone', 'fn', 'ln', 'ct', 'st', 'zip', 'country']);
    expect(rows.slice(1)).toEqual([['john.smith@example.com', '16505551234', 'john', 'smith', 'stlouis', 'mo', '94043', 'us'].map(sha256)]);
  });

  test('linkedin keeps names as text and warns below 300', async () => {
    const res = await get('/api/segments/hot/members?format=linkedin');
    expect(res.headers.get('funnelbeam-warning')).toMatch(/below LinkedIn's minimum of 300/);
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual(['email', 'firstname', 'lastname', 'jobtitle', 'employeecompany', 'country', 'googleaid']);
    expect(rows.slice(1)).toEqual([[sha256('john.smith@example.com'), 'John', 'Smith', 'CTO, "Tech"', `'=HYPERLINK("http://x")`, 'US', '']]);
  });

  test('an unknown segment is a 404, a bad format a 400', async () => {
    const missing = await get('/api/segments/nope/members');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('segment_not_found');
    const bad = await get('/api/segments/hot/members?format=xml');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_request');
  });

  test('a key needs audiences:read and only sees its own site', async () => {
    expect((await app.request('/api/segments/hot/members')).status).toBe(401);
    const sales = await makeSiteWithKey(db, ['leads:read']);
    const other = await makeSiteWithKey(db, ['audiences:read']);
    const salesOnSite = await makeSiteWithKey(db, ['events:write']);
    expect((await get('/api/segments/hot/members', sales.auth)).status).toBe(403);
    expect((await get('/api/segments/hot/members', salesOnSite.auth)).status).toBe(403);
    expect((await get('/api/segments/hot/members', other.auth)).status).toBe(404);
  });
});

describe.each(ENGINES)('streaming across pages on %s', (engine) => {
  test('2,500 members come out once each, in order, across page boundaries', async () => {
    const db = await openTestDb(engine);
    const { app } = createApp({ db, log: quietLog });
    const site = await makeSiteWithKey(db);
    await makeSegment(db, site.siteId, 'big');
    const ids = await makeManyMembers(db, site.siteId, 'big', 2500);
    const body = await (await app.request('/api/segments/big/members?format=json', { headers: site.auth })).json();
    expect(body.count).toBe(2500);
    expect(body.members.map((m: { leadId: string }) => m.leadId)).toEqual([...ids].sort());
    const csv = parseCsv(await (await app.request('/api/segments/big/members?format=csv', { headers: site.auth })).text());
    expect(csv).toHaveLength(2501);
  });

  test('a list of 100 identified members gets no Meta warning, and the count header matches the rows', async () => {
    const db = await openTestDb(engine);
    const { app } = createApp({ db, log: quietLog });
    const site = await makeSiteWithKey(db);
    await makeSegment(db, site.siteId, 'exactly100');
    await makeManyMembers(db, site.siteId, 'exactly100', 100);
    const res = await app.request('/api/segments/exactly100/members?format=meta', { headers: site.auth });
    expect(res.headers.get('funnelbeam-warning')).toBeNull();
    expect(res.headers.get('funnelbeam-member-count')).toBe('100');
    expect(parseCsv(await res.text())).toHaveLength(101);
  });

  test('pages whose members are all skipped do not end the stream early', async () => {
    const db = await openTestDb(engine);
    const site = await makeSiteWithKey(db);
    await makeSegment(db, site.siteId, 'gaps');
    // Members 0-4 have unusable emails (nothing to match on), 5-6 are fine; pages of 2 → two empty pages first.
    await makeManyMembers(db, site.siteId, 'gaps', 7, (i) => ({ email: i < 5 ? `broken-${i}` : `ok${i}@example.com` }));
    const result = await exportAudience(db, quietLog, { siteId: site.siteId, segmentKey: 'gaps', format: 'google', pageSize: 2 });
    if (!result.ok) throw new Error(result.reason);
    const rows = parseCsv(await new Response(result.value.stream).text());
    expect(rows.slice(1).map((r) => r[0])).toEqual([sha256('ok5@example.com'), sha256('ok6@example.com')]);
  });

  test('the body is produced as it is read: a reader that stops early cancels the export', async () => {
    const db = await openTestDb(engine);
    const site = await makeSiteWithKey(db);
    await makeSegment(db, site.siteId, 'lazy');
    await makeManyMembers(db, site.siteId, 'lazy', 30);
    const result = await exportAudience(db, quietLog, { siteId: site.siteId, segmentKey: 'lazy', format: 'csv', pageSize: 10 });
    if (!result.ok) throw new Error(result.reason);
    const reader = result.value.stream.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toMatch(/^leadId,visitorId,email/);
    const second = await reader.read();
    expect(Buffer.from(second.value!).toString().split('\r\n').filter(Boolean)).toHaveLength(10);
    await reader.cancel();
  });
});
