import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../collector/server.js';
import { tempDir } from '../helpers/test-db.js';
import { DEMO_PAGES } from '../../collector/demo/pages.js';

describe('npm start: a real listening collector with the demo site', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { PORT: '0', DATABASE_PATH: join(tempDir(), 'start.db'), LOG_LEVEL: 'error' } });
  });
  afterAll(() => server.close());

  test('serves /healthz', async () => {
    expect(await (await fetch(server.url + '/healthz')).json()).toEqual({ ok: true, engine: 'sqlite' });
  });

  test('serves /s.js with ETag and cache headers, and 304 when unchanged', async () => {
    const res = await fetch(server.url + '/s.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('javascript');
    expect(res.headers.get('cache-control')).toContain('max-age=');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect((await res.text()).length).toBeGreaterThan(500);
    expect((await fetch(server.url + '/s.js', { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  test('creates the demo site once and every demo page loads the snippet with its key', async () => {
    expect(server.demoSite).not.toBeNull();
    for (const page of DEMO_PAGES) {
      const res = await fetch(server.url + page.path);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain(`<script defer src="/s.js" data-site="${server.demoSite!.siteKey}"`);
    }
    const home = await (await fetch(server.url + '/demo/')).text();
    expect(home).toContain('data-funnelbeam="newsletter"');
    expect(await (await fetch(server.url + '/demo/demo')).text()).toContain('data-funnelbeam="demo"');
  });

  test('serves the demo PDF as a real PDF', async () => {
    const res = await fetch(server.url + '/demo/files/funnel-playbook.pdf');
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 8).toString()).toBe('%PDF-1.4');
    expect(bytes.subarray(-6).toString()).toBe('%%EOF\n');
  });

  test('a beacon from the demo origin is stored', async () => {
    const res = await fetch(server.url + '/e', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: server.url },
      body: JSON.stringify({ s: server.demoSite!.siteKey, v: 'visitor-start-1', e: [{ i: 'event-start-0001', n: 'pageview', t: Date.now(), u: server.url + '/demo/' }] }),
    });
    expect(res.status).toBe(202);
  });
});
