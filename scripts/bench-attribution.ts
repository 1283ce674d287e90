// Attribution cost: the group-commit flush with and without attribution, in-process on SQLite, for new and returning
// visitors. `npx tsx scripts/bench-attribution.ts [--requests 4000] [--events 20] [--flush 50]`
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { openDb } from '../collector/storage/open-db.js';
import { createSite } from '../collector/admin.js';
import { enrichBatch } from '../collector/ingest/enrich.js';
import { insertEvents, upsertVisitors } from '../collector/storage/events.js';
import { mergeVisitorUpdates, type WriteRequest } from '../collector/ingest/store.js';
import { attribute } from '../collector/ingest/attribute.js';
import { defaultConfig } from '../collector/config.js';
import { createLog } from '../collector/ops/log.js';
import { createMetrics } from '../collector/ops/metrics.js';
import type { Deps } from '../collector/context.js';
import type { Site } from '../collector/storage/sites.js';
import type { SessionState } from '../collector/ingest/sessions.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '4000' }, events: { type: 'string', default: '20' }, flush: { type: 'string', default: '50' }, returning: { type: 'string', default: '0' } } });
const REQUESTS = Number(values.requests);
const EVENTS = Number(values.events);
const FLUSH = Number(values.flush);
/** share of requests from a pool of returning visitors (0..1) */
const RETURNING = Number(values.returning);

const id = () => randomBytes(12).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
const PATHS = ['/', '/pricing', '/blog/post', '/case-studies/acme', '/features', '/about', '/docs/api'];
const ua = { browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false };

function makeRequests(site: Site, t0: number): WriteRequest[] {
  const pool = Array.from({ length: 200 }, () => 'v' + id());
  const sessions = new Map<string, SessionState>();
  const reqs: WriteRequest[] = [];
  for (let r = 0; r < REQUESTS; r++) {
    const v = Math.random() < RETURNING ? pool[r % pool.length] : 'v' + id();
    const t = t0 + r * 10;
    const e = Array.from({ length: EVENTS }, (_, i) => ({ i: id(), n: 'pageview', t: t + i, u: 'http://127.0.0.1' + PATHS[(r + i) % PATHS.length], r: 'https://www.google.com/' }));
    const out = enrichBatch({ site, batch: { s: site.siteKey, v, e }, ua, receivedAt: t + EVENTS, session: sessions.get(v) ?? null });
    sessions.set(v, out.session);
    reqs.push({
      events: out.events,
      visitor: {
        siteId: site.siteId, visitorId: v, firstSeen: out.events[0].at, lastSeen: out.events.at(-1)!.at, session: out.session, newSessions: out.newSessions,
        firstTouch: JSON.stringify(out.events[0].firstTouch), lastTouch: JSON.stringify(out.events.at(-1)!.sessionTouch), browser: 'Chrome', os: 'Linux', device: 'desktop', isBot: false,
      },
    });
  }
  return reqs;
}

async function run(withAttribution: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'fb-attr-'));
  const db = await openDb({ databasePath: join(dir, 'bench.db') });
  const t0 = Date.now() - 3_600_000;
  const site = await createSite(db, { domain: '127.0.0.1' }, t0);
  const metrics = createMetrics();
  const deps = { db, config: defaultConfig(), log: createLog('error'), metrics, now: () => t0 + REQUESTS * 10 } as Deps;
  const reqs = makeRequests(site, t0);
  let attributionMs = 0;
  const started = performance.now();
  for (let i = 0; i < reqs.length; i += FLUSH) {
    const batch = reqs.slice(i, i + FLUSH);
    await db.transaction(async (tx) => {
      const stored = await insertEvents(tx, batch.flatMap((r) => r.events));
      await upsertVisitors(tx, mergeVisitorUpdates(batch, stored));
      if (withAttribution) {
        const a = performance.now();
        await attribute(tx, deps, stored);
        attributionMs += performance.now() - a;
      }
    });
  }
  const ms = performance.now() - started;
  const seg = /funnelbeam_segment_update_seconds_sum ([\d.e-]+)/.exec(await metrics.render());
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { ms, attributionMs, segmentsMs: seg ? Number(seg[1]) * 1000 : 0 };
}

const events = REQUESTS * EVENTS;
const base = await run(false);
const full = await run(true);
const us = (ms: number) => ((ms * 1000) / events).toFixed(2);
console.log(`attribution, in-process SQLite: ${REQUESTS} requests × ${EVENTS} events, flushes of ${FLUSH} requests, returning share ${RETURNING}`);
console.log(`  store only          ${us(base.ms)} µs/event  (${Math.round(events / (base.ms / 1000)).toLocaleString()} events/s)`);
console.log(`  store + attribution ${us(full.ms)} µs/event  (${Math.round(events / (full.ms / 1000)).toLocaleString()} events/s)`);
console.log(`  attribution         ${us(full.attributionMs)} µs/event, of which segment membership ${us(full.segmentsMs)} µs/event`);
