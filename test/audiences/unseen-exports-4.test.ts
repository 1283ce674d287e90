// Audience exports judged from outside, fourth round, over real HTTP on a real SQLite file: national phones with a trunk
// prefix whose country trait is the country's name in another language (FR, GB, IT, CH), US ZIP+4 typed without a dash
// or with a space, names with curly apostrophes, hyphens and diacritics, and LinkedIn's `googleaid` column next to cells
// holding quotes, commas and newlines. Every expected cell is worked out by hand from the platforms' documented formats
// (Google Customer Match: E.164 with "+", names lower-case without punctuation or spaces, Country alpha-2 and a 5-digit US
// Zip in clear; Meta: phone digits without "+", fn/ln lower-case without punctuation, zip the first 5 US digits, country
// lower-case alpha-2, all SHA-256 hex) and hashed here with node:crypto over the literal normalized string.
import { describe, expect, test } from 'vitest';
import { ALPHA3_TO_ALPHA2 } from '../../collector/audiences/alpha3-codes.js';
import { CALLING_CODES } from '../../collector/audiences/calling-codes.js';
import { sha, useExportRigs } from './export-rig.js';

const setup = useExportRigs();

// [email, traits, Google cells after the email, Meta normalized values after the email]
const LEADS = [
  ['fr@example.fr', { firstName: 'Zoë', lastName: 'D’Arcy-Lefèvre', phone: '06 12 34 56 78', country: 'Frankreich', zip: '75008' },
    ['+33612345678', 'zoë', 'darcylefèvre', 'FR', '75008'], ['33612345678', 'zoë', 'darcylefèvre', '', '', '75008', 'fr']],
  ['gb@example.co.uk', { firstName: 'Anne-Marie', lastName: "O'Neill", phone: '07700 900123', country: 'Royaume-Uni' },
    ['+447700900123', 'annemarie', 'oneill', 'GB', ''], ['447700900123', 'annemarie', 'oneill', '', '', '', 'gb']],
  ['it@example.it', { firstName: 'Niccolò', lastName: 'Dell’Acqua', phone: '06 1234 5678', country: 'Italia', zip: '00187' },
    ['+390612345678', 'niccolò', 'dellacqua', 'IT', '00187'], ['390612345678', 'niccolò', 'dellacqua', '', '', '00187', 'it']],
  ['ch@example.ch', { firstName: 'Reto', lastName: 'Müller', phone: '044 668 18 00', country: 'Schweiz', zip: '8001' },
    ['+41446681800', 'reto', 'müller', 'CH', '8001'], ['41446681800', 'reto', 'müller', '', '', '8001', 'ch']],
  ['us1@example.com', { firstName: 'Mary', lastName: 'Jones', phone: '(650) 555-0101', country: 'Vereinigte Staaten', zip: '940431234' },
    ['+16505550101', 'mary', 'jones', 'US', '94043'], ['16505550101', 'mary', 'jones', '', '', '94043', 'us']],
  ['us2@example.com', { firstName: 'Bob', lastName: 'Lee', phone: '1-650-555-0102', country: 'Estados Unidos', zip: '94043 1234' },
    ['+16505550102', 'bob', 'lee', 'US', '94043'], ['16505550102', 'bob', 'lee', '', '', '94043', 'us']],
] as const;

describe('national numbers and ZIP+4 of leads whose country is named in another language', () => {
  test('Google: E.164 with + after dropping the trunk 0 (kept for Italy), names without punctuation, Country alpha-2, US Zip 5 digits', async () => {
    const h = await setup();
    await h.segment('t_abroad', { did: { event: 'abroad_sync' } });
    await h.server(LEADS.map(([email, traits]) => ({ email, name: 'abroad_sync', traits })));
    const google = await h.fileOf('t_abroad', 'google');
    expect(google.header).toEqual(['Email', 'Phone', 'First Name', 'Last Name', 'Country', 'Zip']);
    expect(google.rows).toHaveLength(LEADS.length);
    for (const [email, , [phone, first, last, country, zip]] of LEADS) {
      expect(google.byEmail(email), email).toEqual([sha(email), sha(phone), sha(first), sha(last), country, zip]);
    }
  });

  test('Meta: phone digits without +, fn/ln without punctuation, zip the first 5 US digits, country lower-case, all hashed', async () => {
    const h = await setup();
    await h.segment('t_abroad', { did: { event: 'abroad_sync' } });
    await h.server(LEADS.map(([email, traits]) => ({ email, name: 'abroad_sync', traits })));
    const meta = await h.fileOf('t_abroad', 'meta');
    expect(meta.header).toEqual(['email', 'phone', 'fn', 'ln', 'ct', 'st', 'zip', 'country']);
    for (const [email, , , values] of LEADS) {
      expect(meta.byEmail(email), email).toEqual([email, ...values].map((v) => (v ? sha(v) : '')));
    }
  });
});

