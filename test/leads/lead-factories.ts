// Fixture factories for lead reads: rows as the funnel engine and segments module write them (brief's table semantics).
import { createSite, createKey } from '../../collector/admin.js';
import type { Db } from '../../collector/storage/db.js';
import type { Scope } from '../../shared/scopes.js';
import { TOUCH_KEY_COLUMNS, touchKeyValues } from '../../collector/storage/leads.js';

let seq = 0;
const next = (prefix: string) => `${prefix}_${(++seq).toString(36).padStart(4, '0')}`;

export const DAY = 86_400_000;
export const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);

export async function makeSite(db: Db, domain = 'example.com') {
  const site = await createSite(db, { domain }, T0 - 10 * DAY);
  const key = async (scopes: Scope[]) => 'Bearer ' + (await createKey(db, site.siteId, scopes, T0 - 10 * DAY)).secret;
  return {
    siteId: site.siteId,
    siteKey: site.siteKey,
    leadsRead: await key(['leads:read']),
    audiences: await key(['audiences:read']),
    admin: await key(['admin']),
    events: await key(['events:write']),
  };
}

export interface LeadFixture {
  leadId?: string;
  email?: string | null;
  traits?: Record<string, string>;
  stage?: string;
  stageRank?: number;
  stageAt?: number;
  score?: number;
  scoreAt?: number;
  mql?: boolean;
  mqlAt?: number | null;
  sql?: boolean;
  sqlAt?: number | null;
  firstTouch?: object | null;
  lastTouch?: object | null;
  createdAt?: number;
  updatedAt?: number;
  identifiedAt?: number | null;
  isBot?: boolean;
}

export async function makeLead(db: Db, siteId: string, f: LeadFixture = {}) {
  const leadId = f.leadId ?? next('lead');
  const createdAt = f.createdAt ?? T0;
  const firstTouch = f.firstTouch ? JSON.stringify(f.firstTouch) : null;
  const lastTouch = f.lastTouch ? JSON.stringify(f.lastTouch) : null;
  await db.run(
    `INSERT INTO leads (site_id, lead_id, email, traits, stage, stage_rank, stage_at, score, score_at, mql, mql_at, sql, sql_at,
       first_touch, last_touch, state, created_at, updated_at, identified_at, version, opted_out, is_bot, ${TOUCH_KEY_COLUMNS.join(', ')})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      siteId, leadId, f.email ?? null, JSON.stringify(f.traits ?? {}), f.stage ?? 'awareness', f.stageRank ?? 0, f.stageAt ?? createdAt,
      f.score ?? 0, f.scoreAt ?? createdAt, f.mql ? 1 : 0, f.mqlAt ?? null, f.sql ? 1 : 0, f.sqlAt ?? null,
      firstTouch, lastTouch, createdAt, f.updatedAt ?? createdAt, f.identifiedAt ?? (f.email ? createdAt : null), f.isBot ? 1 : 0,
      // the touch key columns, as every write of the funnel engine stores them beside the JSON
      ...touchKeyValues(firstTouch, lastTouch),
    ],
  );
  return leadId;
}

export async function makeVisitor(db: Db, siteId: string, f: { visitorId?: string; leadId?: string | null; firstSeen?: number; lastSeen?: number; isBot?: boolean } = {}) {
  const visitorId = f.visitorId ?? next('v');
  const firstSeen = f.firstSeen ?? T0;
  await db.run(
    `INSERT INTO visitors (site_id, visitor_id, lead_id, first_seen, last_seen, session_id, session_started, session_count, event_count, is_bot)
     VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?)`,
    [siteId, visitorId, f.leadId ?? null, firstSeen, f.lastSeen ?? firstSeen, `${visitorId}.s`, firstSeen, f.isBot ? 1 : 0],
  );
  return visitorId;
}

export interface EventFixture {
  eventId?: string;
  visitorId: string;
  leadId?: string | null;
  name?: string;
  at: number;
  source?: 'web' | 'server';
  url?: string;
  path?: string;
  form?: string | null;
  props?: object | null;
  email?: string | null;
  channel?: string;
  sessionId?: string;
  utmSource?: string | null;
  utmMedium?: string | null;
  utmCampaign?: string | null;
  isBot?: boolean;
  /** set on the event that opened its session (live ingest puts the visitor's first touch there, and only there) */
  firstTouch?: object | null;
}

export async function makeEvent(db: Db, siteId: string, f: EventFixture) {
  const eventId = f.eventId ?? next('e');
  const path = f.path ?? '/';
  await db.run(
    `INSERT INTO events (site_id, event_id, visitor_id, lead_id, session_id, name, at, received_at, source, url, path, referrer, props, form,
       email, traits, channel, utm_source, utm_medium, utm_campaign, is_bot, attributed, first_touch)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)`,
    [
      siteId, eventId, f.visitorId, f.leadId ?? null, f.sessionId ?? `${f.visitorId}.s`, f.name ?? 'pageview', f.at, f.at, f.source ?? 'web',
      f.url ?? `https://example.com${path}`, path, f.props ? JSON.stringify(f.props) : null, f.form ?? null, f.email ?? null,
      f.channel ?? 'direct', f.utmSource ?? null, f.utmMedium ?? null, f.utmCampaign ?? null, f.isBot ? 1 : 0, f.leadId ? 1 : 0,
      f.firstTouch ? JSON.stringify(f.firstTouch) : null,
    ],
  );
  return eventId;
}

