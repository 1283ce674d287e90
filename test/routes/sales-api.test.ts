// The sales side of the lead API, judged as a sales-ops engineer wiring a CRM and a dashboard would use it: paging while
// events arrive, combined filters, refs as a CRM writes them, a three-device timeline, and big or retried CRM batches.
import { describe, expect, test } from 'vitest';
import { createKey, createSite } from '../../collector/admin.js';
import { T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents as post, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const { open } = useJourneys();


/** Every page of GET /api/leads for a query, calling `between` after each page (events that keep arriving). */
async function pageLeads(j: Journey, query: string, between: (page: number) => Promise<void> = async () => {}) {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const body = await get(j, `/api/leads?${query}${cursor ? '&cursor=' + cursor : ''}`);
    seen.push(...body.items.map((l: { leadId: string }) => l.leadId));
    cursor = body.nextCursor;
    if (!cursor) break;
    await between(page);
  }
  return seen;
}

describe('GET /api/leads as a sales dashboard pages it', () => {
  /** 250 leads from one CRM import: every lead made in the same millisecond, so cursors must break ties. */
  async function importLeads(j: Journey) {
    j.clock.now = T0 + DAY;
    const body = Array.from({ length: 250 }, (_, i) => ({ id: `imp-${i}`, email: `lead${String(i).padStart(3, '0')}@acme.example`, name: 'crm_import' }));
    const r = await post(j, body);
    expect(r.accepted).toBe(250);
    return r.events.map((e: { leadId: string }) => e.leadId) as string[];
  }

  test('order=id pages 250 leads with limit 7 exactly once while new events keep arriving between pages', async () => {
    const j = await open();
    const ids = await importLeads(j);
    const seen = await pageLeads(j, 'order=id&limit=7', async (page) => {
      j.clock.now += MIN;
      await post(j, { email: `lead${String((page * 37) % 250).padStart(3, '0')}@acme.example`, name: 'opportunity_created' });
    });
    expect(seen.length).toBe(250);
    expect(new Set(seen)).toEqual(new Set(ids));
  });

  test('the default activity order never repeats a lead, and lists every lead no new event touched, when many share a time', async () => {
    const j = await open();
    const ids = await importLeads(j);
    const touched = new Set<string>();
    const seen = await pageLeads(j, 'limit=7', async (page) => {
      j.clock.now += MIN;
      const r = await post(j, { email: `lead${String((page * 53) % 250).padStart(3, '0')}@acme.example`, name: 'opportunity_created' });
      touched.add(r.events[0].leadId);
    });
    expect(seen.length).toBe(new Set(seen).size);
    for (const id of ids) if (!touched.has(id)) expect(seen).toContain(id);
  });

  test('an invalid or foreign cursor is a 400 naming the cursor', async () => {
    const j = await open();
    await importLeads(j);
    const byId = (await get(j, '/api/leads?order=id&limit=7')).nextCursor;
    const byActivity = (await get(j, '/api/leads?limit=7')).nextCursor;
    const lead = (await get(j, '/api/leads?limit=1')).items[0].leadId;
    const tl = await post(j, Array.from({ length: 3 }, () => ({ leadId: lead, name: 'note' })));
    expect(tl.accepted).toBe(3);
    const timelineCursor = (await timeline(j, lead, 'limit=1')).nextCursor;
    for (const [query, cursor] of [
      ['', 'not-a-cursor'],
      ['', '%%%'],
      ['', byId],
      ['order=id&', byActivity],
      ['', timelineCursor],
      ['order=id&', timelineCursor],
    ]) {
      const body = await get(j, `/api/leads?${query}cursor=${cursor}`, 400);
      expect(body.error.code).toBe('invalid_cursor');
    }
    expect((await get(j, `/api/leads/${lead}/timeline?cursor=${byActivity}`, 400)).error.code).toBe('invalid_cursor');
  });
});

