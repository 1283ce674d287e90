// Ingest benchmark: bare node:http (a), the collector with 1 event per request (b) and with 20 (c), in one run.
// (b) and (c) give every request a new visitor: the worst case, a new anonymous lead per request. (d) is the same
// load from 10,000 returning visitors, closer to a real site where most beacons come from someone seen before.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openDb } from '../../collector/storage/open-db.js';
import { createSite } from '../../collector/admin.js';
import { fmt, runLoad, runLoadWithCpu, startChild, type LoadResult } from './load.js';
import { snippetId } from './snippet-id.js';

// visitor and event ids in the snippet's format
const id = snippetId;

const PATHS = ['/', '/pricing', '/blog/post', '/features', '/about', '/docs/api'];

/**
 * Beacon bodies: `events` pageviews each (a millisecond apart, over `paths`), from a new visitor per request or
 * from a pool of `pool` returning visitors; ids in the snippet's format.
 */
export function beaconBody(siteKey: string, events: number, pool = 0, paths: readonly string[] = PATHS): () => string {
  const visitors = Array.from({ length: pool }, () => id());
  let n = 0;
  return () => {
    const t = Date.now();
    const v = pool ? visitors[n % pool] : id();
    n++;
    const e = Array.from({ length: events }, (_, k) => ({ i: id(), n: 'pageview', t: t + k, u: 'http://127.0.0.1' + paths[(n + k) % paths.length], r: 'https://www.google.com/' }));
    return JSON.stringify({ s: siteKey, v, e });
  };
}

type Measured = LoadResult & { cpuPerRequest: number | null; loadCpuPerRequest: number };

export interface IngestFigures {
  bare: Measured;
  /** Hono's own no-op POST route: the framework's share of the budget */
  hono: Measured;
  one: Measured;
  twenty: Measured;
  returning: Measured;
  ratio: number;
}

export async function benchIngest(opts: { seconds: number; connections: number; env?: Record<string, string> }): Promise<IngestFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-bench-'));
  const path = join(dir, 'bench.db');
  const db = await openDb({ databasePath: path });
  const site = await createSite(db, { domain: '127.0.0.1' });
  await db.close();

  const bare = await startChild(['--import', 'tsx', 'scripts/bench/bare-server.ts'], {});
  const a = await runLoadWithCpu(bare.child.pid, { url: bare.url, connections: opts.connections, seconds: opts.seconds, body: beaconBody(site.siteKey, 1), eventsPerRequest: 1 });
  await bare.stop();
  const noop = await startChild(['--import', 'tsx', 'scripts/bench/hono-noop-server.ts'], {});
  const a2 = await runLoadWithCpu(noop.child.pid, { url: noop.url + '/e', connections: opts.connections, seconds: opts.seconds, body: beaconBody(site.siteKey, 1), eventsPerRequest: 1 });
  await noop.stop();

  const env = { DATABASE_PATH: path, PORT: '0', DEMO: '0', LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0', RATE_LIMIT_SITE_PER_SEC: '0', ...opts.env };
  const collector = await startChild(['--import', 'tsx', 'collector/server.ts'], env);
  // warm up: user-agent cache, prepared statements, JIT
  await runLoad({ url: collector.url + '/e', connections: opts.connections, seconds: 1, body: beaconBody(site.siteKey, 1), eventsPerRequest: 1 });
  const pid = collector.child.pid;
  const b = await runLoadWithCpu(pid, { url: collector.url + '/e', connections: opts.connections, seconds: opts.seconds, body: beaconBody(site.siteKey, 1), eventsPerRequest: 1 });
  const c = await runLoadWithCpu(pid, { url: collector.url + '/e', connections: opts.connections, seconds: opts.seconds, body: beaconBody(site.siteKey, 20), eventsPerRequest: 20 });
  const returning = beaconBody(site.siteKey, 1, 10_000);
  await runLoad({ url: collector.url + '/e', connections: opts.connections, seconds: 2, body: returning, eventsPerRequest: 1 }); // each visitor seen once
  const d = await runLoadWithCpu(pid, { url: collector.url + '/e', connections: opts.connections, seconds: opts.seconds, body: returning, eventsPerRequest: 1 });
  await collector.stop();
  rmSync(dir, { recursive: true, force: true });
  return { bare: a, hono: a2, one: b, twenty: c, returning: d, ratio: b.requestsPerSec / a.requestsPerSec };
}

export function printIngest(f: IngestFigures, connections: number) {
  const row = (name: string, r: Measured) =>
    `  ${name.padEnd(34)} ${fmt(r.requestsPerSec).padStart(8)} req/s ${fmt(r.eventsPerSec).padStart(9)} events/s   p50 ${fmt(r.p50, 1)} ms   p99 ${fmt(r.p99, 1)} ms   server CPU ${r.cpuPerRequest === null ? '?' : fmt(r.cpuPerRequest)} µs/request (autocannon ${fmt(r.loadCpuPerRequest)})   errors ${r.errors + r.non2xx}`;
  console.log(`\ningest (POST /e, ${connections} connections)`);
  console.log(row('(a) bare node:http 204', f.bare));
  console.log(row('(a2) Hono no-op POST route, 204', f.hono));
  console.log(row('(b) collector, 1 event/request', f.one));
  console.log(row('(c) collector, 20 events/request', f.twenty));
  console.log(row('(d) as (b), 10,000 returning visitors', f.returning));
  console.log(`  ratio b/a = ${f.ratio.toFixed(2)} (Hono's own a2/a = ${(f.hono.requestsPerSec / f.bare.requestsPerSec).toFixed(2)}), d/a = ${(f.returning.requestsPerSec / f.bare.requestsPerSec).toFixed(2)}   (target ≥ 0.5; p99 target ≤ 15 ms; (c) target ≥ 100,000 events/s)`);
}
