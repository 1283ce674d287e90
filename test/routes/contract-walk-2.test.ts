// CONTRACT.md walked item by item for what contract-conformance.test.ts and the other suites do not assert yet:
// the scope matrix of §1/§5, lead refs and the list filters, the timeline's filters and item shapes, the funnel's
// parameters and figures, the §6 default stages, configurable stages, decay, SQL/MQL and the contract's own segment
// example, the §7 guarantees (retries stored once, no raw IP, erasure leaves nothing, bad input kept), the admin
// commands as typed through npm, and every §5 route in /openapi.json.
// Every expected value is read off the contract (or the README where the contract is silent), never off the code.
import { afterEach, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { makeHardeningApp, type HardeningApp } from '../hardening/hardening-app.js';
import { createKey } from '../../collector/admin.js';
import { makeBatch } from '../helpers/factories.js';
import { runAdmin } from '../../scripts/admin.js';
import { tempDir } from '../helpers/test-db.js';
import { CONTRACT_SEGMENT_EXAMPLE } from '../segments/fixtures.js';
import type { Scope } from '../../shared/scopes.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(): Promise<HardeningApp> {
  const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, RATE_LIMIT_API_PER_SEC: 0 });
  cleanups.push(() => h.close());
  return h;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

async function serverEvent(h: HardeningApp, body: unknown) {
  const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status, JSON.stringify(body)).toBe(202);
  return res.json() as Promise<{ events: Array<{ leadId: string }> }>;
}

async function profile(h: HardeningApp, ref: string) {
  const res = await h.api(`/api/leads/${encodeURIComponent(ref)}`);
  expect(res.status, ref).toBe(200);
  return res.json() as Promise<{ leadId: string; email: string | null; visitorIds: string[]; stage: string; score: number; mql: boolean; sql: boolean }>;
}

describe('§1/§5 scopes: each key reaches exactly its routes', () => {
  test('events:write, leads:read, audiences:read and admin each get 403 outside their scope and no 403 inside it', async () => {
    const h = await open();
    const keys = {} as Record<Scope, string>;
    for (const s of ['events:write', 'leads:read', 'audiences:read', 'admin'] as Scope[]) keys[s] = (await createKey(h.db, h.site.siteId, [s], h.now())).secret;
    await serverEvent(h, { email: 'scoped@example.com', name: 'demo_completed' });
    await h.api('/api/segments/scoped', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) });
    // route → the scope the contract names for it (admin is "everything")
    const routes: Array<[string, string, Scope, unknown?]> = [
      ['POST', '/api/events', 'events:write', { email: 'scoped@example.com', name: 'opportunity_created' }],
      ['GET', '/api/leads', 'leads:read'],
      ['GET', '/api/leads/scoped%40example.com', 'leads:read'],
      ['GET', '/api/leads/scoped%40example.com/timeline', 'leads:read'],
      ['GET', '/api/funnel', 'audiences:read'],
      ['GET', '/api/segments', 'audiences:read'],
      ['GET', '/api/segments/scoped/members', 'audiences:read'],
      ['GET', '/api/config/funnel', 'admin'],
      ['PUT', '/api/segments/scoped', 'admin', { definition: { identified: true } }],
      ['GET', '/api/webhooks', 'admin'],
      ['GET', '/api/rejected', 'admin'],
    ];
    for (const [method, path, scope, body] of routes) {
      for (const held of Object.keys(keys) as Scope[]) {
        const res = await h.api(path, { method, secret: keys[held], body: body === undefined ? undefined : JSON.stringify(body) });
        await res.arrayBuffer();
        const allowed = held === scope || held === 'admin';
        if (allowed) expect(res.status, `${held} ${method} ${path}`).toBeLessThan(300);
        else expect(res.status, `${held} ${method} ${path}`).toBe(403);
      }
    }
    // DELETE /api/leads/{ref} is admin only: no reader erases
    for (const held of ['events:write', 'leads:read', 'audiences:read'] as Scope[]) {
      expect((await h.api('/api/leads/scoped%40example.com', { method: 'DELETE', secret: keys[held] })).status, held).toBe(403);
    }
    expect((await h.api('/api/leads/scoped%40example.com')).status).toBe(200);
  });
});

