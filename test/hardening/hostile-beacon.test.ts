import { beforeAll, describe, expect, test, vi } from 'vitest';
import fc from 'fast-check';
import { makeHardeningApp, type HardeningApp } from './hardening-app.js';
import { RUNS, TIMEOUT, deepJson, hostileJson, hostileString, INJECTIONS, invalidUtf8, readError, wideObject, withBytes } from './hostile-values.js';
import { LIMITS } from '../../shared/limits.js';
import { CHROME_UA } from '../helpers/factories.js';

vi.setConfig({ testTimeout: TIMEOUT });

let h: HardeningApp;
let canary: string;
const rejectedRows = () => h.count('SELECT COUNT(*) AS n FROM rejected_events');
const eventRows = () => h.count('SELECT COUNT(*) AS n FROM events');

beforeAll(async () => {
  h = await makeHardeningApp({ REJECTED_PER_SITE_PER_MIN: 1_000_000, RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0 });
  const b = h.batch();
  canary = b.e[0].i;
  expect((await h.postBeacon(b)).status).toBe(202);
});

const post = (body: string | Uint8Array, contentType = 'text/plain;charset=UTF-8') =>
  h.app.request('/e', { method: 'POST', body: body as BodyInit, headers: { 'content-type': contentType, origin: h.origin, 'user-agent': CHROME_UA } });

