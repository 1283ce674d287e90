// Audience files as the ad platforms take them, for leads whose traits arrived the real ways (identify traits over
// POST /e, marked form fields, POST /api/events traits): exact header rows, column order, SHA-256 hex of each
// platform's normalized value (fixed test vectors written out by hand from the research notes), clear Country and Zip
// for Google, empty cells for what is missing, RFC 4180 quoting, and who is left out.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { makeHardeningApp, type HardeningApp } from '../hardening/hardening-app.js';
import { makeBatch, randomId } from '../helpers/factories.js';
import { createKey } from '../../collector/admin.js';
import { parseCsv } from './rfc4180.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const ORIGIN = 'http://127.0.0.1';

let h: HardeningApp;
let leadOf: Record<string, string>;

beforeAll(async () => {
  h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, RATE_LIMIT_API_PER_SEC: 0 });
  const writer = (await createKey(h.db, h.site.siteId, ['events:write'], h.clock.t)).secret;
  const server = async (body: object) => {
    const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify(body), secret: writer });
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const web = async (v: string, events: Array<Record<string, unknown>>) => {
    const res = await h.postBeacon(makeBatch(h.site.siteKey, { v }, events.map((e) => ({ t: h.clock.t, u: ORIGIN + '/', ...e }))));
    expect(res.status, await res.clone().text()).toBe(202);
  };
  // Ann: identify traits from the snippet, mixed case and spacing everywhere
  await web('v_ann_0001', [{ n: 'identify', em: '  Ann.Smith+promo@Example.COM ', tr: {
    firstName: '  Ann ', lastName: "O'Brien-Smith", phone: '(650) 555-1234', country: 'us', zip: '94043-1351',
    city: 'Mountain View', state: 'California', company: 'Acme, Inc.', jobTitle: '=HEAD of "Sales"',
  } }]);
  // Bernd: a marked form whose fields use other names, then a CRM sync from the server
  await web('v_bernd_001', [{ n: 'form_submit', f: 'newsletter', em: 'bernd@example.de', tr: { fname: 'Bernd', surname: 'Müller', tel: '030 1234567', postcode: '10115' } }]);
  await server({ email: 'BERND@example.de', name: 'crm_sync', traits: { country: 'de', company: 'Müller & Söhne GmbH', title: 'CTO' } });
  // Chloe: email only, through the server
  await server({ email: 'chloe@example.fr', name: 'crm_sync' });
  // Dev: phone with the international prefix and no country
  await server({ email: 'dev@example.in', name: 'crm_sync', traits: { phone: '0044 20 7946 0958', firstName: 'Dev', lastName: 'Patel' } });
  // Eve: a national number and no country: no phone is guessed
  await server({ email: 'eve@example.com', name: 'crm_sync', traits: { phone: '555 0100', lastName: 'Jones', zip: 'SW1A 1AA' } });
  // Carol: a title and a suffix, which Customer Match wants left out of names
  await server({ email: 'carol@example.com', name: 'crm_sync', traits: { firstName: 'Mrs. Carol', lastName: 'King, Jr.' } });
  // an anonymous visitor and a customer: not in any platform file
  await web('v_anon_0001', [{ n: 'pageview' }]);
  await server({ email: 'buyer@example.com', name: 'closed_won', traits: { firstName: 'Bea' } });

  expect((await h.api('/api/segments/everyone', { method: 'PUT', body: JSON.stringify({ definition: { did: { event: '*' } } }) })).status).toBe(201);
  const leads = await h.db.all<{ lead_id: string; email: string | null }>('SELECT lead_id, email FROM leads WHERE site_id = ?', [h.site.siteId]);
  leadOf = Object.fromEntries(leads.map((l) => [l.email ?? 'anon', l.lead_id]));
});

async function exportOf(format: string) {
  const res = await h.api(`/api/segments/everyone/members?format=${format}`);
  expect(res.status).toBe(200);
  return { res, text: await res.text() };
}

