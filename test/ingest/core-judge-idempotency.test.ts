// CONTRACT §7: "Every event has a client-made id; a retried event is stored once." Here the retry is not the same
// batch again: two different batches that share an event id are in flight at once (a snippet's sendBeacon on
// pagehide and its fetch retry carrying the outbox with a new event), split across group-commit flushes (FLUSH_ROWS
// 1), on the HTTP thread and on the writer thread, and once more after a restart on the same file.
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../collector/server.js';
import { createSite } from '../../collector/admin.js';
import { tempDir } from '../helpers/test-db.js';
import { CHROME_UA } from '../helpers/factories.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const ORIGIN = 'https://shop.example';

async function start(path: string, thread: '0' | '1') {
  running = await startServer({
    env: {},
    config: { DATABASE_PATH: path, PORT: 0, DEMO: '0', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0, FLUSH_ROWS: 1, FLUSH_MS: 0, WRITER_THREAD: thread },
  });
  return running;
}

const send = (r: RunningServer, body: object) =>
  fetch(r.url + '/e', { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8', 'user-agent': CHROME_UA }, body: JSON.stringify(body) });

describe.each(['0', '1'] as const)('WRITER_THREAD=%s', (thread) => {
  test('an id shared by two different batches in flight at once is stored once, and once more after a restart', async () => {
    const path = join(tempDir('fb-core-judge-idem-'), 'idem.db');
    let r = await start(path, thread);
    const site = await createSite(r.db, { domain: 'shop.example' });
    const t = Date.now() - 10_000;
    const ev = (i: string, path: string, dt = 0) => ({ i, n: 'pageview', t: t + dt, u: ORIGIN + path });
    const rounds = 8;
    const answers: Array<{ accepted: number; duplicates: number }> = [];
    for (let k = 0; k < rounds; k++) {
      const shared = ev(`evt_shared_${thread}_${k}`, '/pricing');
      const a = { s: site.siteKey, v: `v_idem_${thread}_${k}`, e: [shared, ev(`evt_only_a_${thread}_${k}`, '/a', 1)] };
      const b = { s: site.siteKey, v: `v_idem_${thread}_${k}`, e: [ev(`evt_only_b_${thread}_${k}`, '/b', 2), shared] };
      const res = await Promise.all([send(r, a), send(r, b)]);
      expect(res.map((x) => x.status)).toEqual([202, 202]);
      answers.push(...(await Promise.all(res.map((x) => x.json()))));
    }
    // per round: 3 distinct events, 1 duplicate, whichever request won
    expect(answers.reduce((n, a) => n + a.accepted, 0)).toBe(3 * rounds);
    expect(answers.reduce((n, a) => n + a.duplicates, 0)).toBe(rounds);
    const count = async (db: RunningServer['db']) =>
      db.all<{ event_id: string; n: number }>("SELECT event_id, COUNT(*) AS n FROM events WHERE event_id LIKE 'evt_shared_%' GROUP BY event_id");
    expect((await count(r.db)).map((x) => Number(x.n))).toEqual(Array(rounds).fill(1));
    const visits = await r.db.all<{ event_count: number }>('SELECT event_count FROM visitors WHERE site_id = ?', [site.siteId]);
    expect(visits.map((v) => Number(v.event_count))).toEqual(Array(rounds).fill(3));
    await r.close();

    // the same two batches once more after a restart: all duplicates, nothing counted again
    r = await start(path, thread);
    const shared = ev(`evt_shared_${thread}_0`, '/pricing');
    const again = await Promise.all([
      send(r, { s: site.siteKey, v: `v_idem_${thread}_0`, e: [shared, ev(`evt_only_a_${thread}_0`, '/a', 1)] }),
      send(r, { s: site.siteKey, v: `v_idem_${thread}_0`, e: [ev(`evt_only_b_${thread}_0`, '/b', 2), shared] }),
    ]);
    expect(await Promise.all(again.map((x) => x.json()))).toEqual([
      { accepted: 0, duplicates: 2 },
      { accepted: 0, duplicates: 2 },
    ]);
    expect((await count(r.db)).map((x) => Number(x.n))).toEqual(Array(rounds).fill(1));
    const first = await r.db.get<{ event_count: number }>('SELECT event_count FROM visitors WHERE visitor_id = ?', [`v_idem_${thread}_0`]);
    expect(Number(first!.event_count)).toBe(3);
  });
});
