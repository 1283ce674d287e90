// Issue 2's check: visiting the demo site of `npm start` in Chromium stores an enriched pageview.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../../collector/server.js';
import { collectorDatabase } from '../helpers/test-db.js';

let server: RunningServer;
let browser: BrowserContext;
beforeAll(async () => {
  server = await startServer({ env: { PORT: '0', ...(await collectorDatabase('demo-e2e.db')), LOG_LEVEL: 'error' } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

test('visiting /demo/ stores a pageview with browser, OS, channel and session filled in', async () => {
  expect(server.db.dialect).toBe(process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite');
  const page = await browser.newPage();
  await page.goto(server.url + '/demo/?utm_source=newsletter&utm_medium=email&utm_campaign=launch');
  await page.click('a[href="/demo/pricing"]');
  await page.waitForURL('**/demo/pricing');
  // the deferred snippet must have run on the new page before it is hidden (on a busy machine it may not have yet)
  await page.waitForLoadState('load');
  let rows: Array<Record<string, unknown>> = [];
  const poll = async (tries: number) => {
    for (let i = 0; i < tries && rows.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await server.db.all("SELECT * FROM events WHERE name = 'pageview' ORDER BY at");
    }
  };
  await poll(30); // the snippet's own batch timer
  await page.close(); // hides the page: the snippet flushes what it still holds
  await poll(100);
  expect(rows.map((r) => r.path)).toEqual(['/demo/', '/demo/pricing']);
  for (const r of rows) {
    expect(r).toMatchObject({ site_id: server.demoSite!.siteId, browser: expect.stringMatching(/Chrom/), os: 'Linux', channel: 'email', utm_campaign: 'launch' });
    expect(String(r.session_id)).toContain(String(r.visitor_id));
  }
  expect(rows[0].session_id).toBe(rows[1].session_id);
});
