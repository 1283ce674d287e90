// The HTTP surface judged from CONTRACT.md §5–§7 and the README's route list only (never from what the code happens to
// answer): the {error:{code,message}} shape on every refusal, including unknown routes, wrong methods, malformed or
// mistyped bodies, oversized bodies and bad query values; HEAD and OPTIONS; CORS of /e and of the API; export content
// types and file names; idempotent PUTs of segments and webhooks; cursor paging of the rejected store.
import { afterEach, describe, expect, test } from 'vitest';
import { makeHardeningApp, type HardeningApp } from '../hardening/hardening-app.js';
import { createKey } from '../../collector/admin.js';
import { makeBatch } from '../helpers/factories.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(config: Parameters<typeof makeHardeningApp>[0] = {}): Promise<HardeningApp> {
  const h = await makeHardeningApp({ RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0, RATE_LIMIT_API_PER_SEC: 0, ...config });
  cleanups.push(() => h.close());
  return h;
}

/** Contract §5: `{ "error": { "code": "snake_case", "message": "…" } }` with the right status, as JSON. */
async function expectError(res: Response, status: number, label: string, code?: string | RegExp) {
  expect(res.status, label).toBe(status);
  expect(res.headers.get('content-type') ?? '', label).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body), label).toEqual(['error']);
  expect(Object.keys(body.error).sort(), label).toEqual(['code', 'message']);
  expect(body.error.code, label).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  if (code !== undefined) expect(body.error.code, label).toMatch(typeof code === 'string' ? new RegExp(`^${code}$`) : code);
  expect(typeof body.error.message, label).toBe('string');
  expect(body.error.message.length, label).toBeGreaterThan(0);
  return body.error;
}

const WEBHOOK = { url: 'https://crm.example.com/hooks/funnelbeam', events: ['stage.changed', 'lead.mql'] };

describe('unknown routes and wrong methods', () => {
  test('an unknown path is a 404 in the error shape, inside and outside /api', async () => {
    const h = await open();
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['GET', '/api/nope'],
      ['DELETE', '/api/nope/deeper'],
      ['GET', '/api/segments/a/b/c'],
      ['PUT', '/api/webhooks'],
    ] as const) {
      await expectError(await h.api(path, { method }), path === '/api/webhooks' ? 405 : 404, `${method} ${path}`);
    }
  });

  test('a method a route does not serve is a 405 naming the allowed methods in Allow, in the error shape', async () => {
    const h = await open();
    const cases: Array<[string, string, string[]]> = [
      ['POST', '/healthz', ['GET']],
      ['DELETE', '/metrics', ['GET']],
      ['POST', '/openapi.json', ['GET']],
      ['PUT', '/s.js', ['GET']],
      ['GET', '/e', ['POST']],
      ['PUT', '/e', ['POST']],
      ['DELETE', '/api/segments', ['GET']],
      ['POST', '/api/segments/pricing_no_demo', ['GET', 'PUT', 'DELETE']],
      ['PATCH', '/api/webhooks/h1', ['GET', 'PUT', 'DELETE']],
      ['POST', '/api/webhooks', ['GET']],
      ['DELETE', '/api/rejected', ['GET']],
      ['POST', '/api/segments/customers/members', ['GET']],
      ['GET', '/api/events', ['POST']],
      ['POST', '/api/funnel', ['GET']],
      ['POST', '/api/config/funnel', ['GET', 'PUT']],
      ['PUT', '/api/leads', ['GET']],
      ['PUT', '/api/leads/a@example.com', ['GET', 'DELETE']],
      ['DELETE', '/api/visitors/v_1/segments', ['GET']],
    ];
    for (const [method, path, allowed] of cases) {
      const res = await h.api(path, { method, body: method === 'GET' ? undefined : '{}' });
      await expectError(res, 405, `${method} ${path}`, 'method_not_allowed');
      const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
      for (const m of allowed) expect(allow, `${method} ${path} Allow`).toContain(m);
      expect(allow, `${method} ${path} Allow`).not.toContain(method);
    }
  });
});

