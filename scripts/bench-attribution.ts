// Attribution's share of ingest: a real collector under load (POST /e), the time its flushes spent in attribution
// (funnelbeam_attribution_seconds) over the run, for new and returning visitors; plus an in-process A/B of the
// group-commit flush with and without attribution, and (`--only pipeline`, run alone) the whole POST /e pipeline in
// process. `npx tsx scripts/bench-attribution.ts [--seconds 10] [--connections 50] [--only http,flush,pipeline]`
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openDb } from '../collector/storage/open-db.js';
import { createSite } from '../collector/admin.js';
import { enrichBatch } from '../collector/ingest/enrich.js';
import { insertEvents, upsertVisitors } from '../collector/storage/events.js';
import { mergeVisitorUpdates, type WriteRequest } from '../collector/ingest/store.js';
import { attribute, presetLeads } from '../collector/ingest/attribute.js';
import { defaultConfig } from '../collector/config.js';
import { createLog } from '../collector/ops/log.js';
import { createMetrics } from '../collector/ops/metrics.js';
import type { Deps } from '../collector/context.js';
import type { Site } from '../collector/storage/sites.js';
import type { SessionState } from '../collector/ingest/sessions.js';
import { fmt, runLoad, startChild } from './bench/load.js';
import { beaconBody } from './bench/ingest.js';
import { snippetId } from './bench/snippet-id.js';
import { benchPipeline, PIPELINE_SCENARIOS } from './bench/pipeline.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' }, only: { type: 'string' } } });
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
// run alone: --only http,flush,pipeline picks parts; from npm run bench (--only attribution, or no --only) http and flush run
const want = (s: string) => !values.only || values.only.split(',').some((o) => o === s || (o === 'attribution' && s !== 'pipeline'));

// visitor and event ids in the snippet's format
const id = snippetId;
const PATHS = ['/', '/pricing', '/blog/post', '/case-studies/acme', '/features', '/about', '/docs/api'];

interface Scenario {
  name: string;
  events: number;
  /** visitors drawn from a pool of this size (returning visitors), or 0 for a new visitor per request */
  pool: number;
}
const SCENARIOS: Scenario[] = [
  { name: 'new visitor per request, 20 events', events: 20, pool: 0 },
  { name: 'new visitor per request, 1 event', events: 1, pool: 0 },
  { name: '500 returning visitors, 3 events', events: 3, pool: 500 },
];

const body = (siteKey: string, s: Scenario) => beaconBody(siteKey, s.events, s.pool, PATHS);

