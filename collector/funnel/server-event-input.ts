// The body of POST /api/events: one server-side event or an array of them, checked against the limits.
import { z } from '@hono/zod-openapi'; // the openapi-extended zod: these schemas are also documented
import { EVENT_NAME_RE, EVENT_NAME_RULE } from '../../shared/events.js';
import { LIMITS } from '../../shared/limits.js';
import { EMAIL_RE } from '../ingest/validate.js';
import { canonicalEmail } from '../identity/canonical-email.js';

/** An id of POST /api/events (an event's, a visitor's): find-lead.ts reads a ref by the same rule. */
export const idText = z.string().min(1).max(LIMITS.idChars).regex(/^[A-Za-z0-9_.:@-]+$/, 'may hold only letters, digits and _ . : @ -');
const value = z.string().max(LIMITS.valueChars);
const bounded = (o: object) => Object.keys(o).length <= LIMITS.propKeys;

/**
 * A time as CRMs write it, made ISO 8601 or a number: a date alone is midnight UTC ("2026-11-24"), an offset without
 * a colon gets one ("…+0000", Salesforce), an offset of hours alone gets ":00" ("…+01", PostgreSQL's timestamptz text),
 * a space may stand for the T, and digits are epoch milliseconds.
 */
export function normalizeTime(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s + 'T00:00:00Z';
  return s
    .replace(/^(\d{4}-\d{2}-\d{2}) (?=\d{2}:)/, '$1T')
    .replace(/(T[\d:.]+[+-]\d{2})(\d{2})$/, '$1:$2')
    .replace(/(T[\d:.]+[+-]\d{2})$/, '$1:00');
}

/** Trait values a CRM writes as numbers (a zip, a phone) are taken as their digits, as the snippet's fields are text. */
function numbersAsText(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'number' && Number.isFinite(x) ? String(x) : x]));
}

export const serverEventSchema = z
  .strictObject({
    /** client id of the event: a retry with the same id is stored once */
    id: idText.optional(),
    /** the lead by email (one spelling: canonical-email.ts); an unknown email makes a lead */
    email: z.string().overwrite(canonicalEmail).max(254).regex(EMAIL_RE, 'not an email address').optional(),
    /** the lead by id */
    leadId: idText.optional(),
    /** the lead by a visitor id the snippet gave out (`funnelbeam('visitorId', cb)`); with `email` it identifies that visitor */
    visitorId: idText.optional(),
    name: z.string().trim().min(1).max(LIMITS.nameChars).regex(EVENT_NAME_RE, EVENT_NAME_RULE),
    /** when it happened: ISO 8601 (with Z or an offset, or a date: midnight UTC) or epoch ms; default now */
    at: z.preprocess(normalizeTime, z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()])).optional(),
    props: z.record(z.string().min(1).max(LIMITS.propKeyChars), z.union([value, z.number().finite(), z.boolean()])).refine(bounded, `at most ${LIMITS.propKeys} props`).optional(),
    /** phone, firstName, lastName, company, jobTitle, country, city, state, zip; a number is taken as its digits */
    traits: z.preprocess(numbersAsText, z.record(z.string().min(1).max(LIMITS.propKeyChars), value).refine(bounded, `at most ${LIMITS.propKeys} traits`)).optional(),
  })
  .refine((e) => e.email !== undefined || e.leadId !== undefined || e.visitorId !== undefined, 'name the lead: email, leadId or visitorId')
  .refine((e) => !(e.leadId !== undefined && (e.email !== undefined || e.visitorId !== undefined)), 'leadId goes alone, without email or visitorId');

export type ServerEventInput = z.infer<typeof serverEventSchema>;

/**
 * The lead id inside `srv:<leadId>`, the visitor id that server events named by email or lead id are stored under (and
 * that the timeline shows): a client that sends it back means that lead, not a new device. Null for any other id.
 */
export function serverVisitorLead(visitorId: string): string | null {
  return visitorId.startsWith('srv:') && visitorId.length > 4 ? visitorId.slice(4) : null;
}

/** `visitorId: "srv:<leadId>"` alone is that lead's id; with an email it cannot identify a device (it names none). */
function readServerVisitor(input: ServerEventInput): ServerEventInput | string {
  const leadId = input.visitorId === undefined ? null : serverVisitorLead(input.visitorId);
  if (leadId === null) return input;
  if (input.email !== undefined) return 'visitorId: a "srv:" id names a lead, not a device; send leadId or email';
  const { visitorId: _, ...rest } = input;
  return { ...rest, leadId };
}

export const serverEventsBodySchema = z.union([
  serverEventSchema,
  z.array(serverEventSchema).min(1, 'no events').max(LIMITS.apiBatchEvents, `at most ${LIMITS.apiBatchEvents} events per request`),
]);

/** One item of the body: parsed, or refused with the reason that names its index and field. */
export type ServerEventItem =
  | { ok: true; index: number; input: ServerEventInput }
  | { ok: false; index: number; id: string | null; message: string; raw: unknown };

export type ParsedServerEvents = { ok: true; items: ServerEventItem[]; isArray: boolean } | { ok: false; message: string };

/** Under this an epoch number is not milliseconds of this century but seconds (1e11 ms is March 1973). */
const EPOCH_SECONDS_BELOW = 1e11;

/** Parses a POST /api/events body: a broken body fails as a whole, a bad event inside an array only itself. Pure. */
export function parseServerEvents(text: string): ParsedServerEvents {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'body is not valid JSON' };
  }
  const isArray = Array.isArray(json);
  const list: unknown[] = isArray ? (json as unknown[]) : [json];
  if (isArray && list.length === 0) return { ok: false, message: 'no events' };
  if (list.length > LIMITS.apiBatchEvents) return { ok: false, message: `at most ${LIMITS.apiBatchEvents} events per request` };
  const items = list.map((raw, index): ServerEventItem => {
    const prefix = isArray ? index + '.' : '';
    const given = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
    const r = serverEventSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      const path = [...(isArray ? [index] : []), ...issue.path].join('.');
      return { ok: false, index, id: given, message: `${path ? path + ': ' : ''}${issue.message}`, raw };
    }
    if (typeof r.data.at === 'number' && r.data.at < EPOCH_SECONDS_BELOW) {
      return { ok: false, index, id: given, message: `${prefix}at: epoch numbers are milliseconds (this looks like seconds)`, raw };
    }
    const input = readServerVisitor(r.data);
    if (typeof input === 'string') return { ok: false, index, id: given, message: prefix + input, raw };
    return { ok: true, index, input };
  });
  return { ok: true, items, isArray };
}
