// README "Two commands": PUBLIC_URL is "the base URL `npm start` prints", such as `http://devbox:8787`. Copied from a
// browser's address bar it ends in a slash (`http://devbox:8787/`: a browser shows an origin so, and `new URL()` writes
// it so), and every address `npm start` printed from it, `${url}/demo/`, `${url}/healthz`, `${url}/s.js`, read
// `http://devbox:8787//demo/`: a 404 for each, the first thing a newcomer opens. The base is kept without its slash.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../collector/server.js';
import { parseConfig } from '../../collector/config.js';
import { tempDir } from '../helpers/test-db.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

/** A port free on 127.0.0.1 right now. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('PUBLIC_URL written with a trailing slash', () => {
  test('the printed base has none, and the addresses made from it answer', async () => {
    const port = await freePort();
    running = await startServer({
      env: { PUBLIC_URL: `http://localhost:${port}/`, PORT: String(port), DATABASE_PATH: join(tempDir('fb-cj4-public-url-'), 'p.db'), LOG_LEVEL: 'error' },
    });
    expect(running.url).toBe(`http://localhost:${port}`);
    for (const path of ['/healthz', '/demo/', '/s.js']) {
      expect([path, (await fetch(`${running.url}${path}`)).status]).toEqual([path, 200]);
    }
  }, 60_000);

  test('slashes go, a path before them stays (a collector behind a path on a proxy)', () => {
    expect(parseConfig({ PUBLIC_URL: 'https://devbox:8787//' }).PUBLIC_URL).toBe('https://devbox:8787');
    expect(parseConfig({ PUBLIC_URL: 'https://example.com/collector/' }).PUBLIC_URL).toBe('https://example.com/collector');
    expect(parseConfig({ PUBLIC_URL: 'http://devbox:8787' }).PUBLIC_URL).toBe('http://devbox:8787');
  });
});
