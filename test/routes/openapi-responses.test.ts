// Every answer of the app checked against its own /openapi.json: the status is one the operation documents, the
// content type one it lists for that status, and a JSON body validates against the documented schema ($refs into
// components resolved). Requests cover success and every documented refusal of each route, on a real SQLite file with
// real data (beacons, an identified lead, server events, a segment, a webhook).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeHardeningApp, type HardeningApp } from '../hardening/hardening-app.js';
import { createKey } from '../../collector/admin.js';
import { makeBatch } from '../helpers/factories.js';
import { validate, type Doc, type Schema } from '../helpers/openapi-schema.js';

interface Call {
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** '' for no key; undefined for the admin key */
  secret?: string;
  /** the status the contract and README give this request */
  status: number;
}

let h: HardeningApp;
let doc: Doc;
let keys: Record<string, string>;
let leadId: string;
const VISITOR = 'v_openapi_visitor_1';

beforeAll(async () => {
  h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, RATE_LIMIT_API_PER_SEC: 0 });
  keys = {};
  for (const s of ['events:write', 'leads:read', 'audiences:read'] as const) keys[s] = (await createKey(h.db, h.site.siteId, [s], h.now())).secret;
  doc = (await (await h.app.request('/openapi.json')).json()) as Doc;
  // a visitor who reads pricing, then identifies through a demo form; a server event moves the lead on
  const t = h.clock.t;
  const batch = makeBatch(h.site.siteKey, { v: VISITOR }, [
    { t: t - 5000, u: 'http://127.0.0.1/pricing', ft: { utm_source: 'google', utm_medium: 'cpc' } as never },
    { t: t - 1000, n: 'demo_request', u: 'http://127.0.0.1/demo', em: 'lead@example.com', f: 'demo', tr: { firstName: 'Lea', country: 'DE' } },
  ]);
  expect((await h.postBeacon(batch)).status).toBe(202);
  const ev = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'lead@example.com', name: 'demo_completed', traits: { phone: '+4930123456' } }) });
  expect(ev.status).toBe(202);
  leadId = ((await ev.json()) as { events: Array<{ leadId: string }> }).events[0].leadId;
  expect((await h.api('/api/segments/known', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) })).status).toBe(201);
  expect((await h.api('/api/webhooks/crm', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['stage.changed'] }) })).status).toBe(201);
});
afterAll(async () => h?.close());

function operationFor(method: string, path: string) {
  const pathname = path.split('?')[0];
  for (const [template, ops] of Object.entries(doc.paths)) {
    const re = new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(pathname) && ops[method.toLowerCase()]) return { template, op: ops[method.toLowerCase()] };
  }
  return undefined;
}

/** What is wrong with the app's answer to `c`, judged by the contract's status and the document's schemas; [] if nothing. */
async function check(c: Call): Promise<string[]> {
  const label = `${c.method} ${c.path.slice(0, 120)}`;
  const headers: Record<string, string> = { ...c.headers };
  const body = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
  const res = c.path === '/e' ? await h.postBeacon(body ?? '', { headers }) : await h.api(c.path, { method: c.method, body, headers, secret: c.secret });
  const text = await res.text();
  const problems: string[] = [];
  if (res.status !== c.status) problems.push(`status ${res.status}, expected ${c.status}: ${text.slice(0, 200)}`);
  const found = operationFor(c.method, c.path);
  if (!found) return [`${label}: operation not in /openapi.json`];
  const documented = found.op.responses[String(res.status)] ?? found.op.responses.default;
  if (!documented) return [...problems, `status ${res.status} is not documented (documented: ${Object.keys(found.op.responses)})`].map((p) => `${label}: ${p}`);
  const content = documented.content;
  if (!content || Object.keys(content).length === 0) {
    if (text !== '') problems.push(`a body where none is documented: ${text.slice(0, 100)}`);
  } else {
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    if (!(type in content)) problems.push(`content type "${type}" is not documented for ${res.status} (${Object.keys(content)})`);
    else if (type === 'application/json' && content[type].schema !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        problems.push(`not JSON: ${text.slice(0, 100)}`);
      }
      if (parsed !== undefined) problems.push(...validate(doc, content[type].schema!, parsed).slice(0, 5).map((p) => `${res.status} body: ${p}`));
    }
  }
  return problems.map((p) => `${label}: ${p}`);
}

const big = (n: number) => JSON.stringify({ pad: 'x'.repeat(n) });