export async function makeLink(db: Db, siteId: string, f: { visitorId: string; leadId: string; fromAt: number; toAt?: number | null; email?: string | null; reason?: string; eventId?: string | null }) {
  await db.run(
    'INSERT INTO identity_links (site_id, visitor_id, from_at, to_at, lead_id, email, event_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [siteId, f.visitorId, f.fromAt, f.toAt ?? null, f.leadId, f.email ?? null, f.eventId ?? null, f.reason ?? 'first_seen', f.fromAt],
  );
}

export async function makeStageChange(
  db: Db, siteId: string, f: { leadId: string; from: string | null; to: string; at: number; eventId?: string | null; rule?: string; fromAt?: number | null },
) {
  await db.run('INSERT INTO stage_changes (site_id, lead_id, to_stage, from_stage, at, event_id, rule, from_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    siteId, f.leadId, f.to, f.from, f.at, f.eventId ?? null, f.rule ?? 'rule_' + f.to, f.fromAt ?? null,
  ]);
}

export async function makeScoreChange(db: Db, siteId: string, f: { leadId: string; at: number; points: number; scoreAfter: number; rule?: string; eventId?: string | null; changeId?: string }) {
  const changeId = f.changeId ?? next('sc');
  await db.run('INSERT INTO score_changes (site_id, change_id, lead_id, at, event_id, rule, points, score_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    siteId, changeId, f.leadId, f.at, f.eventId ?? null, f.rule ?? 'pageview', f.points, f.scoreAfter,
  ]);
  return changeId;
}

export async function makeSegment(db: Db, siteId: string, key: string, memberCount = 0) {
  await db.run(
    'INSERT INTO segments (site_id, segment_key, name, definition, member_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, segment_key) DO NOTHING',
    [siteId, key, key, '{"all":[]}', memberCount, T0, T0],
  );
}

export async function makeSegmentMember(db: Db, siteId: string, f: { segmentKey: string; leadId: string; at: number }) {
  await db.run('INSERT INTO segment_members (site_id, segment_key, lead_id, entered_at) VALUES (?, ?, ?, ?)', [siteId, f.segmentKey, f.leadId, f.at]);
  await db.run('INSERT INTO segment_changes (site_id, change_id, segment_key, lead_id, kind, at) VALUES (?, ?, ?, ?, ?, ?)', [
    siteId, next('sg'), f.segmentKey, f.leadId, 'entered', f.at,
  ]);
}

export async function makeSegmentChange(db: Db, siteId: string, f: { segmentKey: string; leadId: string; kind: 'entered' | 'exited'; at: number }) {
  await db.run('INSERT INTO segment_changes (site_id, change_id, segment_key, lead_id, kind, at) VALUES (?, ?, ?, ?, ?, ?)', [
    siteId, next('sg'), f.segmentKey, f.leadId, f.kind, f.at,
  ]);
}

