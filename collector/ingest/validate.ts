// Step 1 of POST /e: parse the text body and check it against the wire schema and limits.
// A bad batch is a Rejection; bad events inside a good batch are rejected one by one, the rest go on. An event's
// optional parts that break a limit are cut or dropped first (salvage-event.ts), so they never cost the event.
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.js';
import { CLICK_IDS, EVENT_NAME_RE, EVENT_NAME_RULE, FORM_KINDS, TRAIT_KEYS, UTM_KEYS } from '../../shared/events.js';
import type { WireBatch, WireEvent } from '../../shared/wire.js';
import type { Rejection } from './types.js';
import { EMAIL_RE, hasForeignScheme, isScriptUrl, salvageEvent, type SalvageNote } from './salvage-event.js';

export { EMAIL_RE };

const id = z.string().min(8).max(LIMITS.idChars).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold only letters, digits and _ . : -');
const value = z.string().max(LIMITS.valueChars);
const url = z.string().max(LIMITS.urlChars);
/** A page URL: any text (a relative one reads as no path), but never an absolute URL of another scheme than http(s). */
const pageUrl = url.refine((u) => !hasForeignScheme(u), 'not an http(s) URL');
/** A referrer or landing URL: a script scheme is refused here so that salvage drops it (salvage-event.ts). */
const linkUrl = url.refine((r) => !isScriptUrl(r), 'not an http(s) URL');
const touchShape: Record<string, z.ZodType> = { ref: linkUrl.optional(), url: linkUrl.optional(), at: z.number().finite().optional() };
for (const k of [...UTM_KEYS, ...CLICK_IDS]) touchShape[k] = value.optional();
const touch = z.object(touchShape).strip();

/** A prop or trait key. zod passes over a `__proto__` key without a word: hasReservedKey sends such an event to salvage. */
const propKey = z.string().min(1).max(LIMITS.propKeyChars);
const ownProto = (o: unknown) => typeof o === 'object' && o !== null && Object.prototype.hasOwnProperty.call(o, '__proto__');
const hasReservedKey = (raw: unknown) => ownProto((raw as WireEvent | null)?.p) || ownProto((raw as WireEvent | null)?.tr);
const props = z
  .record(propKey, z.union([value, z.number().finite(), z.boolean()]))
  .refine((o) => Object.keys(o).length <= LIMITS.propKeys, `at most ${LIMITS.propKeys} props`);

const traits = z
  .record(propKey, value)
  .refine((o) => Object.keys(o).length <= LIMITS.propKeys, `at most ${LIMITS.propKeys} traits`);

export const wireEventSchema = z
  .object({
    i: id,
    n: z.string().trim().min(1).max(LIMITS.nameChars).regex(EVENT_NAME_RE, EVENT_NAME_RULE),
    t: z.number().int().nonnegative(),
    u: pageUrl,
    r: linkUrl.optional(),
    p: props.optional(),
    ft: touch.optional(),
    st: touch.optional(),
    em: z.string().max(254).optional(),
    tr: traits.optional(),
    f: z.enum(FORM_KINDS).optional(),
  })
  .strip();

/** An event id or visitor id as the wire schema's `id` reads it. */
const ID_RE = /^[A-Za-z0-9_.:-]+$/;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 8 && v.length <= LIMITS.idChars && ID_RE.test(v);
const isPlainRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
/** The keys of an event plainEvent reads; an event with any other (props, touches, traits, unknown) goes to zod. */
const PLAIN_KEYS = new Set(['i', 'n', 't', 'u', 'r', 'em', 'f']);

/**
 * An event of the usual shape (page views, clicks: no props, touches or traits) that the wire schema accepts, as the
 * schema gives it back (`n` trimmed, keys in the schema's order); null for anything else, which zod then parses and
 * explains. Accepts only what wireEventSchema accepts: about 1.5 µs an event less than zod on node 20.
 */
