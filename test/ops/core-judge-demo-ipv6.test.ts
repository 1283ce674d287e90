// `HOST=::1 npm start` prints `demo http://[::1]:8787/demo/`. The demo pages opened there send `Origin: http://[::1]:8787`,
// and the demo site admitted only localhost and 127.0.0.1: every beacon of the printed demo was refused with 403.
import http from 'node:http';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../collector/server.js';
import { tempDir } from '../helpers/test-db.js';
import { CHROME_UA } from '../helpers/factories.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const canListenOnV6 = () =>
  new Promise<boolean>((resolve) => {
    const probe = http.createServer();
    probe.once('error', () => resolve(false)).listen(0, '::1', () => probe.close(() => resolve(true)));
  });

test('HOST=::1: the demo at the printed URL stores its beacons, and a start on the same database keeps admitting it', async (ctx) => {
  if (!(await canListenOnV6())) return ctx.skip();
  const path = join(tempDir('fb-core-judge-v6-'), 'v6.db');
  const start = async () => {
    running = await startServer({ env: {}, config: { DATABASE_PATH: path, PORT: 0, HOST: '::1', DEMO: '1', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0 } });
    return running;
  };
  const beacon = async (r: RunningServer, id: string) => {
    const origin = new URL(r.url).origin;
    expect(origin).toMatch(/^http:\/\/\[::1\]:\d+$/);
    const res = await fetch(r.url + '/e', {
      method: 'POST',
      headers: { origin, 'content-type': 'text/plain;charset=UTF-8', 'user-agent': CHROME_UA },
      body: JSON.stringify({ s: r.demoSite!.siteKey, v: 'v_demo_on_ipv6', e: [{ i: id, n: 'pageview', t: Date.now(), u: r.url + '/demo/' }] }),
    });
    return [res.status, res.headers.get('access-control-allow-origin')];
  };
  let r = await start();
  expect(await beacon(r, 'evt_demo_ipv6_first')).toEqual([202, new URL(r.url).origin]);
  await r.close();
  r = await start();
  expect(await beacon(r, 'evt_demo_ipv6_again')).toEqual([202, new URL(r.url).origin]);
  const n = await r.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE visitor_id = 'v_demo_on_ipv6'");
  expect(Number(n!.n)).toBe(2);
});
