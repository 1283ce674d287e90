// Soak: the collector under steady load at half its measured maximum for a long time, in windows; per window the
// rate, latency, errors and the child's resident memory, so a leak or a slow drift shows as a trend.
import autocannon from 'autocannon';
import { readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../collector/storage/open-db.js';
import { createSite } from '../../collector/admin.js';
import { fmt, runLoad, startChild } from './load.js';
import { beaconBody } from './ingest.js';
import { judgeSoak, type SoakFigures, type SoakWindow } from './soak-verdict.js';

/** Visitors the soak cycles through: returning visitors, so per-visitor caches fill to a plateau and only a real
 * leak keeps memory climbing (a new visitor per request would grow every bounded cache for the whole run). */
export const SOAK_VISITORS = 10_000;


/** Beacon bodies from a pool of returning visitors, each with fresh event ids. */
export const pooledBeaconBody = (siteKey: string, events: number, visitors = SOAK_VISITORS) =>
  beaconBody(siteKey, events, visitors, ['/', '/pricing', '/blog/funnels', '/case-studies/acme', '/docs']);

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

export async function benchSoak(opts: { seconds: number; connections: number; eventsPerRequest?: number; env?: Record<string, string> }): Promise<SoakFigures> {
  const events = opts.eventsPerRequest ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'fb-soak-'));
  const path = join(dir, 'soak.db');
  const db = await openDb({ databasePath: path });
  const site = await createSite(db, { domain: '127.0.0.1' });
  await db.close();
  const env = { DATABASE_PATH: path, PORT: '0', DEMO: '0', LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0', RATE_LIMIT_SITE_PER_SEC: '0', ...opts.env };
  const collector = await startChild(['--import', 'tsx', 'collector/server.ts'], env);
  const pid = collector.child.pid!;
  const body = pooledBeaconBody(site.siteKey, events);
  try {
    // the maximum: warm up, then as fast as the connections go
    await runLoad({ url: collector.url + '/e', connections: opts.connections, seconds: 2, body, eventsPerRequest: events });
    const max = await runLoad({ url: collector.url + '/e', connections: opts.connections, seconds: 10, body, eventsPerRequest: events });
    const target = Math.max(1, Math.floor(max.requestsPerSec / 2));
    const windowSeconds = opts.seconds >= 300 ? 60 : Math.max(3, Math.floor(opts.seconds / 10));
    const windows: SoakWindow[] = [];
    const started = Date.now();
    let requests = 0;
    let errors = 0;
    while ((Date.now() - started) / 1000 < opts.seconds - 0.5) {
      const seconds = Math.min(windowSeconds, Math.max(1, Math.round(opts.seconds - (Date.now() - started) / 1000)));
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(rssMb(pid)), 1000);
      const r = await autocannon({
        url: collector.url + '/e',
        connections: opts.connections,
        duration: seconds,
        overallRate: target,
        headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36' },
        requests: [{ method: 'POST', setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }) }],
      } as autocannon.Options);
      clearInterval(sampler);
      samples.push(rssMb(pid));
      const e = r.errors + r.timeouts + r.non2xx;
      requests += r.requests.total;
      errors += e;
      windows.push({
        at: Math.round((Date.now() - started) / 1000),
        requestsPerSec: r.requests.total / seconds,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: e,
        rssMeanMb: samples.reduce((a, b) => a + b, 0) / samples.length,
        rssMaxMb: Math.max(...samples),
      });
    }
    const databaseMb = ['', '-wal'].reduce((n, s) => n + (statSafe(path + s) / 1048576), 0);
    return { seconds: opts.seconds, connections: opts.connections, maxRequestsPerSec: max.requestsPerSec, targetRequestsPerSec: target, windowSeconds, windows, requests, errors, databaseMb };
  } finally {
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const statSafe = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

export function printSoak(f: SoakFigures) {
  const j = judgeSoak(f);
  console.log(`\nsoak (POST /e, 1 event/request from ${fmt(SOAK_VISITORS)} returning visitors, ${f.connections} connections, ${f.seconds} s at half the measured maximum)`);
  console.log(`  maximum ${fmt(f.maxRequestsPerSec)} req/s → target ${fmt(f.targetRequestsPerSec)} req/s; windows of ${f.windowSeconds} s`);
  console.log(`  ${'t (s)'.padStart(6)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'errors'.padStart(7)} ${'RSS MB'.padStart(8)} ${'max'.padStart(6)}`);
  for (const w of f.windows) {
    console.log(
      `  ${String(w.at).padStart(6)} ${fmt(w.requestsPerSec).padStart(8)} ${fmt(w.p50, 1).padStart(7)} ${fmt(w.p99, 1).padStart(7)} ${String(w.errors).padStart(7)} ${fmt(w.rssMeanMb, 1).padStart(8)} ${fmt(w.rssMaxMb, 0).padStart(6)}`,
    );
  }
  console.log(`  requests ${fmt(f.requests)}, errors ${f.errors}, database at the end ${fmt(f.databaseMb, 0)} MB`);
  console.log(`  RSS growth after the first window ${fmt(j.rssGrowthMb, 1)} MB (${j.rssFlat ? 'flat' : 'GROWING'}); p99 median ${fmt(j.p99Median, 1)} ms, worst steady window ${fmt(j.p99Max, 1)} ms (${j.p99Stable ? 'stable' : 'UNSTABLE'}); ${j.noErrors ? 'zero errors' : 'ERRORS'}; ${j.rateHeld ? 'rate held' : 'RATE NOT HELD'}`);
  return j;
}
