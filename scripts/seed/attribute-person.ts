// The seed's attribution: the same identity rule and the funnel engine's pure fold that live ingest applies,
// computed per person in memory so millions of rows can be written directly.
//   first sight: an anonymous lead per device; first email: that lead claims it; the email on another device:
//   that device's anonymous lead merges in (its history moves). Stages, scores, MQL/SQL come from foldLead.
import type { EnrichedEvent } from '../../collector/ingest/types.js';
import type { CompiledFunnel } from '../../collector/funnel/compile-funnel.js';
import { foldLead } from '../../collector/funnel/fold-lead.js';
import { emptyFold } from '../../collector/funnel/lead-fold.js';
import { foldToUpdate } from '../../collector/funnel/lead-fold-row.js';
import { TOUCH_KEY_COLUMNS, touchKeyValues } from '../../collector/storage/leads.js';
import { anonymousLeadId } from '../../collector/identity/anonymous-lead-id.js';
import { campaignKey } from '../../collector/ingest/sessions.js';
import { writtenLead, type WrittenLead } from '../../collector/segments/update-memberships.js';
import type { PersonJourney } from './journeys.js';

export interface SeedRows {
  events: unknown[][];
  visitors: unknown[][];
  leads: unknown[][];
  links: unknown[][];
  stageChanges: unknown[][];
  scoreChanges: unknown[][];
  /** the leads written, as segment membership reads them (every event in hand, so it reads nothing back) */
  segmentLeads: Map<string, WrittenLead>;
}

export const emptyRows = (): SeedRows => ({
  events: [], visitors: [], leads: [], links: [], stageChanges: [], scoreChanges: [], segmentLeads: new Map(),
});

export const VISITOR_COLUMNS = [
  'site_id', 'visitor_id', 'lead_id', 'first_seen', 'last_seen', 'session_id', 'session_started', 'session_campaign', 'session_count',
  'event_count', 'first_touch', 'last_touch', 'browser', 'os', 'device', 'is_bot',
];
export const LEAD_COLUMNS = [
  'site_id', 'lead_id', 'email', 'traits', 'stage', 'stage_rank', 'stage_at', 'score', 'score_at', 'mql', 'mql_at', 'sql', 'sql_at',
  'first_touch', 'last_touch', 'state', 'created_at', 'updated_at', 'identified_at', 'version', 'opted_out', 'is_bot',
  ...TOUCH_KEY_COLUMNS, 'mql_announced_at',
];
export const LINK_COLUMNS = ['site_id', 'visitor_id', 'from_at', 'to_at', 'lead_id', 'email', 'event_id', 'reason', 'created_at'];
export const STAGE_COLUMNS = ['site_id', 'lead_id', 'to_stage', 'from_stage', 'at', 'event_id', 'rule', 'from_at'];
export const SCORE_COLUMNS = ['site_id', 'change_id', 'lead_id', 'at', 'event_id', 'rule', 'points', 'score_after'];

interface LeadBuild {
  leadId: string;
  email: string | null;
  createdAt: number;
  identifiedAt: number | null;
  events: EnrichedEvent[];
}

