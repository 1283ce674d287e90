// Times as CRMs send them in POST /api/events: ISO 8601 with Z or an offset (also without its colon, as Salesforce
// writes it), a date alone (midnight UTC), epoch milliseconds as a number or as digits.
import { afterEach, expect, test } from 'vitest';
import { normalizeTime } from '../../collector/funnel/server-event-input.js';
import { makeJourneyApp } from '../helpers/journey-app.js';

test('normalizeTime makes ISO 8601 or a number of what CRMs send, and leaves the rest to validation', () => {
  expect(normalizeTime('2026-11-24')).toBe('2026-11-24T00:00:00Z');
  expect(normalizeTime('2026-11-24T01:00:00.000+0000')).toBe('2026-11-24T01:00:00.000+00:00');
  expect(normalizeTime('2026-11-24 01:00:00Z')).toBe('2026-11-24T01:00:00Z');
  expect(normalizeTime(' 1795490000000 ')).toBe(1795490000000);
  expect(normalizeTime('2026-11-24T01:00:00+01:00')).toBe('2026-11-24T01:00:00+01:00');
  expect(normalizeTime(1795490000000)).toBe(1795490000000);
  expect(normalizeTime('next tuesday')).toBe('next tuesday');
});

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

test('POST /api/events stores each form at its moment; a time that is none is refused with its index', async () => {
  const j = await makeJourneyApp({ start: Date.UTC(2026, 10, 25, 12) });
  close = () => j.db.close();
  const sent = [
    ['2026-11-24', Date.UTC(2026, 10, 24)],
    ['2026-11-24T01:00:00.000+0000', Date.UTC(2026, 10, 24, 1)],
    ['2026-11-24T03:00:00.000+0200', Date.UTC(2026, 10, 24, 1)],
    ['2026-11-24 05:30:00Z', Date.UTC(2026, 10, 24, 5, 30)],
    [String(Date.UTC(2026, 10, 23, 8)), Date.UTC(2026, 10, 23, 8)],
  ] as const;
  const res = await j.serverEvents(sent.map(([at], i) => ({ id: `crm-${i}`, email: 'deal@crm.example', name: 'demo_completed', at })).concat([{ id: 'crm-bad', email: 'deal@crm.example', name: 'demo_completed', at: 'soon' } as never]));
  expect(res.status).toBe(202);
  const body = (await res.json()) as { rejected: Array<{ index: number; message: string }> };
  expect(body.rejected.map((r) => r.index)).toEqual([5]);
  const rows = await j.db.all<{ event_id: string; at: number }>("SELECT event_id, at FROM events WHERE site_id = ? AND source = 'server' ORDER BY event_id", [j.site.siteId]);
  expect(rows.map((r) => Number(r.at))).toEqual(sent.map(([, ms]) => ms));
});
