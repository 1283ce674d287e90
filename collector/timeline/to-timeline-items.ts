// Storage rows → timeline items with their sort keys: one pure mapper per source.
import type { EventRow, LinkRow, ScoreRow, SegmentChangeRow, StageRow } from '../storage/timeline.js';
import { KIND_RANK, type KeyedItem } from './timeline-item.js';

const iso = (ms: number) => new Date(Number(ms)).toISOString();

function parseJson(text: string | null): unknown {
  if (text == null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function eventItem(r: EventRow): KeyedItem {
  const at = Number(r.at);
  const utm: Record<string, string> = {};
  if (r.utm_source) utm.source = r.utm_source;
  if (r.utm_medium) utm.medium = r.utm_medium;
  if (r.utm_campaign) utm.campaign = r.utm_campaign;
  if (r.utm_term) utm.term = r.utm_term;
  if (r.utm_content) utm.content = r.utm_content;
  return {
    key: { at, rank: KIND_RANK.event, id: r.event_id },
    item: {
      kind: 'event',
      name: r.name,
      at: iso(at),
      id: r.event_id,
      visitorId: r.visitor_id,
      sessionId: r.session_id,
      source: r.source,
      url: r.url,
      path: r.path,
      referrer: r.referrer || null,
      form: r.form,
      props: parseJson(r.props),
      channel: r.channel,
      utm: Object.keys(utm).length ? utm : null,
      clickId: r.click_id,
      browser: r.browser,
      os: r.os,
      device: r.device,
      email: r.email,
      traits: parseJson(r.traits),
      attributed: r.lead_id != null,
    },
  };
}

export function linkItems(r: LinkRow): KeyedItem[] {
  const from = Number(r.from_at);
  const base = { visitorId: r.visitor_id, email: r.email, reason: r.reason, eventId: r.event_id };
  const id = `${r.visitor_id}@${from}`;
  const items: KeyedItem[] = [
    { key: { at: from, rank: KIND_RANK.identity, id }, item: { kind: 'identity', name: 'identity_linked', at: iso(from), id, ...base } },
  ];
  if (r.to_at != null) {
    const to = Number(r.to_at);
    items.push({
      key: { at: to, rank: KIND_RANK.identity, id: id + '~end' },
      item: { kind: 'identity', name: 'identity_unlinked', at: iso(to), id: id + '~end', ...base },
    });
  }
  return items;
}

/**
 * Stage items of one lead. One event can enter several stages in the same millisecond (a second session that is also a
 * pricing view enters interest, then consideration): their sort key follows that chain, so newest first shows the
 * stage the lead is in above the one it passed through (the stage names would order them alphabetically).
 */
export function stageItems(rows: StageRow[]): KeyedItem[] {
  const byAt = new Map<number, StageRow[]>();
  for (const r of rows) {
    const at = Number(r.at);
    const group = byAt.get(at);
    if (group) group.push(r);
    else byAt.set(at, [r]);
  }
  return rows.map((r) => {
    const at = Number(r.at);
    const group = byAt.get(at)!;
    // a lead enters each stage at most once, so following `from` back through the group counts the steps before r
    let steps = 0;
    for (let from = r.from_stage; steps < group.length; steps++) {
      const prev = group.find((g) => g.to_stage === from);
      if (!prev) break;
      from = prev.from_stage;
    }
    return {
      key: { at, rank: KIND_RANK.stage, id: `${String(steps).padStart(2, '0')}:${r.to_stage}` },
      item: { kind: 'stage', name: 'stage_changed', at: iso(at), id: r.to_stage, from: r.from_stage, to: r.to_stage, rule: r.rule, eventId: r.event_id },
    };
  });
}

/**
 * A score item keyed by its change id, which sorts the awards of one millisecond in the order they were applied
 * (scoreChangeId), so newest first shows the current score on top and the SQL's keyset order is the merge's.
 * Rows written before that id (`<eventId>:<ruleId>`) keep a total order, by rule name, until a replay rewrites them.
 */
export function scoreItem(r: ScoreRow): KeyedItem {
  const at = Number(r.at);
  return {
    key: { at, rank: KIND_RANK.score, id: r.change_id },
    item: {
      kind: 'score',
      name: 'score_changed',
      at: iso(at),
      id: r.change_id,
      points: Number(r.points),
      rule: r.rule,
      scoreAfter: Number(r.score_after),
      eventId: r.event_id,
    },
  };
}

export function segmentItem(r: SegmentChangeRow): KeyedItem {
  const at = Number(r.at);
  const change = /^exit/i.test(r.kind) ? 'exited' : 'entered';
  return {
    key: { at, rank: KIND_RANK.segment, id: r.change_id },
    item: { kind: 'segment', name: `segment_${change}`, at: iso(at), id: r.change_id, segment: r.segment_key, change },
  };
}
