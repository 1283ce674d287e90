// Client identity for rate limits: an HMAC of the address under a random salt that changes every UTC day.
// The salt lives only in memory; neither the address nor its hash is ever written anywhere.
import { createHmac, randomBytes } from 'node:crypto';
import type { Context } from 'hono';

const DAY_MS = 86_400_000;

export interface ClientIdentity {
  /** a short opaque id for the address, stable within one UTC day of this process */
  idOf(address: string): string;
}

export function createClientIdentity(now: () => number): ClientIdentity {
  let day = -1;
  let salt = Buffer.alloc(0);
  return {
    idOf(address) {
      const d = Math.floor(now() / DAY_MS);
      if (d !== day) {
        day = d;
        salt = randomBytes(32);
      }
      return createHmac('sha256', salt).update(address).digest('base64url').slice(0, 22);
    },
  };
}

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } };
}

/**
 * The peer address; behind `proxies` proxies you run (TRUST_PROXY), the X-Forwarded-For hop that many from the end: the
 * address the outermost of your proxies saw and appended (each proxy appends the address it saw). The hops before it
 * are what the client wrote itself: read from the first, a client that made up a new address per request got a fresh
 * rate-limit bucket each time. A header with fewer hops than proxies (a request that came in past the outer ones)
 * gives its first hop, the one your proxy appended.
 */
export function clientAddress(c: Context, proxies: number): string {
  if (proxies > 0) {
    const hops = c.req.header('x-forwarded-for')?.split(',');
    const hop = hops?.[Math.max(0, hops.length - proxies)]?.trim();
    // without the client's port, which some proxies write (Azure Application Gateway: `203.0.113.9:51234`,
    // `[2001:db8::1]:51234`): a new one per connection was a new bucket per connection
    if (hop) return hop.replace(/^\[([^\]]*)\](?::\d+)?$/, '$1').replace(/^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/, '$1').slice(0, 64);
  }
  const env = c.env as NodeBindings | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}
