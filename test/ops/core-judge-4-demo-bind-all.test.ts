// README "Two commands": `npm start` prints the URLs to open, and the demo's beacons are stored at once. With HOST set
// to listen on every address (HOST=0.0.0.0, HOST=::, as in a container) the printed base is `http://0.0.0.0:8787` or
// `http://[::]:8787`, which Chromium opens on the same machine (checked with /usr/bin/chromium: both load). The demo
// pages loaded, but the demo site admitted neither address, so every beacon of the printed demo was a 403
// origin_not_allowed and nothing was stored. The demo site admits the hosts `npm start` prints.
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../collector/server.js';
import { tempDir } from '../helpers/test-db.js';
import { CHROME_UA } from '../helpers/factories.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

describe.each([
  ['0.0.0.0', 'http://0.0.0.0:'],
  ['::', 'http://[::]:'],
])('HOST=%s', (host, printed) => {
  test('the printed demo address serves the demo, and its beacons are stored', async () => {
    running = await startServer({
      env: { HOST: host, PORT: '0', DEMO: '1', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: '0', DATABASE_PATH: join(tempDir('fb-cj4-bind-all-'), 'd.db') },
    });
    const { url, demoSite } = running;
    expect(url.startsWith(printed)).toBe(true);
    expect((await fetch(`${url}/demo/`)).status).toBe(200);
    const t = Date.now() - 1000;
    const res = await fetch(`${url}/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: url, 'user-agent': CHROME_UA },
      body: JSON.stringify({ s: demoSite!.siteKey, v: 'visitor_bind_all', e: [{ i: 'evt_bind_all_1', n: 'pageview', t, u: `${url}/demo/` }] }),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe(url);
    const rows = await running.db.all<{ browser: string; channel: string }>('SELECT browser, channel FROM events WHERE event_id = ?', ['evt_bind_all_1']);
    expect(rows).toEqual([{ browser: 'Chrome', channel: 'direct' }]);
  }, 60_000);
});