function plainEvent(raw: unknown): WireEvent | null {
  if (!isPlainRecord(raw)) return null;
  for (const k in raw) if (!PLAIN_KEYS.has(k)) return null;
  const { i, n, t, u } = raw;
  if (!isId(i) || typeof n !== 'string' || typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) return null;
  const name = n.trim();
  if (name.length < 1 || name.length > LIMITS.nameChars || !EVENT_NAME_RE.test(name)) return null;
  if (typeof u !== 'string' || u.length > LIMITS.urlChars || hasForeignScheme(u)) return null;
  const ev: WireEvent = { i, n: name, t, u };
  if ('r' in raw) {
    const r = raw.r;
    if (typeof r !== 'string' || r.length > LIMITS.urlChars || isScriptUrl(r)) return null;
    ev.r = r;
  }
  if ('em' in raw) {
    const em = raw.em;
    if (typeof em !== 'string' || em.length > 254) return null;
    ev.em = em;
  }
  if ('f' in raw) {
    const f = raw.f;
    if (!(FORM_KINDS as readonly unknown[]).includes(f)) return null;
    ev.f = f as WireEvent['f'];
  }
  return ev;
}

const batchHead = z.object({
  s: z.string().min(1).max(LIMITS.idChars),
  v: id,
  e: z.array(z.unknown()).min(1, 'no events').max(LIMITS.batchEvents, `at most ${LIMITS.batchEvents} events per batch`),
  // the device's clock at sending and the data-local mark: a bad one is ignored, never the batch's undoing
  t: z.number().int().nonnegative().optional().catch(undefined),
  l: z.string().max(LIMITS.valueChars).optional().catch(undefined),
});

type BatchHead = { s: string; v: string; e: unknown[]; t?: number; l?: string };

/**
 * A batch head that batchHead accepts with every field as sent (its `t` and `l` valid or absent), as batchHead gives
 * it back; null for anything else, which zod then parses (a bad `t` or `l` is dropped there, a bad field explained).
 */
function plainHead(json: unknown): BatchHead | null {
  if (!isPlainRecord(json)) return null;
  const { s, v, e } = json;
  if (typeof s !== 'string' || s.length < 1 || s.length > LIMITS.idChars || !isId(v)) return null;
  if (!Array.isArray(e) || e.length < 1 || e.length > LIMITS.batchEvents) return null;
  const head: BatchHead = { s, v, e };
  if ('t' in json) {
    const t = json.t;
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) return null;
    head.t = t;
  }
  if ('l' in json) {
    const l = json.l;
    if (typeof l !== 'string' || l.length > LIMITS.valueChars) return null;
    head.l = l;
  }
  return head;
}

export { TRAIT_KEYS };

export interface EventProblem {
  index: number;
  eventId: string | null;
  message: string;
  raw: unknown;
}

/** A stored event that salvage changed: what it was sent as, and what was cut or dropped. */
export interface EventRepair {
  index: number;
  eventId: string;
  notes: SalvageNote[];
  raw: unknown;
}

export type ParsedBatch =
  | {
      ok: true;
      batch: WireBatch;
      problems: EventProblem[];
      repairs: EventRepair[];
      /** the index each event of `batch.e` had in the batch as sent (events refused here leave gaps) */
      indexes: number[];
    }
  | { ok: false; rejection: Rejection; siteKey?: string };

const describe = (err: z.ZodError) => {
  const issue = err.issues[0];
  return `${issue.path.join('.') || 'body'}: ${issue.message}`;
};

/**
 * The site key a body that is no JSON (cut short, over the size cap) opens with: `{"s":"…"` as the snippet writes it,
 * after the batch's other short fields at most. Only for the rejected store, so that the site's admin sees the refusal.
 */