describe('LinkedIn contact list', () => {
  test('every row has the seven template cells with googleaid empty; text with quotes, commas and newlines stays one parseable row', async () => {
    const h = await setup();
    await h.segment('t_li', { did: { event: 'li_sync' } });
    await h.server([
      ...LEADS.map(([email, traits]) => ({ email, name: 'li_sync', traits })),
      { email: 'quoted@example.fr', name: 'li_sync', traits: { firstName: 'Zoë', company: 'Dupont, "Fils"\r\n& Cie', jobTitle: 'VP, Sales\nEMEA', country: 'Frankreich' } },
    ]);
    const li = await h.fileOf('t_li', 'linkedin');
    expect(li.header).toEqual(['email', 'firstname', 'lastname', 'jobtitle', 'employeecompany', 'country', 'googleaid']);
    expect(li.rows).toHaveLength(LEADS.length + 1);
    for (const row of li.rows) expect(row[6], row[0]).toBe('');
    for (const [email, traits, [, , , country]] of LEADS) {
      expect(li.byEmail(email), email).toEqual([sha(email), traits.firstName, traits.lastName, '', '', country, '']);
    }
    const quoted = li.byEmail('quoted@example.fr')!;
    expect(quoted[0]).toBe(sha('quoted@example.fr'));
    expect(quoted[3]).toMatch(/^VP, Sales\s+EMEA$/);
    expect(quoted[4]).toMatch(/^Dupont, "Fils"\s+& Cie$/);
    expect(quoted[5]).toBe('FR');
  });
});

describe('a national trunk prefix longer than one digit', () => {
  // Hungary dials "06" before a national number (libphonenumber's HU metadata: national_prefix "06"):
  // Budapest 06 1 234 5678 is +36 1 234 5678, a mobile 06 20 123 4567 is +36 20 123 4567.
  test('Hungarian numbers written with their "06" give the same E.164 number as those written without it', async () => {
    const h = await setup();
    await h.segment('t_hu', { did: { event: 'hu_sync' } });
    const cases = [
      ['bp-trunk@example.hu', '06 1 234 5678', 'Ungarn', '+3612345678'],
      ['bp-plain@example.hu', '1 234 5678', 'HU', '+3612345678'],
      ['mobile-trunk@example.hu', '06-20-123-4567', 'Hungary', '+36201234567'],
      ['mobile-00@example.hu', '0036 20 123 4567', 'HU', '+36201234567'],
      ['mobile-plus-trunk@example.hu', '+36 06 20 123 4567', '', '+36201234567'],
    ] as const;
    await h.server(cases.map(([email, phone, country]) => ({ email, name: 'hu_sync', traits: { phone, country } })));
    const google = await h.fileOf('t_hu', 'google');
    const meta = await h.fileOf('t_hu', 'meta');
    for (const [email, phone, , e164] of cases) {
      expect(google.byEmail(email)![1], `google ${phone}`).toBe(sha(e164));
      expect(meta.byEmail(email)![1], `meta ${phone}`).toBe(sha(e164.slice(1)));
    }
  });
});

describe('a country whose E.164 numbers begin with 0', () => {
  // Benin went to 10 digits on 30 November 2024: every number gained a leading "01" that E.164 keeps
  // (+229 xx yy zz ii became +229 01 xx yy zz ii), as Côte d'Ivoire did in 2021.
  test('Benin numbers keep their "01", written with the calling code or nationally', async () => {
    const h = await setup();
    await h.segment('t_bj', { did: { event: 'bj_sync' } });
    const cases = [
      ['plus@example.bj', '+229 01 97 12 34 56', ''],
      ['national@example.bj', '01 97 12 34 56', 'Bénin'],
      ['intl@example.bj', '00229 0197123456', 'BJ'],
    ] as const;
    await h.server(cases.map(([email, phone, country]) => ({ email, name: 'bj_sync', traits: { phone, country } })));
    const google = await h.fileOf('t_bj', 'google');
    const meta = await h.fileOf('t_bj', 'meta');
    for (const [email, phone] of cases) {
      expect(google.byEmail(email)![1], `google ${phone}`).toBe(sha('+2290197123456'));
      expect(meta.byEmail(email)![1], `meta ${phone}`).toBe(sha('2290197123456'));
    }
  });
});

describe('a country trait holding an ISO 3166-1 alpha-3 code, as many CRMs and ERPs store it', () => {
  test('DEU, GBR and che are Germany, the United Kingdom and Switzerland: alpha-2 Country, E.164 phone, the post\'s Zip', async () => {
    const h = await setup();
    await h.segment('t_a3', { did: { event: 'a3_sync' } });
    const cases = [
      ['deu@example.de', { phone: '030 1234567', country: 'DEU', zip: 'D-10115', lastName: 'Lang' }, '+49301234567', 'DE', '10115'],
      ['gbr@example.co.uk', { phone: '020 7946 0958', country: 'GBR', zip: 'sw1a1aa', lastName: 'Lee' }, '+442079460958', 'GB', 'SW1A 1AA'],
      ['che@example.ch', { phone: '044 668 18 00', country: ' che ', zip: '8001', lastName: 'Keller' }, '+41446681800', 'CH', '8001'],
    ] as const;
    await h.server(cases.map(([email, traits]) => ({ email, name: 'a3_sync', traits })));
    const google = await h.fileOf('t_a3', 'google');
    const meta = await h.fileOf('t_a3', 'meta');
    const linkedin = await h.fileOf('t_a3', 'linkedin');
    for (const [email, traits, e164, country, zip] of cases) {
      expect(google.byEmail(email), email).toEqual([sha(email), sha(e164), '', sha(traits.lastName.toLowerCase()), country, zip]);
      expect(meta.byEmail(email)![1], email).toBe(sha(e164.slice(1)));
      expect(meta.byEmail(email)![7], email).toBe(sha(country.toLowerCase()));
      expect(linkedin.byEmail(email)![5], email).toBe(country);
    }
  });

  test('every country with a calling code has exactly one alpha-3 code', () => {
    expect([...ALPHA3_TO_ALPHA2.values()].sort()).toEqual([...CALLING_CODES.keys()].sort());
    for (const code of ALPHA3_TO_ALPHA2.keys()) expect(code).toMatch(/^[A-Z]{3}$/);
  });
});
