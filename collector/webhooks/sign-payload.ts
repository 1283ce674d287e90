// The Funnelbeam-Signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe does it.
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'Funnelbeam-Signature';

export const signatureOf = (body: string, secret: string, timestampSec: number) =>
  createHmac('sha256', secret).update(`${timestampSec}.${body}`, 'utf8').digest('hex');

/** Signing the timestamp with the body lets receivers refuse replays of an old, captured request. */
export const signPayload = (body: string, secret: string, timestampSec: number) =>
  `t=${timestampSec},v1=${signatureOf(body, secret, timestampSec)}`;
