// GET /api/leads: a filtered page of lead profiles, newest activity first or in lead-id order, with an opaque keyset cursor.
import type { Deps } from '../context.js';
import { unicodeDomain } from '../identity/canonical-email.js';
import { listLeadRows, listSegmentKeysOfLeads, listVisitorIdsOfLeads, type LeadOrder } from '../storage/lead-reads.js';
import { hasSegment } from '../storage/audience-members.js';
import { cursorScope, decodeCursor, encodeCursor } from './cursor.js';
import { loadFunnel } from './load-funnel.js';
import { toLeadProfile, type LeadProfile } from './to-lead-profile.js';

export const LEADS_PAGE = { defaultLimit: 50, maxLimit: 500 } as const;

export interface LeadListQuery {
  stage?: string;
  segment?: string;
  q?: string;
  identified?: boolean;
  mql?: boolean;
  sql?: boolean;
  /** 'activity' (default): newest activity first; 'id': a stable order that pages every lead exactly once */
  order?: LeadOrder;
  limit?: number;
  cursor?: string;
}

export type LeadListResult =
  | { ok: true; page: { items: LeadProfile[]; nextCursor: string | null } }
  | { ok: false; code: 'invalid_cursor' | 'invalid_request' | 'not_found'; message: string };

/** A punycode label (`xn--…`) at the start of `q`, after its `@` or after a dot. */
const PUNYCODE_LABEL = /(^|[@.])xn--/i;

/**
 * The `q` a client meant: a `+` written unencoded in a query string (`q=ada+crm`, a `+` address) arrives as a space,
 * and an email never holds a space, so a space inside it is read as the `+` it was. Emails are stored with the domain
 * in Unicode (canonicalEmail), so a domain written in punycode, as a browser's email field gives it
 * (`anna@xn--bcher-kva.example`, `xn--bcher-kva.example`), is searched in that spelling (`anna@bücher.example`).
 */
export function emailPart(q: string): string {
  const part = q.trim().replace(/ /g, '+');
  if (!PUNYCODE_LABEL.test(part)) return part;
  const at = part.lastIndexOf('@');
  return part.slice(0, at + 1) + unicodeDomain(part.slice(at + 1).toLowerCase());
}

/** A filter sent empty (a cleared search box or select) filters nothing, as an absent one. */
const given = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v);

export async function listLeads(deps: Deps, siteId: string, sent: LeadListQuery): Promise<LeadListResult> {
  const query = { ...sent, stage: given(sent.stage), segment: given(sent.segment), q: given(sent.q) };
  const limit = Math.min(query.limit ?? LEADS_PAGE.defaultLimit, LEADS_PAGE.maxLimit);
  const order = query.order ?? 'activity';
  const q = query.q === undefined ? undefined : emailPart(query.q);
  // mql and sql join the scope only when given, so cursors made before they existed stay valid
  const flags = query.mql === undefined && query.sql === undefined ? [] : [query.mql, query.sql];
  const scope = cursorScope(siteId, order, query.stage, query.segment, q?.toLowerCase(), query.identified, ...flags);
  let after: { updatedAt?: number; leadId: string } | undefined;
  if (query.cursor) {
    // each order has its own cursor shape, so a cursor of one order is refused by the other
    const parts = order === 'id' ? decodeCursor(query.cursor, ['string', 'string']) : decodeCursor(query.cursor, ['number', 'string', 'string']);
    if (!parts) return { ok: false, code: 'invalid_cursor', message: 'cursor is not one this API returned (for this order)' };
    if (parts[parts.length - 1] !== scope) return { ok: false, code: 'invalid_cursor', message: 'cursor was made for other filters (stage, segment, q, identified, mql, sql) or another site' };
    after = order === 'id' ? { leadId: parts[0] as string } : { updatedAt: parts[0] as number, leadId: parts[1] as string };
  }
  // a filter that names nothing is a mistake to point out, not an empty list
  const funnel = await loadFunnel(deps.db, siteId);
  if (query.stage !== undefined && !funnel.stages.includes(query.stage)) {
    return { ok: false, code: 'invalid_request', message: `stage: one of ${funnel.stages.join(', ')}` };
  }
  if (query.segment !== undefined && !(await hasSegment(deps.db, siteId, query.segment))) {
    return { ok: false, code: 'not_found', message: `segment: no segment "${query.segment}" on this site` };
  }
  const rows = await listLeadRows(deps.db, siteId, {
    stage: query.stage,
    segment: query.segment,
    q,
    identified: query.identified,
    mql: query.mql,
    sql: query.sql,
    order,
    after,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const ids = page.map((r) => r.lead_id);
  const [visitors, segments] = await Promise.all([listVisitorIdsOfLeads(deps.db, siteId, ids), listSegmentKeysOfLeads(deps.db, siteId, ids)]);
  const now = deps.now();
  const items = page.map((r) =>
    toLeadProfile(r, { visitorIds: visitors.get(r.lead_id) ?? [], segments: segments.get(r.lead_id) ?? [], now, halfLifeMs: funnel.halfLifeMs }),
  );
  const last = page[page.length - 1];
  const key = (r: typeof last) => (order === 'id' ? [r.lead_id, scope] : [Number(r.updated_at), r.lead_id, scope]);
  const nextCursor = rows.length > limit && last ? encodeCursor(key(last)) : null;
  return { ok: true, page: { items, nextCursor } };
}
