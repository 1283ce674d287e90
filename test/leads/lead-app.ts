// The app, database and site that the lead read tests start from, on either engine, with a fixed clock.
import { createApp, type CreatedApp } from '../../collector/app.js';
import type { Db } from '../../collector/storage/db.js';
import { openTestDb } from '../helpers/test-db.js';

type Engine = 'sqlite' | 'pg';
import { makeSite } from './lead-factories.js';

export interface LeadApp {
  db: Db;
  created: CreatedApp;
  site: Awaited<ReturnType<typeof makeSite>>;
}

export async function openLeadApp(engine: Engine, now: number): Promise<LeadApp> {
  const db = await openTestDb(engine);
  const created = createApp({ db, now: () => now });
  return { db, created, site: await makeSite(db) };
}

export async function closeLeadApp(app: LeadApp): Promise<void> {
  await app.created.close();
  await app.db.close();
}
