// The one stored state (`_fb`) that a site's tabs share (README "Transport", "Where the visitor id lives", "Privacy"),
// written here as another tab of the site writes it: a refusal stored there, and an outbox at its cap that another tab
// cut. Chromium versions of both: test/e2e/privacy-judge-3.test.ts and test/e2e/transport-judge-4.test.ts.
import { expect, test } from 'vitest';
import { pagesOfTest } from './page.js';
import { LIMITS } from '../../shared/limits.js';

const open = pagesOfTest();
const answer = (page: { w: any }, name: string) => new Promise((r) => page.w.funnelbeam(name, (v: unknown) => r(v)));

test('a refusal stored by another tab: visitorId calls back undefined, segments [] without a request, and the stored state stays the refusal alone', async () => {
  const page = await open({});
  await page.settle();
  expect(await answer(page, 'visitorId')).toMatch(/^[0-9a-z]{20}$/);
  // the other tab's funnelbeam('consent', false): README "wipes the stored state and keeps only the refusal"
  page.w.localStorage.setItem('_fb', '{"c":0}');
  expect(await answer(page, 'visitorId')).toBe(undefined);
  expect(await answer(page, 'segments')).toEqual([]);
  expect(page.fetched).toEqual([]);
  expect(page.w.localStorage.getItem('_fb')).toBe('{"c":0}');
});

test('an outbox at its cap that another tab cut (its oldest event dropped there) stays at the cap here: the event dropped is not put back, the newest are kept', async () => {
  const cap = LIMITS.snippetStoredEvents;
  const page = await open({ status: () => 'network' });
  await page.settle();
  for (let i = 0; i < cap - 1; i++) page.w.funnelbeam('track', 'e' + i);
  // pageview, e0 … e98: the cap. Another tab tracks `other` and drops the oldest, the view
  const stored = page.state();
  expect(stored.q).toHaveLength(cap);
  const other = { ...stored.q[cap - 1], i: 'othertaboutboxevent1', n: 'other', t: stored.q[cap - 1].t + 1 };
  page.w.localStorage.setItem('_fb', JSON.stringify({ ...stored, q: [...stored.q.slice(1), other] }));
  // this tab tracks once more, then again after the other tab drops e0 for its second event
  page.w.funnelbeam('track', 'mine');
  const now = page.state();
  const other2 = { ...other, i: 'othertaboutboxevent2', n: 'other2', t: now.q[now.q.length - 1].t + 1 };
  page.w.localStorage.setItem('_fb', JSON.stringify({ ...now, q: [...now.q.filter((e: { n: string }) => e.n != 'e0'), other2] }));
  page.w.funnelbeam('track', 'mine2');
  const names = page.state().q.map((e: { n: string }) => e.n);
  // made: pageview, e0 … e98, other, mine, other2, mine2 (104); kept: the newest 100, e3 … e98 and the four
  expect(names).toEqual([...Array.from({ length: cap - 4 }, (_, i) => 'e' + (i + 3)), 'other', 'mine', 'other2', 'mine2']);
});
