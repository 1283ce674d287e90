// npm run seed -- --visitors N [--db path] [--days 90] [--site <siteId>] [--seed 1] [--heavy 1]
// A realistic data set written through the storage layer: people on one or more devices over the period, channels
// with plausible shares, pages and forms by intent, sales events, leads/stages/scores folded by the funnel engine, and
// segment memberships kept by the same function as live attribution.
import { parseArgs } from 'node:util';
import { openDb } from '../collector/storage/open-db.js';
import type { Db } from '../collector/storage/db.js';
import { createKey, createSite } from '../collector/admin.js';
import { getSiteById } from '../collector/storage/sites.js';
import { EVENT_COLUMNS, eventRow } from '../collector/storage/events.js';
import { compileFunnel } from '../collector/funnel/compile-funnel.js';
import { loadFunnelConfig } from '../collector/funnel/load-funnel-config.js';
import { createRng } from './seed/random.js';
import { generatePerson, type PersonJourney, type SeedContext } from './seed/journeys.js';
import {
  attributePerson, emptyRows, LEAD_COLUMNS, LINK_COLUMNS, SCORE_COLUMNS, STAGE_COLUMNS, VISITOR_COLUMNS, type SeedRows,
} from './seed/attribute-person.js';
import { createIndexes, dropIndexes, insertMany } from './seed/write-rows.js';
import { writeSegmentMemberships } from './seed/write-segments.js';

const DAY = 86_400_000;
const BULK_TABLES = ['events', 'visitors', 'leads', 'identity_links', 'stage_changes', 'score_changes'];

export interface SeedOptions {
  visitors: number;
  days?: number;
  /** existing site to fill; a new site `seed.example` is made otherwise */
  siteId?: string;
  seed?: number;
  /** heavy leads for the timeline benchmark: this many, each with about `heavyEvents` events on 3 devices */
  heavy?: number;
  heavyEvents?: number;
  /** end of the period (default now) */
  end?: number;
  /**
   * Write web events and visitors only, unattributed, and hand back the server events instead of writing them:
   * the test that checks this seed against live attribution feeds them through the real paths.
   */
  rawEventsOnly?: boolean;
  log?: (line: string) => void;
}

export interface SeedSummary {
  siteId: string;
  siteKey: string;
  /** admin key secret (shown once) when the seed made the site */
  adminSecret: string | null;
  visitors: number;
  events: number;
  leads: number;
  identifiedLeads: number;
  stageChanges: number;
  scoreChanges: number;
  identityLinks: number;
  heavyLeads: Array<{ leadId: string; email: string; events: number }>;
  /** with rawEventsOnly: the server events to send, oldest first */
  serverEvents?: Array<{ id: string; email: string; name: string; at: number; props: Record<string, unknown> | null }>;
  from: string;
  to: string;
  seconds: number;
}

/**
 * When first visits happen: more on weekdays and in office hours (UTC), growing over the period. Days are counted
 * from UTC midnight, not from the moment the seed runs, so that the daily rhythm follows the clock; a time outside
 * the period (the partial first and last day) is drawn again.
 */
function arrivalTime(rng: ReturnType<typeof createRng>, start: number, end: number): number {
  const firstMidnight = Math.floor(start / DAY) * DAY;
  const days = Math.ceil((end - firstMidnight) / DAY);
  for (;;) {
    const d = Math.floor(rng.next() * days);
    const midnight = firstMidnight + d * DAY;
    const weekday = new Date(midnight).getUTCDay();
    const weight = (weekday === 0 || weekday === 6 ? 0.55 : 1) * (0.8 + (0.4 * d) / days);
    if (rng.next() * 1.2 > weight) continue;
    // a draw past midnight is drawn again: clamping it would pile the tail up in the last hour of the day
    const hour = Math.round(7 + rng.exponential(5) + (rng.next() - 0.5) * 4);
    if (hour < 0 || hour > 23) continue;
    const at = midnight + hour * 3_600_000 + Math.floor(rng.next() * 3_600_000);
    if (at >= start && at < end) return at;
  }
}

async function flush(db: Db, siteId: string, now: number, rows: SeedRows) {
  await db.transaction(async (tx) => {
    await insertMany(tx, 'events', EVENT_COLUMNS, rows.events);
    await insertMany(tx, 'visitors', VISITOR_COLUMNS, rows.visitors);
    await insertMany(tx, 'leads', LEAD_COLUMNS, rows.leads);
    await insertMany(tx, 'identity_links', LINK_COLUMNS, rows.links);
    await insertMany(tx, 'stage_changes', STAGE_COLUMNS, rows.stageChanges);
    await insertMany(tx, 'score_changes', SCORE_COLUMNS, rows.scoreChanges);
    await writeSegmentMemberships(tx, siteId, now, rows.segmentLeads);
  });
  // the executor turns automatic checkpoints off; a passive one per flush keeps the WAL from growing to gigabytes
  if (db.dialect === 'sqlite') await db.run('PRAGMA wal_checkpoint(PASSIVE)');
}

