// PostgreSQL schema (several collectors, one database). Mirrors schema.sqlite.ts column for column; schema-parity.ts checks it.
// Conventions: epoch-ms integers, JSON as text, flags as 0/1 integers, every key starts with site_id.
import { pgTable, text, integer, bigint, doublePrecision as real, primaryKey, index, uniqueIndex } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

export const sites = pgTable('sites', {
  siteId: text('site_id').primaryKey(),
  siteKey: text('site_key').notNull(),
  domain: text('domain').notNull(),
  name: text('name').notNull(),
  settings: text('settings').notNull().default('{}'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
}, (t) => [uniqueIndex('sites_site_key').on(t.siteKey)]);

export const apiKeys = pgTable('api_keys', {
  siteId: text('site_id').notNull(),
  keyId: text('key_id').notNull(),
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  revokedAt: bigint('revoked_at', { mode: 'number' }),
}, (t) => [primaryKey({ columns: [t.siteId, t.keyId] }), index('api_keys_key_id').on(t.keyId)]);

export const visitors = pgTable('visitors', {
  siteId: text('site_id').notNull(),
  visitorId: text('visitor_id').notNull(),
  leadId: text('lead_id'),
  firstSeen: bigint('first_seen', { mode: 'number' }).notNull(),
  lastSeen: bigint('last_seen', { mode: 'number' }).notNull(),
  sessionId: text('session_id').notNull(),
  sessionStarted: bigint('session_started', { mode: 'number' }).notNull(),
  sessionCampaign: text('session_campaign').notNull().default(''),
  sessionCount: integer('session_count').notNull().default(1),
  eventCount: integer('event_count').notNull().default(0),
  firstTouch: text('first_touch'),
  lastTouch: text('last_touch'),
  browser: text('browser'),
  os: text('os'),
  device: text('device'),
  isBot: integer('is_bot').notNull().default(0),
}, (t) => [primaryKey({ columns: [t.siteId, t.visitorId] }), index('visitors_lead').on(t.siteId, t.leadId), index('visitors_last_seen').on(t.siteId, t.lastSeen)]);

export const events = pgTable('events', {
  siteId: text('site_id').notNull(),
  eventId: text('event_id').notNull(),
  visitorId: text('visitor_id').notNull(),
  leadId: text('lead_id'),
  sessionId: text('session_id').notNull(),
  name: text('name').notNull(),
  at: bigint('at', { mode: 'number' }).notNull(),
  receivedAt: bigint('received_at', { mode: 'number' }).notNull(),
  source: text('source').notNull(),
  url: text('url').notNull().default(''),
  path: text('path').notNull().default(''),
  referrer: text('referrer').notNull().default(''),
  props: text('props'),
  form: text('form'),
  email: text('email'),
  traits: text('traits'),
  channel: text('channel').notNull(),
  utmSource: text('utm_source'),
  utmMedium: text('utm_medium'),
  utmCampaign: text('utm_campaign'),
  utmTerm: text('utm_term'),
  utmContent: text('utm_content'),
  clickId: text('click_id'),
  firstTouch: text('first_touch'),
  browser: text('browser'),
  os: text('os'),
  device: text('device'),
  isBot: integer('is_bot').notNull().default(0),
  attributed: integer('attributed').notNull().default(0),
}, (t) => [
  primaryKey({ columns: [t.siteId, t.eventId] }),
  index('events_visitor_at').on(t.siteId, t.visitorId, t.at),
  index('events_lead_at').on(t.siteId, t.leadId, t.at),
  // only the few events waiting for (re)attribution have an entry
  index('events_unattributed').on(t.siteId, t.attributed, t.receivedAt).where(sql`attributed = 0`),
  // linear attribution: the web events that opened a session (they alone carry first_touch), with the session's
  // touch keys, in lead order: one entry per session, so the breakdown reads no event rows
  index('events_session_open')
    .on(t.siteId, t.leadId, t.sessionId, t.channel, t.utmSource, t.utmMedium, t.utmCampaign)
    .where(sql`first_touch IS NOT NULL AND source = 'web' AND is_bot = 0`),
]);

export const leads = pgTable('leads', {
  siteId: text('site_id').notNull(),
  leadId: text('lead_id').notNull(),
  email: text('email'),
  traits: text('traits').notNull().default('{}'),
  stage: text('stage').notNull(),
  stageRank: integer('stage_rank').notNull().default(0),
  stageAt: bigint('stage_at', { mode: 'number' }).notNull(),
  score: real('score').notNull().default(0),
  scoreAt: bigint('score_at', { mode: 'number' }).notNull(),
  mql: integer('mql').notNull().default(0),
  mqlAt: bigint('mql_at', { mode: 'number' }),
  sql: integer('sql').notNull().default(0),
  sqlAt: bigint('sql_at', { mode: 'number' }),
  // the `at` of the lead.mql this lead announced (live attribution, once per lead): a rebuild that takes the crossing
  // away keeps it, a merge keeps the earlier of the two leads', so a later crossing announces nothing again
  mqlAnnouncedAt: bigint('mql_announced_at', { mode: 'number' }),
  firstTouch: text('first_touch'),
  lastTouch: text('last_touch'),
  state: text('state').notNull().default('{}'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  identifiedAt: bigint('identified_at', { mode: 'number' }),
  version: integer('version').notNull().default(0),
  optedOut: integer('opted_out').notNull().default(0),
  isBot: integer('is_bot').notNull().default(0),
  // first_touch/last_touch's channel and utm_source/medium/campaign ('' when absent), written with them: the funnel
  // breakdowns group by these without parsing JSON
  ftChannel: text('ft_channel').notNull().default(''),
  ftSource: text('ft_source').notNull().default(''),
  ftMedium: text('ft_medium').notNull().default(''),
  ftCampaign: text('ft_campaign').notNull().default(''),
  ltChannel: text('lt_channel').notNull().default(''),
  ltSource: text('lt_source').notNull().default(''),
  ltMedium: text('lt_medium').notNull().default(''),
  ltCampaign: text('lt_campaign').notNull().default(''),
}, (t) => [
  primaryKey({ columns: [t.siteId, t.leadId] }),
  // anonymous leads (most of them) have no email and no entry here
  uniqueIndex('leads_email').on(t.siteId, t.email).where(sql`email IS NOT NULL`),
  // funnel report: leads per stage now and per cohort (created_at), bots apart: index ranges per stage, no table reads
  index('leads_funnel').on(t.siteId, t.isBot, t.stage, t.createdAt),
  // GET /api/leads: newest activity first
  index('leads_activity').on(t.siteId, t.updatedAt),
]);

export const identityLinks = pgTable('identity_links', {
  siteId: text('site_id').notNull(),
  visitorId: text('visitor_id').notNull(),
  fromAt: bigint('from_at', { mode: 'number' }).notNull(),
  toAt: bigint('to_at', { mode: 'number' }),
  leadId: text('lead_id').notNull(),
  email: text('email'),
  eventId: text('event_id'),
  reason: text('reason').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.visitorId, t.fromAt] }), index('identity_links_lead').on(t.siteId, t.leadId)]);