describe('§5 leads: refs and filters', () => {
  test('GET /api/leads/{ref} answers the same profile for its lead id, each visitor id and its email', async () => {
    const h = await open();
    const a = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/' }, { t: h.clock.t + 1, n: 'identify', u: 'http://127.0.0.1/', em: 'refs@example.com' }]);
    expect((await h.postBeacon(a)).status).toBe(202);
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t + 5, n: 'identify', u: 'http://127.0.0.1/', em: 'refs@example.com' }]);
    expect((await h.postBeacon(b)).status).toBe(202);
    const byEmail = await profile(h, 'refs@example.com');
    expect(byEmail.email).toBe('refs@example.com');
    expect(byEmail.visitorIds.sort()).toEqual([a.v, b.v].sort());
    for (const ref of [byEmail.leadId, a.v, b.v]) expect((await profile(h, ref)).leadId, ref).toBe(byEmail.leadId);
    expect(Object.keys(byEmail)).toEqual(expect.arrayContaining(['leadId', 'email', 'visitorIds', 'stage', 'score', 'mql', 'sql', 'firstTouch', 'lastTouch']));
    expect((await h.api('/api/leads/nobody%40example.com')).status).toBe(404);
  });

  test('GET /api/leads filters by stage, segment and q (a part of the email), and pages with a cursor through every lead once', async () => {
    const h = await open();
    await serverEvent(h, [
      { email: 'ann@acme.example', name: 'demo_completed' },
      { email: 'bob@acme.example', name: 'closed_won' },
      { email: 'cy@other.example', name: 'demo_completed' },
    ]);
    const list = async (q: string) => ((await (await h.api(`/api/leads?${q}`)).json()) as { items: Array<{ email: string }>; nextCursor: string | null });
    expect((await list('q=acme')).items.map((l) => l.email).sort()).toEqual(['ann@acme.example', 'bob@acme.example']);
    expect((await list('q=ACME')).items.map((l) => l.email).sort()).toEqual(['ann@acme.example', 'bob@acme.example']);
    expect((await list('stage=evaluation')).items.map((l) => l.email).sort()).toEqual(['ann@acme.example', 'cy@other.example']);
    expect((await list('stage=purchase')).items.map((l) => l.email)).toEqual(['bob@acme.example']);
    expect((await h.api('/api/segments/evals', { method: 'PUT', body: JSON.stringify({ definition: { stage: { in: ['evaluation'] } } }) })).status).toBe(201);
    expect((await list('segment=evals&q=acme')).items.map((l) => l.email)).toEqual(['ann@acme.example']);
    // paging: one lead per page, three pages, then null
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 5; i++) {
      const page = await list(`limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.items.map((l) => l.email));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(seen.sort()).toEqual(['ann@acme.example', 'bob@acme.example', 'cy@other.example']);
    // a stage that is not one of the funnel's is a clear 400, not an empty page
    expect((await h.api('/api/leads?stage=nonsense')).status).toBe(400);
  });
});

describe('§5 timeline', () => {
  async function journey(h: HardeningApp) {
    const v = makeBatch(h.site.siteKey, {}, [
      { t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/' },
      { t: h.clock.t + 60_000, n: 'pageview', u: 'http://127.0.0.1/pricing' },
      { t: h.clock.t + 120_000, n: 'demo_request', u: 'http://127.0.0.1/demo', em: 'tl@example.com', f: 'demo' },
    ]);
    expect((await h.postBeacon(v)).status).toBe(202);
    return v;
  }
  type Item = { kind: string; name: string; at: string; visitorId?: string; url?: string; form?: string; from?: string; to?: string };
  const page = async (h: HardeningApp, q = '') => (await (await h.api(`/api/leads/tl%40example.com/timeline${q}`)).json()) as { items: Item[]; nextCursor: string | null };

  test('newest first, ISO times, event items with visitorId and url, the form kind on a form, stage items with from and to', async () => {
    const h = await open();
    const v = await journey(h);
    const { items } = await page(h);
    for (let i = 1; i < items.length; i++) expect(Date.parse(items[i - 1].at)).toBeGreaterThanOrEqual(Date.parse(items[i].at));
    for (const it of items) expect(new Date(it.at).toISOString()).toBe(it.at);
    const events = items.filter((i) => i.kind === 'event');
    expect(events.map((e) => e.name)).toEqual(['demo_request', 'pageview', 'pageview']);
    for (const e of events) {
      expect(e.visitorId).toBe(v.v);
      expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1\//);
    }
    expect(events[0].form).toBe('demo');
    const stages = items.filter((i) => i.kind === 'stage');
    // awareness → consideration (pricing) → evaluation (demo request), contract §6
    expect(stages.map((s) => s.to)).toEqual(['evaluation', 'consideration', 'awareness']);
    expect(stages[0].from).toBe('consideration');
    // every stage item has both fields, the first one too (from nothing: null)
    for (const s of stages) expect(Object.keys(s), JSON.stringify(s)).toEqual(expect.arrayContaining(['from', 'to']));
    expect(stages[2].from ?? null).toBeNull();
    expect(items.some((i) => i.kind === 'score')).toBe(true);
  });

  test('types, from, to, limit and cursor narrow and page the timeline', async () => {
    const h = await open();
    await journey(h);
    const onlyEvents = await page(h, '?types=event');
    expect(onlyEvents.items.length).toBe(3);
    expect(new Set(onlyEvents.items.map((i) => i.kind))).toEqual(new Set(['event']));
    const stages = await page(h, '?types=stage');
    expect(stages.items.map((i) => i.to)).toEqual(['evaluation', 'consideration', 'awareness']);
    // from inclusive .. to exclusive (the pricing view and its changes only)
    const from = new Date(h.clock.t + 60_000).toISOString();
    const to = new Date(h.clock.t + 120_000).toISOString();
    const window = await page(h, `?types=event&from=${from}&to=${to}`);
    expect(window.items.map((i) => i.url)).toEqual(['http://127.0.0.1/pricing']);
    const all = (await page(h, '?limit=500')).items;
    const paged: Item[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const p = await page(h, `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(p.items.length).toBeLessThanOrEqual(2);
      paged.push(...p.items);
      cursor = p.nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(paged.map((i) => `${i.kind}:${i.name}:${i.at}`)).toEqual(all.map((i) => `${i.kind}:${i.name}:${i.at}`));
  });
});

describe('§5 funnel report parameters', () => {
  test('every breakdown and attribution is served in the documented shape; an unknown one is a 400', async () => {
    const h = await open();
    const landing = makeBatch(h.site.siteKey, {}, [
      { t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/?utm_source=google&utm_medium=cpc&utm_campaign=q1', ft: { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'q1', at: h.clock.t }, st: { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'q1', at: h.clock.t } },
    ]);
    expect((await h.postBeacon(landing)).status).toBe(202);
    const from = new Date(h.clock.t - DAY).toISOString();
    const to = new Date(h.clock.t + DAY).toISOString();
    const plain = await h.api(`/api/funnel?from=${from}&to=${to}`);
    expect(plain.status).toBe(200);
    const body = (await plain.json()) as { stages: Array<Record<string, unknown>> };
    expect(body.stages.map((s) => s.stage)).toEqual(['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase']);
    for (const s of body.stages) {
      for (const k of ['stage', 'count', 'entered', 'conversionNext', 'conversionCumulative', 'timeInStage']) expect(Object.keys(s), String(s.stage)).toContain(k);
      expect(Object.keys(s.timeInStage as object).sort()).toEqual(expect.arrayContaining(['p50', 'p90']));
    }
    expect(body.stages[0]).toMatchObject({ count: 1, entered: 1 });
    expect(Object.keys(body)).toContain('breakdown');
    for (const breakdown of ['channel', 'source', 'medium', 'campaign']) {
      for (const attribution of ['first', 'last', 'linear']) {
        const res = await h.api(`/api/funnel?from=${from}&to=${to}&breakdown=${breakdown}&attribution=${attribution}`);
        expect(res.status, `${breakdown}/${attribution}`).toBe(200);
        const b = (await res.json()) as { breakdown: unknown };
        expect(b.breakdown, `${breakdown}/${attribution}`).toBeTruthy();
      }
    }
    const src = (await (await h.api(`/api/funnel?from=${from}&to=${to}&breakdown=source`)).json()) as { breakdown: Array<{ key: string; stages: Array<{ stage: string; count: number }> }> };
    expect(src.breakdown.find((r) => r.key === 'google')?.stages[0].count).toBe(1);
    for (const q of ['breakdown=country', 'attribution=middle', 'breakdown=source&attribution=Linear', 'from=yesterday']) {
      expect((await h.api(`/api/funnel?${q}`)).status, q).toBe(400);
    }
  });
});

describe('§6 default stages, SQL and MQL', () => {
  const page = (h: HardeningApp, v: string, path: string, t: number) => h.postBeacon(makeBatch(h.site.siteKey, { v }, [{ t, n: 'pageview', u: `http://127.0.0.1${path}` }]));
  async function stageOf(h: HardeningApp, v: string, email: string) {
    h.clock.t += 1000;
    expect((await h.postBeacon(makeBatch(h.site.siteKey, { v }, [{ t: h.clock.t, n: 'identify', u: 'http://127.0.0.1/', em: email }]))).status).toBe(202);
    return (await profile(h, email)).stage;
  }

  test('a second session is interest; pricing seen in two sessions is intent; one pricing view is consideration', async () => {
    const h = await open();
    const t0 = h.clock.t;
    expect((await page(h, 'v_two_sessions', '/', t0)).status).toBe(202);
    h.clock.t = t0 + 2 * DAY;
    expect((await page(h, 'v_two_sessions', '/blog', h.clock.t)).status).toBe(202);
    expect(await stageOf(h, 'v_two_sessions', 'two@example.com')).toBe('interest');

    h.clock.t = t0 + 3 * DAY;
    expect((await page(h, 'v_pricing_once', '/pricing', h.clock.t)).status).toBe(202);
    expect(await stageOf(h, 'v_pricing_once', 'once@example.com')).toBe('consideration');
    h.clock.t += 2 * DAY;
    expect((await page(h, 'v_pricing_once', '/pricing', h.clock.t)).status).toBe(202);
    expect((await profile(h, 'once@example.com')).stage).toBe('intent');
  });

  test('webinar registration and content downloads are interest; a case-study download is consideration; a quote form intent', async () => {
    const h = await open();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['web@example.com', { n: 'webinar_registration', u: 'http://127.0.0.1/webinars/q3' }, 'interest'],
      ['ebook@example.com', { n: 'download', u: 'http://127.0.0.1/resources', p: { url: 'http://127.0.0.1/files/B2B-Ebook.pdf' } }, 'interest'],
      ['case@example.com', { n: 'download', u: 'http://127.0.0.1/resources', p: { url: 'http://127.0.0.1/files/case-study-acme.pdf' } }, 'consideration'],
      ['quote@example.com', { n: 'form_submit', u: 'http://127.0.0.1/quote', f: 'other' }, 'intent'],
    ];
    for (const [email, ev, stage] of cases) {
      h.clock.t += 1000;
      const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, ...ev }, { t: h.clock.t + 1, n: 'identify', u: 'http://127.0.0.1/', em: email }] as never);
      expect((await h.postBeacon(b)).status, email).toBe(202);
      expect((await profile(h, email)).stage, email).toBe(stage);
    }
  });

  test('server events: proposal_sent is evaluation, closed_won purchase; a stage never moves back', async () => {
    const h = await open();
    await serverEvent(h, { email: 'p@example.com', name: 'proposal_sent' });
    expect((await profile(h, 'p@example.com')).stage).toBe('evaluation');
    await serverEvent(h, { email: 'p@example.com', name: 'closed_won' });
    expect((await profile(h, 'p@example.com')).stage).toBe('purchase');
    await serverEvent(h, { email: 'p@example.com', name: 'demo_completed' });
    expect((await profile(h, 'p@example.com')).stage).toBe('purchase');
  });

  test('SQL on sales_accepted or a demo request, not before; MQL once the score crosses the configured threshold', async () => {
    const h = await open();
    await serverEvent(h, { email: 'sql@example.com', name: 'opportunity_created' });
    expect((await profile(h, 'sql@example.com')).sql).toBe(false);
    await serverEvent(h, { email: 'sql@example.com', name: 'sales_accepted' });
    expect((await profile(h, 'sql@example.com')).sql).toBe(true);
    const demo = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'demo_request', u: 'http://127.0.0.1/demo', em: 'demo-sql@example.com', f: 'demo' }]);
    expect((await h.postBeacon(demo)).status).toBe(202);
    expect((await profile(h, 'demo-sql@example.com')).sql).toBe(true);

    // MQL: set a threshold a pageview score crosses, and see mql flip when (and only when) the score reaches it
    const config = (await (await h.api('/api/config/funnel')).json()) as Record<string, unknown>;
    const lead = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'identify', u: 'http://127.0.0.1/', em: 'mql@example.com' }]);
    expect((await h.postBeacon(lead)).status).toBe(202);
    const before = await profile(h, 'mql@example.com');
    expect(before.mql).toBe(false);
    expect((await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify({ ...config, mqlThreshold: before.score + 5 }) })).status).toBe(200);
    h.clock.t += 1000;
    expect((await h.postBeacon(makeBatch(h.site.siteKey, { v: lead.v }, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/pricing' }]))).status).toBe(202);
    const after = await profile(h, 'mql@example.com');
    expect(after.score).toBeGreaterThanOrEqual(before.score + 5);
    expect(after.mql).toBe(true);
  });
});

