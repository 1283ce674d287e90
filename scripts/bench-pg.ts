// Ingest events/s on PostgreSQL with one and with two collector processes, next to SQLite, measured in one run.
// `npm run bench` calls benchPg()/printPg(); alone: `npx tsx scripts/bench-pg.ts [--seconds 10] [--connections 50]`.
// Without BENCH_DATABASE_URL it runs itself under scripts/with-postgres.sh (fsync on, as a user would run it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { openDb } from '../collector/storage/open-db.js';
import { createSite } from '../collector/admin.js';
import { beaconBody } from './bench/ingest.js';
import { fmt, root, runLoad, startChild, type LoadResult } from './bench/load.js';

export interface EngineFigures {
  /** 1 event per request */
  one: LoadResult;
  /** 20 events per request */
  twenty: LoadResult;
}

export interface PgFigures {
  postgres: string;
  sqlite: EngineFigures;
  pgOneCollector: EngineFigures;
  pgTwoCollectors: EngineFigures;
  /** PostgreSQL with one collector over SQLite, 20 events per request (target ≥ 0.5) */
  ratio: number;
}

export interface PgBenchOptions {
  seconds: number;
  connections: number;
  /** a PostgreSQL server whose user may CREATE DATABASE; without it a throwaway cluster is started */
  databaseUrl?: string;
}

const COLLECTOR_ENV = { PORT: '0', DEMO: '0', LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0', RATE_LIMIT_SITE_PER_SEC: '0', SEGMENT_SWEEP_MS: '0' };

/** Several load generators at once (one per collector) summed into one result; latency is the worst of them. */
function sumLoads(results: LoadResult[]): LoadResult {
  const sum = (k: keyof LoadResult) => results.reduce((n, r) => n + r[k], 0);
  return {
    requestsPerSec: sum('requestsPerSec'),
    eventsPerSec: sum('eventsPerSec'),
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    errors: sum('errors'),
    non2xx: sum('non2xx'),
    requests: sum('requests'),
  };
}

/** Starts `count` collectors on one database and measures 1 and 20 events/request with the connections split among them. */
async function measureCollectors(env: Record<string, string>, siteKey: string, count: number, o: PgBenchOptions): Promise<EngineFigures> {
  const collectors = await Promise.all(Array.from({ length: count }, () => startChild(['--import', 'tsx', 'collector/server.ts'], { ...COLLECTOR_ENV, ...env })));
  try {
    const connections = Math.max(1, Math.floor(o.connections / count));
    const load = (events: number, seconds: number) =>
      Promise.all(collectors.map((c) => runLoad({ url: c.url + '/e', connections, seconds, body: beaconBody(siteKey, events), eventsPerRequest: events }))).then(sumLoads);
    await load(1, 1); // warm up: user-agent cache, prepared statements, JIT, pool connections
    return { one: await load(1, o.seconds), twenty: await load(20, o.seconds) };
  } finally {
    await Promise.all(collectors.map((c) => c.stop()));
  }
}

/** A fresh, migrated database with one site on the server, for one measurement. */
async function freshPgDatabase(serverUrl: string, name: string): Promise<{ url: string; siteKey: string }> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = '/' + name;
  const db = await openDb({ databaseUrl: u.toString(), poolSize: 1 });
  const site = await createSite(db, { domain: '127.0.0.1' });
  await db.close();
  return { url: u.toString(), siteKey: site.siteKey };
}

async function measureAll(serverUrl: string, o: PgBenchOptions): Promise<PgFigures> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const postgres = String((await admin.query('SHOW server_version')).rows[0].server_version);
  await admin.end();

  const dir = mkdtempSync(join(tmpdir(), 'fb-bench-pg-'));
  try {
    const path = join(dir, 'bench.db');
    const sqliteDb = await openDb({ databasePath: path });
    const sqliteSite = await createSite(sqliteDb, { domain: '127.0.0.1' });
    await sqliteDb.close();
    const sqlite = await measureCollectors({ DATABASE_PATH: path }, sqliteSite.siteKey, 1, o);

    const one = await freshPgDatabase(serverUrl, 'funnelbeam_bench_one');
    const pgOneCollector = await measureCollectors({ DATABASE_URL: one.url }, one.siteKey, 1, o);
    const two = await freshPgDatabase(serverUrl, 'funnelbeam_bench_two');
    const pgTwoCollectors = await measureCollectors({ DATABASE_URL: two.url }, two.siteKey, 2, o);

    return { postgres, sqlite, pgOneCollector, pgTwoCollectors, ratio: pgOneCollector.twenty.eventsPerSec / sqlite.twenty.eventsPerSec };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs this script under scripts/with-postgres.sh (fsync on) and reads the figures it prints as JSON. */
function measureInThrowawayCluster(o: PgBenchOptions): Promise<PgFigures> {
  return new Promise((resolve, reject) => {
    const args = ['scripts/with-postgres.sh', process.execPath, '--import', 'tsx', 'scripts/bench-pg.ts', '--json',
      '--seconds', String(o.seconds), '--connections', String(o.connections)];
    const child = spawn('bash', args, { cwd: root, env: { ...process.env, WITH_POSTGRES_DURABLE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"postgres"'));
      if (code === 0 && line) resolve(JSON.parse(line) as PgFigures);
      else reject(new Error(`PostgreSQL benchmark failed (exit ${code}):\n${out}`));
    });
  });
}

export async function benchPg(o: PgBenchOptions): Promise<PgFigures> {
  const url = o.databaseUrl ?? process.env.BENCH_DATABASE_URL;
  return url ? measureAll(url, o) : measureInThrowawayCluster(o);
}

export function printPg(f: PgFigures, connections: number) {
  const row = (name: string, r: LoadResult) =>
    `  ${name.padEnd(40)} ${fmt(r.requestsPerSec).padStart(8)} req/s ${fmt(r.eventsPerSec).padStart(9)} events/s   p50 ${fmt(r.p50, 1)} ms   p99 ${fmt(r.p99, 1)} ms   errors ${r.errors + r.non2xx}`;
  console.log(`\ningest by engine (POST /e, ${connections} connections in all, PostgreSQL ${f.postgres} with fsync on)`);
  for (const [name, e] of [
    ['SQLite, 1 collector', f.sqlite],
    ['PostgreSQL, 1 collector', f.pgOneCollector],
    ['PostgreSQL, 2 collectors', f.pgTwoCollectors],
  ] as const) {
    console.log(row(`${name}, 1 event/request`, e.one));
    console.log(row(`${name}, 20 events/request`, e.twenty));
  }
  console.log(`  PostgreSQL (1 collector) / SQLite, 20 events/request = ${f.ratio.toFixed(2)}   (target ≥ 0.5)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } },
  });
  const o = { seconds: Number(values.seconds), connections: Number(values.connections) };
  if (values.json) {
    // inside with-postgres.sh: measure against its cluster and hand the figures back as one JSON line
    const url = process.env.TEST_DATABASE_URL;
    if (!url) throw new Error('--json expects TEST_DATABASE_URL (run under scripts/with-postgres.sh)');
    console.log(JSON.stringify(await measureAll(url, o)));
  } else {
    printPg(await benchPg(o), o.connections);
  }
}
