import { describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { openDb } from '../../collector/storage/open-db.js';
import { createSite } from '../../collector/admin.js';
import { startChildServer } from '../helpers/child-server.js';
import { makeBatch, CHROME_UA } from '../helpers/factories.js';
import { tempDir } from '../helpers/test-db.js';

describe('durability', () => {
  test('every event acknowledged with 202 survives a SIGKILL right after', async () => {
    const path = join(tempDir(), 'kill.db');
    const setup = await openDb({ databasePath: path });
    const site = await createSite(setup, { domain: '127.0.0.1' });
    await setup.close();

    const server = await startChildServer({ DATABASE_PATH: path });
    const acked: string[] = [];
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const batch = makeBatch(site.siteKey, {}, [{}, {}, {}]);
        try {
          const res = await fetch(server.url + '/e', {
            method: 'POST',
            body: JSON.stringify(batch),
            headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
          });
          if (res.status === 202) acked.push(...batch.e.map((e) => e.i));
        } catch {
          return; // the server is gone
        }
      }
    };
    const senders = Array.from({ length: 16 }, sender);
    while (acked.length < 3000) await new Promise((r) => setTimeout(r, 5));
    server.child.kill('SIGKILL');
    stop = true;
    expect(await server.exited).toBe('SIGKILL');
    await Promise.all(senders);
    const ackedAtKill = [...acked];

    // restart on the same file: the collector recovers the WAL and every acknowledged event is there, once
    const again = await startChildServer({ DATABASE_PATH: path });
    expect((await fetch(again.url + '/healthz')).status).toBe(200);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    const db = await openDb({ databasePath: path });
    const ids = new Set((await db.all<{ event_id: string }>('SELECT event_id FROM events')).map((r) => r.event_id));
    const missing = ackedAtKill.filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
    const dupes = await db.get<{ n: number }>('SELECT COUNT(*) - COUNT(DISTINCT event_id) AS n FROM events');
    expect(Number(dupes!.n)).toBe(0);
    await db.close();
  }, 90_000);

  test('SIGTERM finishes in-flight requests and the last flush before exiting', async () => {
    const path = join(tempDir(), 'term.db');
    const setup = await openDb({ databasePath: path });
    const site = await createSite(setup, { domain: '127.0.0.1' });
    await setup.close();
    // a long flush interval: the events are still pending when SIGTERM arrives
    const server = await startChildServer({ DATABASE_PATH: path, FLUSH_MS: '1000' });
    const batches = Array.from({ length: 10 }, () => makeBatch(site.siteKey));
    const responses = batches.map((b) =>
      fetch(server.url + '/e', { method: 'POST', body: JSON.stringify(b), headers: { origin: 'http://127.0.0.1', 'user-agent': CHROME_UA } }),
    );
    // once every request has reached the server (they wait for the 1 s flush), ask it to stop
    const arrived = async () => {
      const text = await (await fetch(server.url + '/metrics')).text();
      const read = (name: string) => Number(new RegExp(name + ' (\\d+)').exec(text)?.[1] ?? 0);
      return { pending: read('funnelbeam_writer_pending_events'), stored: read('funnelbeam_events_accepted_total') };
    };
    for (let a = await arrived(); a.pending + a.stored < batches.length; a = await arrived()) await new Promise((r) => setTimeout(r, 20));
    server.child.kill('SIGTERM');
    const statuses = await Promise.all(responses.map((p) => p.then((r) => r.status)));
    expect(statuses).toEqual(batches.map(() => 202));
    expect(await server.exited).toBe(0);
    const db = await openDb({ databasePath: path });
    expect(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n)).toBe(10);
    await db.close();
  }, 60_000);
});
