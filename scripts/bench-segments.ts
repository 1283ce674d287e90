// Segment upkeep benchmark: what live membership with the six presets costs per ingested event.
// (a) End to end: the real POST /e pipeline in process (validate → enrich → store → attribute → segments), events per
//     CPU-second with the presets against the same site without segments, in alternating rounds.
// (b) Directly: updateMemberships timed alone on flush-sized batches over leads with history (no other work in between).
// Run alone: npx tsx scripts/bench-segments.ts
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openDb } from '../collector/storage/open-db.js';
import type { Db } from '../collector/storage/db.js';
import { createSite } from '../collector/admin.js';
import { createApp } from '../collector/app.js';
import { defaultConfig } from '../collector/config.js';
import { insertEvents } from '../collector/storage/events.js';
import { deleteSegment } from '../collector/storage/segments.js';
import { updateMembershipsFor } from '../collector/segments/update-memberships.js';
import { SEGMENT_PRESETS } from '../collector/segments/presets.js';
import type { EnrichedEvent } from '../collector/ingest/types.js';
import { DEFAULT_STAGES } from '../shared/stages.js';
import { snippetId } from './bench/snippet-id.js';

const DAY = 86_400_000;
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

export interface SegmentBenchOptions {
  /** (a) alternating rounds of without/with */
  rounds?: number;
  /** (a) visitors in the pool (returning visitors make histories) */
  visitors?: number;
  /** (a) requests before measuring (history), and measured requests per run */
  warmRequests?: number;
  requests?: number;
  /** (a) requests in flight */
  concurrency?: number;
  /** (b) leads with history, events of history per lead, measured flushes of `eventsPerFlush` events */
  leads?: number;
  historyPerLead?: number;
  flushes?: number;
  eventsPerFlush?: number;
}

export interface SegmentFigures {
  segments: number;
  /** events/s by wall clock, events per CPU-second of the process, and upkeep's share of the CPU per event */
  /** share of CPU samples in segment code during a run with the presets */
  profiledShare: number;
  e2e: { events: number; withoutEps: number; withEps: number; withoutCpuEps: number; withCpuEps: number; share: number; rounds: number[]; upkeepUsPerEvent: number; members: number };
  direct: { historyEvents: number; events: number; leadsPerFlush: number; storeUsPerEvent: number; upkeepUsPerEvent: number; changes: number; rechecks: number };
}

// A small deterministic PRNG so that runs compare.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGES = ['/', '/blog/a', '/blog/b', '/features', '/pricing', '/pricing/enterprise', '/docs', '/case-studies/acme', '/about'];
const NAMES: Array<[string, number]> = [
  ['pageview', 0.84], ['engagement', 0.08], ['download', 0.04], ['outbound', 0.02], ['newsletter_signup', 0.015], ['demo_request', 0.005],
];
function pickName(r: () => number): string {
  let x = r();
  for (const [n, w] of NAMES) if ((x -= w) < 0) return n;
  return 'pageview';
}
const pagePath = (name: string, r: () => number) => (name === 'download' ? '/files/ebook.pdf' : PAGES[Math.floor(r() * PAGES.length)]);
// visitor and event ids in the snippet's format
const id = snippetId;

// ---------- (a) end to end ----------

/** A full GC between runs: otherwise a major GC owed by an earlier run lands on whichever side runs next. */
const collectGarbage = (() => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return () => gc?.();
})();

