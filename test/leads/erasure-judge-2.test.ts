// A CRM event naming a lead by id while another collector erases that lead (PostgreSQL: erasure and event writes meet
// on the tombstone lock). The event comes after the erasure began, so no tombstone covers it: it must not be stored
// under the erased lead's id, which "never names anything again" (README, Erasure).
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createApp, type CreatedApp } from '../../collector/app.js';
import { openDb } from '../../collector/storage/open-db.js';
import type { Db } from '../../collector/storage/db.js';
import { subjectHash } from '../../collector/storage/erasure-tombstones.js';
import { freshPgUrl } from '../helpers/test-db.js';
import { T0, makeSite } from './lead-factories.js';

// PostgreSQL only: runs whenever a throwaway server is given (npm run test:pg, or TEST_ENGINE=pg)
const ENGINE = process.env.TEST_DATABASE_URL ? 'pg' : 'sqlite';
const MIN = 60_000;

let db: Db;
let url: string;
let created: CreatedApp;
let site: Awaited<ReturnType<typeof makeSite>>;
let clock: number;

beforeEach(async () => {
  if (ENGINE !== 'pg') return;
  clock = T0 + 60 * MIN;
  url = await freshPgUrl();
  db = await openDb({ databaseUrl: url, poolSize: 4 });
  site = await makeSite(db);
  created = createApp({ db, now: () => clock });
});

afterEach(async () => {
  if (ENGINE !== 'pg') return;
  await created.close();
  await db.close();
});

const postServer = (body: unknown) =>
  created.app.request('/api/events', { method: 'POST', body: JSON.stringify(body), headers: { authorization: site.events, 'content-type': 'application/json' } });

describe('a CRM event racing an erasure of its lead', () => {
  test.runIf(ENGINE === 'pg')('is not stored under the erased lead id when the erasure commits while it waits', async () => {
    const made = await postServer({ id: 'crm-make', email: 'cleo@example.com', name: 'demo_completed', at: clock - 30 * MIN });
    expect(made.status).toBe(202);
    const lead = (await made.json()).events[0].leadId as string;
    const erasedAt = clock;

    // another collector's erasure, caught between its deletes and its commit (what erase-lead.ts does, in that order)
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    let res: Response;
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(7262003)');
      for (const [kind, value] of [['lead', lead], ['email', 'cleo@example.com']] as const) {
        await other.query('INSERT INTO erasure_tombstones (site_id, subject_hash, from_at, to_at, erased_at) VALUES ($1, $2, 0, $3, $3)', [
          site.siteId, subjectHash(kind, site.siteId, value), erasedAt,
        ]);
      }
      for (const t of ['events', 'identity_links', 'stage_changes', 'score_changes', 'leads']) await other.query(`DELETE FROM ${t} WHERE site_id = $1 AND lead_id = $2`, [site.siteId, lead]);
      // the CRM's next event, a second later, naming the lead by id (no `at`: now)
      clock += 1000;
      const pending = Promise.resolve(postServer({ id: 'crm-late', leadId: lead, name: 'closed_won' }));
      await new Promise((r) => setTimeout(r, 300));
      await other.query('COMMIT');
      res = await pending;
    } finally {
      await other.end();
    }
    // the lead is gone: nothing is stored under its id, and the answer names no event of it
    const stored = await db.all<{ event_id: string }>('SELECT event_id FROM events WHERE site_id = ? AND lead_id = ?', [site.siteId, lead]);
    expect(stored).toEqual([]);
    const body = await res.json();
    expect(JSON.stringify(body)).not.toContain(`"leadId":"${lead}"`);
    // answered as a moment later: no such lead
    expect(res.status).toBe(400);
    expect(body.error.code).toBe('unknown_lead');
    expect((await created.app.request(`/api/leads/${lead}`, { headers: { authorization: site.leadsRead } })).status).toBe(404);
  });
});