describe('a cursor used where it was not made', () => {
  test('a cursor of another filter, another site or another lead\'s timeline is a 400, not a page that skips leads', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    await post(j, Array.from({ length: 20 }, (_, i) => ({ email: `${i % 2 ? 'ada' : 'bob'}${i}@example.com`, name: 'note', at: T0 + i * MIN })));
    const ada = (await get(j, '/api/leads?q=ada&limit=3')).nextCursor;
    const adaById = (await get(j, '/api/leads?q=ada&order=id&limit=3')).nextCursor;
    expect((await get(j, `/api/leads?q=ada&limit=3&cursor=${ada}`)).items.length).toBe(3);
    for (const query of [`q=bob&cursor=${ada}`, `cursor=${ada}`, `q=ada&stage=awareness&cursor=${ada}`, `q=bob&order=id&cursor=${adaById}`]) {
      expect((await get(j, `/api/leads?${query}`, 400)).error.code, query).toBe('invalid_cursor');
    }
    // another site's key with this site's cursor
    const other = await createSite(j.db, { domain: 'other.example' }, j.clock.now);
    const key = await createKey(j.db, other.siteId, ['leads:read'], j.clock.now);
    const res = await j.app.request(`/api/leads?q=ada&limit=3&cursor=${ada}`, { headers: { authorization: `Bearer ${key.secret}` } });
    expect(res.status).toBe(400);
    // a timeline cursor is one lead's
    await post(j, Array.from({ length: 5 }, () => ({ email: 'ada1@example.com', name: 'note' })));
    await post(j, Array.from({ length: 5 }, () => ({ email: 'bob0@example.com', name: 'note' })));
    const adaPage = await timeline(j, 'ada1@example.com', 'limit=2');
    expect((await timeline(j, 'ada1@example.com', `limit=2&cursor=${adaPage.nextCursor}`)).items.length).toBe(2);
    expect((await get(j, `/api/leads/bob0%40example.com/timeline?limit=2&cursor=${adaPage.nextCursor}`, 400)).error.code).toBe('invalid_cursor');
  });

  test('a timeline cursor stays good when the anonymous lead it pages merges into a known lead between pages', async () => {
    const j = await open();
    await j.visit('kim-laptop-000000001', [{ n: 'identify', em: 'kim@example.com' }], T0);
    await j.visit('kim-phone-0000000001', Array.from({ length: 6 }, () => ({ path: '/docs' })), T0 + HOUR);
    const first = await timeline(j, 'kim-phone-0000000001', 'limit=2&types=event');
    await j.visit('kim-phone-0000000001', [{ n: 'identify', em: 'kim@example.com' }], T0 + 2 * HOUR);
    const next = await timeline(j, 'kim-phone-0000000001', `limit=2&types=event&cursor=${first.nextCursor}`);
    expect((next as unknown as { leadId: string }).leadId).toBe((await profile(j, 'kim@example.com')).leadId);
    expect(next.items.map((i) => i.path)).toEqual(['/docs', '/docs']);
  });
});