const CALLS = (): Call[] => [
  // ops, snippet
  { method: 'GET', path: '/', status: 200 },
  { method: 'GET', path: '/healthz', status: 200 },
  { method: 'GET', path: '/metrics', status: 200 },
  { method: 'GET', path: '/openapi.json', status: 200 },
  { method: 'GET', path: '/s.js', status: 200 },
  // beacon ingest
  { method: 'POST', path: '/e', body: makeBatch(h.site.siteKey, {}, [{ t: h.clock.t }]), status: 202 },
  { method: 'POST', path: '/e', body: makeBatch('no_such_site_key', {}, [{ t: h.clock.t }]), status: 404 },
  { method: 'POST', path: '/e', raw: '{oops', status: 400 },
  { method: 'POST', path: '/e', raw: JSON.stringify(makeBatch(h.site.siteKey, {}, [{ p: { x: 'y'.repeat(2 * 1024 * 1024) } as never }])), status: 413 },
  // server events
  { method: 'POST', path: '/api/events', body: { email: 'other@example.com', name: 'opportunity_created' }, status: 202 },
  { method: 'POST', path: '/api/events', body: [{ leadId, name: 'proposal_sent' }, { email: 'x@example.com', name: 'closed_lost' }], status: 202 },
  { method: 'POST', path: '/api/events', body: { name: 'no_ref' }, status: 400 },
  { method: 'POST', path: '/api/events', raw: '{oops', status: 400 },
  { method: 'POST', path: '/api/events', body: { email: 'a@example.com', name: 'x' }, secret: keys['leads:read'], status: 403 },
  { method: 'POST', path: '/api/events', body: { email: 'a@example.com', name: 'x' }, secret: '', status: 401 },
  { method: 'POST', path: '/api/events', raw: big(1024 * 1024 + 10), status: 413 },
  // leads
  { method: 'GET', path: '/api/leads', status: 200 },
  { method: 'GET', path: '/api/leads?stage=evaluation&limit=1', secret: keys['leads:read'], status: 200 },
  { method: 'GET', path: '/api/leads?stage=no_such_stage', status: 400 },
  { method: 'GET', path: '/api/leads?segment=no_such_segment', status: 404 },
  { method: 'GET', path: '/api/leads?segment=known&q=lead', status: 200 },
  { method: 'GET', path: '/api/leads?limit=0', status: 400 },
  // README: limit at most 500, larger values capped (openapi says so too)
  { method: 'GET', path: '/api/leads?limit=501', status: 200 },
  { method: 'GET', path: '/api/leads?cursor=garbage', status: 400 },
  { method: 'GET', path: '/api/leads', secret: keys['audiences:read'], status: 403 },
  { method: 'GET', path: '/api/leads', secret: 'fbk_nope.nope', status: 401 },
  { method: 'GET', path: `/api/leads/${leadId}`, status: 200 },
  { method: 'GET', path: '/api/leads/lead%40example.com', status: 200 },
  { method: 'GET', path: `/api/leads/${VISITOR}`, status: 200 },
  { method: 'GET', path: '/api/leads/nobody%40example.com', status: 404 },
  { method: 'GET', path: `/api/leads/${leadId}/timeline`, status: 200 },
  { method: 'GET', path: `/api/leads/${leadId}/timeline?limit=2&types=stage,event`, status: 200 },
  { method: 'GET', path: `/api/leads/${leadId}/timeline?cursor=garbage`, status: 400 },
  { method: 'GET', path: `/api/leads/${leadId}/timeline?limit=0`, status: 400 },
  { method: 'GET', path: `/api/leads/${leadId}/timeline?from=not-a-date`, status: 400 },
  { method: 'GET', path: '/api/leads/nobody%40example.com/timeline', status: 404 },
  { method: 'DELETE', path: '/api/leads/nobody%40example.com', status: 404 },
  { method: 'DELETE', path: '/api/leads/x%40example.com', secret: keys['leads:read'], status: 403 },
  // funnel report and config
  { method: 'GET', path: '/api/funnel', status: 200 },
  { method: 'GET', path: '/api/funnel?breakdown=channel&attribution=linear', secret: keys['audiences:read'], status: 200 },
  { method: 'GET', path: '/api/funnel?breakdown=source&attribution=first', status: 200 },
  { method: 'GET', path: '/api/funnel?breakdown=bogus', status: 400 },
  { method: 'GET', path: '/api/funnel?attribution=bogus', status: 400 },
  { method: 'GET', path: '/api/funnel?from=not-a-date', status: 400 },
  { method: 'GET', path: '/api/funnel', secret: keys['leads:read'], status: 403 },
  { method: 'GET', path: '/api/config/funnel', status: 200 },
  { method: 'GET', path: '/api/config/funnel', secret: keys['audiences:read'], status: 403 },
  { method: 'PUT', path: '/api/config/funnel', raw: '{oops', status: 400 },
  { method: 'PUT', path: '/api/config/funnel', body: { stages: 'nope' }, status: 400 },
  { method: 'PUT', path: '/api/config/funnel', raw: big(2 * 1024 * 1024 + 10), status: 413 },
  // segments
  { method: 'GET', path: '/api/segments', secret: keys['audiences:read'], status: 200 },
  { method: 'GET', path: '/api/segments/known', status: 200 },
  { method: 'GET', path: '/api/segments/no_such_segment', status: 404 },
  { method: 'PUT', path: '/api/segments/fresh', body: { name: 'Fresh', definition: { score: { gte: 1 } } }, status: 201 },
  { method: 'PUT', path: '/api/segments/fresh', body: { definition: { score: { gte: 2 } } }, status: 200 },
  { method: 'PUT', path: '/api/segments/fresh', body: { definition: { nope: 1 } }, status: 400 },
  { method: 'PUT', path: '/api/segments/fresh', raw: '{oops', status: 400 },
  { method: 'PUT', path: '/api/segments/fresh', raw: '{"definition":{"identified":true}}', headers: { 'content-type': 'text/plain' }, status: 415 },
  { method: 'PUT', path: '/api/segments/fresh', raw: big(2 * 1024 * 1024 + 10), status: 413 },
  { method: 'PUT', path: '/api/segments/fresh', body: { definition: { identified: true } }, secret: keys['audiences:read'], status: 403 },
  { method: 'DELETE', path: '/api/segments/fresh', status: 204 },
  { method: 'DELETE', path: '/api/segments/fresh', status: 404 },
  { method: 'GET', path: '/api/segments', secret: '', status: 401 },
  // exports
  { method: 'GET', path: '/api/segments/known/members', status: 200 },
  { method: 'GET', path: '/api/segments/known/members?format=json', secret: keys['audiences:read'], status: 200 },
  { method: 'GET', path: '/api/segments/known/members?format=csv', status: 200 },
  { method: 'GET', path: '/api/segments/known/members?format=google', status: 200 },
  { method: 'GET', path: '/api/segments/known/members?format=meta', status: 200 },
  { method: 'GET', path: '/api/segments/known/members?format=linkedin', status: 200 },
  { method: 'GET', path: '/api/segments/known/members?format=xml', status: 400 },
  { method: 'GET', path: '/api/segments/no_such_segment/members', status: 404 },
  { method: 'GET', path: '/api/segments/known/members', secret: keys['leads:read'], status: 403 },
  // visitor segments (site key)
  { method: 'GET', path: `/api/visitors/${VISITOR}/segments?site=${h.site.siteKey}`, headers: { origin: h.origin }, secret: '', status: 200 },
  { method: 'GET', path: `/api/visitors/${VISITOR}/segments`, secret: '', status: 400 },
  { method: 'GET', path: `/api/visitors/${VISITOR}/segments?site=no_such_site`, secret: '', status: 404 },
  { method: 'GET', path: `/api/visitors/${VISITOR}/segments?site=${h.site.siteKey}`, headers: { origin: 'https://evil.example' }, secret: '', status: 403 },
  // webhooks
  { method: 'GET', path: '/api/webhooks', status: 200 },
  { method: 'GET', path: '/api/webhooks/crm', status: 200 },
  { method: 'GET', path: '/api/webhooks/nope', status: 404 },
  { method: 'GET', path: '/api/webhooks/bad.id', status: 400 },
  { method: 'PUT', path: '/api/webhooks/fresh', body: { url: 'https://x.example/h', events: ['lead.mql'] }, status: 201 },
  { method: 'PUT', path: '/api/webhooks/fresh', body: { url: 'https://x.example/h', events: ['lead.mql'], active: false }, status: 200 },
  { method: 'PUT', path: '/api/webhooks/fresh', body: { url: 'https://x.example/h', events: [] }, status: 400 },
  { method: 'PUT', path: '/api/webhooks/fresh', raw: '{oops', status: 400 },
  { method: 'PUT', path: '/api/webhooks/fresh', raw: '{}', headers: { 'content-type': 'text/plain' }, status: 415 },
  { method: 'PUT', path: '/api/webhooks/fresh', raw: big(2 * 1024 * 1024 + 10), status: 413 },
  { method: 'GET', path: '/api/webhooks', secret: keys['audiences:read'], status: 403 },
  { method: 'DELETE', path: '/api/webhooks/fresh', status: 204 },
  { method: 'DELETE', path: '/api/webhooks/fresh', status: 404 },
  // rejected store
  { method: 'GET', path: '/api/rejected', status: 200 },
  { method: 'GET', path: '/api/rejected?limit=2&reason=invalid_request', status: 200 },
  { method: 'GET', path: '/api/rejected?limit=0', status: 400 },
  { method: 'GET', path: '/api/rejected?cursor=garbage', status: 400 },
  { method: 'GET', path: '/api/rejected', secret: keys['leads:read'], status: 403 },
  // erasure last: it removes the lead the rows above read
  { method: 'DELETE', path: `/api/leads/${leadId}`, status: 200 },
];