async function runPipeline(withSegments: boolean, o: Required<SegmentBenchOptions>, seed: number, afterWarmUp?: () => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'fb-bench-seg-'));
  const db = await openDb({ databasePath: join(dir, 'bench.db') });
  const site = await createSite(db, { domain: '127.0.0.1' });
  if (!withSegments) for (const p of SEGMENT_PRESETS) await deleteSegment(db, site.siteId, p.key);
  const { app, close } = createApp({ db, config: defaultConfig({ SEGMENT_SWEEP_MS: 0, LOG_LEVEL: 'error', DEMO: '0' }) });
  const r = rng(seed);
  const visitors = Array.from({ length: o.visitors }, () => id());
  const body = () => {
    const v = visitors[Math.floor(r() * visitors.length)];
    const t = Date.now();
    const e = Array.from({ length: 1 + Math.floor(r() * 5) }, (_, i) => {
      const n = pickName(r);
      return { i: id(), n, t: t + i, u: 'http://127.0.0.1' + pagePath(n, r) };
    });
    return { text: JSON.stringify({ s: site.siteKey, v, e }), events: e.length };
  };
  let events = 0;
  const send = async () => {
    const b = body();
    const res = await app.request('/e', { method: 'POST', body: b.text, headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1', 'user-agent': UA } });
    if (res.status !== 202) throw new Error(`POST /e answered ${res.status}: ${await res.text()}`);
    events += b.events;
  };
  const drive = async (requests: number) => {
    let started = 0;
    await Promise.all(Array.from({ length: o.concurrency }, async () => {
      while (started < requests) {
        started++;
        await send();
      }
    }));
  };
  await drive(o.warmRequests);
  await afterWarmUp?.();
  // the garbage of earlier runs and of the warm-up is collected now, not on the clock of this run
  collectGarbage();
  events = 0;
  const t = performance.now();
  const cpu = process.cpuUsage();
  await drive(o.requests);
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - t) / 1000;
  const cpuSeconds = (used.user + used.system) / 1e6;
  const measured = events;
  const members = Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM segment_members'))!.n);
  await close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { events: measured, seconds, cpuSeconds, members };
}

async function benchEndToEnd(o: Required<SegmentBenchOptions>) {
  const rounds: number[] = [];
  const sum = { without: { events: 0, seconds: 0, cpuSeconds: 0 }, with: { events: 0, seconds: 0, cpuSeconds: 0, members: 0 } };
  for (let round = 0; round < o.rounds; round++) {
    // alternate the order so that a machine getting busier or quieter does not favour one side
    const cpuPerEvent = { with: 0, without: 0 };
    for (const withSegments of round % 2 ? [true, false] : [false, true]) {
      const run = await runPipeline(withSegments, o, 7 + round);
      cpuPerEvent[withSegments ? 'with' : 'without'] = run.cpuSeconds / run.events;
      const side = withSegments ? sum.with : sum.without;
      side.events += run.events;
      side.seconds += run.seconds;
      side.cpuSeconds += run.cpuSeconds;
      if (withSegments) sum.with.members = run.members;
    }
    rounds.push(1 - cpuPerEvent.without / cpuPerEvent.with);
  }
  if (o.rounds === 0) return { events: 0, withoutEps: 0, withEps: 0, withoutCpuEps: 0, withCpuEps: 0, share: 0, rounds, upkeepUsPerEvent: 0, members: 0 };
  // CPU time of this process is the fair measure on a shared machine: other processes' load stretches wall time
  // (and differently for the two sides), not the work this process does per event.
  const withoutCpuEps = sum.without.events / sum.without.cpuSeconds;
  const withCpuEps = sum.with.events / sum.with.cpuSeconds;
  return {
    events: sum.with.events,
    withoutEps: sum.without.events / sum.without.seconds,
    withEps: sum.with.events / sum.with.seconds,
    withoutCpuEps,
    withCpuEps,
    share: 1 - withCpuEps / withoutCpuEps,
    rounds,
    upkeepUsPerEvent: 1e6 / withCpuEps - 1e6 / withoutCpuEps,
    members: sum.with.members,
  };
}

/**
 * The share of the process's CPU samples spent in segment code (collector/segments/, storage/segments.ts and what
 * they call) during one run with the presets. Sampling attributes each moment to its call stack, so it needs no
 * second run and other processes' load does not tilt it the way it tilts an A/B comparison.
 */
