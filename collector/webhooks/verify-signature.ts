// Receiver-side check of a Funnelbeam-Signature header: right secret, untouched body, recent timestamp.
import { timingSafeEqual } from 'node:crypto';
import { signatureOf } from './sign-payload.js';

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed' | 'too_old' | 'mismatch' };

/**
 * `body` must be the raw request body exactly as received (not re-serialized JSON).
 * Several `v1=` entries are accepted (any one matching is enough), so a secret can be rotated.
 * `toleranceSec` bounds the clock difference either way (300 is a good default).
 */
export function verifySignature(
  header: string | null | undefined,
  body: string,
  secret: string,
  toleranceSec: number,
  nowSec = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!header) return { ok: false, reason: 'malformed' };
  let timestamp = NaN;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (!Number.isSafeInteger(timestamp) || signatures.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowSec - timestamp) > toleranceSec) return { ok: false, reason: 'too_old' };
  const expected = Buffer.from(signatureOf(body, secret, timestamp), 'hex');
  const matches = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
}