/**
 * The ids of leads merged into another (an anonymous lead joining an identified one): a profile, timeline or server
 * event that names an old id reaches the lead it became. Erased with that lead (by lead_id, like every table).
 */
export const leadAliases = pgTable('lead_aliases', {
  siteId: text('site_id').notNull(),
  mergedLeadId: text('merged_lead_id').notNull(),
  leadId: text('lead_id').notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.mergedLeadId] }), index('lead_aliases_lead').on(t.siteId, t.leadId)]);

export const stageChanges = pgTable('stage_changes', {
  siteId: text('site_id').notNull(),
  leadId: text('lead_id').notNull(),
  toStage: text('to_stage').notNull(),
  fromStage: text('from_stage'),
  at: bigint('at', { mode: 'number' }).notNull(),
  eventId: text('event_id'),
  rule: text('rule'),
  /** when the lead entered from_stage (null for the first stage entered): time in stage without a self-join */
  fromAt: bigint('from_at', { mode: 'number' }),
}, (t) => [
  primaryKey({ columns: [t.siteId, t.leadId, t.toStage] }),
  // funnel report: time in stage of leads that entered a stage in a period and moved on (lead_id: breakdowns)
  index('stage_changes_dwell').on(t.siteId, t.fromStage, t.fromAt, t.at, t.leadId),
  // funnel report breakdowns: the leads that entered a stage in a period, from the index alone
  index('stage_changes_entered').on(t.siteId, t.toStage, t.at, t.leadId),
]);

export const scoreChanges = pgTable('score_changes', {
  siteId: text('site_id').notNull(),
  changeId: text('change_id').notNull(),
  leadId: text('lead_id').notNull(),
  at: bigint('at', { mode: 'number' }).notNull(),
  eventId: text('event_id'),
  rule: text('rule').notNull(),
  points: real('points').notNull(),
  scoreAfter: real('score_after').notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.changeId] }), index('score_changes_lead').on(t.siteId, t.leadId, t.at)]);

export const segments = pgTable('segments', {
  siteId: text('site_id').notNull(),
  segmentKey: text('segment_key').notNull(),
  name: text('name').notNull(),
  definition: text('definition').notNull(),
  memberCount: integer('member_count').notNull().default(0),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.segmentKey] })]);