describe('§5 POST /api/events shapes', () => {
  test('a lead named by visitorId gets the event; "at" dates it; props and traits are kept', async () => {
    const h = await open();
    const web = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'identify', u: 'http://127.0.0.1/', em: 'crm@example.com' }]);
    expect((await h.postBeacon(web)).status).toBe(202);
    const at = new Date(h.clock.t - HOUR).toISOString();
    await serverEvent(h, { visitorId: web.v, name: 'opportunity_created', at, props: { amount: 1200, plan: 'pro', won: false }, traits: { company: 'ACME', country: 'DE' } });
    const p = (await profile(h, 'crm@example.com')) as unknown as { traits: Record<string, string> };
    expect(p.traits).toMatchObject({ company: 'ACME', country: 'DE' });
    const tl = (await (await h.api('/api/leads/crm%40example.com/timeline?types=opportunity_created')).json()) as { items: Array<{ name: string; at: string; props?: Record<string, unknown> }> };
    expect(tl.items.length).toBe(1);
    expect(tl.items[0].at).toBe(at);
    expect(tl.items[0].props).toMatchObject({ amount: 1200, plan: 'pro', won: false });
    // none of email, leadId, visitorId: a 400 in the error shape
    const none = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ name: 'closed_won' }) });
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: { code: string } }).error.code).toMatch(/^[a-z_]+$/);
  });
});

describe('§7 guarantees', () => {
  test('a retried beacon (same client event ids) is stored once', async () => {
    const h = await open();
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/' }, { t: h.clock.t + 1, n: 'identify', u: 'http://127.0.0.1/', em: 'retry@example.com' }]);
    for (let i = 0; i < 3; i++) expect((await h.postBeacon(b)).status).toBe(202);
    const tl = (await (await h.api('/api/leads/retry%40example.com/timeline?types=event')).json()) as { items: unknown[] };
    expect(tl.items.length).toBe(2);
  });

  test('the client address is stored nowhere in the database', async () => {
    const h = await open();
    const address = '203.0.113.77';
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/', em: 'ip@example.com' }]);
    expect((await h.postBeacon(b, { address, headers: { 'x-forwarded-for': address } })).status).toBe(202);
    await h.postBeacon('{broken', { address });
    const tables = await h.db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
    for (const { name } of tables) {
      const rows = await h.db.all<Record<string, unknown>>(`SELECT * FROM "${name}"`);
      expect(JSON.stringify(rows), name).not.toContain(address);
    }
  });

  test('erasure: profile, timeline, list, segment members and the email search all forget the lead; its retried beacon does not bring it back', async () => {
    const h = await open();
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'demo_request', u: 'http://127.0.0.1/demo', em: 'gone@example.com', f: 'demo' }]);
    expect((await h.postBeacon(b)).status).toBe(202);
    expect((await h.api('/api/segments/all_known', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) })).status).toBe(201);
    const leadId = (await profile(h, 'gone@example.com')).leadId;
    const del = await h.api('/api/leads/gone%40example.com', { method: 'DELETE' });
    expect(del.status).toBe(200);
    for (const ref of ['gone%40example.com', leadId, b.v]) expect((await h.api(`/api/leads/${ref}`)).status, ref).toBe(404);
    expect(((await (await h.api('/api/leads?q=gone')).json()) as { items: unknown[] }).items).toEqual([]);
    expect(((await (await h.api('/api/segments/all_known/members')).json()) as { count: number }).count).toBe(0);
    expect(await h.count("SELECT COUNT(*) AS n FROM events WHERE visitor_id = ?", [b.v])).toBe(0);
    expect((await h.postBeacon(b)).status).toBe(202);
    expect((await h.api('/api/leads/gone%40example.com')).status).toBe(404);
  });
});

