// The body of POST /api/events: one server-side event or an array of them, checked against the limits.
import { z } from '@hono/zod-openapi'; // the openapi-extended zod: these schemas are also documented
import { LIMITS } from '../../shared/limits.js';
import { EMAIL_RE } from '../ingest/validate.js';

const idText = z.string().min(1).max(LIMITS.idChars).regex(/^[A-Za-z0-9_.:@-]+$/, 'may hold only letters, digits and _ . : @ -');
const value = z.string().max(LIMITS.valueChars);
const bounded = (o: object) => Object.keys(o).length <= LIMITS.propKeys;

export const serverEventSchema = z
  .strictObject({
    /** client id of the event: a retry with the same id is stored once */
    id: idText.optional(),
    /** the lead by email; an unknown email makes a lead */
    email: z.string().trim().toLowerCase().max(254).regex(EMAIL_RE, 'not an email address').optional(),
    /** the lead by id */
    leadId: idText.optional(),
    /** the lead by a visitor id the snippet gave out (`funnelbeam('visitorId', cb)`); with `email` it identifies that visitor */
    visitorId: idText.optional(),
    name: z.string().min(1).max(LIMITS.nameChars).regex(/^[A-Za-z0-9_.:-]+$/, 'event names hold letters, digits and _ . : -'),
    /** when it happened: ISO 8601 or epoch ms; default now */
    at: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]).optional(),
    props: z.record(z.string().min(1).max(LIMITS.propKeyChars), z.union([value, z.number().finite(), z.boolean()])).refine(bounded, `at most ${LIMITS.propKeys} props`).optional(),
    /** phone, firstName, lastName, company, jobTitle, country, city, state, zip */
    traits: z.record(z.string().min(1).max(LIMITS.propKeyChars), value).refine(bounded, `at most ${LIMITS.propKeys} traits`).optional(),
  })
  .refine((e) => e.email !== undefined || e.leadId !== undefined || e.visitorId !== undefined, 'name the lead: email, leadId or visitorId')
  .refine((e) => !(e.leadId !== undefined && (e.email !== undefined || e.visitorId !== undefined)), 'leadId goes alone, without email or visitorId');

export type ServerEventInput = z.infer<typeof serverEventSchema>;

export const serverEventsBodySchema = z.union([
  serverEventSchema,
  z.array(serverEventSchema).min(1, 'no events').max(LIMITS.apiBatchEvents, `at most ${LIMITS.apiBatchEvents} events per request`),
]);

export type ParsedServerEvents = { ok: true; events: ServerEventInput[] } | { ok: false; message: string };

/** Parses a POST /api/events body. Pure. */
export function parseServerEvents(text: string): ParsedServerEvents {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'body is not valid JSON' };
  }
  const list = Array.isArray(json) ? json : [json];
  if (Array.isArray(json) && json.length === 0) return { ok: false, message: 'no events' };
  if (list.length > LIMITS.apiBatchEvents) return { ok: false, message: `at most ${LIMITS.apiBatchEvents} events per request` };
  const events: ServerEventInput[] = [];
  for (let i = 0; i < list.length; i++) {
    const r = serverEventSchema.safeParse(list[i]);
    if (!r.success) {
      const issue = r.error.issues[0];
      const path = [...(Array.isArray(json) ? [i] : []), ...issue.path].join('.');
      return { ok: false, message: `${path ? path + ': ' : ''}${issue.message}` };
    }
    events.push(r.data);
  }
  return { ok: true, events };
}
