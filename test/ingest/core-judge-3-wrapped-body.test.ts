// POST /e bodies as hand-made server clients really send them (README "validate": a hand-made beacon is read as
// sent), wrapped one level too deep: the batch encoded twice (Python's `requests.post(url, json=json.dumps(batch))`,
// the most common mistake with that library: the body is a JSON string holding the batch), and the batch inside an
// array (a client that batches batches). Each is bad input: a clear 400 (contract §7), whose message says what to
// send instead, and a rejected-store row "with the site if known" (the issue). The site key is right there, one level
// down, so the site's admin must find the row in GET /api/rejected; it was kept under no site, and the message only
// said "expected object, received string".
import { describe, expect, test } from 'vitest';
import { useRejectedHarness } from './rejected-harness.js';

const SITE = 'https://example.com';
const openHarness = useRejectedHarness();

async function open() {
  const h = await openHarness();
  // a server client: JSON content type, no Origin, its library's user agent
  const send = (body: string) =>
    h.app.request('/e', { method: 'POST', body, headers: { 'content-type': 'application/json', 'user-agent': 'python-requests/2.32.3' } });
  return { ...h, send };
}

const batchOf = (s: string) => ({ s, v: 'visitor_py_000001', e: [{ i: 'evt_py_00000001', n: 'pageview', t: Date.now() - 1000, u: `${SITE}/pricing` }] });

describe('a batch wrapped one level too deep', () => {
  test('encoded twice (a JSON string holding the batch): 400 saying so, kept as the site\'s, nothing stored', async () => {
    const h = await open();
    const body = JSON.stringify(JSON.stringify(batchOf(h.site.siteKey)));
    expect(body.startsWith('"{\\"s\\":')).toBe(true);
    const res = await h.send(body);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('invalid_batch');
    expect(error.message).toMatch(/twice/);
    expect(await h.stored()).toBe(0);
    expect(await h.rejected()).toEqual([expect.objectContaining({ reason: 'invalid_batch', message: error.message, raw: body })]);
    // the same batch sent once is stored
    expect((await h.send(JSON.stringify(batchOf(h.site.siteKey)))).status).toBe(202);
    expect(await h.stored()).toBe(1);
  });

  test('inside an array: 400 saying a batch is one object, kept as the site\'s, nothing stored', async () => {
    const h = await open();
    const body = JSON.stringify([batchOf(h.site.siteKey)]);
    const res = await h.send(body);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('invalid_batch');
    expect(error.message).toMatch(/array/);
    expect(error.message).toMatch(/one object/);
    expect(await h.stored()).toBe(0);
    expect(await h.rejected()).toEqual([expect.objectContaining({ reason: 'invalid_batch', message: error.message, raw: body })]);
  });

  test('controls: a string or an array that holds no batch of a site is refused as before, under no site', async () => {
    const h = await open();
    for (const body of ['"hello"', JSON.stringify('{"s":"pk_nobody_at_all","v":"x"}'), '[]', '[1,2]', JSON.stringify([{ s: 'pk_nobody_at_all' }])]) {
      const res = await h.send(body);
      expect(res.status, body).toBe(400);
      expect((await res.json()).error.message, body).toMatch(/expected object/);
    }
    expect(await h.rejected()).toEqual([]);
    const kept = await h.db.all<{ site_id: string }>('SELECT site_id FROM rejected_events');
    expect(kept.map((r) => r.site_id)).toEqual(['', '', '', '', '']);
  });
});