/** The file's records by their first cell, the header row apart; every record ends in CRLF. */
async function csvOf(format: string) {
  const { res, text } = await exportOf(format);
  expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  expect(text.endsWith('\r\n')).toBe(true);
  const [header, ...rows] = parseCsv(text);
  for (const r of rows) expect(r.length, r.join(',')).toBe(header.length);
  return { res, text, header, rows };
}

const byFirst = (rows: string[][]) => Object.fromEntries(rows.map((r) => [r[0], r]));

describe('Google Customer Match', () => {
  test('exact header row; hashed email, E.164 phone with +, names; Country and Zip in clear; empty cells when missing', async () => {
    const { res, text, header, rows } = await csvOf('google');
    expect(text.split('\r\n')[0]).toBe('Email,Phone,First Name,Last Name,Country,Zip');
    expect(header).toEqual(['Email', 'Phone', 'First Name', 'Last Name', 'Country', 'Zip']);
    const r = byFirst(rows);
    expect(r[sha('ann.smith+promo@example.com')]).toEqual([sha('ann.smith+promo@example.com'), sha('+16505551234'), sha('ann'), sha('obriensmith'), 'US', '94043']);
    expect(r[sha('bernd@example.de')]).toEqual([sha('bernd@example.de'), sha('+49301234567'), sha('bernd'), sha('müller'), 'DE', '10115']);
    expect(r[sha('chloe@example.fr')]).toEqual([sha('chloe@example.fr'), '', '', '', '', '']);
    expect(r[sha('dev@example.in')]).toEqual([sha('dev@example.in'), sha('+442079460958'), sha('dev'), sha('patel'), '', '']);
    expect(r[sha('eve@example.com')]).toEqual([sha('eve@example.com'), '', '', sha('jones'), '', 'SW1A 1AA']);
    expect(r[sha('carol@example.com')]).toEqual([sha('carol@example.com'), '', sha('carol'), sha('king'), '', '']);
    // identified non-customers only: the anonymous visitor and the buyer are not in the file
    expect(rows).toHaveLength(6);
    expect(text).not.toContain(sha('buyer@example.com'));
    expect(res.headers.get('funnelbeam-member-count')).toBe('6');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="everyone-google.csv"');
    // no cell is the hash of an empty string
    expect(text).not.toContain(sha(''));
  });
});

describe('Meta Custom Audiences', () => {
  test('lower-case headers, every cell SHA-256 hex, phone digits without +, city/state/zip/country normalized', async () => {
    const { res, text, header, rows } = await csvOf('meta');
    expect(text.split('\r\n')[0]).toBe('email,phone,fn,ln,ct,st,zip,country');
    expect(header).toEqual(['email', 'phone', 'fn', 'ln', 'ct', 'st', 'zip', 'country']);
    const r = byFirst(rows);
    expect(r[sha('ann.smith+promo@example.com')]).toEqual([
      sha('ann.smith+promo@example.com'), sha('16505551234'), sha('ann'), sha('obriensmith'), sha('mountainview'), sha('ca'), sha('94043'), sha('us'),
    ]);
    expect(r[sha('bernd@example.de')]).toEqual([sha('bernd@example.de'), sha('49301234567'), sha('bernd'), sha('müller'), '', '', sha('10115'), sha('de')]);
    expect(r[sha('dev@example.in')]).toEqual([sha('dev@example.in'), sha('442079460958'), sha('dev'), sha('patel'), '', '', '', '']);
    expect(r[sha('eve@example.com')]).toEqual([sha('eve@example.com'), '', '', sha('jones'), '', '', sha('sw1a1aa'), '']);
    expect(r[sha('carol@example.com')].slice(2, 4)).toEqual([sha('mrs carol'), sha('king jr')]);
    for (const row of rows) for (const cell of row) expect(cell).toMatch(/^([0-9a-f]{64})?$/);
    expect(rows).toHaveLength(6);
    expect(text).not.toContain(sha(''));
    expect(res.headers.get('funnelbeam-warning')).toContain('100');
  });
});