/** Appends the rows of one person; `eventRow` turns an event into its column values (EVENT_COLUMNS order). */
export function attributePerson(
  funnel: CompiledFunnel, siteId: string, p: PersonJourney, eventRow: (e: EnrichedEvent) => unknown[], rows: SeedRows,
): void {
  const leadOfDevice = new Map<string, string>();
  const leads = new Map<string, LeadBuild>();
  const linksOf = new Map<string, Array<{ fromAt: number; toAt: number | null; leadId: string; email: string | null; eventId: string; reason: string }>>();
  const humans = p.devices.filter((d) => !d.isBot && d.events.length);
  for (const d of humans) {
    const leadId = anonymousLeadId(siteId, d.visitorId);
    const first = d.events[0];
    leadOfDevice.set(d.visitorId, leadId);
    leads.set(leadId, { leadId, email: null, createdAt: first.at, identifiedAt: null, events: [] });
    linksOf.set(d.visitorId, [{ fromAt: first.at, toAt: null, leadId, email: null, eventId: first.eventId, reason: 'first_seen' }]);
  }
  // identity changes in time order across the person's devices
  const identifies = humans.flatMap((d) => d.events.filter((e) => e.email).map((e) => ({ d, e }))).sort((a, b) => a.e.at - b.e.at);
  let owner: string | null = null;
  const startLink = (visitorId: string, at: number, leadId: string, email: string, eventId: string, reason: string) => {
    const list = linksOf.get(visitorId)!;
    const open = list[list.length - 1];
    if (open.fromAt === at) Object.assign(open, { leadId, email, eventId, reason });
    else {
      open.toAt = at;
      list.push({ fromAt: at, toAt: null, leadId, email, eventId, reason });
    }
  };
  for (const { d, e } of identifies) {
    const current = leadOfDevice.get(d.visitorId)!;
    if (current === owner) continue;
    if (owner === null) {
      owner = current;
      const l = leads.get(current)!;
      l.email = e.email;
      l.identifiedAt = e.at;
      startLink(d.visitorId, e.at, current, e.email!, e.eventId, 'identified');
    } else {
      // the anonymous lead of this device merges into the owner: links re-pointed, row gone
      for (const link of linksOf.get(d.visitorId)!) link.leadId = owner;
      leads.delete(current);
      leadOfDevice.set(d.visitorId, owner);
      startLink(d.visitorId, e.at, owner, e.email!, e.eventId, 'merged');
    }
  }
  for (const d of humans) leads.get(leadOfDevice.get(d.visitorId)!)!.events.push(...d.events);
  if (owner) {
    const srvVisitor = `srv:${owner}`;
    for (const e of p.serverEvents) leads.get(owner)!.events.push({ ...e, visitorId: srvVisitor, leadId: owner });
  }

  for (const l of leads.values()) {
    // a lead begins with its first event, as live attribution says: a merged device or a backdated CRM event may be earlier
    l.createdAt = l.events.reduce((min, e) => Math.min(min, e.at), l.createdAt);
    const { fold, stageChanges, scoreChanges } = foldLead(funnel, emptyFold(funnel.version), l.events);
    let last = l.createdAt;
    for (const e of l.events) {
      if (e.at > last) last = e.at;
      const row = eventRow(e);
      row[3] = l.leadId; // lead_id
      row[row.length - 1] = 1; // attributed
      rows.events.push(row);
    }
    const u = foldToUpdate(funnel, fold, l.createdAt, last);
    rows.leads.push([
      siteId, l.leadId, l.email, u.traits, u.stage, u.stageRank, u.stageAt, u.score, u.scoreAt, u.mqlAt === null ? 0 : 1, u.mqlAt,
      u.sqlAt === null ? 0 : 1, u.sqlAt, u.firstTouch, u.lastTouch, u.state, l.createdAt, last, l.identifiedAt, 1, 0, 0,
      // live attribution marks the lead.mql it tells with the crossing (README "Scores"): a seeded MQL is told already
      ...touchKeyValues(u.firstTouch, u.lastTouch), u.mqlAt,
    ]);
    rows.segmentLeads.set(l.leadId, {
      ...writtenLead(l.leadId, u, l.email, 0),
      allEvents: l.events.map((e) => ({ name: e.name, path: e.path, props: e.props as Record<string, string | number | boolean> | null, at: e.at, source: e.source })),
    });
    for (const c of stageChanges) rows.stageChanges.push([siteId, l.leadId, c.to, c.from, c.at, c.eventId, c.rule, c.fromAt]);
    for (const c of scoreChanges) rows.scoreChanges.push([siteId, c.changeId, l.leadId, c.at, c.eventId, c.rule, c.points, c.scoreAfter]);
  }
  for (const d of p.devices) {
    if (!d.events.length) continue;
    if (d.isBot) for (const e of d.events) rows.events.push(eventRow(e));
    const lastSession = d.sessions[d.sessions.length - 1];
    const leadId = leadOfDevice.get(d.visitorId) ?? null;
    rows.visitors.push([
      siteId, d.visitorId, leadId, d.events[0].at, d.events[d.events.length - 1].at, lastSession.sessionId, lastSession.started,
      campaignKey(lastSession.touch), d.sessions.length, d.events.length, JSON.stringify(d.sessions[0].touch), JSON.stringify(lastSession.touch),
      d.browser, d.os, d.device, d.isBot ? 1 : 0,
    ]);
    for (const link of linksOf.get(d.visitorId) ?? []) {
      rows.links.push([siteId, d.visitorId, link.fromAt, link.toAt, link.leadId, link.email, link.eventId, link.reason, link.fromAt]);
    }
  }
}
