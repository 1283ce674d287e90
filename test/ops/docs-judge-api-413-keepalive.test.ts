// README, HTTP API: "A `/api` request body over 1 MiB on `POST /api/events`, or over 2 MiB on any other route, gets
// `413`". A CRM client on a keep-alive connection (node's fetch, a Python requests Session) that is told 413 splits its
// batch and sends again. The 413 said `Connection: keep-alive`, the client sent its next request on that connection,
// and the collector reset it: the smaller request failed with a socket error ("other side closed", ECONNRESET),
// although nothing was wrong with it. The same after any answer that leaves a large body unread (a 401 to a CRM whose
// key was rotated, then its retry with the new key). POST /e drains the rest of a body it refuses and has no such loss.
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../collector/server.js';
import { createKey, createSite } from '../../collector/admin.js';
import { tempDir } from '../helpers/test-db.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** One request through `agent` (one keep-alive socket); the status, or the socket error's code. */
function send(agent: Agent, url: string, method: string, headers: Record<string, string>, body: string) {
  return new Promise<number | string>((resolve) => {
    const req = request(url, { method, agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(body);
  });
}

describe('a 413 on /api leaves a keep-alive client able to send its next request', () => {
  test.each([
    ['POST', '/api/events', 1024 * 1024, JSON.stringify({ email: 'small@acme.test', name: 'crm_sync' }), 202],
    ['PUT', '/api/segments/judged', 2 * 1024 * 1024, JSON.stringify({ definition: { identified: true } }), 201],
  ])('%s %s over its ceiling, then a small one on the same connection', async (method, path, ceiling, small, expected) => {
    const port = await freePort();
    running = await startServer({ env: { PORT: String(port), DEMO: '0', LOG_LEVEL: 'error', DATABASE_PATH: join(tempDir('fb-docs-judge-413-'), 'k.db') } });
    const site = await createSite(running.db, { domain: 'acme.test' });
    const { secret } = await createKey(running.db, site.siteId, ['admin']);
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = JSON.stringify({ email: 'big@acme.test', name: 'crm_sync', pad: 'x'.repeat(ceiling) });
      expect(await send(agent, `${running.url}${path}`, method, headers, big)).toBe(413);
      expect(await send(agent, `${running.url}${path}`, method, headers, small)).toBe(expected);
    } finally {
      agent.destroy();
    }
  }, 60_000);

  test('a 401 to a 1.5 MB batch sent without a key, then the batch with the key on the same connection', async () => {
    const port = await freePort();
    running = await startServer({ env: { PORT: String(port), DEMO: '0', LOG_LEVEL: 'error', DATABASE_PATH: join(tempDir('fb-docs-judge-401-'), 'k.db') } });
    const site = await createSite(running.db, { domain: 'acme.test' });
    const { secret } = await createKey(running.db, site.siteId, ['events:write']);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const batch = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ email: `lead${i}@acme.test`, name: 'crm_sync', props: { note: 'x'.repeat(1400) } })));
      expect(batch.length).toBeGreaterThan(1_400_000);
      expect(batch.length).toBeLessThan(1024 * 1024 * 2);
      const url = `${running.url}/api/events`;
      expect(await send(agent, url, 'POST', { 'content-type': 'application/json' }, batch)).toBe(401);
      expect(await send(agent, url, 'POST', { 'content-type': 'application/json', authorization: `Bearer ${secret}` }, JSON.stringify({ email: 'one@acme.test', name: 'crm_sync' }))).toBe(202);
    } finally {
      agent.destroy();
    }
  }, 60_000);
});
