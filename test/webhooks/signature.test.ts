import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { signPayload } from '../../collector/webhooks/sign-payload.js';
import { verifySignature } from '../../collector/webhooks/verify-signature.js';

const body = '{"id":"d1","type":"lead.mql","createdAt":"2026-01-15T12:00:00.000Z","data":{"leadId":"l1"}}';
const secret = 'whsec_example_secret_value';
const t = 1768478400;

describe('webhook signatures', () => {
  test('the header is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signPayload(body, secret, t)).toBe(`t=${t},v1=${expected}`);
  });

  test('a signature made with the secret verifies within the tolerance', () => {
    expect(verifySignature(signPayload(body, secret, t), body, secret, 300, t + 299)).toEqual({ ok: true, timestamp: t });
  });

  test('a changed body, another secret or an old timestamp is refused with the reason', () => {
    const header = signPayload(body, secret, t);
    expect(verifySignature(header, body.replace('l1', 'l2'), secret, 300, t)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature(header, body, 'whsec_other', 300, t)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature(header, body, secret, 300, t + 301)).toEqual({ ok: false, reason: 'too_old' });
    expect(verifySignature(header, body, secret, 300, t - 301)).toEqual({ ok: false, reason: 'too_old' });
  });

  test('a missing or malformed header is refused as malformed', () => {
    expect(verifySignature(undefined, body, secret, 300, t)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature('v1=abc', body, secret, 300, t)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature(`t=${t}`, body, secret, 300, t)).toEqual({ ok: false, reason: 'malformed' });
  });

  test('any one of several v1 signatures may match (secret rotation)', () => {
    const good = signPayload(body, secret, t).split('v1=')[1];
    const header = `t=${t},v1=${'0'.repeat(64)},v1=${good}`;
    expect(verifySignature(header, body, secret, 300, t).ok).toBe(true);
  });
});
