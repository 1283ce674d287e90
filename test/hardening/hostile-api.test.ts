import { beforeAll, describe, expect, test, vi } from 'vitest';
import fc from 'fast-check';
import { makeHardeningApp, type HardeningApp } from './hardening-app.js';
import { RUNS, TIMEOUT, INJECTIONS, RAW_SEGMENTS, deepJson, encodeSegment, hostileJson, hostileSegment, hostileString, invalidUtf8, mutated, readError, wideObject, withBytes } from './hostile-values.js';
import { LIMITS } from '../../shared/limits.js';

vi.setConfig({ testTimeout: TIMEOUT });

let h: HardeningApp;
let canaryLead: string;
let defaults: unknown;
const rejectedRows = () => h.count('SELECT COUNT(*) AS n FROM rejected_events');

beforeAll(async () => {
  h = await makeHardeningApp({ REJECTED_PER_SITE_PER_MIN: 1_000_000, RATE_LIMIT_API_PER_SEC: 0, HANDLER_TIMEOUT_MS: 5000 });
  const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'canary@example.com', name: 'demo_completed', id: 'canary_event_1' }) });
  expect(res.status).toBe(202);
  canaryLead = ((await res.json()) as { events: Array<{ leadId: string }> }).events[0].leadId;
  defaults = await (await h.api('/api/config/funnel')).json();
});

const decodeOr = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Never a 5xx; a refusal carries the error shape. Returns the status. */
async function expectNo5xx(res: Response, what: string): Promise<number> {
  expect(res.status, what).toBeLessThan(500);
  if (res.status >= 400) expect(await readError(res), `error shape: ${what}`).not.toBeNull();
  return res.status;
}

/** The rest of the app still works: a beacon is stored and the funnel report answers. */
async function expectStillWorking(what: string) {
  expect((await h.postBeacon(h.batch())).status, `beacon after ${what}`).toBe(202);
  await expectNo5xx(await h.api('/api/funnel'), `funnel after ${what}`);
}

const serverEvent = { id: 'evt_00000001', email: 'lead@example.com', name: 'demo_completed', at: '2025-01-15T12:00:00Z', props: { plan: 'pro' }, traits: { company: 'ACME', country: 'US' } };

describe('POST /api/events under hostile input', () => {
  async function expectHandled(body: string | Uint8Array) {
    const before = await rejectedRows();
    const res = await h.api('/api/events', { method: 'POST', body: body as BodyInit });
    const status = await expectNo5xx(res, `POST /api/events ${String(body).slice(0, 120)}`);
    if (status >= 400) expect(await rejectedRows(), 'a rejected-store row').toBeGreaterThan(before);
    else expect(status).toBe(202);
    return status;
  }

  test('arbitrary and mutated bodies never cause a 5xx, and every refusal is explained and kept', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileJson, mutated(serverEvent), fc.array(mutated(serverEvent), { maxLength: 4 })), (b) =>
        expectHandled(JSON.stringify(b) ?? '').then(() => {}),
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test('invalid UTF-8, deep nesting, wide objects and oversized bodies are refused and kept', async () => {
    await fc.assert(fc.asyncProperty(invalidUtf8, (bytes) => expectHandled(withBytes(JSON.stringify(serverEvent), bytes)).then(() => {})), { numRuns: RUNS });
    for (const kind of ['array', 'object'] as const) expect(await expectHandled(deepJson(50_000, kind))).toBe(400);
    expect(await expectHandled(JSON.stringify({ ...serverEvent, props: wideObject(5000, 1) }))).toBe(400);
    expect(await expectHandled(JSON.stringify(Array.from({ length: LIMITS.apiBatchEvents + 1 }, () => ({ email: 'a@example.com', name: 'x' }))))).toBe(400);
    expect(await expectHandled('[' + '"x",'.repeat(LIMITS.apiBodyBytes / 4) + '"x"]')).toBe(413);
  });
});

const segmentCondition = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.record({ all: fc.array(tie('node'), { maxLength: 3 }) }),
    fc.record({ any: fc.array(tie('node'), { maxLength: 3 }) }),
    fc.record({ not: tie('node') }),
  ),
  leaf: fc.oneof(
    fc.record({ stage: fc.record({ in: fc.array(fc.oneof(fc.constantFrom('awareness', 'intent'), hostileString), { maxLength: 3 }) }) }),
    fc.record(
      {
        did: fc.record(
          {
            event: fc.oneof(fc.constantFrom('pageview', 'demo_request'), hostileString),
            path: hostileString,
            within: fc.oneof(fc.constantFrom('30d', '1h', '0d', '99999999d', '-1d'), hostileString),
            min: hostileJson,
            props: hostileJson,
          },
          { requiredKeys: ['event'] },
        ),
      },
    ),
    fc.record({ score: fc.record({ gte: hostileJson }) }),
    fc.record({ identified: hostileJson }),
    fc.record({ touch: fc.record({ model: fc.oneof(fc.constantFrom('first', 'last'), hostileString), source: hostileString }, { requiredKeys: [] }) }),
    fc.record({ inStage: fc.record({ days: fc.record({ gte: hostileJson }) }) }),
    hostileJson,
  ),
}));

