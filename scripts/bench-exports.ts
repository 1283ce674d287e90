// Export benchmark: time and peak RSS of streaming a 1,000,000-member segment in each format through a listening server.
// The segment is built in a temp SQLite file under .tmp/ with prepared multi-row inserts (in a child process, so the
// build's memory does not count); the response is read over HTTP and its bytes counted; RSS is sampled in the serving
// process itself. Run alone: npx tsx scripts/bench-exports.ts [members]
import { join } from 'node:path';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { openDb } from '../collector/storage/open-db.js';
import type { SqliteDb } from '../collector/storage/sqlite-db.js';
import { createApp } from '../collector/app.js';
import { createLog } from '../collector/ops/log.js';
import { createKey, createSite } from '../collector/admin.js';
import type { ExportFormatName } from '../collector/audiences/audience-member.js';
import { EXPORT_FORMAT_NAMES } from '../collector/audiences/export-formats.js';

export interface ExportBenchOptions {
  members?: number;
  formats?: ExportFormatName[];
  /** share of members that are opted out (left out of the platform files) */
  optedOutShare?: number;
}

export interface ExportFigure {
  format: ExportFormatName;
  /** CPU seconds (user + system) of this process during the export: comparable on a busy machine */
  cpuSeconds: number;
  /** data rows received (csv lines minus the header, or json members) */
  rows: number;
  bytes: number;
  seconds: number;
  /** RSS before this export started, MB */
  rssBeforeMb: number;
  /** highest RSS seen while it streamed, MB */
  peakRssMb: number;
}

export interface ExportFigures {
  members: number;
  buildSeconds: number;
  databaseMb: number;
  figures: ExportFigure[];
}

const MB = 1024 * 1024;
const CHUNK = 500;

/** Inserts `n` rows with one prepared multi-row statement per CHUNK rows (and one for the remainder). */
function insertMany(db: SqliteDb, table: string, columns: string[], n: number, row: (i: number) => unknown[]) {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const statement = (rows: number) => db.raw.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')}`);
  const full = statement(CHUNK);
  db.raw.transaction(() => {
    for (let start = 0; start < n; start += CHUNK) {
      const size = Math.min(CHUNK, n - start);
      const params: unknown[] = [];
      for (let i = start; i < start + size; i++) params.push(...row(i));
      (size === CHUNK ? full : statement(size)).run(...params);
    }
  })();
}

const FIRST = ['Anna', 'Ben', 'Chloé', 'David', 'Eva', 'Farid', 'Grace', 'Hugo', "Ian O'Neil", 'Jana'];
const LAST = ['Smith', 'Müller', 'García', 'Nguyen', 'Okafor', 'Rossi', 'Dubois', 'Kowalski', 'Tanaka', 'Silva'];
const PLACES = [
  { country: 'US', city: 'San Francisco', state: 'California', zip: '94107-1234', phone: '(415) 555-01' },
  { country: 'GB', city: 'London', state: 'England', zip: 'SW1A 1AA', phone: '020 7946 09' },
  { country: 'DE', city: 'Berlin', state: 'Berlin', zip: '10115', phone: '030 123456' },
  { country: 'FR', city: 'Paris', state: 'Île-de-France', zip: '75001', phone: '01 42 68 53' },
];

async function buildSegment(path: string, members: number, optedOutShare: number) {
  const db = (await openDb({ databasePath: path })) as SqliteDb;
  const site = await createSite(db, { domain: 'bench.example.com' });
  const key = await createKey(db, site.siteId, ['audiences:read']);
  const now = Date.now();
  db.raw.pragma('synchronous = OFF');
  db.raw
    .prepare('INSERT INTO segments (site_id, segment_key, name, definition, member_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(site.siteId, 'bench', 'bench', '{"all":[{"identified":true}]}', members, now, now);
  const leadId = (i: number) => `l${String(i).padStart(8, '0')}`;
  const optOutEvery = optedOutShare > 0 ? Math.round(1 / optedOutShare) : 0;
  insertMany(
    db,
    'leads',
    ['site_id', 'lead_id', 'email', 'traits', 'stage', 'stage_rank', 'stage_at', 'score', 'score_at', 'created_at', 'updated_at', 'opted_out', 'is_bot'],
    members,
    (i) => {
      const p = PLACES[i % PLACES.length];
      const traits = {
        firstName: FIRST[i % FIRST.length],
        lastName: LAST[(i >> 3) % LAST.length],
        phone: p.phone + String(i % 100).padStart(2, '0'),
        company: `Company ${i % 5000}`,
        jobTitle: 'Head of Marketing',
        country: p.country,
        city: p.city,
        state: p.state,
        zip: p.zip,
      };
      return [site.siteId, leadId(i), `Person.${i}@Example${i % 97}.com`, JSON.stringify(traits), 'consideration', 2, now, i % 80, now, now, now,
        optOutEvery && i % optOutEvery === 0 ? 1 : 0, 0];
    },
  );
  insertMany(db, 'visitors', ['site_id', 'visitor_id', 'lead_id', 'first_seen', 'last_seen', 'session_id', 'session_started'], members, (i) => [
    site.siteId, `v${i}`, leadId(i), now, now, `s${i}`, now,
  ]);
  insertMany(db, 'segment_members', ['site_id', 'segment_key', 'lead_id', 'entered_at'], members, (i) => [site.siteId, 'bench', leadId(i), now]);
  db.raw.pragma('synchronous = NORMAL');
  await db.close();
  return { secret: key.secret };
}

/** Builds the segment in a child process and resolves to the key secret it printed. */
function buildInChild(path: string, members: number, optedOutShare: number): Promise<{ secret: string }> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script, '--build', path, String(members), String(optedOutShare)], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