describe('GET /api/leads filters combined', () => {
  async function crmLeads(j: Journey) {
    j.clock.now = T0 + DAY;
    const emails = [
      'Ada.Lovelace+crm@Example.com',
      'ada@example.org',
      'grace_hopper@navy.example',
      'graceXhopper@navy.example',
      'percent%man@odd.example',
      'anna@bücher.example',
      'bob@example.com',
    ];
    const r = await post(j, emails.map((email, i) => ({ id: `f-${i}`, email, name: 'crm_import' })));
    expect(r.accepted).toBe(emails.length);
    // Ada and Bob request demos (evaluation); only Ada is in the segment of evaluation leads
    await post(j, [{ email: 'ada.lovelace+crm@example.com', name: 'demo_completed' }, { email: 'bob@example.com', name: 'demo_completed' }]);
    return r.events.map((e: { leadId: string }) => e.leadId) as string[];
  }
  const emailsOf = async (j: Journey, query: string) =>
    ((await get(j, `/api/leads?${query}`)).items as Array<{ email: string }>).map((l) => l.email).sort();

  test('q matches a part of the email whatever its case, a + address written raw or encoded, a domain alone and an IDN domain', async () => {
    const j = await open();
    await crmLeads(j);
    expect(await emailsOf(j, 'q=ADA.LOVELACE')).toEqual(['ada.lovelace+crm@example.com']);
    expect(await emailsOf(j, 'q=lovelace%2Bcrm')).toEqual(['ada.lovelace+crm@example.com']);
    // a dashboard that builds its URL by hand sends the + unencoded; an email never holds a space
    expect(await emailsOf(j, 'q=lovelace+crm')).toEqual(['ada.lovelace+crm@example.com']);
    expect(await emailsOf(j, 'q=example.com')).toEqual(['ada.lovelace+crm@example.com', 'bob@example.com']);
    expect(await emailsOf(j, 'q=%40b%C3%BCcher.example')).toEqual(['anna@bücher.example']);
    expect(await emailsOf(j, 'q=B%C3%9CCHER')).toEqual(['anna@bücher.example']);
  });

  test('q treats % and _ as the characters themselves, not SQL wildcards', async () => {
    const j = await open();
    await crmLeads(j);
    expect(await emailsOf(j, 'q=grace_hopper')).toEqual(['grace_hopper@navy.example']);
    expect(await emailsOf(j, 'q=%25')).toEqual(['percent%man@odd.example']);
    expect(await emailsOf(j, 'q=_')).toEqual(['grace_hopper@navy.example']);
  });

  test('a cleared search box or filter (an empty q, stage or segment) filters nothing, as empty timeline parameters do', async () => {
    const j = await open();
    await crmLeads(j);
    const all = await emailsOf(j, 'limit=500');
    expect(all.length).toBe(7);
    expect(await emailsOf(j, 'limit=500&q=&stage=&segment=')).toEqual(all);
    expect(await emailsOf(j, 'limit=500&q=%20%20')).toEqual(all);
    expect((await timeline(j, 'bob@example.com', 'types=&from=&to=')).items.length).toBeGreaterThan(0);
  });

  test('stage, segment and q narrow together', async () => {
    const j = await open();
    await crmLeads(j);
    const seg = await j.app.request('/api/segments/evaluating', {
      method: 'PUT',
      headers: j.auth,
      body: JSON.stringify({ definition: { all: [{ stage: { in: ['evaluation'] } }] } }),
    });
    expect(seg.status).toBeLessThan(300);
    expect(await emailsOf(j, 'stage=evaluation')).toEqual(['ada.lovelace+crm@example.com', 'bob@example.com']);
    expect(await emailsOf(j, 'stage=evaluation&segment=evaluating&q=ADA')).toEqual(['ada.lovelace+crm@example.com']);
    expect(await emailsOf(j, 'stage=awareness&segment=evaluating')).toEqual([]);
    expect(await emailsOf(j, 'stage=evaluation&q=example.org')).toEqual([]);
    expect((await get(j, '/api/leads?stage=Evaluation', 400)).error.code).toBe('invalid_request');
    expect((await get(j, '/api/leads?segment=nope', 404)).error.code).toBe('not_found');
  });
});