const segmentKey = fc.oneof(
  fc.constantFrom('ok_segment', ...INJECTIONS.filter((s) => s.trim())).map(encodeSegment),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encodeSegment),
  fc.constantFrom(...RAW_SEGMENTS),
);

describe('segment definitions under hostile input', () => {
  test('PUT /api/segments/{key} never answers 5xx, and an accepted definition breaks neither ingest nor exports', async () => {
    await fc.assert(
      fc.asyncProperty(segmentKey, fc.oneof(fc.record({ name: fc.option(hostileString, { nil: undefined }), definition: segmentCondition.node }), hostileJson), async (key, body) => {
        const path = '/api/segments/' + key;
        const status = await expectNo5xx(await h.api(path, { method: 'PUT', body: JSON.stringify(body) ?? '' }), `PUT ${path} ${JSON.stringify(body)?.slice(0, 200)}`);
        if (status < 300) {
          await expectStillWorking(`segment ${JSON.stringify(body).slice(0, 200)}`);
          for (const format of ['json', 'csv', 'meta']) {
            const res = await h.api(`${path}/members?format=${format}`);
            await expectNo5xx(res, `export ${format}`);
            await res.text();
          }
          await expectNo5xx(await h.api(path, { method: 'DELETE' }), 'DELETE segment');
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('deep, wide and oversized definitions are refused with a 4xx', async () => {
    for (const body of [
      `{"definition":${'{"not":'.repeat(20_000)}{"identified":true}${'}'.repeat(20_000)}}`,
      JSON.stringify({ definition: { all: Array.from({ length: 20_000 }, () => ({ identified: true })) } }),
      JSON.stringify({ definition: { any: [{ identified: true }] }, name: 'x'.repeat(3 * 1024 * 1024) }),
    ]) {
      const status = await expectNo5xx(await h.api('/api/segments/deep', { method: 'PUT', body }), 'deep definition');
      expect(status).toBeGreaterThanOrEqual(400);
    }
    await expectStillWorking('deep definitions');
  });
});

describe('funnel config under hostile input', () => {
  test('PUT /api/config/funnel never answers 5xx, and an accepted config breaks neither ingest nor the report', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(defaults), hostileJson), async (body) => {
        const status = await expectNo5xx(await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify(body) ?? '' }), `PUT config ${JSON.stringify(body)?.slice(0, 300)}`);
        if (status < 300) {
          await expectStillWorking(`config ${JSON.stringify(body).slice(0, 300)}`);
          expect((await h.api('/api/config/funnel', { method: 'PUT', body: JSON.stringify(defaults) })).status).toBe(200);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('deep and oversized configs are refused with a 4xx', async () => {
    for (const body of [deepJson(50_000, 'object'), JSON.stringify({ ...(defaults as object), stages: Array.from({ length: 100_000 }, (_, i) => 's' + i) })]) {
      const status = await expectNo5xx(await h.api('/api/config/funnel', { method: 'PUT', body }), 'deep config');
      expect(status).toBeGreaterThanOrEqual(400);
    }
    await expectStillWorking('deep configs');
  });
});

describe('every GET route and its query parameters under hostile input', () => {
  test('hostile path and query values never cause a 5xx; path traversal in {ref} finds nothing', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([m]) => m === 'get' || m === 'delete').map(([method, op]) => ({ path, method, op })));
    expect(routes.length).toBeGreaterThan(12);
    const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'cursor', 'from', 'to', 'types', 'format', 'stage', 'segment', 'q', 'site', 'before', 'reason', 'breakdown', 'attribution', 'identified'), hostileString), hostileString), { maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.array(hostileSegment, { minLength: 3, maxLength: 3 }), query, async (route, pathValues, extra) => {
        let k = 0;
        const path = route.path.replace(/\{[^}]+\}/g, () => pathValues[k++] || 'x');
        const qs = new URLSearchParams();
        for (const p of route.op.parameters ?? []) if (p.in === 'query') qs.append(p.name, decodeOr(pathValues[k++ % 3]));
        for (const [name, value] of extra) qs.append(name, value);
        const url = `${path}?${qs}`;
        const res = await h.api(url, { method: route.method.toUpperCase() });
        await expectNo5xx(res, `${route.method} ${url.slice(0, 200)}`);
        if (res.status < 400) await res.arrayBuffer();
        if (/\{ref\}/.test(route.path) && /\.\.|%2e/i.test(pathValues[0])) expect([400, 404]).toContain(res.status);
      }),
      { numRuns: RUNS * 6 },
    );
    // the known lead is still there: a hostile DELETE /api/leads/{ref} erased no one else
    expect((await h.api('/api/leads/' + canaryLead)).status).toBe(200);
  });
});
