// The rig of the scale-out journey files: three collector processes on one PostgreSQL database, and one collector in
// process on SQLite to compare them with; plus the small checks both files use.
import { expect } from 'vitest';
import type { Db } from '../../collector/storage/db.js';
import type { PgDb } from '../../collector/storage/pg-db.js';
import { createApp, type CreatedApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { openTestDb } from '../helpers/test-db.js';
import { startCollector, type Collector } from './start-collector.js';
import type { Target } from './journey-targets.js';

export const A = 0;
export const B = 1;
export const C = 2;

export interface ThreeAndOne {
  shared: Db;
  lone: Db;
  /** the PostgreSQL database's URL */
  url: string;
  collectors: Collector[];
  single: CreatedApp;
}

export async function startThreeAndOne(): Promise<ThreeAndOne> {
  const [shared, lone] = await Promise.all([openTestDb('pg'), openTestDb('sqlite')]);
  const url = (shared as PgDb).pool.options.connectionString!;
  // the first start migrates; the others find the schema ready
  const collectors = [await startCollector({ DATABASE_URL: url, SEGMENT_SWEEP_MS: '0', FLUSH_MS: '2' })];
  collectors.push(...(await Promise.all([1, 2].map(() => startCollector({ DATABASE_URL: url, SEGMENT_SWEEP_MS: '0', FLUSH_MS: '2' })))));
  const single = createApp({ db: lone, config: defaultConfig({ SEGMENT_SWEEP_MS: 0, DEMO: '0', FLUSH_MS: 2 }), log: createLog('error') });
  return { shared, lone, url, collectors, single };
}

export async function stopThreeAndOne(r: Partial<ThreeAndOne>): Promise<void> {
  await Promise.all((r.collectors ?? []).map((c) => c.stop()));
  await r.single?.close();
  await Promise.all([r.shared?.close(), r.lone?.close()]);
}

export const expect202 = (a: { status: number; body: unknown }) => expect(a.status, JSON.stringify(a.body)).toBe(202);

/** The sessions a visitor's stored events are in. */
export const sessionsOf = async (t: Target, visitorId: string) =>
  (await t.db.all<{ session_id: string }>('SELECT DISTINCT session_id FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY session_id', [t.site.siteId, visitorId])).map(
    (r) => r.session_id,
  );
