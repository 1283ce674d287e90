// Fault (a): SIGKILL the collector under load, restart it on the same file, repeat; then check that every
// acknowledged event is stored exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector, type CollectorChild } from './collector-child.js';
import { startBeaconLoad } from './beacon-load.js';
import { verifyEvents } from './verify-events.js';
import { check, sleep, type FaultReport } from './fault-report.js';
import { FAULT_ENV, setupSite } from './setup-site.js';

export async function runKillRestart(o: { cycles: number; concurrency: number }): Promise<FaultReport> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-fault-kill-'));
  const path = join(dir, 'kill.db');
  const { siteKey } = await setupSite(path);
  const env = { ...FAULT_ENV, DATABASE_PATH: path };
  let collector: CollectorChild = await startCollector(env);
  const load = startBeaconLoad({ url: () => collector.url, siteKey, concurrency: o.concurrency, eventsPerBatch: 5 });
  const ackedAtKill: number[] = [];
  const restartMs: number[] = [];
  try {
    for (let i = 0; i < o.cycles; i++) {
      await sleep(1500 + Math.random() * 1500);
      ackedAtKill.push(load.state.acked.size);
      await collector.kill9();
      const t = performance.now();
      collector = await startCollector(env);
      restartMs.push(performance.now() - t);
    }
    await sleep(1500);
    await load.stop();
  } finally {
    await collector.stop();
  }
  const v = await verifyEvents(path, load.state.acked);
  rmSync(dir, { recursive: true, force: true });
  const s = load.state;
  return {
    fault: '(a) SIGKILL and restart under load',
    mechanism: `kill -9 of the collector child at a random moment ${o.cycles} times while ${o.concurrency} senders post 5-event batches; restart on the same SQLite file; unacknowledged batches are retried with the same ids`,
    figures: {
      'kills': o.cycles,
      'events acknowledged (202)': v.acked,
      'acknowledged when each kill landed': ackedAtKill.join(', '),
      'restart time, ms (process start to listening)': restartMs.map((m) => m.toFixed(0)).join(', '),
      'answers by status': [...s.statuses].map(([k, n]) => `${k}: ${n}`).join(', '),
      'events stored': v.stored,
    },
    checks: [
      check('every acknowledged event is stored', v.missing === 0, `${v.missing} of ${v.acked} missing`),
      check('no event is stored twice', v.duplicated === 0, `${v.duplicated} duplicated ids`),
      check('visitor counters agree with stored events', v.countMismatch === 0, `${v.countMismatch} visitors off`),
      check('no 5xx other than 503 was answered', ![...s.statuses.keys()].some((k) => /^5/.test(k) && k !== '503'), [...s.statuses.keys()].join(' ')),
      check('every batch was acknowledged in the end (retried with the same ids)', s.givenUp === 0, `${s.givenUp} batches given up`),
    ],
  };
}