export async function seed(db: Db, o: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const days = o.days ?? 90;
  const end = o.end ?? Date.now();
  const start = end - days * DAY;
  let siteId = o.siteId;
  let siteKey = '';
  let adminSecret: string | null = null;
  if (siteId) {
    const site = await getSiteById(db, siteId);
    if (!site) throw new Error(`no site "${siteId}"`);
    siteKey = site.siteKey;
  } else {
    const site = await createSite(db, { domain: 'seed.example', name: 'Seeded demo data' }, start);
    siteId = site.siteId;
    siteKey = site.siteKey;
    adminSecret = (await createKey(db, siteId, ['admin'], start)).secret;
  }
  const domain = (await getSiteById(db, siteId))!.domain;
  const funnel = compileFunnel(await loadFunnelConfig(db, siteId));
  const rng = createRng(o.seed ?? 1);
  let counter = 0;
  const idPrefix = rng.id(4);
  const ctx: SeedContext = {
    siteId, domain, start, end,
    // base36 counter first: ids grow, so the primary-key index only ever appends
    nextEventId: () => (counter++).toString(36).padStart(9, '0') + idPrefix + rng.id(7),
  };
  let serial = 0;
  const nextSerial = () => ++serial;

  const bulk = o.visitors >= 20_000;
  let indexes: Awaited<ReturnType<typeof dropIndexes>> = [];
  if (db.dialect === 'sqlite') {
    await db.run('PRAGMA synchronous = OFF');
    await db.run('PRAGMA cache_size = -1000000');
    if (bulk) indexes = await dropIndexes(db, BULK_TABLES);
  }

  const totals = { visitors: 0, events: 0, leads: 0, identifiedLeads: 0, stageChanges: 0, scoreChanges: 0, identityLinks: 0 };
  const heavyLeads: SeedSummary['heavyLeads'] = [];
  let rows = emptyRows();
  const add = (r: SeedRows) => {
    totals.events += r.events.length;
    totals.visitors += r.visitors.length;
    totals.leads += r.leads.length;
    totals.identifiedLeads += r.leads.filter((l) => l[2] !== null).length;
    totals.stageChanges += r.stageChanges.length;
    totals.scoreChanges += r.scoreChanges.length;
    totals.identityLinks += r.links.length;
  };
  const eventRowOf = (e: Parameters<typeof eventRow>[0]) => eventRow(e);
  const serverEvents: NonNullable<SeedSummary['serverEvents']> = [];
  const attribute = (p: PersonJourney, r: SeedRows) => {
    if (!o.rawEventsOnly) return attributePerson(funnel, siteId!, p, eventRowOf, r);
    for (const d of p.devices) {
      if (!d.events.length) continue;
      for (const e of d.events) r.events.push(eventRowOf(e));
      const last = d.sessions[d.sessions.length - 1];
      r.visitors.push([
        siteId, d.visitorId, null, d.events[0].at, d.events[d.events.length - 1].at, last.sessionId, last.started, '', d.sessions.length,
        d.events.length, JSON.stringify(d.sessions[0].touch), JSON.stringify(last.touch), d.browser, d.os, d.device, d.isBot ? 1 : 0,
      ]);
    }
    for (const e of p.serverEvents) serverEvents.push({ id: e.eventId.slice(4), email: e.email!, name: e.name, at: e.at, props: e.props });
  };

  for (let h = 0; h < (o.heavy ?? 0); h++) {
    const p = generatePerson(ctx, rng, nextSerial, { firstAt: start + DAY, heavy: { devices: 3, events: o.heavyEvents ?? 2000 } });
    const r = emptyRows();
    attribute(p, r);
    const lead = r.leads.find((l) => l[2] === p.email);
    heavyLeads.push({ leadId: lead ? String(lead[1]) : '', email: p.email!, events: r.events.length });
    add(r);
    await flush(db, siteId, end, r);
  }
  let lastLog = performance.now();
  while (totals.visitors + rows.visitors.length < o.visitors) {
    const bot = rng.chance(0.025);
    const p = generatePerson(ctx, rng, nextSerial, { firstAt: arrivalTime(rng, start, end), bot });
    attribute(p, rows);
    if (rows.events.length >= 60_000) {
      add(rows);
      await flush(db, siteId, end, rows);
      rows = emptyRows();
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`seed: ${totals.visitors} visitors, ${totals.events} events, ${Math.round((performance.now() - started) / 1000)} s`);
      }
    }
  }
  add(rows);
  await flush(db, siteId, end, rows);
  if (indexes.length) {
    log(`seed: rebuilding ${indexes.length} indexes`);
    await createIndexes(db, indexes);
  }
  if (db.dialect === 'sqlite') {
    await db.run('PRAGMA wal_checkpoint(TRUNCATE)');
    await db.run('PRAGMA synchronous = NORMAL');
  }
  return {
    siteId, siteKey, adminSecret, ...totals, heavyLeads,
    from: new Date(start).toISOString(), to: new Date(end).toISOString(), seconds: Math.round((performance.now() - started) / 100) / 10,
    ...(o.rawEventsOnly ? { serverEvents: serverEvents.sort((a, b) => a.at - b.at) } : {}),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      visitors: { type: 'string', default: '10000' },
      db: { type: 'string' },
      days: { type: 'string', default: '90' },
      site: { type: 'string' },
      seed: { type: 'string', default: '1' },
      heavy: { type: 'string', default: '1' },
    },
  });
  const visitors = Number(values.visitors);
  const days = Number(values.days);
  if (!Number.isInteger(visitors) || visitors < 1) throw new Error('--visitors needs a positive whole number');
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error('--days needs a whole number of days (1–3650)');
  const databaseUrl = values.db ? undefined : process.env.DATABASE_URL;
  const db = await openDb({ databaseUrl, databasePath: values.db ?? process.env.DATABASE_PATH ?? './data/funnelbeam.db' });
  try {
    const summary = await seed(db, {
      visitors, days, siteId: values.site, seed: Number(values.seed), heavy: Number(values.heavy),
      log: (l) => process.stderr.write(l + '\n'),
    });
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`seed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