describe('LinkedIn Matched Audiences', () => {
  test('template headers; hashed email; names, title and company as text, quoted per RFC 4180 and formula-safe', async () => {
    const { res, text, header, rows } = await csvOf('linkedin');
    expect(text.split('\r\n')[0]).toBe('email,firstname,lastname,jobtitle,employeecompany,country,googleaid');
    expect(header).toEqual(['email', 'firstname', 'lastname', 'jobtitle', 'employeecompany', 'country', 'googleaid']);
    const r = byFirst(rows);
    expect(r[sha('ann.smith+promo@example.com')]).toEqual([sha('ann.smith+promo@example.com'), 'Ann', "O'Brien-Smith", '\'=HEAD of "Sales"', 'Acme, Inc.', 'US', '']);
    expect(text).toContain(`,"'=HEAD of ""Sales""","Acme, Inc.",US,\r\n`);
    expect(r[sha('bernd@example.de')]).toEqual([sha('bernd@example.de'), 'Bernd', 'Müller', 'CTO', 'Müller & Söhne GmbH', 'DE', '']);
    expect(r[sha('chloe@example.fr')]).toEqual([sha('chloe@example.fr'), '', '', '', '', '', '']);
    expect(rows).toHaveLength(6);
    expect(res.headers.get('funnelbeam-warning')).toContain('300');
  });
});

describe('json and csv', () => {
  test('json has the contract shape: segment, count and every member, anonymous ones with a null email', async () => {
    const { res, text } = await exportOf('json');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = JSON.parse(text);
    expect(Object.keys(body).sort()).toEqual(['count', 'members', 'segment']);
    expect(body.segment).toBe('everyone');
    expect(body.count).toBe(body.members.length);
    expect(body.members).toHaveLength(8);
    for (const m of body.members) {
      expect(Object.keys(m).sort()).toEqual(['email', 'leadId', 'score', 'stage', 'visitorId']);
      expect(typeof m.score).toBe('number');
      expect(typeof m.stage).toBe('string');
    }
    const anon = body.members.find((m: { leadId: string }) => m.leadId === leadOf.anon);
    expect(anon).toMatchObject({ email: null, visitorId: 'v_anon_0001', stage: 'awareness' });
    const buyer = body.members.find((m: { email: string | null }) => m.email === 'buyer@example.com');
    expect(buyer).toMatchObject({ stage: 'purchase', visitorId: null });
    expect(body.members.find((m: { email: string | null }) => m.email === 'ann.smith+promo@example.com')).toMatchObject({ visitorId: 'v_ann_0001' });
  });

  test('csv holds every member with the traits in clear, and reads back exactly', async () => {
    const { header, rows } = await csvOf('csv');
    expect(header.slice(0, 5)).toEqual(['leadId', 'visitorId', 'email', 'stage', 'score']);
    expect(rows).toHaveLength(8);
    const ann = rows.find((r) => r[2] === 'ann.smith+promo@example.com')!;
    const cell = (k: string) => ann[header.indexOf(k)];
    expect([cell('firstName'), cell('lastName'), cell('company'), cell('jobTitle'), cell('country'), cell('zip')]).toEqual(['Ann', "O'Brien-Smith", 'Acme, Inc.', '\'=HEAD of "Sales"', 'US', '94043-1351']);
  });

  test('a member count header on every platform format matches the rows written', async () => {
    for (const format of ['google', 'meta', 'linkedin']) {
      const { res, rows } = await csvOf(format);
      expect(Number(res.headers.get('funnelbeam-member-count')), format).toBe(rows.length);
    }
  });
});

describe('Google name rules', () => {
  test('a title before a first name and a suffix after a last name are left out, when a name remains', async () => {
    const { normalizeFirstNameForGoogle, normalizeLastNameForGoogle } = await import('../../collector/audiences/normalize-name.js');
    expect(['Mrs. Carol', 'Dr Ann Marie', 'PROF. José', 'Ms', 'Missy', 'Dr.'].map(normalizeFirstNameForGoogle)).toEqual(['carol', 'annmarie', 'josé', 'ms', 'missy', 'dr']);
    expect(['King, Jr.', 'Smith PhD', 'Van der Berg IV', 'Jr', 'Sr.', "O'Brien-Smith III"].map(normalizeLastNameForGoogle)).toEqual(['king', 'smith', 'vanderberg', 'jr', 'sr', 'obriensmith']);
  });
});