async function profileShare(o: Required<SegmentBenchOptions>): Promise<number> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  let profile: { nodes: Array<{ id: number; callFrame: { url: string; functionName: string }; children?: number[] }>; samples: number[]; timeDeltas: number[] };
  await session.post('Profiler.start');
  try {
    await runPipeline(true, o, 99, async () => {
      await session.post('Profiler.stop'); // drop the warm-up samples
      await session.post('Profiler.start');
    });
  } finally {
    profile = (await session.post('Profiler.stop')).profile as typeof profile;
    session.disconnect();
  }
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const mine = new Map<number, boolean>();
  const isMine = (id: number | undefined): boolean => {
    if (id === undefined) return false;
    let v = mine.get(id);
    if (v === undefined) {
      v = /collector\/segments\/|collector\/storage\/segments\.ts/.test(byId.get(id)!.callFrame.url) || isMine(parent.get(id));
      mine.set(id, v);
    }
    return v;
  };
  let busy = 0;
  let segments = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName === '(idle)') return;
    const dt = profile.timeDeltas[i] ?? 0;
    busy += dt;
    if (isMine(id)) segments += dt;
  });
  return segments / busy;
}

// ---------- (b) direct ----------

function makeEvent(siteId: string, leadId: string, n: number, at: number, r: () => number): EnrichedEvent {
  const name = pickName(r);
  const path = pagePath(name, r);
  return {
    siteId, eventId: `e${n}`, visitorId: 'v' + leadId, leadId, sessionId: 's' + leadId, name, at, receivedAt: at, source: 'web',
    url: 'https://example.com' + path, path, referrer: '', props: null, form: null, email: null, traits: null, channel: 'direct',
    utmSource: null, utmMedium: null, utmCampaign: null, utmTerm: null, utmContent: null, clickId: null, firstTouch: null, sessionTouch: null,
    browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false,
  };
}

// Lead rows as the funnel engine leaves them (seeded directly: this part measures segments, not attribution).
async function insertLeads(db: Db, siteId: string, ids: string[], now: number, r: () => number) {
  await db.transaction(async (tx) => {
    for (const leadId of ids) {
      const rank = Math.floor(r() * 4);
      const stageAt = now - Math.floor(r() * 40 * DAY);
      await tx.run(
        `INSERT INTO leads (site_id, lead_id, email, traits, stage, stage_rank, stage_at, score, score_at, created_at, updated_at)
         VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?)`,
        [siteId, leadId, r() < 0.2 ? `${leadId}@example.com` : null, DEFAULT_STAGES[rank], rank, stageAt, Math.floor(r() * 60), stageAt, stageAt, stageAt],
      );
    }
  });
}