describe('refs written as a CRM writes them', () => {
  /** Ada on a phone and a laptop (the phone merged into her lead), and Eve, erased. */
  async function people(j: Journey) {
    await j.visit('phone-ada-0000000001', [{ path: '/pricing' }], T0);
    const phoneLead = await j.leadOfVisitor('phone-ada-0000000001');
    await j.visit('laptop-ada-000000001', [{ n: 'identify', em: 'ada.lovelace+crm@example.com' }], T0 + HOUR);
    await j.visit('phone-ada-0000000001', [{ n: 'identify', em: 'ada.lovelace+crm@example.com' }], T0 + 2 * HOUR);
    await j.visit('phone-eve-0000000001', [{ n: 'identify', em: 'eve@example.com' }], T0 + 3 * HOUR);
    const eve = await j.leadOfVisitor('phone-eve-0000000001');
    const ada = await j.leadOfVisitor('laptop-ada-000000001');
    expect(phoneLead).not.toBe(ada);
    const del = await j.app.request(`/api/leads/${eve}`, { method: 'DELETE', headers: j.auth });
    expect(del.status).toBe(200);
    return { ada, phoneLead, eve };
  }

  test('an email in upper case, with spaces around it, or with its + raw or encoded names the lead', async () => {
    const j = await open();
    const { ada } = await people(j);
    for (const ref of [
      'Ada.Lovelace%2BCRM%40Example.COM',
      '%20ada.lovelace%2Bcrm%40example.com%20',
      'ada.lovelace+crm@example.com',
      'ada.lovelace%2Bcrm@example.com',
    ]) {
      expect((await get(j, `/api/leads/${ref}`)).leadId, ref).toBe(ada);
      expect((await get(j, `/api/leads/${ref}/timeline?limit=1`)).leadId, ref).toBe(ada);
    }
  });

  test('a merged device, a merged-away lead id and an id pasted with spaces name the surviving lead', async () => {
    const j = await open();
    const { ada, phoneLead } = await people(j);
    expect((await profile(j, 'phone-ada-0000000001')).leadId).toBe(ada);
    const merged = await profile(j, phoneLead);
    expect(merged.leadId).toBe(ada);
    expect(merged.visitorIds).toEqual(['laptop-ada-000000001', 'phone-ada-0000000001']);
    expect((await get(j, `/api/leads/%20${ada}%20`)).leadId).toBe(ada);
  });

  test('POST /api/events by a merged device or a merged-away lead id reaches the surviving lead, which the list shows once', async () => {
    const j = await open();
    const { ada, phoneLead, eve } = await people(j);
    j.clock.now = T0 + DAY;
    const r = await post(j, [
      { visitorId: 'phone-ada-0000000001', name: 'demo_completed' },
      { leadId: phoneLead, name: 'proposal_sent' },
      { email: ' ADA.LOVELACE+CRM@EXAMPLE.COM ', name: 'note' },
      { leadId: eve, name: 'note' },
    ]);
    expect(r.events.map((e: { leadId: string }) => e.leadId)).toEqual([ada, ada, ada]);
    expect(r.rejected.map((x: { index: number; code: string }) => `${x.index}:${x.code}`)).toEqual(['3:unknown_lead']);
    const list = await get(j, '/api/leads?q=lovelace');
    expect(list.items.map((l: { leadId: string }) => l.leadId)).toEqual([ada]);
    expect((await get(j, '/api/leads?limit=500')).items.map((l: { leadId: string }) => l.leadId).sort()).toEqual([ada]);
  });

  test('a bad limit, an unknown parameter value or a malformed time is a 400 in the documented error shape', async () => {
    const j = await open();
    await people(j);
    for (const path of [
      '/api/leads?limit=0',
      '/api/leads?limit=abc',
      '/api/leads?order=newest',
      '/api/leads/ada%40x.example/timeline?from=yesterday',
      '/api/leads/phone-ada-0000000001/timeline?limit=-1',
      '/api/leads/phone-ada-0000000001/timeline?to=2025-13-01',
    ]) {
      const body = await get(j, path, 400);
      expect(body.error, path).toMatchObject({ code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) });
    }
    expect((await get(j, '/api/leads?limit=100000')).items.length).toBe(1);
  });

  test('the visitorId a server event shows in the timeline names its lead, in a ref and in POST /api/events', async () => {
    const j = await open();
    const { ada } = await people(j);
    j.clock.now = T0 + DAY;
    await post(j, { email: 'ada.lovelace+crm@example.com', name: 'demo_completed' });
    const item = (await timeline(j, ada, 'types=demo_completed')).items[0];
    expect(item.visitorId).toBe(`srv:${ada}`);
    expect((await profile(j, item.visitorId)).leadId).toBe(ada);
    const r = await post(j, [{ visitorId: item.visitorId, name: 'proposal_sent' }, { visitorId: item.visitorId, email: 'new@example.com', name: 'note' }]);
    expect(r.events.map((e: { leadId: string }) => e.leadId)).toEqual([ada]);
    expect(r.rejected[0]).toMatchObject({ index: 1, code: 'invalid_event', message: expect.stringMatching(/names a lead/) });
    expect((await get(j, '/api/leads?limit=500')).items.length).toBe(1);
  });

  test('an erased lead answers 404 by its id, its email and its device, never another lead', async () => {
    const j = await open();
    const { eve } = await people(j);
    for (const ref of [eve, 'eve%40example.com', 'phone-eve-0000000001']) {
      expect((await get(j, `/api/leads/${ref}`, 404)).error.code, ref).toBe('not_found');
      expect((await get(j, `/api/leads/${ref}/timeline`, 404)).error.code, ref).toBe('not_found');
    }
  });
});

