// Audience exports judged from outside, third round, over real HTTP on a real SQLite file: customer suppression that
// follows the `customers` segment as the admin redefines or deletes it; phones written with a label or a `tel:` URI
// before the "+"; and the format parameter in the forms clients really send it.
import { describe, expect, test } from 'vitest';
import { sha, useExportRigs } from './export-rig.js';

const PLATFORMS = ['google', 'meta', 'linkedin'] as const;
const rig = useExportRigs();

async function setup() {
  const h = await rig();
  const rowsOf = async (key: string, format: string) => (await h.fileOf(key, format)).rows;
  /** the hashed emails in each platform file (LinkedIn and Google and Meta all put the hashed email first) */
  const hashedEmails = async (key: string) => {
    const out: Record<string, string[]> = {};
    for (const f of PLATFORMS) out[f] = (await rowsOf(key, f)).map((r) => r[0]).sort();
    return out;
  };
  return Object.assign(h, { rowsOf, hashedEmails });
}

const everywhere = (emails: string[]) => Object.fromEntries(PLATFORMS.map((f) => [f, emails.map(sha).sort()]));

describe('customer suppression follows the customers segment', () => {
  test('a lead the admin makes a customer by a new definition leaves every other platform list, and stays in the customers list', async () => {
    const h = await setup();
    await h.segment('t_accounts', { did: { event: 'crm_sync' } });
    await h.server([
      { email: 'renewed@example.com', name: 'crm_sync', traits: { firstName: 'Re', country: 'US' } },
      { email: 'prospect@example.com', name: 'crm_sync', traits: { firstName: 'Pro', country: 'US' } },
      { email: 'won@example.com', name: 'crm_sync' },
      { email: 'won@example.com', name: 'closed_won' },
    ]);
    expect(await h.hashedEmails('t_accounts')).toEqual(everywhere(['renewed@example.com', 'prospect@example.com']));
    expect(await h.hashedEmails('customers')).toEqual(everywhere(['won@example.com']));

    // the admin counts a renewal as a customer too
    await h.segment('customers', { any: [{ stage: { eq: 'purchase' } }, { did: { event: 'closed_won' } }, { did: { event: 'renewal' } }] });
    await h.server({ email: 'renewed@example.com', name: 'renewal' });
    expect(await h.hashedEmails('t_accounts')).toEqual(everywhere(['prospect@example.com']));
    expect(await h.hashedEmails('customers')).toEqual(everywhere(['renewed@example.com', 'won@example.com']));
    // json and csv are not suppression-filtered: every member
    const json = await (await h.api('/api/segments/t_accounts/members?format=json', { secret: h.reader })).json();
    expect(json.members.map((m: { email: string }) => m.email).sort()).toEqual(['prospect@example.com', 'renewed@example.com', 'won@example.com']);

    // without the customers segment, the purchase stage still keeps the customer out
    expect((await h.api('/api/segments/customers', { method: 'DELETE' })).status).toBe(204);
    expect(await h.hashedEmails('t_accounts')).toEqual(everywhere(['prospect@example.com', 'renewed@example.com']));
  });
});

describe('phones written with a label or a tel: URI', () => {
  test('the "+" after a label still means the country code is there: Google E.164 with +, Meta digits without', async () => {
    const h = await setup();
    await h.segment('t_phones', { did: { event: 'phone_sync' } });
    const cases = [
      ['label-gb@example.com', 'Tel: +44 20 7946 0958', 'GB', '+442079460958'],
      ['uri-us@example.com', 'tel:+1-650-555-1234;ext=89', 'US', '+16505551234'],
      ['mobile-de@example.com', 'Mobil: +49 151 2345 6789', 'DE', '+4915123456789'],
      ['plain-fr@example.com', '+33 1 42 68 53 00', 'FR', '+33142685300'],
    ] as const;
    await h.server(cases.map(([email, phone, country]) => ({ email, name: 'phone_sync', traits: { phone, country } })));
    const google = await h.rowsOf('t_phones', 'google');
    const meta = await h.rowsOf('t_phones', 'meta');
    for (const [email, phone, , e164] of cases) {
      const g = google.find((r) => r[0] === sha(email))!;
      const m = meta.find((r) => r[0] === sha(email))!;
      expect(g[1], `google ${phone}`).toBe(sha(e164));
      expect(m[1], `meta ${phone}`).toBe(sha(e164.slice(1)));
    }
  });
});

describe('the format parameter as clients send it', () => {
  test('an unknown, empty, upper-case, padded or repeated format is a 400 naming the formats; none of them streams a body', async () => {
    const h = await setup();
    for (const q of ['format=JSON', 'format=', 'format=%20csv', 'format=csv&format=json', 'format=xlsx', 'format=csv%00']) {
      const res = await h.api(`/api/segments/customers/members?${q}`, { secret: h.reader });
      expect(res.status, q).toBe(400);
      expect(res.headers.get('content-type'), q).toMatch(/^application\/json/);
      const body = await res.json();
      expect(Object.keys(body), q).toEqual(['error']);
      for (const f of ['json', 'csv', 'google', 'meta', 'linkedin']) expect(body.error.message, q).toContain(f);
    }
    // and an unknown segment with a bad format: the format is what is wrong first, or the segment; never a 200
    expect([400, 404]).toContain((await h.api('/api/segments/nope/members?format=xlsx', { secret: h.reader })).status);
  });
});