async function benchDirect(o: Required<SegmentBenchOptions>) {
  const r = rng(42);
  const dir = mkdtempSync(join(tmpdir(), 'fb-bench-seg-'));
  const db = await openDb({ databasePath: join(dir, 'bench.db') });
  const start = Date.UTC(2025, 0, 1);
  const site = await createSite(db, { domain: 'example.com' }, start - 90 * DAY);
  const { deps, close } = createApp({ db, config: defaultConfig({ SEGMENT_SWEEP_MS: 0, LOG_LEVEL: 'error', DEMO: '0' }), now: () => start });
  const ids = Array.from({ length: o.leads }, (_, i) => `lead${i}`);
  await insertLeads(db, site.siteId, ids, start, r);
  let n = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const events = chunk.flatMap((leadId) => Array.from({ length: o.historyPerLead }, () => makeEvent(site.siteId, leadId, n++, start - Math.floor(r() * 60 * DAY), r)));
    await db.transaction((tx) => insertEvents(tx, events));
    await db.transaction((tx) => updateMembershipsFor(tx, deps, site.siteId, chunk, start));
  }
  const historyEvents = n;
  let storeMs = 0;
  let upkeepMs = 0;
  let changes = 0;
  let events = 0;
  let next = o.leads;
  const perLead = 3;
  const leadsPerFlush = Math.ceil(o.eventsPerFlush / perLead);
  for (let f = 0; f < o.flushes; f++) {
    const now = start + f * 1000;
    const fresh: string[] = [];
    const touched: string[] = [];
    for (let i = 0; i < leadsPerFlush; i++) {
      if (r() < 0.2) {
        const leadId = `lead${next++}`;
        fresh.push(leadId);
        touched.push(leadId);
      } else touched.push(ids[Math.floor(r() * ids.length)]);
    }
    await insertLeads(db, site.siteId, fresh, now, r);
    const batch = touched.flatMap((leadId) => Array.from({ length: perLead }, () => makeEvent(site.siteId, leadId, n++, now - Math.floor(r() * 5000), r)));
    // one transaction as in a flush (one commit); the update is timed inside it, so the commit counts as storing
    const t = performance.now();
    let upkeep = 0;
    await db.transaction(async (tx) => {
      await insertEvents(tx, batch);
      const u = performance.now();
      changes += (await updateMembershipsFor(tx, deps, site.siteId, touched, now)).length;
      upkeep = performance.now() - u;
    });
    upkeepMs += upkeep;
    storeMs += performance.now() - t - upkeep;
    events += batch.length;
  }
  const rechecks = Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM segment_rechecks'))!.n);
  await close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { historyEvents, events, leadsPerFlush, storeUsPerEvent: (storeMs * 1000) / events, upkeepUsPerEvent: (upkeepMs * 1000) / events, changes, rechecks };
}

export async function benchSegments(options: SegmentBenchOptions = {}): Promise<SegmentFigures> {
  const o: Required<SegmentBenchOptions> = {
    rounds: 8, visitors: 1500, warmRequests: 1500, requests: 2500, concurrency: 50,
    leads: 5000, historyPerLead: 20, flushes: 30, eventsPerFlush: 1000,
    ...options,
  };
  return { segments: SEGMENT_PRESETS.length, e2e: await benchEndToEnd(o), profiledShare: await profileShare(o), direct: await benchDirect(o) };
}

export function printSegments(f: SegmentFigures) {
  const e = f.e2e;
  const d = f.direct;
  console.log(`\nsegment upkeep (${f.segments} presets)`);
  console.log(`  (a) POST /e end to end, in process, ${e.events.toLocaleString('en')} events measured per side`);
  console.log(`      without segments ${e.withoutCpuEps.toFixed(0).padStart(8)} events per CPU-second   (${e.withoutEps.toFixed(0)} events/s wall)`);
  console.log(`      with the presets ${e.withCpuEps.toFixed(0).padStart(8)} events per CPU-second   (${e.withEps.toFixed(0)} events/s wall; ${e.members} memberships at the end)`);
  console.log(`      upkeep ${(e.share * 100).toFixed(1)}% of ingest throughput, ≈ ${e.upkeepUsPerEvent.toFixed(1)} CPU-µs/event   (target ≤ 10%)`);
  const sorted = [...e.rounds].sort((a, b) => a - b);
  const median = sorted.length ? (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2 : 0;
  console.log(`      per round: ${e.rounds.map((r) => (r * 100).toFixed(1) + '%').join(', ')}   (median ${(median * 100).toFixed(1)}%)`);
  console.log(`      sampled: ${(f.profiledShare * 100).toFixed(1)}% of the CPU profile of a run with the presets is segment code`);
  console.log(`  (b) updateMemberships alone, flushes of ${d.leadsPerFlush} leads over ${d.historyEvents.toLocaleString('en')} events of history`);
  console.log(`      ${d.upkeepUsPerEvent.toFixed(1)} µs/event   (storing the same events and committing: ${d.storeUsPerEvent.toFixed(1)} µs/event; ${d.changes} enter/exit changes, ${d.rechecks} leads awaiting a recheck)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSegments(await benchSegments());