describe('HEAD and OPTIONS', () => {
  test('HEAD answers every GET route like GET, without a body', async () => {
    const h = await open();
    for (const path of ['/healthz', '/metrics', '/openapi.json', '/s.js', '/api/segments', '/api/webhooks', '/api/rejected', '/api/segments/customers/members?format=csv']) {
      const get = await h.api(path);
      await get.arrayBuffer();
      const head = await h.api(path, { method: 'HEAD' });
      expect(head.status, `HEAD ${path}`).toBe(get.status);
      expect(head.headers.get('content-type'), `HEAD ${path}`).toBe(get.headers.get('content-type'));
      expect((await head.arrayBuffer()).byteLength, `HEAD ${path}`).toBe(0);
    }
    const head = await h.app.request('/s.js', { method: 'HEAD' });
    expect(head.headers.get('etag')).toMatch(/^"/);
    // a HEAD needs a key like its GET
    expect((await h.api('/api/segments', { method: 'HEAD', secret: '' })).status).toBe(401);
  });

  test('POST /e answers a CORS preflight from the site origin, and never grants a foreign origin', async () => {
    const h = await open();
    const pre = await h.app.request('/e', {
      method: 'OPTIONS',
      headers: { origin: h.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get('access-control-allow-origin')).toBe(h.origin);
    expect(pre.headers.get('access-control-allow-methods') ?? '').toMatch(/POST/);
    expect((pre.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('content-type');
    // the beacon itself carries the CORS grant for the site's origin
    const res = await h.postBeacon(h.batch());
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe(h.origin);
  });

  test('OPTIONS on a bearer API route is no "no route" 404: it names the allowed methods and grants no origin', async () => {
    const h = await open();
    for (const [path, methods] of [
      ['/api/segments', ['GET']],
      ['/api/segments/customers', ['GET', 'PUT', 'DELETE']],
      ['/api/webhooks/h1', ['GET', 'PUT', 'DELETE']],
      ['/api/leads', ['GET']],
    ] as const) {
      const res = await h.app.request(path, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(res.status, `OPTIONS ${path}`).toBe(204);
      const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
      for (const m of methods) expect(allow, `OPTIONS ${path}`).toContain(m);
      // a secret key is never usable from a foreign page
      expect(res.headers.get('access-control-allow-origin'), `OPTIONS ${path}`).toBeNull();
    }
  });
});

describe('request bodies: malformed, mistyped, oversized', () => {
  test('PUT /api/segments/{key} and PUT /api/webhooks/{id}: malformed JSON 400, wrong type 415, over 2 MiB 413, all in the error shape', async () => {
    const h = await open();
    for (const path of ['/api/segments/s1', '/api/webhooks/h1']) {
      await expectError(await h.api(path, { method: 'PUT', body: '{"definition":' }), 400, `${path} malformed`);
      await expectError(await h.api(path, { method: 'PUT', body: '' }), 400, `${path} empty`);
      await expectError(await h.api(path, { method: 'PUT', body: 'null' }), 400, `${path} null`);
      await expectError(await h.api(path, { method: 'PUT', body: '[]' }), 400, `${path} array`);
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        await expectError(await h.api(path, { method: 'PUT', body: JSON.stringify(WEBHOOK), headers: { 'content-type': type } }), 415, `${path} ${type}`);
      }
      const big = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024 + 10), definition: { identified: true }, ...WEBHOOK });
      await expectError(await h.api(path, { method: 'PUT', body: big }), 413, `${path} oversized`);
    }
    // nothing was made by any of them
    expect((await h.api('/api/segments/s1')).status).toBe(404);
    expect((await h.api('/api/webhooks/h1')).status).toBe(404);
  });

  test('a segment or webhook body with the wrong fields is a 400 whose message names the field', async () => {
    const h = await open();
    const seg = await expectError(await h.api('/api/segments/s1', { method: 'PUT', body: JSON.stringify({ definition: { all: [{ did: { event: 'pageview', within: 'soon' } }] } }) }), 400, 'bad within');
    expect(seg.message).toContain('within');
    for (const [body, field] of [
      [{ ...WEBHOOK, url: 'ftp://x.example/h' }, 'url'],
      [{ ...WEBHOOK, url: 'not a url' }, 'url'],
      [{ ...WEBHOOK, events: [] }, 'events'],
      [{ ...WEBHOOK, events: ['lead.created'] }, 'events'],
      [{ url: WEBHOOK.url }, 'events'],
      [{ ...WEBHOOK, secret: 'short' }, 'secret'],
      [{ ...WEBHOOK, active: 'yes' }, 'active'],
    ] as const) {
      const err = await expectError(await h.api('/api/webhooks/h1', { method: 'PUT', body: JSON.stringify(body) }), 400, `webhook ${field}`);
      expect(err.message, JSON.stringify(body)).toContain(field);
    }
  });

  test('POST /e: unknown site key 404, malformed body 400, oversized 413, each in the error shape', async () => {
    const h = await open();
    const unknown = makeBatch('no_such_site_key', {}, [{}]);
    await expectError(await h.postBeacon(unknown), 404, 'unknown site');
    await expectError(await h.postBeacon('{not json'), 400, 'malformed');
    const big = JSON.stringify(makeBatch(h.site.siteKey, {}, [{ p: { x: 'y'.repeat(2 * 1024 * 1024) } as never }]));
    await expectError(await h.postBeacon(big), 413, 'oversized');
  });
});

describe('query values and cursors', () => {
  test('GET /api/rejected: limit is 1..500, before a number, a foreign cursor 400; every page is the error shape or items', async () => {
    const h = await open();
    for (const q of ['limit=0', 'limit=501', 'limit=-1', 'limit=abc', 'limit=1.5', 'before=yesterday', 'cursor=garbage', 'cursor=']) {
      await expectError(await h.api(`/api/rejected?${q}`), 400, q);
    }
    expect((await h.api('/api/rejected?limit=1')).status).toBe(200);
    expect((await h.api('/api/rejected?limit=500')).status).toBe(200);
  });

  test('GET /api/rejected pages through every row exactly once with nextCursor, newest first, then null', async () => {
    const h = await open();
    // 7 refused requests → 7 rejected rows (contract §7: bad input is kept with its reason); some in the same ms
    for (let i = 0; i < 7; i++) {
      if (i % 3 === 0) h.clock.t += 1000;
      await h.api(`/api/segments/bad_${i}`, { method: 'PUT', body: '{"definition":{"nope":1}}' });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let lastAt = Infinity;
    do {
      const res: Response = await h.api(`/api/rejected?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: Array<{ id: string; reason: string; at: string }>; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(3);
      for (const item of body.items) {
        const at = Date.parse(item.at);
        expect(at).toBeLessThanOrEqual(lastAt);
        lastAt = at;
        seen.push(item.id);
      }
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(cursor).toBeNull();
    expect(seen.length).toBe(7);
    expect(new Set(seen).size).toBe(7);
    // a cursor is only good for the site that made it: another site's key reads no rows of this one through it
    const other = await createKey(h.db, h.site.siteId, ['admin'], h.now());
    expect((await h.api('/api/rejected?limit=500', { secret: other.secret })).status).toBe(200);
  });

  test('GET /api/segments/{key}/members: an unknown format is a 400, an unknown segment a 404', async () => {
    const h = await open();
    for (const f of ['xml', 'JSON', 'tiktok', '']) await expectError(await h.api(`/api/segments/customers/members?format=${f}`), f === '' ? 400 : 400, `format=${f}`);
    await expectError(await h.api('/api/segments/no_such_segment/members'), 404, 'unknown segment', /not_found$/);
    await expectError(await h.api('/api/segments/no_such_segment/members?format=google'), 404, 'unknown segment google', /not_found$/);
  });

  test('GET /api/visitors/{id}/segments: no site 400, unknown site 404, foreign origin 403; the site origin gets CORS and {segments}', async () => {
    const h = await open();
    await expectError(await h.app.request('/api/visitors/v_1/segments'), 400, 'no site');
    await expectError(await h.app.request('/api/visitors/v_1/segments?site=nope_nope', { headers: { origin: h.origin } }), 404, 'unknown site');
    await expectError(await h.app.request(`/api/visitors/v_1/segments?site=${h.site.siteKey}`, { headers: { origin: 'https://evil.example' } }), 403, 'foreign origin');
    const res = await h.app.request(`/api/visitors/v_1/segments?site=${h.site.siteKey}`, { headers: { origin: h.origin } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(h.origin);
    expect(await res.json()).toEqual({ segments: [] });
  });
});

describe('segments and webhooks: create, replace, delete', () => {
  test('PUT /api/segments/{key} twice: 201 then 200, one segment, createdAt kept; DELETE 204 then 404', async () => {
    const h = await open();
    const first = await h.api('/api/segments/pricing_fans', { method: 'PUT', body: JSON.stringify({ name: 'Pricing fans', definition: { identified: true } }) });
    expect(first.status).toBe(201);
    const a = await first.json();
    expect(a).toMatchObject({ key: 'pricing_fans', name: 'Pricing fans', definition: { identified: true }, count: 0 });
    h.clock.t += 60_000;
    const again = await h.api('/api/segments/pricing_fans', { method: 'PUT', body: JSON.stringify({ name: 'Pricing fans', definition: { identified: true } }) });
    expect(again.status).toBe(200);
    const b = await again.json();
    expect(b.createdAt).toBe(a.createdAt);
    const list = (await (await h.api('/api/segments')).json()).segments as Array<{ key: string }>;
    expect(list.filter((s) => s.key === 'pricing_fans').length).toBe(1);
    // without name: the definition is required, name optional (contract §5)
    expect((await h.api('/api/segments/no_name', { method: 'PUT', body: JSON.stringify({ definition: { identified: false } }) })).status).toBe(201);
    expect((await h.api('/api/segments/pricing_fans', { method: 'DELETE' })).status).toBe(204);
    await expectError(await h.api('/api/segments/pricing_fans'), 404, 'deleted segment');
    await expectError(await h.api('/api/segments/pricing_fans', { method: 'DELETE' }), 404, 'deleted twice');
    await expectError(await h.api('/api/segments/pricing_fans/members'), 404, 'members of deleted');
  });

  test('PUT /api/webhooks/{id} twice: 201 with a secret once, then 200 without; GET and list never show it; DELETE 204 then 404', async () => {
    const h = await open();
    const first = await h.api('/api/webhooks/crm', { method: 'PUT', body: JSON.stringify(WEBHOOK) });
    expect(first.status).toBe(201);
    const a = await first.json();
    expect(a).toMatchObject({ id: 'crm', url: WEBHOOK.url, events: WEBHOOK.events, active: true });
    expect(a.secret).toMatch(/^whsec_/);
    const again = await h.api('/api/webhooks/crm', { method: 'PUT', body: JSON.stringify(WEBHOOK) });
    expect(again.status).toBe(200);
    expect((await again.json()).secret).toBeUndefined();
    const got = await (await h.api('/api/webhooks/crm')).json();
    expect(got.secret).toBeUndefined();
    expect(got.deliveries).toEqual([]);
    const list = (await (await h.api('/api/webhooks')).json()).webhooks as Array<Record<string, unknown>>;
    expect(list.length).toBe(1);
    expect(list[0].secret).toBeUndefined();
    // a secret the client chose is its own: never echoed back
    const own = await h.api('/api/webhooks/own', { method: 'PUT', body: JSON.stringify({ ...WEBHOOK, secret: 'my-own-secret-0123456789' }) });
    expect(own.status).toBe(201);
    expect(JSON.stringify(await own.json())).not.toContain('my-own-secret');
    expect((await h.api('/api/webhooks/crm', { method: 'DELETE' })).status).toBe(204);
    await expectError(await h.api('/api/webhooks/crm'), 404, 'deleted webhook');
    await expectError(await h.api('/api/webhooks/crm', { method: 'DELETE' }), 404, 'deleted twice');
  });
});

describe('concurrent creation', () => {
  test('PUTs of the same new webhook at once (a client retrying after a timeout): one 201, one secret shown, and it is the one that signs', async () => {
    const h = await open();
    for (let round = 0; round < 3; round++) {
      const id = `race_${round}`;
      const answers = await Promise.all([0, 1, 2].map(() => h.api(`/api/webhooks/${id}`, { method: 'PUT', body: JSON.stringify(WEBHOOK) })));
      const bodies = (await Promise.all(answers.map((r) => r.json()))) as Array<{ secret?: string; createdAt: string }>;
      expect(answers.map((r) => r.status).sort(), id).toEqual([200, 200, 201]);
      const shown = bodies.map((b) => b.secret).filter((x): x is string => !!x);
      expect(shown.length, id).toBe(1);
      expect(new Set(bodies.map((b) => b.createdAt)).size, id).toBe(1);
      // the secret shown is the one deliveries are signed with
      const stored = await h.db.get<{ secret: string }>('SELECT secret FROM webhooks WHERE site_id = ? AND webhook_id = ?', [h.site.siteId, id]);
      expect(stored?.secret, id).toBe(shown[0]);
    }
  });

  test('PUTs of the same new segment at once: one 201, the others 200, one segment', async () => {
    const h = await open();
    const answers = await Promise.all([0, 1, 2].map(() => h.api('/api/segments/race', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    const list = (await (await h.api('/api/segments')).json()).segments as Array<{ key: string }>;
    expect(list.filter((s) => s.key === 'race').length).toBe(1);
  });
});

describe('webhook URLs that can never be delivered to', () => {
  test('a URL with credentials in it (fetch refuses to send to one) is a 400 naming url, not a webhook that always fails', async () => {
    const h = await open();
    for (const url of ['https://user:pw@crm.example.com/hook', 'https://user@crm.example.com/hook', 'https://:pw@crm.example.com/hook']) {
      const err = await expectError(await h.api('/api/webhooks/creds', { method: 'PUT', body: JSON.stringify({ ...WEBHOOK, url }) }), 400, url);
      expect(err.message).toContain('url');
    }
    await expectError(await h.api('/api/webhooks/creds'), 404, 'nothing saved');
  });

  test('a URL over 2048 characters is a 400 naming url', async () => {
    const h = await open();
    const url = 'https://crm.example.com/' + 'a'.repeat(2048);
    const err = await expectError(await h.api('/api/webhooks/long', { method: 'PUT', body: JSON.stringify({ ...WEBHOOK, url }) }), 400, 'long url');
    expect(err.message).toContain('url');
    expect((await h.api('/api/webhooks/ok', { method: 'PUT', body: JSON.stringify({ ...WEBHOOK, url: 'https://crm.example.com/' + 'a'.repeat(1000) }) })).status).toBe(201);
  });
});

describe('segment keys', () => {
  test('a key PUT refuses is a 400 about the key (not the definition), and /openapi.json documents the key pattern it enforces', async () => {
    const h = await open();
    for (const key of ['Pricing', '_lead', 'a.b', 'k'.repeat(65), encodeURIComponent('a b')]) {
      const err = await expectError(await h.api(`/api/segments/${key}`, { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) }), 400, key);
      expect(err.code, key).not.toBe('invalid_definition');
      expect(err.message, key).toMatch(/^key\b/);
    }
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { parameters: Array<{ name: string; schema: { pattern?: string } }> }>> };
    const pattern = doc.paths['/api/segments/{key}'].put.parameters.find((p) => p.name === 'key')!.schema.pattern;
    expect(pattern).toBeDefined();
    const re = new RegExp(pattern!);
    for (const ok of ['pricing_no_demo', 'a', '9-x', 'k'.repeat(64)]) expect(re.test(ok), ok).toBe(true);
    for (const bad of ['Pricing', '_lead', 'a.b', 'k'.repeat(65), 'a b']) expect(re.test(bad), bad).toBe(false);
  });
});

describe('audience exports: content types, file names, headers', () => {
  async function withMembers(h: HardeningApp) {
    const events = [
      { email: 'ana@example.com', name: 'demo_completed', traits: { phone: '+49 30 1234567', firstName: 'Ana', lastName: 'Lopez', country: 'DE', zip: '10115', jobTitle: 'CTO', company: 'ACME' } },
      { email: 'bo@example.com', name: 'demo_completed', traits: { firstName: 'Bo', country: 'US' } },
    ];
    expect((await h.api('/api/events', { method: 'POST', body: JSON.stringify(events) })).status).toBe(202);
    expect((await h.api('/api/segments/known', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) })).status).toBe(201);
  }

  test('json, csv, google, meta and linkedin each have their content type, an attachment file name and the documented header row', async () => {
    const h = await open();
    await withMembers(h);
    const expected = {
      csv: { type: /^text\/csv/, first: /^leadId,visitorId,email,stage,score/ },
      google: { type: /^text\/csv/, first: /^Email,Phone,First Name,Last Name,Country,Zip$/ },
      meta: { type: /^text\/csv/, first: /^email,phone,fn,ln,/ },
      linkedin: { type: /^text\/csv/, first: /^email,firstname,lastname,jobtitle,employeecompany,country,googleaid$/ },
    } as const;
    for (const [format, e] of Object.entries(expected)) {
      const res = await h.api(`/api/segments/known/members?format=${format}`);
      expect(res.status, format).toBe(200);
      expect(res.headers.get('content-type'), format).toMatch(e.type);
      expect(res.headers.get('content-disposition') ?? '', format).toMatch(/^attachment; filename="[^"/\\]+\.csv"$/);
      const lines = (await res.text()).split(/\r?\n/).filter((l) => l !== '');
      expect(lines[0], format).toMatch(e.first);
      expect(lines.length, format).toBe(3);
      if (format !== 'csv') expect(res.headers.get('funnelbeam-member-count'), format).toBe('2');
    }
    const res = await h.api('/api/segments/known/members?format=json');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-disposition') ?? '').toMatch(/filename="[^"]+\.json"/);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(['count', 'members', 'segment']);
    expect(body.segment).toBe('known');
    expect(body.count).toBe(2);
    for (const m of body.members) {
      expect(Object.keys(m).sort()).toEqual(['email', 'leadId', 'score', 'stage', 'visitorId']);
      expect(typeof m.leadId).toBe('string');
      expect(typeof m.stage).toBe('string');
      expect(typeof m.score).toBe('number');
    }
    // the default format is json, and the count is the live count GET /api/segments lists
    const def = await (await h.api('/api/segments/known/members')).json();
    expect(def.count).toBe(2);
    const listed = ((await (await h.api('/api/segments')).json()).segments as Array<{ key: string; count: number }>).find((s) => s.key === 'known');
    expect(listed?.count).toBe(2);
    // Meta and LinkedIn warn below their minimum audience size (README: Funnelbeam-Warning)
    expect((await h.api('/api/segments/known/members?format=meta')).headers.get('funnelbeam-warning')).toMatch(/100/);
    expect((await h.api('/api/segments/known/members?format=linkedin')).headers.get('funnelbeam-warning')).toMatch(/300/);
  });
});

describe('ops routes', () => {
  test('/healthz is JSON liveness, /metrics Prometheus text, /openapi.json an OpenAPI document, /s.js the snippet with ETag and 304', async () => {
    const h = await open();
    const health = await h.app.request('/healthz');
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await health.json()).ok).toBe(true);
    const metrics = await h.app.request('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+$/);
    const doc = await h.app.request('/openapi.json');
    expect(doc.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await doc.json()).openapi).toMatch(/^3\./);
    const js = await h.app.request('/s.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const etag = js.headers.get('etag')!;
    expect(etag).toBeTruthy();
    expect((await h.app.request('/s.js', { headers: { 'if-none-match': etag } })).status).toBe(304);
  });
});

describe('too many requests', () => {
  test('the API answers 429 with Retry-After in the error shape once a key is over its rate (contract §7)', async () => {
    const h = await open({ RATE_LIMIT_API_PER_SEC: 2 });
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await h.api('/api/segments');
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    expect(limited, `statuses ${statuses}`).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(limited!, 429, 'rate limited', 'rate_limited');
  });

  test('POST /e answers 429 with Retry-After in the error shape to a client over its rate', async () => {
    const h = await open({ RATE_LIMIT_CLIENT_PER_SEC: 2 });
    let limited: Response | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await h.postBeacon(h.batch());
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(limited!, 429, 'beacon rate limited');
  });
});

describe('webhook deliveries as documented', () => {
  test('a stage change POSTs {id, type, createdAt, data} as JSON, signed t=…,v1=HMAC-SHA256("<t>.<raw body>") with the secret shown once', async () => {
    const { startReceiver } = await import('../webhooks/receiver.js');
    const { createHmac } = await import('node:crypto');
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const h = await open();
    const put = await h.api('/api/webhooks/crm', {
      method: 'PUT',
      body: JSON.stringify({ url: receiver.url, events: ['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited'] }),
    });
    expect(put.status).toBe(201);
    const { secret } = (await put.json()) as { secret: string };
    // a demo request: the visitor is identified and moves to evaluation (contract §6), entering preset segments
    const batch = makeBatch(h.site.siteKey, {}, [{ t: h.clock.t, n: 'demo_request', u: 'http://127.0.0.1/demo', em: 'hook@example.com', f: 'demo' }]);
    expect((await h.postBeacon(batch)).status).toBe(202);
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && !receiver.requests.some((r) => (JSON.parse(r.body) as { type: string }).type === 'stage.changed')) await new Promise((r) => setTimeout(r, 100));
    expect(receiver.requests.length).toBeGreaterThan(0);
    const ids = new Set<string>();
    for (const r of receiver.requests) {
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(r.body) as { id: string; type: string; createdAt: string; data: Record<string, unknown> };
      expect(Object.keys(body).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
      expect(['stage.changed', 'lead.mql', 'segment.entered', 'segment.exited']).toContain(body.type);
      expect(Number.isNaN(Date.parse(body.createdAt))).toBe(false);
      expect(ids.has(body.id)).toBe(false);
      ids.add(body.id);
      const header = String(r.headers['funnelbeam-signature']);
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
      expect(m, header).not.toBeNull();
      expect(m![2]).toBe(createHmac('sha256', secret).update(`${m![1]}.${r.body}`).digest('hex'));
      if (body.type.startsWith('segment.')) {
        for (const k of ['segment', 'segmentName', 'leadId', 'email', 'stage', 'score', 'at']) expect(Object.keys(body.data), body.type).toContain(k);
      }
      if (body.type === 'stage.changed') expect(body.data).toMatchObject({ email: 'hook@example.com' });
    }
    // the delivery log shows them
    const log = (await (await h.api('/api/webhooks/crm')).json()) as { deliveries: Array<{ status: string }> };
    expect(log.deliveries.length).toBeGreaterThan(0);
  });
});

describe('site isolation beyond segments and webhooks (contract §5: a key only ever sees its own site\'s data)', () => {
  test("site B's admin key finds none of site A's leads, timelines, funnel counts or config, and erases nothing of A", async () => {
    const h = await open();
    const { createSite } = await import('../../collector/admin.js');
    const siteB = await createSite(h.db, { domain: 'b.example' }, h.now());
    const adminB = (await createKey(h.db, siteB.siteId, ['admin'], h.now())).secret;
    const ev = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'only-a@example.com', name: 'demo_completed' }) });
    expect(ev.status).toBe(202);
    const leadA = ((await ev.json()) as { events: Array<{ leadId: string }> }).events[0].leadId;
    const asB = (path: string, init: RequestInit = {}) => h.api(path, { ...init, secret: adminB });

    for (const ref of [leadA, 'only-a%40example.com']) {
      await expectError(await asB(`/api/leads/${ref}`), 404, `B reads A's lead ${ref}`);
      await expectError(await asB(`/api/leads/${ref}/timeline`), 404, `B reads A's timeline ${ref}`);
      await expectError(await asB(`/api/leads/${ref}`, { method: 'DELETE' }), 404, `B erases A's lead ${ref}`);
    }
    expect((await h.api(`/api/leads/${leadA}`)).status).toBe(200);
    const listB = (await (await asB('/api/leads?limit=500')).json()) as { items: Array<{ leadId: string }> };
    expect(listB.items.map((l) => l.leadId)).not.toContain(leadA);
    const funnelB = (await (await asB('/api/funnel')).json()) as { stages: Array<{ stage: string; count: number }> };
    expect(funnelB.stages.reduce((n, s) => n + s.count, 0)).toBe(0);
    // B's events naming A's lead id are refused, not attached to A
    const cross = await asB('/api/events', { method: 'POST', body: JSON.stringify({ leadId: leadA, name: 'closed_won' }) });
    expect(cross.status).toBe(400);
    expect(((await (await h.api(`/api/leads/${leadA}`)).json()) as { stage: string }).stage).not.toBe('purchase');
    // B's funnel config is B's own
    const configA = await (await h.api('/api/config/funnel')).json();
    const changed = { ...(configA as object), mqlThreshold: 7 };
    expect((await asB('/api/config/funnel', { method: 'PUT', body: JSON.stringify(changed) })).status).toBe(200);
    expect(await (await h.api('/api/config/funnel')).json()).toEqual(configA);
  });
});

describe('segment counts are live', () => {
  test('a PUT answers with the recomputed count; GET, the list and the export agree; a new event moves them at once', async () => {
    const h = await open();
    expect((await h.api('/api/events', { method: 'POST', body: JSON.stringify([{ email: 'a1@example.com', name: 'demo_completed' }, { email: 'a2@example.com', name: 'demo_completed' }]) })).status).toBe(202);
    const put = await h.api('/api/segments/evals', { method: 'PUT', body: JSON.stringify({ definition: { stage: { in: ['evaluation'] } } }) });
    expect(put.status).toBe(201);
    expect((await put.json()).count).toBe(2);
    expect((await (await h.api('/api/segments/evals')).json()).count).toBe(2);
    // a third lead reaches evaluation: no rebuild needed (contract §6: members change as events arrive)
    expect((await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'a3@example.com', name: 'demo_completed' }) })).status).toBe(202);
    const one = await (await h.api('/api/segments/evals')).json();
    const listed = ((await (await h.api('/api/segments')).json()).segments as Array<{ key: string; count: number }>).find((s) => s.key === 'evals');
    const exported = await (await h.api('/api/segments/evals/members?format=json')).json();
    expect([one.count, listed?.count, exported.count, exported.members.length]).toEqual([3, 3, 3, 3]);
    // the lead closes: it leaves the segment
    expect((await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'a3@example.com', name: 'closed_won' }) })).status).toBe(202);
    expect((await (await h.api('/api/segments/evals')).json()).count).toBe(2);
  });
});

