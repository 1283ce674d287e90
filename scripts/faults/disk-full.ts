// Fault (b): the disk under the database fills up (a real ENOSPC from a small tmpfs, then space comes back), and the
// filesystem turns read-only (remount ro, then rw). The collector must answer 503 with Retry-After, stay up, recover
// by itself, and lose nothing it acknowledged.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from './collector-child.js';
import { startBeaconLoad, type BeaconLoadState } from './beacon-load.js';
import { verifyEvents } from './verify-events.js';
import { check, sleep, type Check, type FaultReport } from './fault-report.js';
import { FAULT_ENV, setupSite } from './setup-site.js';

const MECHANISM =
  'a dedicated 256 MB tmpfs (mount -t tmpfs, as root) holds the database; a filler file takes every free byte so the ' +
  'kernel answers ENOSPC to SQLite exactly as a full disk does (the WAL cannot grow, checkpoints cannot extend the file); ' +
  'deleting the filler gives the space back. Read-only: `mount -o remount,ro` of the same filesystem (EROFS on every ' +
  'write), then `remount,rw`. No process is restarted.';

function fill(dir: string): string {
  const filler = join(dir, 'filler.bin');
  const fd = openSync(filler, 'w');
  const big = Buffer.alloc(1 << 20, 7);
  const small = Buffer.alloc(4096, 7);
  try {
    for (;;) writeSync(fd, big);
  } catch {
    try {
      for (;;) writeSync(fd, small);
    } catch {
      /* full */
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}

const since = (s: BeaconLoadState, from: number, to = Infinity) => s.samples.filter((x) => x.at >= from && x.at < to);

async function waitFor(cond: () => boolean, ms: number): Promise<number | null> {
  const t = Date.now();
  while (Date.now() - t < ms) {
    if (cond()) return Date.now() - t;
    await sleep(50);
  }
  return null;
}

async function health(url: string): Promise<string> {
  try {
    return String((await fetch(url + '/healthz', { signal: AbortSignal.timeout(3000) })).status);
  } catch (err) {
    return 'no answer: ' + (err as Error).message;
  }
}

export async function runDiskFull(o: { concurrency: number; faultSeconds: number }): Promise<FaultReport> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-fault-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { fault: '(b) disk full / read-only database', mechanism: MECHANISM, checks: null, figures: {}, skipped: `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); run as root` };
  }
  const path = join(dir, 'full.db');
  const checks: Check[] = [];
  const figures: Record<string, string | number> = {};
  try {
    const { siteKey } = await setupSite(path);
    const collector = await startCollector({ ...FAULT_ENV, DATABASE_PATH: path });
    const load = startBeaconLoad({ url: () => collector.url, siteKey, concurrency: o.concurrency, eventsPerBatch: 20 });
    const s = load.state;
    try {
      await sleep(2000);
      // --- disk full
      const fullAt = Date.now();
      const filler = fill(dir);
      const first503 = await waitFor(() => since(s, fullAt).some((x) => x.status === 503), o.faultSeconds * 1000);
      await sleep(1000);
      const healthFull = await health(collector.url);
      const endFull = Date.now();
      const during = since(s, fullAt, endFull);
      unlinkSync(filler);
      const freedAt = Date.now();
      const recovered = await waitFor(() => since(s, freedAt).some((x) => x.status === 202), 20_000);
      await sleep(1500);
      figures['disk full: first 503 after the disk filled, ms'] = first503 ?? 'none';
      figures['disk full: answers while full'] = summarize(during);
      figures['disk full: /healthz while full'] = healthFull;
      figures['disk full: first 202 after space returned, ms'] = recovered ?? 'none';
      checks.push(check('disk full: the collector answers 503', first503 !== null, `first 503 after ${first503} ms`));
      checks.push(check('disk full: every 503 carries Retry-After', during.filter((x) => x.status === 503).length <= s.withRetryAfter, `${s.withRetryAfter} with Retry-After`));
      checks.push(check('disk full: recovers by itself when space returns', recovered !== null, `first 202 ${recovered} ms after`));

      // --- read-only filesystem
      let roNote = '';
      try {
        execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' });
      } catch (err) {
        roNote = (err as Error).message.split('\n')[0];
      }
      if (roNote) {
        figures['read-only: not possible here'] = roNote;
      } else {
        const roAt = Date.now();
        const ro503 = await waitFor(() => since(s, roAt).some((x) => x.status === 503), o.faultSeconds * 1000);
        await sleep(1000);
        const healthRo = await health(collector.url);
        const endRo = Date.now();
        const duringRo = since(s, roAt, endRo);
        execFileSync('mount', ['-o', 'remount,rw', dir], { stdio: 'pipe' });
        const rwAt = Date.now();
        const roRecovered = await waitFor(() => since(s, rwAt).some((x) => x.status === 202), 20_000);
        await sleep(1500);
        figures['read-only: first 503, ms'] = ro503 ?? 'none';
        figures['read-only: answers while read-only'] = summarize(duringRo);
        figures['read-only: /healthz while read-only'] = healthRo;
        figures['read-only: first 202 after rw, ms'] = roRecovered ?? 'none';
        checks.push(check('read-only: the collector answers 503', ro503 !== null, `first 503 after ${ro503} ms`));
        checks.push(check('read-only: recovers by itself when writable again', roRecovered !== null, `first 202 ${roRecovered} ms after`));
      }
      await load.stop();
      checks.push(check('the collector process never exited', collector.alive(), collector.alive() ? 'alive' : 'exited'));
    } finally {
      await collector.stop();
    }
    const v = await verifyEvents(path, s.acked);
    figures['answers by status (whole run)'] = [...s.statuses].map(([k, n]) => `${k}: ${n}`).join(', ');
    figures['events acknowledged / stored'] = `${v.acked} / ${v.stored}`;
    figures['collector log lines (errors)'] = collector.log().length;
    checks.push(check('no 5xx other than 503 was answered', ![...s.statuses.keys()].some((k) => /^5/.test(k) && k !== '503'), [...s.statuses.keys()].join(' ')));
    checks.push(check('every acknowledged event is stored', v.missing === 0, `${v.missing} of ${v.acked} missing`));
    checks.push(check('no event is stored twice', v.duplicated === 0, `${v.duplicated} duplicated ids`));
    checks.push(check('visitor counters agree with stored events', v.countMismatch === 0, `${v.countMismatch} visitors off`));
  } finally {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return { fault: '(b) disk full and read-only database under load', mechanism: MECHANISM, checks, figures };
}

function summarize(samples: BeaconLoadState['samples']): string {
  const by = new Map<number, number>();
  for (const x of samples) by.set(x.status, (by.get(x.status) ?? 0) + 1);
  return [...by].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
}