const sumOf = (text: string, name: string) => Number(new RegExp(`^${name}_sum ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);

async function httpShare(s: Scenario) {
  const dir = mkdtempSync(join(tmpdir(), 'fb-attr-'));
  const path = join(dir, 'bench.db');
  const db = await openDb({ databasePath: path });
  const site = await createSite(db, { domain: '127.0.0.1' });
  await db.close();
  const env = { DATABASE_PATH: path, PORT: '0', DEMO: '0', LOG_LEVEL: 'error', RATE_LIMIT_CLIENT_PER_SEC: '0', RATE_LIMIT_SITE_PER_SEC: '0' };
  const child = await startChild(['--import', 'tsx', 'collector/server.ts'], env);
  await runLoad({ url: child.url + '/e', connections: CONNECTIONS, seconds: 1, body: body(site.siteKey, s), eventsPerRequest: s.events });
  const before = await (await fetch(child.url + '/metrics')).text();
  const started = performance.now();
  const r = await runLoad({ url: child.url + '/e', connections: CONNECTIONS, seconds: SECONDS, body: body(site.siteKey, s), eventsPerRequest: s.events });
  const wall = (performance.now() - started) / 1000;
  const after = await (await fetch(child.url + '/metrics')).text();
  await child.stop();
  rmSync(dir, { recursive: true, force: true });
  const attribution = sumOf(after, 'funnelbeam_attribution_seconds') - sumOf(before, 'funnelbeam_attribution_seconds');
  const segments = sumOf(after, 'funnelbeam_segment_update_seconds') - sumOf(before, 'funnelbeam_segment_update_seconds');
  const flush = sumOf(after, 'funnelbeam_flush_seconds') - sumOf(before, 'funnelbeam_flush_seconds');
  return { r, share: attribution / wall, segmentsShare: segments / wall, flushShare: flush / wall };
}

/** In-process: the same flushes stored with and without attribution (no HTTP), µs per event. */
async function flushAB(s: Scenario, requests: number, flushRequests = 50) {
  const run = async (withAttribution: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-attr-'));
    const db = await openDb({ databasePath: join(dir, 'bench.db') });
    const t0 = Date.now() - 3_600_000;
    const site = await createSite(db, { domain: '127.0.0.1' }, t0);
    const deps = { db, config: defaultConfig(), log: createLog('error'), metrics: createMetrics(), now: () => t0 + requests * 10 } as Deps;
    const reqs = makeRequests(site, t0, s, requests);
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < reqs.length; i += flushRequests) {
      const batch = reqs.slice(i, i + flushRequests);
      const all = batch.flatMap((r) => r.events);
      await db.transaction(async (tx) => {
        if (withAttribution) presetLeads(all);
        const stored = await insertEvents(tx, all);
        await upsertVisitors(tx, mergeVisitorUpdates(batch, stored));
        if (withAttribution) await attribute(tx, deps, stored);
      });
    }
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    const events = requests * s.events;
    // wall time includes waiting for each flush's fdatasync, which the collector overlaps with the next flush;
    // CPU time (this process, user + system) is what competes with requests under load
    return { wall: (ms * 1000) / events, cpu: (used.user + used.system) / events };
  };
  const base = await run(false);
  const full = await run(true);
  return { base, full };
}

function makeRequests(site: Site, t0: number, s: Scenario, requests: number): WriteRequest[] {
  const pool = Array.from({ length: s.pool }, () => id());
  const sessions = new Map<string, SessionState>();
  const ua = { browser: 'Chrome', os: 'Linux', device: 'desktop' as const, isBot: false, headless: false };
  return Array.from({ length: requests }, (_, r) => {
    const v = s.pool ? pool[r % s.pool] : id();
    const t = t0 + r * 10;
    const e = Array.from({ length: s.events }, (_, i) => ({ i: id(), n: 'pageview', t: t + i, u: 'http://127.0.0.1' + PATHS[(r + i) % PATHS.length] }));
    const out = enrichBatch({ site, batch: { s: site.siteKey, v, e }, ua, receivedAt: t + s.events, session: sessions.get(v) ?? null });
    sessions.set(v, out.session);
    return {
      events: out.events,
      visitor: {
        siteId: site.siteId, visitorId: v, firstSeen: out.events[0].at, lastSeen: out.events.at(-1)!.at, session: out.session, newSessions: out.newSessions,
        firstTouch: null, lastTouch: null, browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false,
      },
    };
  });
}

const pct = (x: number) => (x * 100).toFixed(1) + '%';
if (want('http')) {
  console.log(`attribution under load (POST /e, SQLite, ${CONNECTIONS} connections, ${SECONDS} s): share of the collector's time spent attributing`);
  for (const s of SCENARIOS) {
    const { r, share, segmentsShare, flushShare } = await httpShare(s);
    console.log(`  ${s.name.padEnd(38)} ${fmt(r.eventsPerSec).padStart(8)} events/s  attribution ${pct(share).padStart(6)} (segments ${pct(segmentsShare)})  whole flush ${pct(flushShare)}  errors ${r.errors + r.non2xx}`);
  }
}
if (want('flush')) {
  console.log('group-commit flush in-process (no HTTP), µs per event: store only → store + attribution');
  for (const s of SCENARIOS) {
    const { base, full } = await flushAB(s, Math.round(20000 / s.events));
    const f = (x: number) => x.toFixed(1).padStart(7);
    console.log(`  ${s.name.padEnd(38)} CPU ${f(base.cpu)} → ${f(full.cpu)}   wall ${f(base.wall)} → ${f(full.wall)} (incl. waiting for fdatasync)`);
  }
}
if (values.only && want('pipeline')) {
  console.log('whole POST /e pipeline in-process (no HTTP, 50 callers): CPU µs per event, this process with its threads');
  for (const s of PIPELINE_SCENARIOS) {
    const { cpuPerEvent, eventsPerSec } = await benchPipeline(s);
    console.log(`  ${s.name.padEnd(40)} CPU ${cpuPerEvent.toFixed(1).padStart(7)}   ${fmt(eventsPerSec).padStart(8)} events/s`);
  }
}
