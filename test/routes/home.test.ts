// GET / (the first address npm start prints) and a demo page asked for as a folder: what a newcomer who opens them sees.
import { describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import { ensureDemoSite } from '../../collector/demo/demo-site.js';
import { openTestSqlite } from '../helpers/test-db.js';

describe('GET /', () => {
  test('a page of links: the demo, health, snippet, API docs and metrics, each a route that answers', async () => {
    const db = await openTestSqlite();
    await ensureDemoSite(db, '127.0.0.1');
    const { app } = createApp({ db });
    const res = await app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    expect(hrefs).toEqual(['/demo/', '/healthz', '/s.js', '/openapi.json', '/metrics']);
    for (const href of hrefs) expect((await app.request(href)).status, href).toBe(200);
  });

  test('with DEMO=0 it does not link the demo', async () => {
    const { app } = createApp({ db: await openTestSqlite(), config: { ...defaultConfig(), DEMO: '0' } });
    const html = await (await app.request('/')).text();
    expect(html).not.toContain('/demo/');
    expect(html).toContain('/healthz');
  });

  test('other methods on / are a 405 naming GET', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const res = await app.request('/', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});

describe('a demo page asked for as a folder', () => {
  test('/demo/pricing/ moves to /demo/pricing (301), its query kept; an unknown folder stays a 404', async () => {
    const db = await openTestSqlite();
    await ensureDemoSite(db, '127.0.0.1');
    const { app } = createApp({ db });
    const res = await app.request('/demo/pricing/?utm_source=news&utm_medium=email');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/demo/pricing?utm_source=news&utm_medium=email');
    expect((await app.request('/demo/pricing')).status).toBe(200);
    expect((await app.request('/demo/nope/')).status).toBe(404);
  });
});