describe('§1 admin commands: what the other admin tests leave out', () => {
  test('key create prints exactly the scopes asked for, and a key of one site reads nothing of another', async () => {
    const env = { DATABASE_PATH: join(tempDir(), 'walk.db') };
    const a = JSON.parse((await runAdmin(['site', 'create', '--domain', 'a.example'], env)).out);
    const b = JSON.parse((await runAdmin(['site', 'create', '--domain', 'b.example', '--name', 'B Inc'], env)).out);
    for (const s of [a, b]) expect(Object.keys(s)).toEqual(expect.arrayContaining(['siteId', 'siteKey', 'domain']));
    expect(a.siteKey).not.toBe(b.siteKey);
    const all = JSON.parse((await runAdmin(['key', 'create', '--site', a.siteId, '--scopes', 'events:write,leads:read,audiences:read,admin'], env)).out);
    expect(Object.keys(all)).toEqual(expect.arrayContaining(['keyId', 'secret', 'scopes']));
    expect([...all.scopes].sort()).toEqual(['admin', 'audiences:read', 'events:write', 'leads:read']);
    // key list --site b lists none of a's keys
    const listB = await runAdmin(['key', 'list', '--site', b.siteId], env);
    expect(listB.code).toBe(0);
    expect(JSON.parse(listB.out)).toEqual([]);
    const sites = JSON.parse((await runAdmin(['site', 'list'], env)).out) as Array<{ siteId: string }>;
    expect(sites.map((s) => s.siteId).sort()).toEqual([a.siteId, b.siteId].sort());
  });

  test('errors are one line on a non-zero exit: key list of an unknown site, an empty scope list, a revoked key revoked again', async () => {
    const env = { DATABASE_PATH: join(tempDir(), 'walk-err.db') };
    const s = JSON.parse((await runAdmin(['site', 'create', '--domain', 'err.example'], env)).out);
    const k = JSON.parse((await runAdmin(['key', 'create', '--site', s.siteId, '--scopes', 'admin'], env)).out);
    expect((await runAdmin(['key', 'revoke', '--key', k.keyId], env)).code).toBe(0);
    for (const args of [
      ['key', 'list', '--site', 'site_nope'],
      ['key', 'create', '--site', s.siteId, '--scopes', ''],
      ['key', 'revoke', '--key', k.keyId],
      ['key', 'list'],
      ['site', 'create', '--domain', ''],
    ]) {
      const r = await runAdmin(args, env);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.out.split('\n').length, args.join(' ')).toBe(1);
      expect(() => JSON.parse(r.out), args.join(' ')).toThrow();
    }
  });
});

describe('§5 funnel figures computed by hand', () => {
  test('count, entered, conversionNext, conversionCumulative and timeInStage of four leads', async () => {
    const h = await open();
    const T = h.clock.t;
    const visit = (events: Array<[number, string, string?]>) =>
      h.postBeacon(makeBatch(h.site.siteKey, {}, events.map(([t, path, n]) => (n === 'demo_request' ? { t, n, u: `http://127.0.0.1${path}`, em: 'c@example.com', f: 'demo' as const } : { t, n: 'pageview', u: `http://127.0.0.1${path}` }))));
    h.clock.t = T + 30 * 60_000; // the beacons arrive after their events happened (no future times)
    expect((await visit([[T, '/']])).status).toBe(202); // A: awareness
    expect((await visit([[T, '/'], [T + 10 * 60_000, '/pricing']])).status).toBe(202); // B: consideration after 10 min
    expect((await visit([[T, '/'], [T + 30 * 60_000, '/demo', 'demo_request']])).status).toBe(202); // C: evaluation after 30 min
    h.clock.t = T + HOUR;
    await serverEvent(h, { email: 'd@example.com', name: 'closed_won' }); // D: purchase
    const res = await h.api(`/api/funnel?from=${new Date(T - DAY).toISOString()}&to=${new Date(T + DAY).toISOString()}`);
    expect(res.status).toBe(200);
    const { stages } = (await res.json()) as { stages: Array<{ stage: string; count: number; entered: number; conversionNext: number | null; conversionCumulative: number; timeInStage: { p50: number | null; p90: number | null } }> };
    const by = Object.fromEntries(stages.map((s) => [s.stage, s]));
    expect(stages.map((s) => s.count)).toEqual([1, 0, 1, 0, 1, 1]);
    // reached: awareness 4, interest 3, consideration 3, intent 2, evaluation 2, purchase 1 (README: now in it or later)
    expect(stages.map((s) => s.conversionCumulative)).toEqual([1, 0.75, 0.75, 0.5, 0.5, 0.25]);
    // README: figures are shown to 4 decimals
    expect(stages.slice(0, 5).map((s) => s.conversionNext)).toEqual([0.75, 1, 0.6667, 1, 0.5]);
    // README §6 table: awareness is "any visit, or the first server event of a lead never seen on the web" (D too)
    expect(by.awareness.entered).toBe(4);
    expect(by.purchase.entered).toBe(1);
    // nearest-rank over the awareness stays that moved on: 0 (D), 10 (B) and 30 (C) minutes
    expect(by.awareness.timeInStage).toMatchObject({ p50: 10 * 60_000, p90: 30 * 60_000 });
  });
});