describe('a timeline across three devices as a sales rep reads it', () => {
  /** Ada on a phone, a laptop and a tablet; the tablet then identifies as Bob (a shared device: PostHog's rule). */
  async function threeDevices(j: Journey) {
    await j.visit('ada-phone-0000000001', [{ path: '/' }, { n: 'identify', em: 'ada@example.com' }], T0);
    await j.visit('ada-laptop-000000001', [{ path: '/pricing' }, { n: 'identify', em: 'ada@example.com' }], T0 + HOUR);
    await j.visit('shared-tablet-000001', [{ path: '/blog' }, { n: 'identify', em: 'ada@example.com' }], T0 + 2 * HOUR);
    await j.visit('shared-tablet-000001', [{ path: '/careers' }, { n: 'identify', em: 'bob@example.com' }, { path: '/jobs' }], T0 + 3 * HOUR);
    await j.visit('ada-phone-0000000001', [{ path: '/case-studies/x' }], T0 + 4 * HOUR);
  }

  test('every device of the lead is in line, the shared device only until it switched, and the switch is shown', async () => {
    const j = await open();
    await threeDevices(j);
    const ada = await timeline(j, 'ada@example.com', 'limit=500');
    const events = ada.items.filter((i) => i.kind === 'event');
    // the tablet's /careers came before it identified as Bob: it stays Ada's; its later events are Bob's
    expect(events.map((i) => i.path)).toEqual(['/case-studies/x', '/careers', '/', '/blog', '/', '/pricing', '/', '/']);
    expect(new Set(events.map((i) => i.visitorId))).toEqual(new Set(['ada-phone-0000000001', 'ada-laptop-000000001', 'shared-tablet-000001']));
    expect(events.some((i) => i.path === '/jobs')).toBe(false);
    const ids = ada.items.filter((i) => i.kind === 'identity').map((i) => `${i.name}:${i.visitorId}`);
    expect(ids).toContain('identity_unlinked:shared-tablet-000001');
    const bob = await timeline(j, 'bob@example.com', 'limit=500');
    expect(bob.items.filter((i) => i.kind === 'event').map((i) => i.path)).toEqual(['/jobs', '/']);
    expect((await profile(j, 'ada@example.com')).visitorIds).toEqual(['ada-laptop-000000001', 'ada-phone-0000000001', 'shared-tablet-000001']);
    expect((await profile(j, 'shared-tablet-000001')).email).toBe('bob@example.com');
  });

  test('types with several kinds and names, and unknown names, filter as the OpenAPI says', async () => {
    const j = await open();
    await threeDevices(j);
    const kinds = async (q: string) => [...new Set((await timeline(j, 'ada@example.com', 'limit=500&' + q)).items.map((i) => i.kind === 'event' ? i.name : i.kind))].sort();
    expect(await kinds('types=stage,identity')).toEqual(['identity', 'stage']);
    expect(await kinds('types=identify,stage')).toEqual(['identify', 'stage']);
    expect(await kinds('types=pageview,identify')).toEqual(['identify', 'pageview']);
    expect(await kinds('types=event,no_such_event')).toEqual(['identify', 'pageview']);
    expect(await kinds('types=no_such_event')).toEqual([]);
    expect(await kinds('types=%20stage%20,%20score%20')).toEqual(['score', 'stage']);
    expect((await get(j, '/api/leads/ada%40example.com/timeline?types=stage;drop', 400)).error.code).toBe('invalid_request');
  });

  test('from is inclusive and to exclusive at an exact event time, in epoch ms and ISO 8601', async () => {
    const j = await open();
    await threeDevices(j);
    const t = T0 + HOUR; // the laptop's /pricing view
    const at = async (q: string) => (await timeline(j, 'ada@example.com', 'types=event&limit=500&' + q)).items.map((i) => Date.parse(i.at));
    expect(await at(`from=${t}&to=${t + 1}`)).toEqual([t]);
    expect(await at(`from=${iso(t)}&to=${iso(t + 1)}`)).toEqual([t]);
    expect(await at(`to=${t}`)).toEqual([T0 + 1, T0]);
    expect((await at(`from=${t}`)).at(-1)).toBe(t);
    expect((await get(j, `/api/leads/ada%40example.com/timeline?from=${t}&to=${t}`, 400)).error.code).toBe('invalid_request');
  });

  test('2,000 events paged with limit 37 come once each, newest first, and a reused cursor ignores newer events', async () => {
    const j = await open();
    await j.visit('ada-phone-0000000001', [{ n: 'identify', em: 'ada@example.com' }], T0);
    for (let b = 0; b < 20; b++) {
      // two devices whose events share their milliseconds: ties are broken by id
      await j.visit('ada-phone-0000000001', Array.from({ length: 50 }, () => ({ path: '/docs' })), T0 + MIN + b * 50);
      await j.visit('ada-laptop-000000001', Array.from({ length: 50 }, (_, i) => (b === 0 && i === 0 ? { n: 'identify', em: 'ada@example.com' } : { path: '/docs' })), T0 + MIN + b * 50);
    }
    const all = await timeline(j, 'ada@example.com', 'limit=500&types=event');
    expect(all.items.length).toBe(500);
    const seen: Array<Record<string, any>> = [];
    let cursor: string | null = null;
    let second: string | null = null;
    let secondPage: unknown = null;
    for (let n = 0; n < 200; n++) {
      const page = await timeline(j, 'ada@example.com', `limit=37&types=event${cursor ? '&cursor=' + cursor : ''}`);
      if (n === 1) [second, secondPage] = [cursor, page.items];
      seen.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen.length).toBe(2001);
    expect(new Set(seen.map((i) => i.id)).size).toBe(2001);
    const keys = seen.map((i) => Date.parse(i.at));
    expect([...keys].sort((a, b) => b - a)).toEqual(keys);
    expect(seen.slice(0, 500).map((i) => i.id)).toEqual(all.items.map((i) => i.id));
    j.clock.now += HOUR;
    await j.visit('ada-phone-0000000001', [{ path: '/pricing' }]);
    const again = await timeline(j, 'ada@example.com', `limit=37&types=event&cursor=${second}`);
    expect(again.items).toEqual(secondPage);
  });
});

