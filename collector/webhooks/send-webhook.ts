// One delivery attempt: a signed JSON POST with a timeout, sent only to the addresses the target policy allows, and
// connected to exactly the addresses that were checked; the outcome is a value, never an exception.
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { SIGNATURE_HEADER, signPayload } from './sign-payload.js';
import { DEFAULT_TARGET_POLICY, resolveTarget, type ResolvedAddress, type TargetPolicy } from './webhook-target.js';

export interface SendTarget {
  url: string;
  secret: string;
  payload: string;
  deliveryId: string;
  eventType: string;
}

export type SendOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string };

const USER_AGENT = 'Funnelbeam-Webhooks/1';
/** a receiver's answer body is read (so the connection can be reused) up to this much, then the connection is dropped */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * A `lookup` that answers only with addresses already checked: the connection cannot go to whatever the name resolves
 * to a moment later (DNS rebinding between the check and the connect).
 */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return function lookupChecked(_hostname, options, callback) {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const fit = family ? addresses.filter((a) => a.family === family) : addresses;
    if (fit.length === 0) {
      const err: NodeJS.ErrnoException = Object.assign(new Error(`no IPv${family} address`), { code: 'ENOTFOUND' });
      callback(err, '', 0);
    } else if (options.all) callback(null, fit);
    else callback(null, fit[0]!.address, fit[0]!.family);
  };
}

/** A short, stable name for a connection failure: its code (ECONNREFUSED…), also when several addresses all failed. */
function connectError(err: Error & { code?: string; errors?: Array<{ code?: string }> }): string {
  return err.code ?? err.errors?.find((e) => e.code)?.code ?? err.message;
}

export function sendWebhook(target: SendTarget, nowMs: number, timeoutMs: number, policy: TargetPolicy = DEFAULT_TARGET_POLICY): Promise<SendOutcome> {
  const timestamp = Math.floor(nowMs / 1000);
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return Promise.resolve({ ok: false, status: null, error: 'not a valid URL' });
  }
  const body = Buffer.from(target.payload, 'utf8');
  return new Promise<SendOutcome>((resolve) => {
    let outcome: SendOutcome | null = null;
    let req: ClientRequest | undefined;
    const finish = (o: SendOutcome) => {
      if (outcome) return;
      outcome = o;
      resolve(o);
    };
    // one deadline for the lookup, the connect and the answer; it also ends a body that trickles in after the status
    const timer = setTimeout(() => {
      finish({ ok: false, status: null, error: `no answer within ${timeoutMs} ms` });
      req?.destroy();
    }, timeoutMs);
    const done = (o: SendOutcome) => {
      clearTimeout(timer);
      finish(o);
    };
    resolveTarget(url, policy).then(
      (resolved) => {
        if (outcome) return; // timed out while resolving
        if (!resolved.ok) return done({ ok: false, status: null, error: resolved.error });
        const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
        req = send(
          url,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'content-length': body.length,
              'user-agent': USER_AGENT,
              [SIGNATURE_HEADER]: signPayload(target.payload, target.secret, timestamp),
              'Funnelbeam-Delivery': target.deliveryId,
              'Funnelbeam-Event': target.eventType,
            },
            // node:http never follows a redirect: a 3xx is a failed attempt, as a redirect could move a signed payload
            // to a host the admin never configured (and that was never checked)
            lookup: pinnedLookup(resolved.addresses),
          },
          (res) => {
            const status = res.statusCode ?? 0;
            finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `receiver answered ${status}` });
            let read = 0;
            res.on('data', (chunk: Buffer) => {
              read += chunk.length;
              if (read > MAX_ANSWER_BYTES) req!.destroy();
            });
            // read to the end: the connection goes back to the pool, and a later deadline must not touch it
            res.on('end', () => clearTimeout(timer));
            res.on('close', () => clearTimeout(timer));
          },
        );
        req.on('error', (err) => done({ ok: false, status: null, error: connectError(err) }));
        req.end(body);
      },
      (err: Error) => done({ ok: false, status: null, error: err.message }),
    );
  });
}
