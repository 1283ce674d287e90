// POST /e: the beacon endpoint. Translates HTTP to the ingest pipeline and back; no logic of its own.
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ApiApp } from '../app.js';
import type { AppEnv, Deps } from '../context.js';
import { errorBody } from '../errors.js';
import { wasLogged } from '../ops/log.js';
import { createBeaconPipeline } from '../ingest/pipeline.js';
import { decodeBody, readBodyBytes, readBodyText } from '../ingest/read-body.js';
import { inflateHead } from '../ingest/inflate-head.js';
import { LIMITS } from '../../shared/limits.js';
import { createBeaconLimiter } from '../hardening/rate-limit.js';
import { isOriginAllowed, isWebOrigin } from '../ingest/origin.js';
import { createKnownOrigin } from '../ingest/known-origin.js';
import { createUnreadBodyKeeper } from '../ingest/keep-unread-body.js';

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** Only a web origin is ever echoed (isWebOrigin): never `null` or another scheme. */
function corsHeaders(c: Context<AppEnv>, origin: string | undefined) {
  if (isWebOrigin(origin)) {
    c.header('Access-Control-Allow-Origin', origin);
    c.header('Vary', 'Origin');
  }
}

export function mountIngest(app: ApiApp, deps: Deps) {
  const ingestBeacon = createBeaconPipeline(deps, deps.writer);
  const limitBeacon = createBeaconLimiter(deps);
  const isKnownOrigin = createKnownOrigin(deps.db, 5_000, deps.now);
  const keepUnreadBody = createUnreadBodyKeeper(deps);

  // The preflight comes without the body, so without the site: an origin no site admits gets no CORS headers (its
  // browser then sends nothing); for the others the POST still checks the site's own origins.
  app.options('/e', async (c) => {
    if (await corsForKnown(c)) {
      c.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      c.header('Access-Control-Allow-Headers', 'Content-Type');
      c.header('Access-Control-Max-Age', '86400');
    }
    return c.body(null, 204);
  });

  /**
   * CORS headers for an origin some site admits, on answers given before the body names its site: the preflight, a 415,
   * a 413. Whether they were given.
   */
  async function corsForKnown(c: Context<AppEnv>): Promise<boolean> {
    const origin = c.req.header('origin');
    const known = await isKnownOrigin(origin).catch(() => false);
    if (known) corsHeaders(c, origin);
    return known;
  }

  /** A compressed body is refused rather than read as text (it would only fail as "not valid JSON"); its opening is kept. */
  async function encoded(c: Context<AppEnv>, encoding: string) {
    const message = `Content-Encoding "${encoding.slice(0, 40)}" is not accepted; send the JSON as it is`;
    const bytes = await readBodyBytes(c, LIMITS.bodyBytes).catch(() => Buffer.alloc(0));
    const head = await inflateHead(bytes, encoding, LIMITS.rejectedRawBytes);
    const text = head ? decodeBody(head.bytes, c.req.header('content-type'), head.cut) : '';
    await keepUnreadBody({ reason: 'unsupported_encoding', message, head: text, cut: !!head?.cut, origin: c.req.header('origin') });
    await corsForKnown(c);
    return c.json(errorBody('unsupported_encoding', message), 415);
  }

  async function tooLarge(c: Context<AppEnv>, head: string) {
    await keepUnreadBody({ reason: 'payload_too_large', message: `body over ${LIMITS.bodyBytes} bytes`, head, cut: true, origin: c.req.header('origin') });
    // readable by the page: the snippet retries a batch smaller on a 413, and settles a single event too large to ever
    // pass, which would otherwise block its outbox (read as a network error, kept for good)
    await corsForKnown(c);
    return c.json(errorBody('payload_too_large', `body over ${LIMITS.bodyBytes} bytes`), 413);
  }

  app.post(
    '/e',
    async function postBeacon(c) {
      const origin = c.req.header('origin');
      const encoding = c.req.header('content-encoding')?.trim();
      if (encoding && encoding.toLowerCase() !== 'identity') return encoded(c, encoding);
      const read = await readBodyText(c, LIMITS.bodyBytes);
      if (!read.ok) return tooLarge(c, read.head);
      const { text } = read;
      const limited = await limitBeacon(c, text);
      if (limited) return limited;
      let outcome;
      try {
        outcome = await ingestBeacon({ text, origin, userAgent: c.req.header('user-agent') ?? '' });
      } catch (err) {
        if (!wasLogged(err)) deps.log.error('beacon not stored', { error: (err as Error).message });
        corsHeaders(c, origin);
        c.header('Retry-After', '5');
        return c.json(errorBody('unavailable', 'events could not be stored; retry later'), 503);
      }
      if (!outcome.ok) {
        const { rejection } = outcome;
        // a site's refusals are readable by its own pages only; without a site (bad JSON, unknown key) none is known
        if (!outcome.site || isOriginAllowed(origin, outcome.site)) corsHeaders(c, origin);
        return c.json(errorBody(rejection.reason, rejection.message), rejection.status);
      }
      corsHeaders(c, origin);
      const body: Record<string, unknown> = { accepted: outcome.accepted, duplicates: outcome.duplicates };
      if (outcome.rejected.length) body.rejected = outcome.rejected;
      if (outcome.repaired.length) body.repaired = outcome.repaired;
      return c.json(body, 202);
    },
  );

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/e',
    tags: ['ingest'],
    summary: 'Beacon ingest: a batch of events for one site key and one visitor; 202 once durably committed.',
    description:
      'Body: text/plain (or application/json) JSON `{ s: siteKey, v: visitorId, e: [{ i, n, t, u, r?, p?, ft?, st?, em?, tr?, f? }] }` (see shared/wire.ts). ' +
      `At most ${LIMITS.bodyBytes} bytes and ${LIMITS.batchEvents} events. Invalid events inside a valid batch are rejected one by one (listed in \`rejected\`) and kept in the rejected store; the rest are stored. ` +
      `An event is never refused for an optional part: URLs over ${LIMITS.urlChars} and other texts over ${LIMITS.valueChars} characters are cut, ` +
      `props or traits of another kind or past ${LIMITS.propKeys} keys and an unusable email are dropped (listed in \`repaired\`; a dropped part also goes to the rejected store as \`invalid_field\`). ` +
      'A form marker other than newsletter/demo in `f` is passed on as `props.form` with the kind `other`.',
    request: { body: { content: { 'text/plain': { schema: z.string() } } } },
    responses: {
      202: {
        description: 'committed',
        content: {
          'application/json': {
            schema: z.object({
              accepted: z.number().int(),
              duplicates: z.number().int(),
              rejected: z.array(z.object({ index: z.number().int(), id: z.string().nullable(), message: z.string() })).optional(),
              repaired: z.array(z.object({ index: z.number().int(), id: z.string(), message: z.string() })).optional(),
            }),
          },
        },
      },
      400: { description: 'invalid JSON, batch or events', content: { 'application/json': { schema: errorSchema } } },
      403: { description: 'origin not allowed for the site', content: { 'application/json': { schema: errorSchema } } },
      404: { description: 'unknown site key', content: { 'application/json': { schema: errorSchema } } },
      413: { description: 'body too large', content: { 'application/json': { schema: errorSchema } } },
      415: { description: 'a Content-Encoding other than identity (send the body uncompressed)', content: { 'application/json': { schema: errorSchema } } },
      503: { description: 'storage unavailable; retry', content: { 'application/json': { schema: errorSchema } } },
    },
  });
}