export function siteKeyOfHead(text: string): string | undefined {
  return /^\uFEFF?\s*\{(?:\s*"[vtl]"\s*:\s*(?:"[^"\\]*"|-?\d+)\s*,)*\s*"s"\s*:\s*"([^"\\]{1,64})"/.exec(text)?.[1];
}

/**
 * A batch wrapped one level too deep: encoded twice (a JSON string holding it, as Python's
 * `requests.post(url, json=json.dumps(batch))` sends it) or inside an array. Refused like any other body that is no
 * object, but with a message that says what to send, and with the site key it names, so that the site's admin finds the
 * refusal; null for anything else.
 */
function wrappedBatch(json: unknown): { siteKey: string; message: string } | null {
  let inner: unknown;
  let what: string;
  if (typeof json === 'string') {
    try {
      inner = JSON.parse(json);
    } catch {
      return null;
    }
    what = 'a JSON string that holds a batch (encoded twice); send the batch object itself';
  } else if (Array.isArray(json)) {
    inner = json[0];
    what = 'an array; a batch is one object: send each batch alone';
  } else return null;
  const s = isPlainRecord(inner) ? inner.s : undefined;
  return typeof s === 'string' && s ? { siteKey: s.slice(0, LIMITS.idChars), message: `body: expected object, received ${what}` } : null;
}

/** A parsed event that needs no salvage: valid, with an email (if any) that reads as one. */
const usable = (r: z.ZodSafeParseResult<unknown>) => r.success && ((r.data as WireEvent).em === undefined || EMAIL_RE.test((r.data as WireEvent).em!.trim()));

/** Parses a POST /e body. Pure: no clock, no storage. */
export function parseBatch(text: string): ParsedBatch {
  let json: unknown;
  try {
    // a byte order mark is not JSON, but RFC 8259 lets parsers ignore one, and some HTTP clients write it
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return { ok: false, siteKey: siteKeyOfHead(text), rejection: { status: 400, reason: 'invalid_json', message: 'body is not valid JSON' } };
  }
  const wrapped = wrappedBatch(json);
  if (wrapped) return { ok: false, siteKey: wrapped.siteKey, rejection: { status: 400, reason: 'invalid_batch', message: wrapped.message } };
  const siteKey = typeof (json as WireBatch)?.s === 'string' ? (json as WireBatch).s.slice(0, LIMITS.idChars) : undefined;
  if (Array.isArray((json as WireBatch)?.e) && (json as WireBatch).e.length > LIMITS.batchEvents) {
    return { ok: false, siteKey, rejection: { status: 400, reason: 'too_many_events', message: `at most ${LIMITS.batchEvents} events per batch` } };
  }
  const plain = plainHead(json);
  const head = plain ? { success: true as const, data: plain } : batchHead.safeParse(json);
  if (!head.success) return { ok: false, siteKey, rejection: { status: 400, reason: 'invalid_batch', message: describe(head.error) } };
  const events: WireEvent[] = [];
  const indexes: number[] = [];
  const problems: EventProblem[] = [];
  const repairs: EventRepair[] = [];
  head.data.e.forEach((raw, index) => {
    // the usual event passes as sent; only one that does not is salvaged (cut, dropped) and checked again
    const plain = plainEvent(raw);
    let parsed: z.ZodSafeParseResult<unknown> = plain ? { success: true, data: plain } : wireEventSchema.safeParse(raw);
    const salvaged = usable(parsed) && !hasReservedKey(raw) ? null : salvageEvent(raw, `e.${index}`);
    if (salvaged) parsed = wireEventSchema.safeParse(salvaged.event);
    const eventId = typeof (raw as WireEvent)?.i === 'string' ? (raw as WireEvent).i.slice(0, LIMITS.idChars) : null;
    if (!parsed.success) return problems.push({ index, eventId, raw, message: `e.${index}.${describe(parsed.error)}` });
    const ev = parsed.data as WireEvent;
    if (ev.em !== undefined && !EMAIL_RE.test(ev.em.trim())) {
      return problems.push({ index, eventId, raw, message: `e.${index}.em: not an email address` });
    }
    // an identify names the lead by its address: without one (a tag manager's unset variable) it says nothing
    if (ev.em === undefined && ev.n === 'identify') return problems.push({ index, eventId, raw, message: `e.${index}.em: an identify needs an email address` });
    events.push(ev);
    indexes.push(index);
    if (salvaged?.notes.length) repairs.push({ index, eventId: ev.i, notes: salvaged.notes, raw });
  });
  if (events.length === 0) {
    return { ok: false, siteKey, rejection: { status: 400, reason: 'invalid_event', message: problems[0]?.message ?? 'no valid events' } };
  }
  const { t, l } = head.data;
  return { ok: true, batch: { s: head.data.s, v: head.data.v, e: events, ...(t === undefined ? {} : { t }), ...(l === undefined ? {} : { l }) }, problems, repairs, indexes };
}
