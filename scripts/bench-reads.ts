// Read benchmarks: timeline p50/p95 for a lead with ~2,000 events and funnel report time, on a seeded database
// (1,000,000 visitors / ~10,000,000 events by default, seeded once into .tmp/ and reused). `npm run bench` calls
// these; `npx tsx scripts/bench-reads.ts [--visitors N]` runs them alone.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createApp } from '../collector/app.js';
import { createLog } from '../collector/ops/log.js';
import { defaultConfig } from '../collector/config.js';
import { openDb } from '../collector/storage/open-db.js';
import { seed, type SeedSummary } from './seed.js';

export interface ReadsBenchDb {
  path: string;
  summary: SeedSummary;
}

/** The seeded database for read benchmarks: made once per size (minutes for 1M visitors), reused afterwards. */
export async function ensureReadsBenchDb(o: { visitors?: number; path?: string; log?: (l: string) => void } = {}): Promise<ReadsBenchDb> {
  const visitors = o.visitors ?? 1_000_000;
  const path = o.path ?? `.tmp/bench-reads-${visitors}.db`;
  const marker = path + '.json';
  if (existsSync(path) && existsSync(marker)) return { path, summary: JSON.parse(readFileSync(marker, 'utf8')) };
  for (const f of [path, path + '-wal', path + '-shm', marker]) rmSync(f, { force: true });
  o.log?.(`bench-reads: seeding ${visitors} visitors into ${path} (once; reused afterwards)`);
  const db = await openDb({ databasePath: path });
  try {
    const summary = await seed(db, { visitors, seed: 42, heavy: 3, heavyEvents: 2000, log: o.log });
    writeFileSync(marker, JSON.stringify(summary, null, 2));
    return { path, summary };
  } finally {
    await db.close();
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const round = (n: number) => Math.round(n * 100) / 100;

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: round(pct(s, 50)), p95: round(pct(s, 95)), p99: round(pct(s, 99)), max: round(s[s.length - 1]) };
}

async function openApp(b: ReadsBenchDb) {
  const db = await openDb({ databasePath: b.path });
  // the clock stands at the end of the seeded period, so "last 30 days" means the seeded data
  // the read paths are measured, not the per-key rate limit (0 = off) or background sweeps
  const config = defaultConfig({ RATE_LIMIT_API_PER_SEC: 0, SEGMENT_SWEEP_MS: 0 });
  const created = createApp({ db, config, now: () => Date.parse(b.summary.to), log: createLog('error') });
  const auth = { authorization: `Bearer ${b.summary.adminSecret}` };
  const get = async (url: string) => {
    const res = await created.app.request(url, { headers: auth });
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return { get, close: async () => (await created.close(), await db.close()) };
}

/** CPU time of the measured calls (the process is single-threaded): wall time on a shared, loaded box overstates cost. */
const cpuSamples = new Map<string, number[]>();
let cpuLabel = '';

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const c0 = process.cpuUsage();
  const t = performance.now();
  const r = await fn();
  const wall = performance.now() - t;
  const c = process.cpuUsage(c0);
  if (cpuLabel) (cpuSamples.get(cpuLabel) ?? cpuSamples.set(cpuLabel, []).get(cpuLabel)!).push((c.user + c.system) / 1000);
  return [wall, r];
}

const cpuP50 = (label: string) => {
  const s = [...(cpuSamples.get(label) ?? [])].sort((a, b) => a - b);
  return s.length ? round(pct(s, 50)) : null;
};

export interface TimelineFigures {
  leadEvents: number;
  firstPage: ReturnType<typeof stats> & { cpuP50: number | null };
  deepPages: ReturnType<typeof stats>;
  filtered: ReturnType<typeof stats>;
  profile: ReturnType<typeof stats>;
}

/** GET /api/leads/{ref}/timeline through the app (auth, routing, JSON included) for the heavy leads. */
export async function benchTimeline(b: ReadsBenchDb, iterations = 300): Promise<TimelineFigures> {
  const app = await openApp(b);
  try {
    const leads = b.summary.heavyLeads;
    const first: number[] = [];
    const deep: number[] = [];
    const filtered: number[] = [];
    const profile: number[] = [];
    for (let i = 0; i < iterations + 20; i++) {
      const lead = leads[i % leads.length];
      cpuLabel = i < 20 ? '' : 'timeline';
      const [t1, page] = await timed(() => app.get(`/api/leads/${lead.leadId}/timeline?limit=50`));
      cpuLabel = '';
      // a page deep in the history: follow a few cursors
      let cursor = page.nextCursor as string;
      for (let k = 0; k < (i % 7) && cursor; k++) cursor = (await app.get(`/api/leads/${lead.leadId}/timeline?limit=50&cursor=${cursor}`)).nextCursor;
      const [t2] = cursor ? await timed(() => app.get(`/api/leads/${lead.leadId}/timeline?limit=50&cursor=${cursor}`)) : [t1];
      const [t3] = await timed(() => app.get(`/api/leads/${encodeURIComponent(lead.email)}/timeline?types=stage,score,form_submit,demo_request&limit=50`));
      const [t4] = await timed(() => app.get(`/api/leads/${encodeURIComponent(lead.email)}`));
      if (i < 20) continue; // warm-up
      first.push(t1);
      deep.push(t2);
      filtered.push(t3);
      profile.push(t4);
    }
    return { leadEvents: leads[0]?.events ?? 0, firstPage: { ...stats(first), cpuP50: cpuP50('timeline') }, deepPages: stats(deep), filtered: stats(filtered), profile: stats(profile) };
  } finally {
    await app.close();
  }
}

