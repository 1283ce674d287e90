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
import type { Db } from '../collector/storage/db.js';
import { insertEvents, upsertVisitors, type VisitorUpdate } from '../collector/storage/events.js';
import type { EnrichedEvent } from '../collector/ingest/types.js';
import { createSite } from '../collector/admin.js';
import { beaconBody } from './bench/ingest.js';
import { fmt, root, runLoad, startChild, type LoadResult } from './bench/load.js';

export interface EngineFigures {
  /** 1 event per request */
  one: LoadResult;
  /** 20 events per request */
  twenty: LoadResult;
}

/** The group-commit write alone (events insert + visitor upsert per flush, no HTTP, no attribution), events/s. */
export interface FlushFigures {
  sqlite: number;
  pg: number;
  /** PostgreSQL with one INSERT per event instead of one UNNEST statement per flush (events only) */
  pgPerRowEvents: number;
  pgUnnestEvents: number;
}

export interface PgFigures {
  postgres: string;
  flush: FlushFigures;
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

const FLUSHES = 60;
const FLUSH_EVENTS = 500;
const FLUSH_VISITORS = 25;

function makeFlush(siteId: string, n: number): { events: EnrichedEvent[]; visitors: VisitorUpdate[] } {
  const t = 1_760_000_000_000 + n * 1000;
  const events = Array.from({ length: FLUSH_EVENTS }, (_, i): EnrichedEvent => {
    const visitorId = `v_${n}_${i % FLUSH_VISITORS}`;
    return {
      siteId, eventId: `e_${n}_${i}`, visitorId, leadId: null, sessionId: `${visitorId}.s`, name: 'pageview', at: t + i, receivedAt: t + i,
      source: 'web', url: 'https://example.com/pricing?utm_source=google', path: '/pricing', referrer: 'https://www.google.com/',
      props: { plan: 'pro' }, form: null, email: null, traits: null, channel: 'paid_search', utmSource: 'google', utmMedium: 'cpc',
      utmCampaign: 'spring', utmTerm: null, utmContent: null, clickId: null, firstTouch: null, sessionTouch: null,
      browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false,
    };
  });
  const visitors = Array.from({ length: FLUSH_VISITORS }, (_, v): VisitorUpdate => ({
    siteId, visitorId: `v_${n}_${v}`, firstSeen: t, lastSeen: t + FLUSH_EVENTS, session: { sessionId: `v_${n}_${v}.s`, started: t, lastSeen: t + FLUSH_EVENTS, campaign: '' },
    newSessions: 1, newEvents: FLUSH_EVENTS / FLUSH_VISITORS, firstTouch: null, lastTouch: null, browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false,
  }));
  return { events, visitors };
}

/** Events/s of back-to-back group-commit flushes (what the ingest writer does per flush before attribution). */
async function measureFlushWrites(db: Db, what: 'flush' | 'events'): Promise<number> {
  const siteId = `bench_${what}_${Math.random().toString(36).slice(2)}`;
  const flushes = Array.from({ length: FLUSHES + 5 }, (_, n) => makeFlush(siteId, n));
  const write = (f: (typeof flushes)[number]) =>
    db.transaction(async (tx) => {
      const stored = await insertEvents(tx, f.events);
      if (what === 'flush') await upsertVisitors(tx, f.visitors);
      return stored.length;
    });
  for (const f of flushes.slice(0, 5)) await write(f); // warm up
  const started = performance.now();
  for (const f of flushes.slice(5)) await write(f);
  return (FLUSHES * FLUSH_EVENTS) / ((performance.now() - started) / 1000);
}

async function measureFlush(serverUrl: string, dir: string): Promise<FlushFigures> {
  const sqliteDb = await openDb({ databasePath: join(dir, 'flush.db') });
  const sqlite = await measureFlushWrites(sqliteDb, 'flush');
  await sqliteDb.close();
  const { url } = await freshPgDatabase(serverUrl, 'funnelbeam_bench_flush');
  const pgDb = await openDb({ databaseUrl: url, poolSize: 2 });
  try {
    const pgFlush = await measureFlushWrites(pgDb, 'flush');
    const pgUnnestEvents = await measureFlushWrites(pgDb, 'events');
    // the same portable per-row INSERT the SQLite path runs, sent to PostgreSQL one statement per event
    const perRow: Db = { ...pgDb, transaction: (fn) => pgDb.transaction((tx) => fn({ ...tx, dialect: 'sqlite' })) };
    const pgPerRowEvents = await measureFlushWrites(perRow, 'events');
    return { sqlite, pg: pgFlush, pgPerRowEvents, pgUnnestEvents };
  } finally {
    await pgDb.close();
  }
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
    const flush = await measureFlush(serverUrl, dir);
    const sqlite = await measureCollectors({ DATABASE_PATH: path }, sqliteSite.siteKey, 1, o);

    const one = await freshPgDatabase(serverUrl, 'funnelbeam_bench_one');
    const pgOneCollector = await measureCollectors({ DATABASE_URL: one.url }, one.siteKey, 1, o);
    const two = await freshPgDatabase(serverUrl, 'funnelbeam_bench_two');
    const pgTwoCollectors = await measureCollectors({ DATABASE_URL: two.url }, two.siteKey, 2, o);

    return { postgres, flush, sqlite, pgOneCollector, pgTwoCollectors, ratio: pgOneCollector.twenty.eventsPerSec / sqlite.twenty.eventsPerSec };
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
  const eps = (n: number) => `${fmt(n).padStart(9)} events/s`;
  console.log(`\ngroup-commit flush writes (${FLUSH_EVENTS} events of ${FLUSH_VISITORS} visitors per transaction, no HTTP, no attribution)`);
  console.log(`  ${'SQLite (per-row prepared statements)'.padEnd(58)} ${eps(f.flush.sqlite)}`);
  console.log(`  ${'PostgreSQL (one UNNEST insert + one UNNEST upsert)'.padEnd(58)} ${eps(f.flush.pg)}   ratio ${(f.flush.pg / f.flush.sqlite).toFixed(2)}`);
  console.log(`  ${'PostgreSQL events only, one INSERT per event'.padEnd(58)} ${eps(f.flush.pgPerRowEvents)}`);
  console.log(`  ${'PostgreSQL events only, one UNNEST INSERT per flush'.padEnd(58)} ${eps(f.flush.pgUnnestEvents)}`);
  console.log(`\ningest by engine (POST /e, the whole pipeline incl. attribution, ${connections} connections in all, PostgreSQL ${f.postgres} with fsync on)`);
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
