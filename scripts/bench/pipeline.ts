// The whole POST /e pipeline in process (validate → enrich → group commit → attribution, no HTTP): CPU µs per event of
// this process (user + system, every thread: the WAL's fdatasync included), with 50 callers at once as autocannon's
// 50 connections. Less disturbed by other work on the machine than req/s, and without HTTP's share.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openDb } from '../../collector/storage/open-db.js';
import { createSite } from '../../collector/admin.js';
import { createEventWriter } from '../../collector/ingest/store.js';
import { createBeaconPipeline } from '../../collector/ingest/pipeline.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { createMetrics } from '../../collector/ops/metrics.js';
import type { Deps } from '../../collector/context.js';
import { beaconBody } from './ingest.js';

export interface PipelineScenario {
  name: string;
  events: number;
  /** visitors drawn from a pool of this size (each seen once before the measure), or 0 for a new visitor per request */
  pool: number;
  requests: number;
}

export const PIPELINE_SCENARIOS: PipelineScenario[] = [
  { name: '(b) new visitor per request, 1 event', events: 1, pool: 0, requests: 8000 },
  { name: '(c) new visitor per request, 20 events', events: 20, pool: 0, requests: 1200 },
  { name: '(d) 10,000 returning visitors, 1 event', events: 1, pool: 10_000, requests: 8000 },
];

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36';

/** CPU µs per event of the in-process pipeline for one scenario, on a new SQLite database. */
export async function benchPipeline(s: PipelineScenario, callers = 50): Promise<{ cpuPerEvent: number; eventsPerSec: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-pipeline-'));
  const db = await openDb({ databasePath: join(dir, 'bench.db') });
  const site = await createSite(db, { domain: '127.0.0.1' });
  const deps = { db, config: defaultConfig(), log: createLog('error'), metrics: createMetrics(), now: () => Date.now() } as Deps;
  deps.writer = createEventWriter(deps);
  const ingest = createBeaconPipeline(deps, deps.writer);
  const body = beaconBody(site.siteKey, s.events, s.pool);
  const drive = async (bodies: string[]) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (next < bodies.length) {
          const r = await ingest({ text: bodies[next++], origin: 'http://127.0.0.1', userAgent: USER_AGENT });
          if (!r.ok) throw new Error(`refused: ${r.rejection.message}`);
        }
      }),
    );
  };
  // warm-up (JIT, statement cache); returning visitors: every visitor of the pool seen once
  await drive(Array.from({ length: s.pool || 2000 }, body));
  const bodies = Array.from({ length: s.requests }, body);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await drive(bodies);
  await deps.writer.flush();
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  await deps.writer.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  const events = s.requests * s.events;
  return { cpuPerEvent: (used.user + used.system) / events, eventsPerSec: events / seconds };
}