describe('every answer validates against /openapi.json', () => {
  test('the document itself: every $ref resolves, every response has a description', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of refs) expect(doc.components?.schemas?.[r.slice(8, -1).replace('#/components/schemas/', '')], r).toBeDefined();
    for (const [p, ops] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(ops)) for (const [s, r] of Object.entries(op.responses)) expect((r as { description?: string }).description, `${m} ${p} ${s}`).toBeTruthy();
  });

  test('every route answers success and each refusal with a documented status, content type and schema', async () => {
    const problems: string[] = [];
    for (const c of CALLS()) problems.push(...(await check(c)));
    expect(problems).toEqual([]);
  });

  test('the list above covers every documented operation', () => {
    const covered = new Set(CALLS().map((c) => `${c.method} ${operationFor(c.method, c.path)?.template}`));
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(documented.filter((d) => !covered.has(d))).toEqual([]);
  });
});

describe('webhook deliveries validate against the document\'s webhooks', () => {
  test('each POST a receiver gets matches doc.webhooks[type].post: body schema and signature header', async () => {
    const { startReceiver } = await import('../webhooks/receiver.js');
    const receiver = await startReceiver();
    try {
      const events = ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'];
      const put = await h.api('/api/webhooks/doc_check', { method: 'PUT', body: JSON.stringify({ url: receiver.url, events }) });
      expect(put.status).toBe(201);
      const full = (await (await h.app.request('/openapi.json')).json()) as Doc & { webhooks?: Record<string, { post: { requestBody: { content: Record<string, { schema: Schema }> }; parameters?: Array<{ in: string; name: string }> } }> };
      for (const e of events) expect(full.webhooks?.[e]?.post, e).toBeDefined();
      // a new visitor requests a demo: stage changes and segment entries; a server event then closes the deal (purchase)
      const batch = makeBatch(h.site.siteKey, { v: 'v_openapi_hooks_1' }, [
        { t: h.clock.t, u: 'http://127.0.0.1/pricing' },
        { t: h.clock.t, n: 'demo_request', u: 'http://127.0.0.1/demo', em: 'hooks@example.com', f: 'demo' },
      ]);
      expect((await h.postBeacon(batch)).status).toBe(202);
      expect((await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'hooks@example.com', name: 'closed_won' }) })).status).toBe(202);
      const deadline = Date.now() + 10_000;
      const types = () => new Set(receiver.requests.map((r) => (JSON.parse(r.body) as { type: string }).type));
      while (Date.now() < deadline && !(types().has('stage.changed') && types().has('segment.entered') && types().has('segment.exited'))) await new Promise((r) => setTimeout(r, 100));
      expect([...types()]).toEqual(expect.arrayContaining(['stage.changed', 'segment.entered', 'segment.exited']));
      const problems: string[] = [];
      for (const r of receiver.requests) {
        const body = JSON.parse(r.body) as { type: string };
        const op = full.webhooks![body.type]?.post;
        if (!op) {
          problems.push(`${body.type}: not in doc.webhooks`);
          continue;
        }
        problems.push(...validate(full, op.requestBody.content['application/json'].schema, body).map((p) => `${body.type}: ${p}`));
        for (const p of op.parameters ?? []) if (p.in === 'header' && r.headers[p.name.toLowerCase()] === undefined) problems.push(`${body.type}: no ${p.name} header`);
      }
      expect(problems).toEqual([]);
      // the delivery log of GET /api/webhooks/{id} validates too, now that it holds deliveries
      const log = (await (await h.api('/api/webhooks/doc_check')).json()) as { deliveries: Array<{ status: string }> };
      expect(log.deliveries.length).toBeGreaterThan(0);
      expect(await check({ method: 'GET', path: '/api/webhooks/doc_check', status: 200 })).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