describe('§5 more lead and segment shapes', () => {
  test('an email ref in any case finds the lead; firstTouch and lastTouch name the first and the latest visit', async () => {
    const h = await open();
    const T = h.clock.t;
    const v = 'v_touches';
    const first = makeBatch(h.site.siteKey, { v }, [{ t: T, n: 'pageview', u: 'http://127.0.0.1/?utm_source=google&utm_medium=cpc', ft: { utm_source: 'google', utm_medium: 'cpc', at: T }, st: { utm_source: 'google', utm_medium: 'cpc', at: T } }]);
    expect((await h.postBeacon(first)).status).toBe(202);
    h.clock.t = T + 3 * DAY;
    const second = makeBatch(h.site.siteKey, { v }, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/?utm_source=linkedin&utm_medium=social', em: 'Touch.Me@Example.com', ft: { utm_source: 'google', utm_medium: 'cpc', at: T }, st: { utm_source: 'linkedin', utm_medium: 'social', at: h.clock.t } }]);
    expect((await h.postBeacon(second)).status).toBe(202);
    const p = (await profile(h, 'TOUCH.ME@EXAMPLE.COM')) as unknown as { email: string; firstTouch: object; lastTouch: object };
    expect(p.email.toLowerCase()).toBe('touch.me@example.com');
    expect(JSON.stringify(p.firstTouch)).toContain('google');
    expect(JSON.stringify(p.firstTouch)).not.toContain('linkedin');
    expect(JSON.stringify(p.lastTouch)).toContain('linkedin');
  });

  test('the timeline spans every device of the lead, with identity items in line', async () => {
    const h = await open();
    const laptop = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/laptop' }, { t: h.clock.t + 1000, n: 'identify', u: 'http://127.0.0.1/laptop', em: 'two@example.com' }]);
    const phone = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t + 5000, n: 'pageview', u: 'http://127.0.0.1/phone' }, { t: h.clock.t + 6000, n: 'identify', u: 'http://127.0.0.1/phone', em: 'two@example.com' }]);
    expect((await h.postBeacon(laptop)).status).toBe(202);
    expect((await h.postBeacon(phone)).status).toBe(202);
    const { items } = (await (await h.api('/api/leads/two%40example.com/timeline?limit=500')).json()) as { items: Array<{ kind: string; visitorId?: string; url?: string }> };
    const devices = new Set(items.filter((i) => i.kind === 'event').map((i) => i.visitorId));
    expect(devices).toEqual(new Set([laptop.v, phone.v]));
    expect(items.some((i) => i.kind === 'identity')).toBe(true);
    expect(items.filter((i) => i.kind === 'event' && i.url?.endsWith('/phone')).length).toBeGreaterThan(0);
  });

  test('an anonymous member of a segment is exported with leadId and email null and its visitorId; the snippet route names the segment', async () => {
    const h = await open();
    expect((await h.api('/api/segments/anon_pricing', { method: 'PUT', body: JSON.stringify({ definition: { all: [{ identified: false }, { did: { event: 'pageview', path: '/pricing*' } }] } }) })).status).toBe(201);
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/pricing' }]);
    expect((await h.postBeacon(b)).status).toBe(202);
    const body = (await (await h.api('/api/segments/anon_pricing/members?format=json')).json()) as { segment: string; count: number; members: Array<Record<string, unknown>> };
    expect(body.segment).toBe('anon_pricing');
    expect(body.count).toBe(1);
    expect(body.members[0]).toMatchObject({ visitorId: b.v, email: null, stage: 'consideration' });
    expect(body.members[0].leadId === null || typeof body.members[0].leadId === 'string').toBe(true);
    const seg = await h.app.request(`/api/visitors/${b.v}/segments?site=${h.site.siteKey}`, { headers: { origin: h.origin } });
    expect(((await seg.json()) as { segments: string[] }).segments).toContain('anon_pricing');
  });

  test('POST /api/events with a client id: a retried event is stored once (README: id?)', async () => {
    const h = await open();
    const ev = { email: 'idem@example.com', name: 'opportunity_created', id: 'crm-opp-42' };
    await serverEvent(h, ev);
    const again = (await serverEvent(h, [ev])) as unknown as { accepted: number; duplicates: number };
    expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
    const tl = (await (await h.api('/api/leads/idem%40example.com/timeline?types=opportunity_created')).json()) as { items: unknown[] };
    expect(tl.items.length).toBe(1);
  });

  test('401 without a key, with a malformed header and with an unknown key, each with WWW-Authenticate: Bearer', async () => {
    const h = await open();
    for (const auth of [undefined, 'Basic abc', 'Bearer', 'Bearer fbk_nope.nope']) {
      const res = await h.app.request('/api/leads', { headers: auth ? { authorization: auth } : {} });
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get('www-authenticate') ?? '', String(auth)).toMatch(/^Bearer/);
    }
  });
});

describe('§6 the contract\'s own segment example', () => {
  const EXAMPLE = CONTRACT_SEGMENT_EXAMPLE;

  test('a lead that meets every condition is a member; one that misses one (first touch, identity, time in stage) is not', async () => {
    const h = await open();
    const T = h.clock.t;
    const google = { utm_source: 'google', utm_medium: 'cpc', at: T };
    const lead = async (v: string, email: string | null, source: typeof google) => {
      h.clock.t = T;
      expect((await h.postBeacon(makeBatch(h.site.siteKey, { v }, [{ t: T, n: 'pageview', u: 'http://127.0.0.1/pricing', ft: source, st: source }]))).status).toBe(202);
      h.clock.t = T + DAY;
      const ev = { t: T + DAY, n: 'pageview', u: 'http://127.0.0.1/pricing', ft: source, st: { ...source, at: T + DAY } };
      expect((await h.postBeacon(makeBatch(h.site.siteKey, { v }, [ev, ...(email ? [{ t: T + DAY + 1, n: 'identify', u: 'http://127.0.0.1/pricing', em: email }] : [])]))).status).toBe(202);
    };
    await lead('v_member', 'member@example.com', google);
    await lead('v_bing_lead', 'bing@example.com', { ...google, utm_source: 'bing' });
    await lead('v_anon_lead', null, google);
    expect((await profile(h, 'member@example.com')).stage).toBe('intent');
    h.clock.t = T + 23 * DAY; // 22 days in intent, the pricing views within 30 days
    expect((await profile(h, 'member@example.com')).score).toBeGreaterThanOrEqual(20);
    const put = await h.api('/api/segments/contract_example', { method: 'PUT', body: JSON.stringify({ name: 'Contract example', definition: EXAMPLE }) });
    expect(put.status).toBe(201);
    const members = (await (await h.api('/api/segments/contract_example/members')).json()) as { count: number; members: Array<{ email: string | null; visitorId: string }> };
    expect(members.members.map((m) => m.email)).toEqual(['member@example.com']);
    expect(members.count).toBe(1);
    // a fresh lead in the same stage only 2 days: not yet
    h.clock.t = T + 23 * DAY;
    await (async () => {
      const v = 'v_fresh_lead';
      const src = { ...google, at: h.clock.t };
      expect((await h.postBeacon(makeBatch(h.site.siteKey, { v }, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/pricing', ft: src, st: src }, { t: h.clock.t + 1, n: 'identify', u: 'http://127.0.0.1/pricing', em: 'fresh@example.com' }]))).status).toBe(202);
    })();
    const after = (await (await h.api('/api/segments/contract_example/members')).json()) as { members: Array<{ email: string | null }> };
    expect(after.members.map((m) => m.email)).toEqual(['member@example.com']);
  });
});

describe('§5 timeline kinds and erasure by visitor id', () => {
  test('entering a segment shows as a segment item; types mixes kinds and event names', async () => {
    const h = await open();
    expect((await h.api('/api/segments/pricing_seen', { method: 'PUT', body: JSON.stringify({ definition: { did: { event: 'pageview', path: '/pricing*' } } }) })).status).toBe(201);
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'identify', u: 'http://127.0.0.1/', em: 'seg@example.com' }, { t: h.clock.t + 1000, n: 'pageview', u: 'http://127.0.0.1/pricing' }]);
    h.clock.t += 2000;
    expect((await h.postBeacon(b)).status).toBe(202);
    const all = (await (await h.api('/api/leads/seg%40example.com/timeline?limit=500')).json()) as { items: Array<{ kind: string; name: string; segment?: string }> };
    expect(all.items.some((i) => i.kind === 'segment' && JSON.stringify(i).includes('pricing_seen'))).toBe(true);
    const mixed = (await (await h.api('/api/leads/seg%40example.com/timeline?types=stage,pageview')).json()) as { items: Array<{ kind: string; name: string }> };
    expect(mixed.items.length).toBeGreaterThan(0);
    for (const i of mixed.items) expect(i.kind === 'stage' || (i.kind === 'event' && i.name === 'pageview'), JSON.stringify(i)).toBe(true);
    expect(mixed.items.some((i) => i.kind === 'stage')).toBe(true);
    expect(mixed.items.some((i) => i.kind === 'event')).toBe(true);
  });

  test('DELETE /api/leads/{visitorId} erases the whole lead, its other devices too', async () => {
    const h = await open();
    const a = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'identify', u: 'http://127.0.0.1/', em: 'bye@example.com' }]);
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'identify', u: 'http://127.0.0.1/', em: 'bye@example.com' }]);
    expect((await h.postBeacon(a)).status).toBe(202);
    expect((await h.postBeacon(b)).status).toBe(202);
    expect((await h.api(`/api/leads/${a.v}`, { method: 'DELETE' })).status).toBe(200);
    for (const ref of [a.v, b.v, 'bye%40example.com']) expect((await h.api(`/api/leads/${ref}`)).status, ref).toBe(404);
    expect(await h.count('SELECT COUNT(*) AS n FROM events WHERE visitor_id IN (?, ?)', [a.v, b.v])).toBe(0);
  });
});

