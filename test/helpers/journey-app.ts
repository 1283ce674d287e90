// A real app with a controllable clock for funnel journeys: beacons through POST /e, server events through
// POST /api/events, and readers for a lead's stored state.
import { createApp } from '../../collector/app.js';
import { createKey, createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import type { Db } from '../../collector/storage/db.js';
import type { WireEvent } from '../../shared/wire.js';
import { openTestDb } from './test-db.js';
import { CHROME_UA, randomId } from './factories.js';
import { T0 } from './funnel-factories.js';

export type JourneyEvent = Partial<WireEvent> & { path?: string };

export async function makeJourneyApp(options: { engine?: 'sqlite' | 'pg'; db?: Db; start?: number } = {}) {
  const db = options.db ?? (await openTestDb(options.engine ?? 'sqlite'));
  const clock = { now: options.start ?? T0 };
  const site = await createSite(db, { domain: '127.0.0.1' }, clock.now);
  const created = createApp({ db, now: () => clock.now, config: defaultConfig({ FLUSH_MS: 0, SEGMENT_SWEEP_MS: 0 }), log: createLog('error') });
  const admin = await createKey(db, site.siteId, ['admin'], clock.now);
  const auth = { authorization: `Bearer ${admin.secret}`, 'content-type': 'application/json' };

  /** Sends events of one visitor at `at` (default: the clock), 1 ms apart, and moves the clock there. */
  async function visit(visitorId: string, events: JourneyEvent[], at = clock.now) {
    clock.now = Math.max(clock.now, at + events.length);
    const e = events.map((x, i) => {
      const { path, ...rest } = x;
      return { i: randomId(), n: 'pageview', t: at + i, u: `http://127.0.0.1${path ?? '/'}`, ...rest } as WireEvent;
    });
    const res = await created.app.request('/e', {
      method: 'POST',
      body: JSON.stringify({ s: site.siteKey, v: visitorId, e }),
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
    });
    if (res.status !== 202) throw new Error(`POST /e answered ${res.status}: ${await res.text()}`);
    return e;
  }

  /** POST /api/events with the admin key. */
  const serverEvents = (body: unknown) => created.app.request('/api/events', { method: 'POST', body: JSON.stringify(body), headers: auth });

  async function leadOfVisitor(visitorId: string): Promise<string> {
    const r = await db.get<{ lead_id: string }>('SELECT lead_id FROM identity_links WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL', [site.siteId, visitorId]);
    if (!r) throw new Error(`visitor ${visitorId} has no lead`);
    return r.lead_id;
  }

  async function lead(leadId: string) {
    const r = await db.get<Record<string, unknown>>('SELECT * FROM leads WHERE site_id = ? AND lead_id = ?', [site.siteId, leadId]);
    if (!r) return undefined;
    return { ...r, mql: Number(r.mql) === 1, sql: Number(r.sql) === 1, score: Number(r.score), traits: JSON.parse(String(r.traits)) };
  }

  const stages = async (leadId: string) =>
    (await db.all<{ to_stage: string }>('SELECT to_stage FROM stage_changes WHERE site_id = ? AND lead_id = ? ORDER BY at, to_stage', [site.siteId, leadId])).map((r) => r.to_stage);

  /** Everything derived for the site, in a stable order (live vs replay comparisons). */
  async function snapshot() {
    const leads = await db.all('SELECT lead_id, email, stage, stage_rank, stage_at, score, score_at, mql, mql_at, sql, sql_at, traits, first_touch, last_touch, state FROM leads WHERE site_id = ? ORDER BY lead_id', [site.siteId]);
    const stageChanges = await db.all('SELECT lead_id, to_stage, from_stage, at, event_id, rule FROM stage_changes WHERE site_id = ? ORDER BY lead_id, to_stage', [site.siteId]);
    const scoreChanges = await db.all('SELECT change_id, lead_id, at, event_id, rule, points, score_after FROM score_changes WHERE site_id = ? ORDER BY change_id', [site.siteId]);
    const events = await db.all('SELECT event_id, lead_id, attributed FROM events WHERE site_id = ? ORDER BY event_id', [site.siteId]);
    return { leads, stageChanges, scoreChanges, events };
  }

  return { ...created, db, site, clock, admin, auth, visit, serverEvents, leadOfVisitor, lead, stages, snapshot };
}