type Timed = ReturnType<typeof stats> & { cpuP50: number | null };

export interface FunnelFigures {
  report: Timed;
  byChannelFirst: Timed;
  bySourceFirst: Timed;
  byChannelLast: Timed;
  byCampaignLast: Timed;
  byChannelLinear: Timed;
  stages: Array<{ stage: string; count: number; entered: number }>;
}

/** GET /api/funnel (last 30 days of the seeded period) plain and with breakdowns. */
export async function benchFunnelReport(b: ReadsBenchDb, runs = 7): Promise<FunnelFigures> {
  const app = await openApp(b);
  try {
    const measure = async (url: string, n: number) => {
      await app.get(url); // warm-up
      const samples: number[] = [];
      cpuLabel = url;
      for (let i = 0; i < n; i++) samples.push((await timed(() => app.get(url)))[0]);
      cpuLabel = '';
      return { ...stats(samples), cpuP50: cpuP50(url) };
    };
    const report = await measure('/api/funnel', runs);
    // first/last touch read day counts on SQLite (migration 0011): as many runs as the plain report
    const byChannelFirst = await measure('/api/funnel?breakdown=channel', runs);
    const bySourceFirst = await measure('/api/funnel?breakdown=source', runs);
    const byChannelLast = await measure('/api/funnel?breakdown=channel&attribution=last', runs);
    const byCampaignLast = await measure('/api/funnel?breakdown=campaign&attribution=last', runs);
    const byChannelLinear = await measure('/api/funnel?breakdown=channel&attribution=linear', 1);
    const body = await app.get('/api/funnel');
    const stages = body.stages.map((s: { stage: string; count: number; entered: number }) => ({ stage: s.stage, count: s.count, entered: s.entered }));
    return { report, byChannelFirst, bySourceFirst, byChannelLast, byCampaignLast, byChannelLinear, stages };
  } finally {
    await app.close();
  }
}

export function printReads(b: ReadsBenchDb, t: TimelineFigures, f: FunnelFigures) {
  const s = b.summary;
  console.log(`\n## Reads (${s.visitors.toLocaleString('en')} visitors, ${s.events.toLocaleString('en')} events, ${s.leads.toLocaleString('en')} leads; SQLite; ${cpus().length} cores)`);
  console.log(`timeline, lead with ${t.leadEvents} events on 3 devices, limit 50 (ms):`);
  console.log(`  first page      p50 ${t.firstPage.p50}  p95 ${t.firstPage.p95}  p99 ${t.firstPage.p99}  (n=${t.firstPage.n}; cpu p50 ${t.firstPage.cpuP50})   target p95 ≤ 5`);
  console.log(`  deeper pages    p50 ${t.deepPages.p50}  p95 ${t.deepPages.p95}  p99 ${t.deepPages.p99}`);
  console.log(`  types filter    p50 ${t.filtered.p50}  p95 ${t.filtered.p95}  p99 ${t.filtered.p99}`);
  console.log(`  profile by email p50 ${t.profile.p50}  p95 ${t.profile.p95}`);
  console.log('funnel report, last 30 days (ms):');
  console.log(`  plain                     p50 ${f.report.p50}  max ${f.report.max}  (cpu p50 ${f.report.cpuP50})   target ≤ 300`);
  console.log(`  breakdown channel, first  p50 ${f.byChannelFirst.p50}  max ${f.byChannelFirst.max}  (cpu p50 ${f.byChannelFirst.cpuP50})`);
  console.log(`  breakdown source, first   p50 ${f.bySourceFirst.p50}  max ${f.bySourceFirst.max}  (cpu p50 ${f.bySourceFirst.cpuP50})`);
  console.log(`  breakdown channel, last   p50 ${f.byChannelLast.p50}  max ${f.byChannelLast.max}  (cpu p50 ${f.byChannelLast.cpuP50})`);
  console.log(`  breakdown campaign, last  p50 ${f.byCampaignLast.p50}  max ${f.byCampaignLast.max}  (cpu p50 ${f.byCampaignLast.cpuP50})`);
  console.log(`  breakdown channel, linear ${f.byChannelLinear.p50}  (cpu ${f.byChannelLinear.cpuP50})`);
  console.log(`  load average during the run: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('  stages: ' + f.stages.map((x) => `${x.stage} ${x.count}/${x.entered}`).join(', ') + '  (now/entered)');
}

/** Everything above in one call for `npm run bench`: seeds (once), measures, prints, and returns the figures. */
export async function benchReads(o: { visitors?: number; iterations?: number; log?: (l: string) => void } = {}) {
  const b = await ensureReadsBenchDb({ visitors: o.visitors, log: o.log });
  const timeline = await benchTimeline(b, o.iterations);
  const funnel = await benchFunnelReport(b);
  printReads(b, timeline, funnel);
  return { db: b, timeline, funnel };
}

async function main() {
  const { values } = parseArgs({ options: { visitors: { type: 'string', default: '1000000' }, iterations: { type: 'string', default: '300' } } });
  const log = (l: string) => process.stderr.write(l + '\n');
  await benchReads({ visitors: Number(values.visitors), iterations: Number(values.iterations), log });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`bench-reads: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