/** GETs a URL and counts bytes and line feeds without keeping the body; RSS is sampled on every chunk. */
function download(url: string, secret: string, onChunk: () => void): Promise<{ status: number; bytes: number; lines: number; tail: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${secret}` } }, (res) => {
      let bytes = 0;
      let lines = 0;
      let tail = '';
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        tail = (tail + chunk.subarray(Math.max(0, chunk.length - 64)).toString('latin1')).slice(-64);
        onChunk();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, lines, tail }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function benchExports(options: ExportBenchOptions = {}): Promise<ExportFigures> {
  const members = options.members ?? 1_000_000;
  const formats = options.formats ?? EXPORT_FORMAT_NAMES;
  const dir = join(process.cwd(), '.tmp', `bench-exports-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'exports.db');
  const buildStart = performance.now();
  const { secret } = await buildInChild(path, members, options.optedOutShare ?? 0.02);
  const buildSeconds = (performance.now() - buildStart) / 1000;
  const databaseMb = statSync(path).size / MB;
  const db = await openDb({ databasePath: path });

  const created = createApp({ db, log: createLog('error') });
  const server = serve({ fetch: created.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const figures: ExportFigure[] = [];
  for (const format of formats) {
    const rssBefore = process.memoryUsage.rss();
    let peak = rssBefore;
    const sample = () => {
      const rss = process.memoryUsage.rss();
      if (rss > peak) peak = rss;
    };
    const sampler = setInterval(sample, 10);
    const cpu = process.cpuUsage();
    const start = performance.now();
    const got = await download(`${base}/api/segments/bench/members?format=${format}`, secret, sample);
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    clearInterval(sampler);
    sample();
    if (got.status !== 200) throw new Error(`${format}: HTTP ${got.status}`);
    const rows = format === 'json' ? Number(/"count":(\d+)\}$/.exec(got.tail)?.[1] ?? NaN) : got.lines - 1;
    figures.push({ format, rows, bytes: got.bytes, seconds, cpuSeconds: (used.user + used.system) / 1e6, rssBeforeMb: rssBefore / MB, peakRssMb: peak / MB });
  }

  await new Promise<void>((resolve) => server.close(() => resolve()));
  await created.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { members, buildSeconds, databaseMb, figures };
}

export function printExports(f: ExportFigures) {
  console.log(`\naudience exports (${f.members.toLocaleString('en')}-member segment, built in ${f.buildSeconds.toFixed(1)} s, ${f.databaseMb.toFixed(0)} MB SQLite; streamed over HTTP)`);
  console.log('  format         rows       MB   wall s    CPU s   rows/CPU s   RSS before → peak (MB)');
  for (const x of f.figures) {
    console.log(
      `  ${x.format.padEnd(9)} ${x.rows.toLocaleString('en').padStart(9)} ${(x.bytes / MB).toFixed(1).padStart(8)} ${x.seconds.toFixed(1).padStart(8)} ` +
        `${x.cpuSeconds.toFixed(1).padStart(8)} ${Math.round(x.rows / x.cpuSeconds).toLocaleString('en').padStart(12)}   ${x.rssBeforeMb.toFixed(0).padStart(6)} → ${x.peakRssMb.toFixed(0)}`,
    );
  }
  const worst = Math.max(...f.figures.map((x) => x.peakRssMb));
  console.log(`  peak RSS of the process ${worst.toFixed(0)} MB (target < 200 MB)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === '--build') {
    const [path, members, share] = process.argv.slice(3);
    console.log(JSON.stringify(await buildSegment(path, Number(members), Number(share))));
  } else {
    printExports(await benchExports({ members: Number(process.argv[2] ?? 1_000_000) }));
  }
}