// Live member counts: segments.member_count plus the sum of these rows. A flush adds its change to one of a few
// shard rows picked at random, so concurrent flushes (several collectors) rarely wait on one another's row lock.
export const segmentCounts = pgTable('segment_counts', {
  siteId: text('site_id').notNull(),
  segmentKey: text('segment_key').notNull(),
  shard: integer('shard').notNull(),
  n: integer('n').notNull().default(0),
}, (t) => [primaryKey({ columns: [t.siteId, t.segmentKey, t.shard] })]);

export const segmentMembers = pgTable('segment_members', {
  siteId: text('site_id').notNull(),
  segmentKey: text('segment_key').notNull(),
  leadId: text('lead_id').notNull(),
  enteredAt: bigint('entered_at', { mode: 'number' }).notNull(),
  recheckAt: bigint('recheck_at', { mode: 'number' }),
}, (t) => [primaryKey({ columns: [t.siteId, t.segmentKey, t.leadId] }), index('segment_members_lead').on(t.siteId, t.leadId, t.segmentKey)]);

export const segmentChanges = pgTable('segment_changes', {
  siteId: text('site_id').notNull(),
  changeId: text('change_id').notNull(),
  segmentKey: text('segment_key').notNull(),
  leadId: text('lead_id').notNull(),
  kind: text('kind').notNull(),
  at: bigint('at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.changeId] }), index('segment_changes_lead').on(t.siteId, t.leadId, t.at)]);

export const segmentRechecks = pgTable('segment_rechecks', {
  siteId: text('site_id').notNull(),
  leadId: text('lead_id').notNull(),
  dueAt: bigint('due_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.leadId] }), index('segment_rechecks_due').on(t.dueAt)]);

export const siteConfig = pgTable('site_config', {
  siteId: text('site_id').notNull(),
  kind: text('kind').notNull(),
  body: text('body').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.kind] })]);

export const webhooks = pgTable('webhooks', {
  siteId: text('site_id').notNull(),
  webhookId: text('webhook_id').notNull(),
  url: text('url').notNull(),
  secret: text('secret').notNull(),
  events: text('events').notNull(),
  active: integer('active').notNull().default(1),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.webhookId] })]);

export const webhookDeliveries = pgTable('webhook_deliveries', {
  siteId: text('site_id').notNull(),
  deliveryId: text('delivery_id').notNull(),
  webhookId: text('webhook_id').notNull(),
  eventType: text('event_type').notNull(),
  payload: text('payload').notNull(),
  status: text('status').notNull(),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: bigint('next_attempt_at', { mode: 'number' }).notNull(),
  lastStatus: integer('last_status'),
  lastError: text('last_error'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  deliveredAt: bigint('delivered_at', { mode: 'number' }),
}, (t) => [primaryKey({ columns: [t.siteId, t.deliveryId] }), index('webhook_deliveries_due').on(t.status, t.nextAttemptAt), index('webhook_deliveries_hook').on(t.siteId, t.webhookId, t.createdAt)]);

export const rejectedEvents = pgTable('rejected_events', {
  siteId: text('site_id').notNull().default(''),
  rejectedId: text('rejected_id').notNull(),
  reason: text('reason').notNull(),
  message: text('message').notNull(),
  route: text('route').notNull(),
  raw: text('raw').notNull(),
  receivedAt: bigint('received_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.rejectedId] }), index('rejected_events_at').on(t.siteId, t.receivedAt)]);

/**
 * Erasure tombstones (storage/erasure-tombstones.ts): events of an erased lead's devices or email with a time in
 * from_at..to_at are dropped when they come again. The subject is a domain-separated SHA-256 of site, kind and raw id;
 * no lead_id, visitor_id or email column, so a later erasure's catalog sweep leaves these rows alone.
 */
export const erasureTombstones = pgTable('erasure_tombstones', {
  siteId: text('site_id').notNull(),
  subjectHash: text('subject_hash').notNull(),
  fromAt: bigint('from_at', { mode: 'number' }).notNull(),
  toAt: bigint('to_at', { mode: 'number' }).notNull(),
  erasedAt: bigint('erased_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.subjectHash, t.fromAt] })]);

/**
 * One-time data steps run after the migrations (storage/canonicalize-stored-emails.ts): a row per step done, so a
 * restart does not scan again. A step over every site at once is kept under site_id '' (as refused input of an unknown
 * site is).
 */
export const dataSteps = pgTable('data_steps', {
  siteId: text('site_id').notNull().default(''),
  name: text('name').notNull(),
  doneAt: bigint('done_at', { mode: 'number' }).notNull(),
}, (t) => [primaryKey({ columns: [t.siteId, t.name] })]);