describe('a busy timeline paged in small steps', () => {
  /** Every item of a lead's timeline, paged with `limit`, as `kind:id` keys. */
  async function pageTimeline(j: Journey, ref: string, query: string) {
    const out: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 2000; n++) {
      const page = await timeline(j, ref, `${query}${cursor ? '&cursor=' + cursor : ''}`);
      out.push(...page.items.map((i) => `${i.kind}:${i.id}`));
      cursor = page.nextCursor;
      if (!cursor) return out;
    }
    throw new Error('no end');
  }

  test('pages of 3 list every kind of item once, in the order one big page gives, when many share a millisecond', async () => {
    const j = await open();
    await j.visit('ada-phone-0000000001', [{ path: '/pricing' }, { n: 'identify', em: 'ada@example.com' }], T0);
    await j.visit('ada-laptop-000000001', [{ path: '/case-studies/a' }, { n: 'identify', em: 'ada@example.com' }], T0);
    await j.visit('ada-tablet-000000001', [{ path: '/compare/x' }, { n: 'identify', em: 'ada@example.com' }, { path: '/pricing' }], T0);
    j.clock.now = T0 + HOUR;
    await post(j, [
      { email: 'ada@example.com', name: 'demo_completed', at: T0 + 1 },
      { email: 'ada@example.com', name: 'proposal_sent', at: T0 + 1 },
      { email: 'ada@example.com', name: 'sales_accepted', at: T0 + 2 },
      { email: 'ada@example.com', name: 'closed_won', at: T0 + 2 },
      ...Array.from({ length: 30 }, (_, i) => ({ email: 'ada@example.com', name: 'note', at: T0 + (i % 3) })),
    ]);
    const whole = await pageTimeline(j, 'ada@example.com', 'limit=500');
    const kinds = new Set(whole.map((k) => k.split(':')[0]));
    for (const kind of ['event', 'identity', 'score', 'stage']) expect(kinds).toContain(kind);
    expect(new Set(whole).size).toBe(whole.length);
    expect(await pageTimeline(j, 'ada@example.com', 'limit=3')).toEqual(whole);
    const some = await pageTimeline(j, 'ada@example.com', 'limit=500&types=stage,identity,note');
    expect(some.filter((k) => k.startsWith('event:')).length).toBe(30);
    expect(await pageTimeline(j, 'ada@example.com', 'limit=1&types=stage,identity,note')).toEqual(some);
  });
});