describe('§7 erasure removes everything of a lead', () => {
  test('no table holds its email, lead id, visitor ids, name or phone afterwards (events, traits, memberships, deliveries, rejected rows)', async () => {
    const h = await open();
    // a webhook that cannot be reached: its delivery rows (with the lead's email in their payload) stay queued
    expect((await h.api('/api/webhooks/down', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'] }) })).status).toBe(201);
    expect((await h.api('/api/segments/known_ones', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) })).status).toBe(201);
    const email = 'erase.me@example.com';
    const a = makeBatch(h.site.siteKey, {}, [
      { t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/pricing?utm_source=zzcampaignsrc', ft: { utm_source: 'zzcampaignsrc', at: h.clock.t }, st: { utm_source: 'zzcampaignsrc', at: h.clock.t } },
      { t: h.clock.t + 1, n: 'demo_request', u: 'http://127.0.0.1/demo', em: email, f: 'demo', tr: { firstName: 'Zebedeus', phone: '+49 30 9876543', company: 'Quuxcorp' } },
    ]);
    expect((await h.postBeacon(a)).status).toBe(202);
    const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t + 2, n: 'identify', u: 'http://127.0.0.1/', em: email }]);
    expect((await h.postBeacon(b)).status).toBe(202);
    // a bad server event naming the lead is kept in the rejected store
    const bad = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email, name: 'bad,name' }) });
    expect(bad.status).toBe(400);
    await serverEvent(h, { email, name: 'closed_won', traits: { lastName: 'Quintavalle' } });
    // an export was pulled
    expect((await h.api('/api/segments/known_ones/members?format=google')).status).toBe(200);
    const leadId = (await profile(h, email)).leadId;
    expect((await h.api(`/api/leads/${leadId}`, { method: 'DELETE' })).status).toBe(200);
    // README: "a count back at zero is deleted, so no row keeps the campaign or source of an erased lead"
    const needles = [email, leadId, a.v, b.v, 'Zebedeus', 'Quintavalle', 'Quuxcorp', '9876543', 'zzcampaignsrc'];
    const tables = await h.db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    const found: string[] = [];
    for (const { name } of tables) {
      const text = JSON.stringify(await h.db.all<Record<string, unknown>>(`SELECT * FROM "${name}"`));
      for (const n of needles) if (text.includes(n)) found.push(`${name}: ${n}`);
    }
    expect(found).toEqual([]);
  });
});

describe('§3 click ids and §1 defaults', () => {
  test('each click id of the contract (gclid, fbclid, msclkid, li_fat_id, ttclid) is kept in the lead\'s first touch', async () => {
    const h = await open();
    for (const id of ['gclid', 'fbclid', 'msclkid', 'li_fat_id', 'ttclid']) {
      h.clock.t += 1000;
      const touch = { [id]: `click-${id}-value`, at: h.clock.t };
      const b = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: `http://127.0.0.1/?${id}=click-${id}-value`, em: `${id.replace('_', '')}@example.com`, ft: touch, st: touch }]);
      expect((await h.postBeacon(b)).status, id).toBe(202);
      const p = (await profile(h, `${id.replace('_', '')}@example.com`)) as unknown as { firstTouch: Record<string, unknown> };
      expect(p.firstTouch[id], id).toBe(`click-${id}-value`);
    }
  });

  test('npm start defaults: 127.0.0.1:8787, ./data/funnelbeam.db; DATABASE_URL=postgres://… selects PostgreSQL', async () => {
    const { parseConfig } = await import('../../collector/config.js');
    const c = parseConfig({});
    expect([c.HOST, c.PORT, c.DATABASE_PATH, c.DATABASE_URL]).toEqual(['127.0.0.1', 8787, './data/funnelbeam.db', undefined]);
    const pg = parseConfig({ DATABASE_URL: 'postgres://u:p@db.example:5432/fb', HOST: '0.0.0.0', PORT: '9000', DATABASE_PATH: '/var/fb.db' });
    expect([pg.HOST, pg.PORT, pg.DATABASE_PATH, pg.DATABASE_URL]).toEqual(['0.0.0.0', 9000, '/var/fb.db', 'postgres://u:p@db.example:5432/fb']);
  });
});

describe('§6 scores decay with the half-life', () => {
  test('30 points (demo_completed 20 + proposal_sent 10) show 15 after one 90-day half-life and 7.5 after two; a score segment reads the decayed score', async () => {
    const h = await open();
    const T = h.clock.t;
    await serverEvent(h, [{ email: 'decay@example.com', name: 'demo_completed' }, { email: 'decay@example.com', name: 'proposal_sent' }]);
    expect((await profile(h, 'decay@example.com')).score).toBe(30);
    h.clock.t = T + 90 * DAY;
    expect((await profile(h, 'decay@example.com')).score).toBe(15);
    h.clock.t = T + 180 * DAY;
    expect((await profile(h, 'decay@example.com')).score).toBe(7.5);
    expect((await h.api('/api/segments/hot', { method: 'PUT', body: JSON.stringify({ definition: { score: { gte: 10 } } }) })).status).toBe(201);
    expect(((await (await h.api('/api/segments/hot/members')).json()) as { count: number }).count).toBe(0);
    expect((await h.api('/api/segments/warm', { method: 'PUT', body: JSON.stringify({ definition: { score: { gte: 7.5 } } }) })).status).toBe(201);
    expect(((await (await h.api('/api/segments/warm/members')).json()) as { count: number }).count).toBe(1);
  });
});