/** The contract for any body: never a 5xx; a refusal is a 4xx with the error shape and at least one rejected row. */
async function expectHandled(body: string | Uint8Array) {
  const before = await rejectedRows();
  const res = await post(body);
  expect(res.status, `status for ${String(body).slice(0, 120)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(await readError(res), 'error shape').not.toBeNull();
    expect(await rejectedRows(), 'a rejected-store row').toBeGreaterThan(before);
  } else {
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected?: unknown[] };
    if (body.rejected?.length) expect(await rejectedRows()).toBeGreaterThanOrEqual(before + body.rejected.length);
  }
  return res.status;
}

/** A batch whose every field is either valid or hostile. */
const mutatedBatch = () =>
  fc.record({
    s: fc.oneof(fc.constant(h.site.siteKey), hostileJson),
    v: fc.oneof(fc.constant('v_hostile_visitor'), hostileJson),
    e: fc.oneof(
      fc.array(
        fc.record({
          i: fc.oneof(fc.string({ minLength: 8, maxLength: 20, unit: fc.constantFrom(...'abcdefgh0123456789') }), hostileJson),
          n: fc.oneof(fc.constantFrom('pageview', 'download', 'identify', 'demo_request'), hostileJson),
          t: fc.oneof(fc.constant(h.clock.t), hostileJson),
          u: fc.oneof(fc.constant('http://127.0.0.1/pricing'), hostileJson),
          r: fc.option(hostileJson, { nil: undefined }),
          p: fc.option(fc.oneof(fc.dictionary(hostileString, hostileJson, { maxKeys: 6 }), hostileJson), { nil: undefined }),
          ft: fc.option(fc.oneof(fc.dictionary(fc.constantFrom('utm_source', 'gclid', 'ref', 'url', 'at'), hostileJson), hostileJson), { nil: undefined }),
          em: fc.option(fc.oneof(hostileString, fc.constant('ok@example.com')), { nil: undefined }),
          tr: fc.option(fc.oneof(fc.dictionary(fc.constantFrom('company', 'firstName', 'country', '__proto__', 'constructor'), hostileString), hostileJson), { nil: undefined }),
          f: fc.option(hostileJson, { nil: undefined }),
        }, { requiredKeys: ['i', 'n', 't', 'u'] }),
        { minLength: 0, maxLength: 4 },
      ),
      hostileJson,
    ),
  });

describe('POST /e under hostile input', () => {
  test('arbitrary text bodies never cause a 5xx, and every refusal is explained and kept', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 400 }), (s) => expectHandled(s).then(() => {})), { numRuns: RUNS });
  });

  test('arbitrary JSON bodies never cause a 5xx, and every refusal is explained and kept', async () => {
    await fc.assert(fc.asyncProperty(hostileJson, (j) => expectHandled(JSON.stringify(j) ?? 'undefined').then(() => {})), { numRuns: RUNS });
  });

  test('batches with hostile fields are refused or stored, never a 5xx', async () => {
    await fc.assert(fc.asyncProperty(mutatedBatch(), (b) => expectHandled(JSON.stringify(b)).then(() => {})), { numRuns: RUNS * 3 });
  });

  test('invalid UTF-8, alone or inside a valid batch, never causes a 5xx', async () => {
    const valid = JSON.stringify(h.batch());
    await fc.assert(
      fc.asyncProperty(invalidUtf8, fc.double({ min: 0, max: 1, noNaN: true }), async (bytes, at) => {
        await expectHandled(bytes);
        await expectHandled(withBytes(valid, bytes, at));
      }),
      { numRuns: RUNS },
    );
  });

  test('deeply nested JSON is refused with 400 (413 when it is also too big), at the top or inside props and traits', async () => {
    for (const depth of [100, 5_000, 30_000]) {
      for (const kind of ['array', 'object'] as const) {
        expect([400, 413]).toContain(await expectHandled(deepJson(depth, kind)));
        const nested = JSON.stringify(h.batch()).replace('"n":"pageview"', `"n":"pageview","p":${deepJson(Math.min(depth, 10_000), kind)}`);
        expect(await expectHandled(nested)).toBeLessThan(500);
        const inTraits = JSON.stringify(h.batch()).replace('"n":"pageview"', `"n":"identify","em":"a@example.com","tr":${deepJson(Math.min(depth, 10_000), kind)}`);
        expect(await expectHandled(inTraits)).toBeLessThan(500);
      }
    }
  });

  test('huge prop and trait counts keep the first 32 keys; the event is stored, repaired and kept as sent', async () => {
    for (const n of [LIMITS.propKeys + 1, 1_000, 5_000]) {
      for (const wide of [{ p: wideObject(n, 1) }, { n: 'identify', em: 'wide@example.com', tr: wideObject(n) }]) {
        const before = await rejectedRows();
        const c = h.batch(2);
        Object.assign(c.e[1], wide);
        const res = await post(JSON.stringify(c));
        expect(res.status).toBe(202);
        const body = (await res.json()) as { accepted: number; rejected?: unknown[]; repaired: Array<{ index: number; message: string }> };
        expect(body.accepted).toBe(2);
        expect(body.rejected).toBeUndefined();
        expect(body.repaired.map((r) => r.index)).toEqual([1]);
        expect(body.repaired[0].message).toContain(`beyond ${LIMITS.propKeys} keys`);
        expect(await rejectedRows()).toBe(before + 1);
      }
    }
  });

  test('an oversized body is refused with 413 and kept', async () => {
    for (const size of [LIMITS.bodyBytes + 1, LIMITS.bodyBytes * 4]) expect(await expectHandled('{"s":"' + 'x'.repeat(size) + '"}')).toBe(413);
  });

  test('injection strings in valid fields are stored as plain text and harm nothing', async () => {
    const before = await eventRows();
    const b = h.batch(INJECTIONS.length);
    b.e.forEach((e, k) => {
      const s = INJECTIONS[k].slice(0, 500);
      Object.assign(e, { u: 'http://127.0.0.1/' + s, r: s, p: { q: s, [s.slice(0, 60) || 'k']: s } });
    });
    const res = await post(JSON.stringify(b));
    expect(res.status).toBe(202);
    const { accepted } = (await res.json()) as { accepted: number };
    expect(accepted).toBeGreaterThan(INJECTIONS.length / 2);
    expect(await eventRows()).toBe(before + accepted);
    const stored = await h.db.get<{ referrer: string }>('SELECT referrer FROM events WHERE event_id = ?', [b.e[0].i]);
    expect(stored?.referrer).toBe(INJECTIONS[0]);
  });

  test('after all of it the collector is healthy and the good data is untouched', async () => {
    expect((await h.app.request('/healthz')).status).toBe(200);
    expect(await h.count('SELECT COUNT(*) AS n FROM events WHERE event_id = ?', [canary])).toBe(1);
    expect(await h.count("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL")).toBe(1);
    expect((await h.postBeacon(h.batch())).status).toBe(202);
  });
});
