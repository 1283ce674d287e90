// An outbox resent after a week (journey-judge, session 15): a beacon has no answer, so the snippet keeps what it sent
// when a page was left until the next visit's first answered send. Those events were stored when fresh: resent 8 days
// later they are duplicates (contract §7: a retried event is stored once), never refused as "older than 7 days" nor
// kept in the rejected store; an event of that age the collector never stored is still refused.
import { expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { makeBatch } from '../helpers/factories.js';

const DAY = 86_400_000;

test('an outbox resent 8 days later: its stored events are duplicates, not rejections; an unstored old one is refused', async () => {
  let now = Date.now();
  const app = await makeIngestApp({ now: () => now });
  const t0 = now;
  const first = makeBatch(app.site.siteKey, { t: t0 }, [{ n: 'pageview', t: t0 - 1000 }, { n: 'engagement', t: t0 }]);
  expect((await app.post(first)).status).toBe(202);
  now += 8 * DAY;
  // the next visit: the outbox (both events, stored) and a new page
  const again = { ...first, t: now, e: [...first.e, { ...first.e[0], i: first.e[0].i.slice(0, -4) + 'zzzz', t: now }] };
  let res = await app.post(again);
  expect(res.status).toBe(202);
  expect(await res.json()).toMatchObject({ accepted: 1, duplicates: 2 });
  // a batch of the old outbox alone: all duplicates, answered 202
  res = await app.post({ ...first, t: now });
  expect(res.status).toBe(202);
  expect(await res.json()).toMatchObject({ accepted: 0, duplicates: 2 });
  expect(await app.db.all("SELECT * FROM rejected_events")).toEqual([]);
  // an event of that age never stored is refused and kept
  res = await app.post(makeBatch(app.site.siteKey, { v: first.v, t: now }, [{ n: 'pageview', t: t0 }]));
  expect(res.status).toBe(400);
  expect((await app.db.all("SELECT * FROM rejected_events")).length).toBe(1);
  await app.close();
});

test('an old outbox holding a repaired stored event is explained once; one beside an old event never stored is still a 202', async () => {
  let now = Date.now();
  const app = await makeIngestApp({ now: () => now });
  const t0 = now;
  // a view whose prop of another kind is dropped (repaired, kept once in the rejected store as sent)
  const first = makeBatch(app.site.siteKey, { t: t0 }, [{ n: 'pageview', t: t0 - 1000, p: { plan: { nested: true } } as never }]);
  let res = await app.post(first);
  expect(res.status).toBe(202);
  expect((await res.json()).repaired).toHaveLength(1);
  expect(await app.db.all('SELECT * FROM rejected_events')).toHaveLength(1);
  now += 8 * DAY;
  // A: the outbox resent with the next page's view: the stored event is a duplicate, its repair not kept again
  const page = { ...first.e[0], i: first.e[0].i.slice(0, -4) + 'zzzz', t: now, p: undefined };
  res = await app.post({ ...first, t: now, e: [first.e[0], page] });
  expect(res.status).toBe(202);
  expect(await res.json()).toMatchObject({ accepted: 1, duplicates: 1 });
  expect(await app.db.all('SELECT * FROM rejected_events')).toHaveLength(1);
  // B: the stored old event beside an old one whose beacon was lost: a 202 naming the lost one in `rejected`; the lost
  // one is kept in the rejected store, the stored one's repair is not kept again
  const lost = { ...first.e[0], i: first.e[0].i.slice(0, -4) + 'lost', p: undefined };
  res = await app.post({ ...first, t: now, e: [first.e[0], lost] });
  expect(res.status).toBe(202);
  const body = await res.json();
  expect(body).toMatchObject({ accepted: 0, duplicates: 1 });
  expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([1]);
  const rows = await app.db.all<{ reason: string }>('SELECT reason FROM rejected_events ORDER BY received_at');
  expect(rows.map((r) => r.reason)).toEqual(['invalid_field', 'invalid_event']);
  await app.close();
});
