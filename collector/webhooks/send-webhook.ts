// One delivery attempt: a signed JSON POST with a timeout; the outcome is a value, never an exception.
import { SIGNATURE_HEADER, signPayload } from './sign-payload.js';

export interface SendTarget {
  url: string;
  secret: string;
  payload: string;
  deliveryId: string;
  eventType: string;
}

export type SendOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string };

const USER_AGENT = 'Funnelbeam-Webhooks/1';

export async function sendWebhook(target: SendTarget, nowMs: number, timeoutMs: number): Promise<SendOutcome> {
  const timestamp = Math.floor(nowMs / 1000);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        [SIGNATURE_HEADER]: signPayload(target.payload, target.secret, timestamp),
        'Funnelbeam-Delivery': target.deliveryId,
        'Funnelbeam-Event': target.eventType,
      },
      body: target.payload,
      // A redirect could move a signed payload to a host the admin never configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `receiver answered ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { ok: false, status: null, error: `no answer within ${timeoutMs} ms` };
    return { ok: false, status: null, error: e.cause?.code ?? e.cause?.message ?? e.message };
  }
}
