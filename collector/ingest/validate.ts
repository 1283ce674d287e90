// Step 1 of POST /e: parse the text body and check it against the wire schema and limits.
// A bad batch is a Rejection; bad events inside a good batch are rejected one by one, the rest go on. An event's
// optional parts that break a limit are cut or dropped first (salvage-event.ts), so they never cost the event.
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.js';
import { CLICK_IDS, FORM_KINDS, TRAIT_KEYS, UTM_KEYS } from '../../shared/events.js';
import type { WireBatch, WireEvent } from '../../shared/wire.js';
import type { Rejection } from './types.js';
import { EMAIL_RE, salvageEvent, type SalvageNote } from './salvage-event.js';

export { EMAIL_RE };

const id = z.string().min(8).max(LIMITS.idChars).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold only letters, digits and _ . : -');
const value = z.string().max(LIMITS.valueChars);
const url = z.string().max(LIMITS.urlChars);

const touchShape: Record<string, z.ZodType> = { ref: url.optional(), url: url.optional(), at: z.number().finite().optional() };
for (const k of [...UTM_KEYS, ...CLICK_IDS]) touchShape[k] = value.optional();
const touch = z.object(touchShape).strip();

const props = z
  .record(z.string().min(1).max(LIMITS.propKeyChars), z.union([value, z.number().finite(), z.boolean()]))
  .refine((o) => Object.keys(o).length <= LIMITS.propKeys, `at most ${LIMITS.propKeys} props`);

const traits = z
  .record(z.string().min(1).max(LIMITS.propKeyChars), value)
  .refine((o) => Object.keys(o).length <= LIMITS.propKeys, `at most ${LIMITS.propKeys} traits`);

export const wireEventSchema = z
  .object({
    i: id,
    n: z.string().min(1).max(LIMITS.nameChars).regex(/^[A-Za-z0-9_.:-]+$/, 'event names hold letters, digits and _ . : -'),
    t: z.number().int().nonnegative(),
    u: url,
    r: url.optional(),
    p: props.optional(),
    ft: touch.optional(),
    st: touch.optional(),
    em: z.string().max(254).optional(),
    tr: traits.optional(),
    f: z.enum(FORM_KINDS).optional(),
  })
  .strip();

const batchHead = z.object({
  s: z.string().min(1).max(LIMITS.idChars),
  v: id,
  e: z.array(z.unknown()).min(1, 'no events').max(LIMITS.batchEvents, `at most ${LIMITS.batchEvents} events per batch`),
});

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
  | { ok: true; batch: WireBatch; problems: EventProblem[]; repairs: EventRepair[] }
  | { ok: false; rejection: Rejection; siteKey?: string };

const describe = (err: z.ZodError) => {
  const issue = err.issues[0];
  return `${issue.path.join('.') || 'body'}: ${issue.message}`;
};

/** Parses a POST /e body. Pure: no clock, no storage. */
export function parseBatch(text: string): ParsedBatch {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, rejection: { status: 400, reason: 'invalid_json', message: 'body is not valid JSON' } };
  }
  const siteKey = typeof (json as WireBatch)?.s === 'string' ? (json as WireBatch).s.slice(0, LIMITS.idChars) : undefined;
  if (Array.isArray((json as WireBatch)?.e) && (json as WireBatch).e.length > LIMITS.batchEvents) {
    return { ok: false, siteKey, rejection: { status: 400, reason: 'too_many_events', message: `at most ${LIMITS.batchEvents} events per batch` } };
  }
  const head = batchHead.safeParse(json);
  if (!head.success) return { ok: false, siteKey, rejection: { status: 400, reason: 'invalid_batch', message: describe(head.error) } };
  const events: WireEvent[] = [];
  const problems: EventProblem[] = [];
  const repairs: EventRepair[] = [];
  const usable = (r: z.ZodSafeParseResult<unknown>) => r.success && ((r.data as WireEvent).em === undefined || EMAIL_RE.test((r.data as WireEvent).em!.trim()));
  head.data.e.forEach((raw, index) => {
    // the usual event passes as sent; only one that does not is salvaged (cut, dropped) and checked again
    let parsed = wireEventSchema.safeParse(raw);
    const salvaged = usable(parsed) ? null : salvageEvent(raw, `e.${index}`);
    if (salvaged) parsed = wireEventSchema.safeParse(salvaged.event);
    const eventId = typeof (raw as WireEvent)?.i === 'string' ? (raw as WireEvent).i.slice(0, LIMITS.idChars) : null;
    if (!parsed.success) return problems.push({ index, eventId, raw, message: `e.${index}.${describe(parsed.error)}` });
    const ev = parsed.data as WireEvent;
    if (ev.em !== undefined && !EMAIL_RE.test(ev.em.trim())) {
      return problems.push({ index, eventId, raw, message: `e.${index}.em: not an email address` });
    }
    events.push(ev);
    if (salvaged?.notes.length) repairs.push({ index, eventId: ev.i, notes: salvaged.notes, raw });
  });
  if (events.length === 0) {
    return { ok: false, siteKey, rejection: { status: 400, reason: 'invalid_event', message: problems[0]?.message ?? 'no valid events' } };
  }
  return { ok: true, batch: { s: head.data.s, v: head.data.v, e: events }, problems, repairs };
}