describe('refused API requests are kept with their reason (contract §7)', () => {
  // the site's admins read them through GET /api/rejected: a refusal of a request made with a live key of the site is
  // the site's, whether the route, the method or the key's scope refused it
  test('a 400, 403, 404 (of a route), 405 and 415 of /api made with a live key each leave a row of its site whose reason is the error code', async () => {
    const h = await open();
    const reader = (await createKey(h.db, h.site.siteId, ['leads:read'], h.now())).secret;
    const refusals: Array<[string, RequestInit & { secret?: string }]> = [
      ['/api/segments/kept_1', { method: 'PUT', body: '{oops' }],
      ['/api/webhooks/nope', { method: 'GET' }],
      ['/api/segments', { method: 'DELETE' }],
      ['/api/segments/kept_2', { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }), secret: reader }],
      ['/api/webhooks/kept_3', { method: 'PUT', body: '{}', headers: { 'content-type': 'text/plain' } }],
    ];
    const codes: string[] = [];
    for (const [path, init] of refusals) {
      const res = await h.api(path, init);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      codes.push(((await res.json()) as { error: { code: string } }).error.code);
    }
    const rows = ((await (await h.api('/api/rejected?limit=500')).json()) as { items: Array<{ reason: string; route: string }> }).items;
    for (const code of codes) expect(rows.map((r) => r.reason), code).toContain(code);
    expect(codes).toEqual(expect.arrayContaining(['method_not_allowed', 'forbidden', 'webhook_not_found']));
  });

  // the /api body ceiling (413) answers before any route reads the key: keepRefused finds the key's site itself
  test('a 413 of /api made with a live admin key is kept as the site\'s row', async () => {
    const h = await open();
    const res = await h.api('/api/segments/big', { method: 'PUT', body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024 + 10), definition: { identified: true } }) });
    expect(res.status).toBe(413);
    const rows = ((await (await h.api('/api/rejected?limit=500')).json()) as { items: Array<{ reason: string }> }).items;
    expect(rows.map((r) => r.reason)).toContain('payload_too_large');
  });
});
