import { describe, expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { BOT_UA, IPHONE_UA, makeBatch, makeWireEvent, randomId } from '../helpers/factories.js';
import { LIMITS } from '../../shared/limits.js';

const count = async (db: { get: (s: string, p?: unknown[]) => Promise<unknown> }, sql: string, params: unknown[] = []) =>
  Number(((await db.get(sql, params)) as { n: number }).n);

describe('POST /e', () => {
  test('stores a text/plain batch and answers 202 with the count', async () => {
    const { post, site, db } = await makeIngestApp();
    const batch = makeBatch(site.siteKey, {}, [{ n: 'pageview' }, { n: 'download', p: { url: '/x.pdf' } }]);
    const res = await post(batch);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0 });
    const rows = await db.all<{ name: string; visitor_id: string; browser: string; os: string; device: string; channel: string; session_id: string }>(
      'SELECT name, visitor_id, browser, os, device, channel, session_id FROM events WHERE site_id = ? ORDER BY name',
      [site.siteId],
    );
    expect(rows.map((r) => r.name)).toEqual(['download', 'pageview']);
    expect(rows[0]).toMatchObject({ visitor_id: batch.v, browser: 'Chrome', os: 'Linux', device: 'desktop', channel: 'direct' });
    expect(rows[0].session_id).toBe(rows[1].session_id);
  });

  test('accepts a JSON content type too', async () => {
    const { post, site } = await makeIngestApp();
    const res = await post(makeBatch(site.siteKey), { 'content-type': 'application/json' });
    expect(res.status).toBe(202);
  });

  test('stores a retried event id once and counts it as a duplicate', async () => {
    const { post, site, db } = await makeIngestApp();
    const batch = makeBatch(site.siteKey, {}, [{}, {}]);
    expect(await (await post(batch)).json()).toEqual({ accepted: 2, duplicates: 0 });
    expect(await (await post(batch)).json()).toEqual({ accepted: 0, duplicates: 2 });
    const twice = { ...batch, e: [batch.e[0], batch.e[0]] };
    expect(await (await post(twice)).json()).toEqual({ accepted: 0, duplicates: 2 });
    expect(await count(db, 'SELECT COUNT(*) AS n FROM events WHERE site_id = ?', [site.siteId])).toBe(2);
    expect(await count(db, 'SELECT event_count AS n FROM visitors WHERE visitor_id = ?', [batch.v])).toBe(2);
  });

  test('the same id twice in one batch is stored once', async () => {
    const { post, site, db } = await makeIngestApp();
    const e = makeWireEvent();
    const res = await post({ s: site.siteKey, v: 'v_' + randomId(), e: [e, { ...e }] });
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 1 });
    expect(await count(db, 'SELECT COUNT(*) AS n FROM events')).toBe(1);
  });

  test('concurrent requests share group-commit flushes and all are stored', async () => {
    const { post, site, db, deps } = await makeIngestApp();
    const batches = Array.from({ length: 40 }, () => makeBatch(site.siteKey, {}, [{}, {}, {}]));
    const results = await Promise.all(batches.map((b) => post(b)));
    expect(results.every((r) => r.status === 202)).toBe(true);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM events')).toBe(120);
    const text = await deps.metrics.render();
    const flushes = Number(/funnelbeam_flush_batch_size_count (\d+)/.exec(text)?.[1]);
    expect(flushes).toBeGreaterThan(0);
    expect(flushes).toBeLessThan(40);
  });

  test('keeps malformed JSON in the rejected store with a 400', async () => {
    const { post, db } = await makeIngestApp();
    const res = await post('{"s": "x", nope');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid_json', message: 'body is not valid JSON' } });
    const row = await db.get<{ reason: string; raw: string; route: string }>('SELECT reason, raw, route FROM rejected_events');
    expect(row).toEqual({ reason: 'invalid_json', raw: '{"s": "x", nope', route: '/e' });
  });

  test('answers 404 for an unknown site key and keeps the request', async () => {
    const { post, db } = await makeIngestApp();
    const res = await post(makeBatch('pk_doesnotexist'));
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('unknown_site');
    expect(await db.get('SELECT reason, site_id FROM rejected_events')).toEqual({ reason: 'unknown_site', site_id: '' });
  });

  test('answers 413 for a body over 64 KB and stores nothing of it', async () => {
    const { post, site, db } = await makeIngestApp();
    const big = makeBatch(site.siteKey, {}, [{ p: { a: 'x'.repeat(500) } }]);
    const body = JSON.stringify(big).replace('"e":', `"pad":"${'y'.repeat(LIMITS.bodyBytes)}","e":`);
    const res = await post(body);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
    expect(await count(db, 'SELECT COUNT(*) AS n FROM events')).toBe(0);
    expect(await count(db, "SELECT COUNT(*) AS n FROM rejected_events WHERE reason = 'payload_too_large'")).toBe(1);
  });

  test('a 413 is readable by a page of a site (the snippet then retries smaller, or settles one event too large), not by others', async () => {
    const { post, site } = await makeIngestApp({ domain: 'example.com' });
    const body = JSON.stringify(makeBatch(site.siteKey, {}, [{ p: { a: 'x'.repeat(LIMITS.bodyBytes) } }]));
    const mine = await post(body, { origin: 'https://www.example.com' });
    expect(mine.status).toBe(413);
    expect(mine.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    const other = await post(body, { origin: 'https://evil.test' });
    expect(other.status).toBe(413);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a body just under the limit is accepted', async () => {
    const { post, site } = await makeIngestApp();
    const events = Array.from({ length: 40 }, () => ({ p: Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`k${i}`, 'x'.repeat(400)])) }));
    const body = JSON.stringify(makeBatch(site.siteKey, {}, events));
    expect(body.length).toBeLessThan(LIMITS.bodyBytes);
    expect(body.length).toBeGreaterThan(LIMITS.bodyBytes / 2);
    expect((await post(body)).status).toBe(202);
  });

  test.each([
    ['too many events', (k: string) => makeBatch(k, {}, Array.from({ length: LIMITS.batchEvents + 1 }, () => ({}))), 'too_many_events'],
    ['no events', (k: string) => ({ s: k, v: 'v_' + randomId(), e: [] }), 'invalid_batch'],
    ['a bad visitor id', (k: string) => makeBatch(k, { v: 'bad id!' }), 'invalid_batch'],
    ['a page url that is not a text', (k: string) => makeBatch(k, {}, [{ u: 42 as never }]), 'invalid_event'],
    ['an event name over the limit', (k: string) => makeBatch(k, {}, [{ n: 'x'.repeat(LIMITS.nameChars + 1) }]), 'invalid_event'],
    ['an identify with a bad email', (k: string) => makeBatch(k, {}, [{ n: 'identify', em: 'not-an-email' }]), 'invalid_event'],
    ['an event older than seven days', (k: string) => makeBatch(k, {}, [{ t: Date.now() - LIMITS.maxAgeMs - 60_000 }]), 'invalid_event'],
  ])('rejects a batch with %s with 400 and keeps it', async (_what, make, code) => {
    const { post, site, db } = await makeIngestApp();
    const res = await post(make(site.siteKey) as never);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(5);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM rejected_events WHERE reason = ?', [code])).toBeGreaterThan(0);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM events')).toBe(0);
  });

  test('stores the good events of a batch and rejects only the bad one', async () => {
    const { post, site, db } = await makeIngestApp();
    const batch = makeBatch(site.siteKey, {}, [{}, { n: 'bad name!' }, {}]);
    const res = await post(batch);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toEqual([{ index: 1, id: batch.e[1].i, message: expect.stringContaining('e.1.n') }]);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM events')).toBe(2);
    const kept = await db.get<{ reason: string; site_id: string; raw: string }>('SELECT reason, site_id, raw FROM rejected_events');
    expect(kept).toMatchObject({ reason: 'invalid_event', site_id: site.siteId });
    expect(JSON.parse(kept!.raw).i).toBe(batch.e[1].i);
  });

  test('cuts an overlong url or value and drops an unusable part, and stores the event; a dropped part is kept and explained', async () => {
    const { post, site, db } = await makeIngestApp();
    const long = 'http://127.0.0.1/landing?q=' + 'a'.repeat(LIMITS.urlChars);
    const batch = makeBatch(site.siteKey, {}, [
      { n: 'pageview', u: long, r: long, ft: { url: long, utm_source: 's'.repeat(LIMITS.valueChars + 9) } },
      { n: 'demo_request', f: 'demo', em: 'sam@corp.example;', tr: { message: 'm'.repeat(LIMITS.valueChars + 1), nested: { a: 1 } as never, zip: 94043 as never } },
      { n: 'cta', p: { ...Object.fromEntries(Array.from({ length: LIMITS.propKeys + 1 }, (_, i) => [`p${i}`, i])), bad: null as never } },
      { n: 'form_submit', f: 'contact' as never, em: 'pat@corp.example' },
    ]);
    const res = await post(batch);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(4);
    expect(body.rejected).toBeUndefined();
    expect(body.repaired.map((r: { index: number }) => r.index)).toEqual([0, 1, 2]);
    expect(body.repaired[1].message).toContain('e.1.em: dropped (not an email address)');
    expect(body.repaired[1].message).toContain('e.1.tr.message: cut');

    const rows = await db.all<{ name: string; url: string; referrer: string; first_touch: string | null; email: string | null; traits: string | null; props: string | null; form: string | null }>(
      'SELECT name, url, referrer, first_touch, email, traits, props, form FROM events ORDER BY at',
    );
    expect(rows.map((r) => r.name)).toEqual(['pageview', 'demo_request', 'cta', 'form_submit']);
    expect(rows[0].url).toBe(long.slice(0, LIMITS.urlChars));
    expect(rows[0].referrer).toBe(long.slice(0, LIMITS.urlChars));
    expect(JSON.parse(rows[0].first_touch!).utm_source).toBe('s'.repeat(LIMITS.valueChars));
    expect(rows[1].email).toBeNull();
    expect(JSON.parse(rows[1].traits!)).toEqual({ message: 'm'.repeat(LIMITS.valueChars), zip: '94043' });
    expect(Object.keys(JSON.parse(rows[2].props!))).toHaveLength(LIMITS.propKeys);
    // a form's own marker: kind "other", the marker in props.form (what the default sales_form_kind rule reads)
    expect(rows[3]).toMatchObject({ form: 'other', email: 'pat@corp.example' });
    expect(JSON.parse(rows[3].props!)).toEqual({ form: 'contact' });

    // the events that lost a part are kept as they were sent; a value only cut is not
    const kept = await db.all<{ reason: string; message: string; raw: string }>("SELECT reason, message, raw FROM rejected_events WHERE reason = 'invalid_field' ORDER BY message");
    expect(kept).toHaveLength(2);
    expect(kept.map((k) => JSON.parse(k.raw).i).sort()).toEqual([batch.e[1].i, batch.e[2].i].sort());
  });

  test('a retried batch with a repaired event is explained again in its answer, but kept and counted once', async () => {
    const { post, site, db, deps } = await makeIngestApp();
    const batch = makeBatch(site.siteKey, {}, [{ n: 'cta', p: { nested: { a: 1 } } as never }]);
    const first = await (await post(batch)).json();
    const again = await (await post(batch)).json();
    expect(first).toMatchObject({ accepted: 1, repaired: [{ index: 0, id: batch.e[0].i }] });
    expect(again).toMatchObject({ accepted: 0, duplicates: 1, repaired: [{ index: 0, id: batch.e[0].i }] });
    const kept = await db.all<{ raw: string }>("SELECT raw FROM rejected_events WHERE reason = 'invalid_field'");
    expect(kept).toHaveLength(1);
    expect(deps.metrics.value('funnelbeam_event_parts_repaired_total')).toBe(1);
  });

  test('clamps an event time in the future to the receive time', async () => {
    const { post, site, db } = await makeIngestApp({ now: () => 1_800_000_000_000 });
    await post(makeBatch(site.siteKey, {}, [{ t: 1_900_000_000_000 }]));
    const r = await db.get<{ at: number }>('SELECT at FROM events');
    expect(r!.at).toBe(1_800_000_000_000 + LIMITS.futureSkewMs);
  });

  describe('CORS', () => {
    test('admits the site domain and its subdomains, echoing the origin', async () => {
      const { post, site } = await makeIngestApp({ domain: 'example.com' });
      for (const origin of ['https://example.com', 'https://www.example.com', 'http://blog.eu.example.com:8080']) {
        const res = await post(makeBatch(site.siteKey), { origin });
        expect(res.status).toBe(202);
        expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      }
    });
    test('refuses other origins with 403, keeps and counts them', async () => {
      const { post, site, db, deps } = await makeIngestApp({ domain: 'example.com' });
      for (const origin of ['https://evil.com', 'https://notexample.com', 'https://example.com.evil.com', 'null']) {
        const res = await post(makeBatch(site.siteKey), { origin });
        expect(res.status).toBe(403);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
        expect((await res.json()).error.code).toBe('origin_not_allowed');
      }
      expect(deps.metrics.value('funnelbeam_cors_refused_total')).toBe(4);
      expect(await count(db, "SELECT COUNT(*) AS n FROM rejected_events WHERE reason = 'origin_not_allowed'")).toBe(4);
      expect(await count(db, 'SELECT COUNT(*) AS n FROM events')).toBe(0);
    });
    test('answers the preflight', async () => {
      const { app } = await makeIngestApp();
      const res = await app.request('/e', { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1' } });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    });
  });

  describe('enrichment', () => {
    test('flags bots, keeps their events and leaves them out of attribution', async () => {
      const { post, site, db } = await makeIngestApp();
      const batch = makeBatch(site.siteKey);
      expect((await post(batch, { 'user-agent': BOT_UA })).status).toBe(202);
      expect(await db.get('SELECT is_bot, attributed FROM events')).toEqual({ is_bot: 1, attributed: 0 });
      expect(await db.get('SELECT is_bot FROM visitors')).toEqual({ is_bot: 1 });
    });
    test('parses a phone user agent as mobile', async () => {
      const { post, site, db } = await makeIngestApp();
      await post(makeBatch(site.siteKey), { 'user-agent': IPHONE_UA });
      expect(await db.get('SELECT browser, os, device FROM events')).toEqual({ browser: 'Mobile Safari', os: 'iOS', device: 'mobile' });
    });
    test('fills channel and UTM fields from the session touch', async () => {
      const { post, site, db } = await makeIngestApp();
      const st = { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'nov', url: 'http://127.0.0.1/?utm_source=newsletter' };
      await post(makeBatch(site.siteKey, {}, [{ st, ft: { ref: 'https://www.google.com/' } }]));
      expect(await db.get('SELECT channel, utm_source, utm_medium, utm_campaign FROM events')).toEqual({
        channel: 'email', utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'nov',
      });
      const v = await db.get<{ first_touch: string }>('SELECT first_touch FROM visitors');
      expect(JSON.parse(v!.first_touch).channel).toBe('organic_search');
    });
    test('a new campaign or 30 idle minutes start a new session', async () => {
      const { post, site, db } = await makeIngestApp();
      const t0 = Date.now() - 3 * 3600_000;
      const v = 'v_' + randomId();
      await post(makeBatch(site.siteKey, { v }, [{ t: t0 }, { t: t0 + 60_000 }]));
      await post(makeBatch(site.siteKey, { v }, [{ t: t0 + 32 * 60_000 }]));
      await post(makeBatch(site.siteKey, { v }, [{ t: t0 + 33 * 60_000, st: { utm_source: 'linkedin', utm_medium: 'paid_social', utm_campaign: 'x' } }]));
      const rows = await db.all<{ session_id: string; channel: string }>('SELECT session_id, channel FROM events ORDER BY at');
      expect(new Set(rows.map((r) => r.session_id)).size).toBe(3);
      expect(rows[0].session_id).toBe(rows[1].session_id);
      expect(rows[3].channel).toBe('paid_social');
      expect(await db.get('SELECT session_count, event_count FROM visitors')).toEqual({ session_count: 3, event_count: 4 });
    });
  });

  test('never stores the client IP address', async () => {
    const { post, site, db } = await makeIngestApp();
    await post(makeBatch(site.siteKey), { 'x-forwarded-for': '203.0.113.77' });
    const dump = JSON.stringify([await db.all('SELECT * FROM events'), await db.all('SELECT * FROM visitors')]);
    expect(dump).not.toContain('203.0.113.77');
  });

  test('GET /metrics reports accepted and rejected events by reason', async () => {
    const { post, site, app } = await makeIngestApp();
    await post(makeBatch(site.siteKey, {}, [{}, {}]));
    await post('nope');
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('funnelbeam_events_accepted_total 2');
    expect(text).toContain('funnelbeam_events_rejected_total{reason="invalid_json"} 1');
    expect(text).toMatch(/funnelbeam_flush_seconds_count \d+/);
  });
});

test('GET /metrics reports the database size', async () => {
  const { app } = await makeIngestApp();
  const text = await (await app.request('/metrics')).text();
  expect(Number(/funnelbeam_database_bytes (\d+)/.exec(text)?.[1])).toBeGreaterThan(4096);
});