describe('§5 cursors keep their filters', () => {
  test('GET /api/leads pages with stage, q and segment filters keep them on every page', async () => {
    const h = await open();
    const evals = ['e1@acme.example', 'e2@other.example', 'e3@acme.example', 'e4@acme.example'];
    const wins = ['w1@acme.example', 'w2@acme.example'];
    for (const email of evals) { h.clock.t += 1000; await serverEvent(h, { email, name: 'demo_completed' }); }
    for (const email of wins) { h.clock.t += 1000; await serverEvent(h, { email, name: 'closed_won' }); }
    expect((await h.api('/api/segments/evals_seg', { method: 'PUT', body: JSON.stringify({ definition: { stage: { in: ['evaluation'] } } }) })).status).toBe(201);
    const walk = async (filter: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 20; i++) {
        const res = await h.api(`/api/leads?${filter}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status, filter).toBe(200);
        const page = (await res.json()) as { items: Array<{ email: string }>; nextCursor: string | null };
        seen.push(...page.items.map((l) => l.email));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      return seen.sort();
    };
    expect(await walk('stage=evaluation')).toEqual([...evals].sort());
    expect(await walk('q=acme')).toEqual(['e1@acme.example', 'e3@acme.example', 'e4@acme.example', 'w1@acme.example', 'w2@acme.example']);
    expect(await walk('segment=evals_seg&q=acme')).toEqual(['e1@acme.example', 'e3@acme.example', 'e4@acme.example']);
    expect(await walk('stage=purchase&q=w')).toEqual([...wins].sort());
  });

  test('GET /api/leads/{ref}/timeline pages with types and from/to keep them on every page', async () => {
    const h = await open();
    const T = h.clock.t;
    h.clock.t = T + HOUR;
    const events = Array.from({ length: 9 }, (_, i) => ({ t: T + i * 60_000, n: i % 3 === 0 ? 'download' : 'pageview', u: `http://127.0.0.1/p${i}`, ...(i === 0 ? { em: 'pages@example.com' } : {}) }));
    expect((await h.postBeacon(makeBatch(h.site.siteKey, {}, events))).status).toBe(202);
    const from = new Date(T + 60_000).toISOString();
    const to = new Date(T + 8 * 60_000).toISOString();
    const urls: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res = await h.api(`/api/leads/pages%40example.com/timeline?types=pageview&from=${from}&to=${to}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: Array<{ kind: string; name: string; url: string }>; nextCursor: string | null };
      for (const it of page.items) expect([it.kind, it.name]).toEqual(['event', 'pageview']);
      urls.push(...page.items.map((i) => i.url));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    // pageviews at minutes 1, 2, 4, 5, 7 (8 is excluded by to), newest first
    expect(urls).toEqual(['p7', 'p5', 'p4', 'p2', 'p1'].map((p) => `http://127.0.0.1/${p}`));
  });
});

describe('§5/§7 site isolation at the edges', () => {
  test('an event id one site used is still stored for another site (ids are per site), and a visitor id of site A has no segments through site B', async () => {
    const h = await open();
    const { createSite } = await import('../../collector/admin.js');
    const siteB = await createSite(h.db, { domain: 'b.example' }, h.now());
    const adminB = (await createKey(h.db, siteB.siteId, ['admin'], h.now())).secret;
    const shared = { i: 'same-client-id-0001', t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/pricing' };
    const a = makeBatch(h.site.siteKey, { v: 'v_shared_device' }, [{ ...shared, em: 'a-side@example.com' }]);
    expect((await h.postBeacon(a)).status).toBe(202);
    const b = makeBatch(siteB.siteKey, { v: 'v_shared_device' }, [{ ...shared, u: 'http://b.example/pricing', em: 'b-side@example.com' }]);
    const res = await h.postBeacon(b, { headers: { origin: 'http://b.example' } });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
    const tlB = await h.api('/api/leads/b-side%40example.com/timeline?types=event', { secret: adminB });
    expect(tlB.status).toBe(200);
    expect(((await tlB.json()) as { items: unknown[] }).items.length).toBe(1);
    // A's segments for that device id are A's alone
    expect((await h.api('/api/segments/seen_pricing', { method: 'PUT', body: JSON.stringify({ definition: { did: { event: 'pageview', path: '/pricing*' } } }) })).status).toBe(201);
    const viaB = await h.app.request(`/api/visitors/v_shared_device/segments?site=${siteB.siteKey}`, { headers: { origin: 'http://b.example' } });
    expect(viaB.status).toBe(200);
    expect(((await viaB.json()) as { segments: string[] }).segments).not.toContain('seen_pricing');
    const viaA = await h.app.request(`/api/visitors/v_shared_device/segments?site=${h.site.siteKey}`, { headers: { origin: h.origin } });
    expect(((await viaA.json()) as { segments: string[] }).segments).toContain('seen_pricing');
  });
});

describe('§1 `npm run admin -- <command>` as typed', () => {
  // CONTRACT §1: "`npm run admin -- <command>` | site and key administration; prints JSON on stdout". Typed as written,
  // npm first prints its banner ("> funnelbeam@0.1.0 admin" and the command) on stdout, so `npm run admin -- site list
  // | jq` would fail. The project's .npmrc sets `loglevel=silent`: npm then prints no banner; the script's own stdout
  // and stderr are untouched.
  test('stdout of `npm run admin -- site list` is JSON alone', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_PATH: join(tempDir(), 'npm-run.db') };
    delete env.npm_config_loglevel;
    const { stdout } = await promisify(execFile)('npm', ['run', 'admin', '--', 'site', 'list'], { cwd: root, env, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual([]);
  }, 40_000);
});

describe('§5 /openapi.json describes every route of the contract', () => {
  test('each method and path of the contract table is in paths, with the scope the contract names', async () => {
    const h = await open();
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>> };
    const routes: Array<[string, string, string | null]> = [
      ['post', '/e', null],
      ['post', '/api/events', 'events:write'],
      ['get', '/api/leads', 'leads:read'],
      ['get', '/api/leads/{ref}', 'leads:read'],
      ['get', '/api/leads/{ref}/timeline', 'leads:read'],
      ['delete', '/api/leads/{ref}', 'admin'],
      ['get', '/api/funnel', 'audiences:read'],
      ['get', '/api/config/funnel', 'admin'],
      ['put', '/api/config/funnel', 'admin'],
      ['get', '/api/segments', 'audiences:read'],
      ['put', '/api/segments/{key}', 'admin'],
      ['delete', '/api/segments/{key}', 'admin'],
      ['get', '/api/segments/{key}/members', 'audiences:read'],
      ['get', '/api/visitors/{visitorId}/segments', null],
      ['get', '/api/webhooks/{id}', 'admin'],
      ['put', '/api/webhooks/{id}', 'admin'],
      ['delete', '/api/webhooks/{id}', 'admin'],
      ['get', '/api/rejected', 'admin'],
      ['get', '/openapi.json', null],
      ['get', '/healthz', null],
      ['get', '/metrics', null],
      ['get', '/s.js', null],
    ];
    for (const [method, path, scope] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      if (scope) expect(JSON.stringify(op!.security ?? []), `${method} ${path}`).toContain(`"${scope}"`);
    }
  });
});

describe('§6 stages are configurable', () => {
  test('a config with its own stages rules the next events, the funnel report, the stage filter and segment stage conditions', async () => {
    const h = await open();
    const config = (await (await h.api('/api/config/funnel')).json()) as { stages: string[]; stageRules: unknown[]; scoreRules: unknown[] } & Record<string, unknown>;
    const custom = {
      ...config,
      stages: ['visitor', 'engaged', 'customer'],
      stageRules: [
        { id: 'any', stage: 'visitor', when: {} },
        { id: 'pricing', stage: 'engaged', when: { event: 'pageview', path: '/pricing*' } },
        { id: 'won', stage: 'customer', when: { event: 'closed_won', source: 'server' } },
      ],
    };
    const put = await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify(custom) });
    expect(put.status, await put.clone().text()).toBe(200);
    expect(((await (await h.api('/api/config/funnel')).json()) as { stages: string[] }).stages).toEqual(['visitor', 'engaged', 'customer']);
    h.clock.t += 1000;
    expect((await h.postBeacon(makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/pricing', em: 'cfg@example.com' }]))).status).toBe(202);
    await serverEvent(h, { email: 'won@example.com', name: 'closed_won' });
    expect((await profile(h, 'cfg@example.com')).stage).toBe('engaged');
    expect((await profile(h, 'won@example.com')).stage).toBe('customer');
    const funnel = (await (await h.api(`/api/funnel?from=${new Date(h.clock.t - DAY).toISOString()}&to=${new Date(h.clock.t + DAY).toISOString()}`)).json()) as { stages: Array<{ stage: string; count: number }> };
    expect(funnel.stages.map((s) => [s.stage, s.count])).toEqual([['visitor', 0], ['engaged', 1], ['customer', 1]]);
    const list = (await (await h.api('/api/leads?stage=engaged')).json()) as { items: Array<{ email: string }> };
    expect(list.items.map((l) => l.email)).toEqual(['cfg@example.com']);
    expect((await h.api('/api/segments/engaged_ones', { method: 'PUT', body: JSON.stringify({ definition: { stage: { in: ['engaged'] } } }) })).status).toBe(201);
    expect(((await (await h.api('/api/segments/engaged_ones/members')).json()) as { count: number }).count).toBe(1);
  });
});

describe('§6 touch conditions and lead-wide segments', () => {
  test('touch model first/last by source, and every device of a lead reads the lead\'s segments', async () => {
    const h = await open();
    const T = h.clock.t;
    const g = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'spring', at: T };
    const laptop = makeBatch(h.site.siteKey, {}, [{ t: T, n: 'pageview', u: 'http://127.0.0.1/', ft: g, st: g, em: 'touchy@example.com' }]);
    expect((await h.postBeacon(laptop)).status).toBe(202);
    h.clock.t = T + 2 * DAY;
    const li = { utm_source: 'linkedin', utm_medium: 'social', at: h.clock.t };
    const phone = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/', ft: li, st: li, em: 'touchy@example.com' }]);
    expect((await h.postBeacon(phone)).status).toBe(202);
    const defs: Record<string, unknown> = {
      first_google: { touch: { model: 'first', source: 'google' } },
      last_linkedin: { touch: { model: 'last', source: 'linkedin' } },
      first_linkedin: { touch: { model: 'first', source: 'linkedin' } },
      first_spring: { touch: { model: 'first', campaign: 'spring' } },
    };
    for (const [key, definition] of Object.entries(defs)) expect((await h.api(`/api/segments/${key}`, { method: 'PUT', body: JSON.stringify({ definition }) })).status).toBe(201);
    const count = async (key: string) => ((await (await h.api(`/api/segments/${key}/members`)).json()) as { count: number }).count;
    expect([await count('first_google'), await count('last_linkedin'), await count('first_linkedin'), await count('first_spring')]).toEqual([1, 1, 0, 1]);
    for (const v of [laptop.v, phone.v]) {
      const res = await h.app.request(`/api/visitors/${v}/segments?site=${h.site.siteKey}`, { headers: { origin: h.origin } });
      const segs = ((await res.json()) as { segments: string[] }).segments;
      expect(segs, v).toEqual(expect.arrayContaining(['first_google', 'last_linkedin', 'first_spring']));
      expect(segs, v).not.toContain('first_linkedin');
    }
  });
});

describe('§5 defaults the README fixes where the contract is silent', () => {
  test('GET /api/funnel without from/to covers the 30 days up to now: an older entry counts now but not as entered', async () => {
    const h = await open();
    const T = h.clock.t;
    expect((await h.postBeacon(makeBatch(h.site.siteKey, {}, [{ t: T, n: 'pageview', u: 'http://127.0.0.1/' }]))).status).toBe(202);
    h.clock.t = T + 31 * DAY;
    expect((await h.postBeacon(makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/' }]))).status).toBe(202);
    h.clock.t += 60_000; // "to" is exclusive: the report is read a minute later
    const body = (await (await h.api('/api/funnel')).json()) as { stages: Array<{ stage: string; count: number; entered: number }> };
    expect(body.stages[0]).toMatchObject({ stage: 'awareness', count: 2, entered: 1 });
  });

  test('a timeline limit over 500 is capped to 500, not refused; 0 is a 400', async () => {
    const h = await open();
    await serverEvent(h, { email: 'cap@example.com', name: 'demo_completed' });
    expect((await h.api('/api/leads/cap%40example.com/timeline?limit=5000')).status).toBe(200);
    expect((await h.api('/api/leads/cap%40example.com/timeline?limit=0')).status).toBe(400);
  });
});

describe('§5 profile shape for a lead known only from the CRM', () => {
  // CONTRACT §5 fixes the profile as `{ …, "firstTouch": {…}, "lastTouch": {…} }`: objects a client reads fields of.
  // A lead made by POST /api/events (never seen on the web) answers `"firstTouch": null, "lastTouch": null`, so a CRM
  // sync doing `profile.firstTouch.channel` threw on exactly the leads the CRM itself created; they are `{}` now.
  test('firstTouch and lastTouch are objects, also before any web visit', async () => {
    const h = await open();
    await serverEvent(h, { email: 'crm-only@example.com', name: 'opportunity_created' });
    const p = (await profile(h, 'crm-only@example.com')) as unknown as { firstTouch: unknown; lastTouch: unknown };
    expect(typeof p.firstTouch === 'object' && p.firstTouch !== null).toBe(true);
    expect(typeof p.lastTouch === 'object' && p.lastTouch !== null).toBe(true);
  });
});

describe('§7 bad beacon input is kept with its reason and touches no good data', () => {
  test('a bad event beside a good one: the good one is stored, the bad one listed in the rejected store with a reason', async () => {
    const h = await open();
    const b = makeBatch(h.site.siteKey, {}, [
      { t: h.clock.t, n: 'pageview', u: 'http://127.0.0.1/ok', em: 'mixed@example.com' },
      { t: h.clock.t + 1, n: 'bad,name', u: 'http://127.0.0.1/bad' },
    ]);
    const res = await h.postBeacon(b);
    expect(res.status).toBeLessThan(500);
    const tl = (await (await h.api('/api/leads/mixed%40example.com/timeline?types=event')).json()) as { items: Array<{ url: string }> };
    expect(tl.items.map((i) => i.url)).toEqual(['http://127.0.0.1/ok']);
    const rows = ((await (await h.api('/api/rejected?limit=500')).json()) as { items: Array<{ reason: string }> }).items;
    expect(rows.length).toBe(1);
    expect(rows[0].reason).toMatch(/^[a-z][a-z0-9_]*$/);
    // a batch that is not JSON at all, from the site's origin: 400, and kept too
    const broken = await h.postBeacon(`{"s":"${h.site.siteKey}","v":"v_broken_1","e":[{`);
    expect(broken.status).toBe(400);
    const after = ((await (await h.api('/api/rejected?limit=500')).json()) as { items: Array<{ reason: string }> }).items;
    expect(after.length).toBe(2);
  });
});
