// The snippet's size budget, measured on the release build (the same buildSnippet() that GET /s.js serves).
import { expect, test } from 'vitest';
import { buildSnippet } from '../../scripts/build-snippet.js';

/** bytes, gzip -9, of the full default bundle */
export const GZIP_BUDGET = 1800;

test(`the release snippet is at most ${GZIP_BUDGET} bytes gzip -9`, async () => {
  const { gzip, raw, brotli } = await buildSnippet();
  console.log(`snippet: raw ${raw} B, gzip -9 ${gzip} B, brotli ${brotli} B`);
  expect(gzip).toBeLessThanOrEqual(GZIP_BUDGET);
});

test('the release snippet is one IIFE that declares no globals besides window.funnelbeam', async () => {
  const { code } = await buildSnippet();
  expect(code.startsWith('(()=>{')).toBe(true);
  expect(code.trimEnd().endsWith('})();')).toBe(true);
});