export async function makeWebhookDelivery(db: Db, siteId: string, payload: object) {
  await db.run(
    `INSERT INTO webhook_deliveries (site_id, delivery_id, webhook_id, event_type, payload, status, attempts, next_attempt_at, created_at)
     VALUES (?, ?, 'wh_1', 'stage.changed', ?, 'pending', 0, ?, ?)`,
    [siteId, next('d'), JSON.stringify(payload), T0, T0],
  );
}

export async function makeRejected(db: Db, siteId: string, raw: string) {
  await db.run(
    "INSERT INTO rejected_events (site_id, rejected_id, reason, message, route, raw, received_at) VALUES (?, ?, 'invalid_event', 'bad', '/e', ?, ?)",
    [siteId, next('r'), raw, T0],
  );
}

/**
 * A lead on two devices: an anonymous phone visit that later identified, a laptop, server events, stage, score,
 * identity and segment history. Returns its ids.
 */
export async function makeLeadOnTwoDevices(db: Db, siteId: string, email = 'ada@example.com') {
  const leadId = await makeLead(db, siteId, {
    email, stage: 'evaluation', stageRank: 4, stageAt: T0 + 3 * DAY, score: 60, scoreAt: T0 + 3 * DAY, mql: true, mqlAt: T0 + 2 * DAY,
    sql: true, sqlAt: T0 + 3 * DAY, traits: { firstName: 'Ada', company: 'Analytical' },
    firstTouch: { channel: 'organic_search', utm_source: 'google' }, lastTouch: { channel: 'email', utm_source: 'newsletter' },
    updatedAt: T0 + 4 * DAY,
  });
  const phone = await makeVisitor(db, siteId, { leadId, firstSeen: T0 });
  const laptop = await makeVisitor(db, siteId, { leadId, firstSeen: T0 + 2 * DAY });
  await makeLink(db, siteId, { visitorId: phone, leadId, fromAt: T0, reason: 'first_seen' });
  await makeLink(db, siteId, { visitorId: laptop, leadId, fromAt: T0 + 2 * DAY, email, reason: 'identify' });
  const e1 = await makeEvent(db, siteId, { visitorId: phone, leadId, at: T0, path: '/', channel: 'organic_search', utmSource: 'google' });
  const e2 = await makeEvent(db, siteId, { visitorId: phone, leadId, at: T0 + DAY, path: '/pricing' });
  const e3 = await makeEvent(db, siteId, { visitorId: laptop, leadId, at: T0 + 2 * DAY, name: 'newsletter_signup', form: 'newsletter', email, path: '/blog' });
  // not attributed yet: found through the laptop's identity link
  const e4 = await makeEvent(db, siteId, { visitorId: laptop, leadId: null, at: T0 + 3 * DAY, name: 'demo_request', form: 'demo', email, path: '/demo' });
  const e5 = await makeEvent(db, siteId, { visitorId: `srv_${leadId}`, leadId, at: T0 + 4 * DAY, name: 'demo_completed', source: 'server' });
  await makeStageChange(db, siteId, { leadId, from: null, to: 'awareness', at: T0, eventId: e1 });
  await makeStageChange(db, siteId, { leadId, from: 'awareness', to: 'consideration', at: T0 + DAY, eventId: e2 });
  await makeStageChange(db, siteId, { leadId, from: 'consideration', to: 'evaluation', at: T0 + 3 * DAY, eventId: e4 });
  await makeScoreChange(db, siteId, { leadId, at: T0 + DAY, points: 10, scoreAfter: 10, rule: 'pricing_view', eventId: e2 });
  await makeScoreChange(db, siteId, { leadId, at: T0 + 2 * DAY, points: 10, scoreAfter: 20, rule: 'newsletter_signup', eventId: e3 });
  await makeScoreChange(db, siteId, { leadId, at: T0 + 3 * DAY, points: 30, scoreAfter: 50, rule: 'demo_request', eventId: e4 });
  await makeSegment(db, siteId, 'hot_leads', 1);
  await makeSegmentMember(db, siteId, { segmentKey: 'hot_leads', leadId, at: T0 + 3 * DAY });
  return { leadId, email, phone, laptop, events: [e1, e2, e3, e4, e5] };
}