describe('POST /api/events as a CRM integration sends them', () => {
  test('500 events in one array are stored, and the same array retried is stored once, each answered by index', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const body = Array.from({ length: 500 }, (_, i) => ({ id: `deal-${i}`, email: `buyer${i % 50}@corp.example`, name: 'opportunity_created', at: T0 + i * MIN, props: { amount: i } }));
    const first = await post(j, body);
    expect(first).toMatchObject({ accepted: 500, duplicates: 0 });
    expect(first.events.map((e: { index: number }) => e.index)).toEqual(body.map((_, i) => i));
    const again = await post(j, body);
    expect(again).toMatchObject({ accepted: 0, duplicates: 500 });
    expect(again.events.every((e: { duplicate: boolean }) => e.duplicate)).toBe(true);
    expect(again.events.map((e: { leadId: string }) => e.leadId)).toEqual(first.events.map((e: { leadId: string }) => e.leadId));
    const tl = await timeline(j, 'buyer7@corp.example', 'types=opportunity_created&limit=500');
    expect(tl.items.length).toBe(10);
  });

  test('an event id repeated inside one array is stored once and answered as a duplicate the second time', async () => {
    const j = await open();
    const r = await post(j, [
      { id: 'deal-1', email: 'ada@example.com', name: 'opportunity_created' },
      { id: 'deal-1', email: 'ada@example.com', name: 'opportunity_created' },
    ]);
    expect(r).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(r.events.map((e: { duplicate: boolean }) => e.duplicate)).toEqual([false, true]);
    // the same id naming another email (a retry after a typo was fixed) is still the stored event: it makes no lead
    const retry = await post(j, [
      { id: 'deal-2', email: 'ada@example.com', name: 'opportunity_created' },
      { id: 'deal-2', email: 'ada.typo@example.com', name: 'opportunity_created' },
    ]);
    expect(retry).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(retry.events[1]).toMatchObject({ duplicate: true, leadId: retry.events[0].leadId });
    expect((await get(j, '/api/leads?q=typo')).items).toEqual([]);
  });

  test('events of one array in the same millisecond are applied in the order the CRM sent them', async () => {
    const j = await open();
    for (let round = 0; round < 8; round++) {
      const email = `sync${round}@example.com`;
      // a sync without `at`: every event of the body gets the same time
      await post(j, [
        { email, name: 'crm_sync', traits: { company: 'First Name Ltd' } },
        { email, name: 'crm_sync', traits: { company: 'Renamed Ltd' } },
        { email, name: 'demo_completed' },
        { email, name: 'closed_won' },
      ]);
      const p = await profile(j, email);
      expect(p.traits.company, email).toBe('Renamed Ltd');
      const stages = (await timeline(j, email, 'types=stage')).items.map((i) => i.to);
      expect(stages, email).toEqual(['purchase', 'evaluation', 'awareness']);
    }
  });

  test('mixed valid and invalid events: the invalid ones are listed by index, the rest stored', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const r = await post(j, [
      { email: 'ada@example.com', name: 'demo_completed' },
      { email: 'not-an-email', name: 'demo_completed' },
      { leadId: 'ld_nobody', name: 'closed_won' },
      { email: 'ada@example.com', name: 'closed_won', at: Math.floor(T0 / 1000) },
      { email: 'ada@example.com', name: 'sales_accepted', at: String(Math.floor(T0 / 1000)) },
      { email: 'ada@example.com', name: 'proposal_sent', at: iso(T0 + DAY + HOUR) },
      { email: 'ada@example.com', name: 'sales_accepted', at: iso(T0) },
    ]);
    expect(r.accepted).toBe(2);
    expect(r.events.map((e: { index: number }) => e.index)).toEqual([0, 6]);
    expect(r.rejected.map((x: { index: number; code: string }) => `${x.index}:${x.code}`)).toEqual([
      '1:invalid_event', '2:unknown_lead', '3:invalid_event', '4:invalid_event', '5:invalid_event',
    ]);
    expect(r.rejected[2].message).toMatch(/seconds/);
    expect(r.rejected[3].message).toMatch(/seconds/);
    expect(r.rejected[4].message).toMatch(/future/);
    expect((await get(j, '/api/rejected?limit=10')).items.length).toBe(5);
  });

  test('a device merged in later with an earlier visit moves the first touch back to it', async () => {
    const j = await open();
    const utm = (source: string) => ({ path: '/', u: `http://127.0.0.1/?utm_source=${source}&utm_medium=cpc` });
    await j.visit('kai-phone-0000000001', [utm('linkedin')], T0);
    await j.visit('kai-laptop-000000001', [utm('newsletter'), { n: 'identify', em: 'kai@example.com' }], T0 + DAY);
    expect((await profile(j, 'kai@example.com')).firstTouch).toMatchObject({ utm_source: 'newsletter', at: iso(T0 + DAY) });
    await j.visit('kai-phone-0000000001', [{ path: '/pricing' }, { n: 'identify', em: 'kai@example.com' }], T0 + 2 * DAY);
    const p = await profile(j, 'kai@example.com');
    expect(p.firstTouch).toMatchObject({ utm_source: 'linkedin', at: iso(T0) });
    expect(p.lastTouch).toMatchObject({ at: iso(T0 + 2 * DAY) });
    expect(p.createdAt).toBe(iso(T0));
  });

  test('the profile follows each step: traits, touches, score, MQL and SQL', async () => {
    const j = await open();
    await j.visit('ada-phone-0000000001', [{ path: '/pricing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=q1', u: 'http://127.0.0.1/pricing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=q1' }], T0);
    const anon = await profile(j, 'ada-phone-0000000001');
    expect(anon).toMatchObject({ email: null, mql: false, sql: false, firstTouch: { utm_source: 'linkedin', at: iso(T0) }, lastTouch: { utm_source: 'linkedin' } });

    j.clock.now = T0 + DAY;
    await post(j, { visitorId: 'ada-phone-0000000001', email: 'Ada@Example.com', name: 'crm_sync', traits: { firstName: 'Ada', company: 'Analytical' } });
    const known = await profile(j, 'ada@example.com');
    expect(known).toMatchObject({ leadId: anon.leadId, traits: { firstName: 'Ada', company: 'Analytical' }, firstTouch: anon.firstTouch, lastTouch: anon.lastTouch, sql: false });

    await post(j, { email: 'ada@example.com', name: 'sales_accepted', traits: { company: 'Analytical Engines Ltd' } });
    const accepted = await profile(j, 'ada@example.com');
    expect(accepted).toMatchObject({ sql: true, sqlAt: iso(T0 + DAY), traits: { firstName: 'Ada', company: 'Analytical Engines Ltd' }, firstTouch: anon.firstTouch, lastTouch: anon.lastTouch });

    j.clock.now = T0 + 2 * DAY;
    await j.visit('ada-laptop-000000001', [{ path: '/?utm_source=newsletter&utm_medium=email', u: 'http://127.0.0.1/?utm_source=newsletter&utm_medium=email' }, { n: 'identify', em: 'ada@example.com' }], T0 + 2 * DAY);
    await post(j, [{ email: 'ada@example.com', name: 'demo_completed' }, { email: 'ada@example.com', name: 'proposal_sent' }]);
    const later = await profile(j, 'ada@example.com');
    expect(later.firstTouch).toEqual(anon.firstTouch);
    expect(later.lastTouch).toMatchObject({ utm_source: 'newsletter', at: iso(T0 + 2 * DAY) });
    expect(later.stage).toBe('evaluation');
    // MQL exactly when some score item reached the threshold (50): the timeline explains the flag
    const scores = async () => (await timeline(j, 'ada@example.com', 'types=score&limit=500')).items.map((i) => i.scoreAfter as number);
    expect(later.mql).toBe(Math.max(...(await scores())) >= 50);
    await j.visit('ada-laptop-000000001', [{ n: 'demo_request', f: 'demo', em: 'ada@example.com', path: '/demo' }], T0 + 2 * DAY + 10 * MIN);
    const demo = await profile(j, 'ada@example.com');
    expect(Math.max(...(await scores()))).toBeGreaterThanOrEqual(50);
    expect(demo).toMatchObject({ mql: true, sql: true, sqlAt: iso(T0 + DAY), firstTouch: anon.firstTouch, lastTouch: later.lastTouch });
  });
});
