// Rate limits: per client address (hashed) and per site on POST /e, per API key on /api/*. A refused request gets
// 429 with Retry-After and the error shape; refused event submissions also leave a (budgeted) rejected-store row.
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, Deps } from '../context.js';
import { ApiError, errorBody } from '../errors.js';
import { isWebOrigin } from '../ingest/origin.js';
import { insertRejected } from '../storage/rejected.js';
import { getApiKey, getSiteByKey } from '../storage/sites.js';
import { keyIdOf } from '../auth/secrets.js';
import { truncateRaw } from '../ingest/pipeline.js';
import { clientAddress, createClientIdentity } from './client-id.js';
import { createRateLimiter, type Take } from './token-bucket.js';

const SITE_KEY = /"s"\s*:\s*"([^"\\]{1,64})"/;

/** The site key of a beacon body without parsing it: the snippet writes `s` first; a body that hides it elsewhere
 * only picks which bucket it is charged to. */
export const peekSiteKey = (text: string): string | null => SITE_KEY.exec(text.slice(0, 512))?.[1] ?? null;

/** A small cache of lookups made only for requests that are refused anyway. */
function createIdCache(lookup: (key: string) => Promise<string | null>) {
  const cache = new Map<string, string | null>();
  return async (key: string) => {
    if (cache.has(key)) return cache.get(key)!;
    const id = await lookup(key).catch(() => null);
    if (cache.size >= 10_000) cache.clear();
    cache.set(key, id);
    return id;
  };
}

function keepRateLimited(deps: Deps, siteId: string | null, route: string, raw: string, message: string) {
  deps.metrics.inc('funnelbeam_events_rejected_total', { reason: 'rate_limited' });
  const row = { siteId, reason: 'rate_limited', message, route, raw: truncateRaw(raw), receivedAt: deps.now() };
  return insertRejected(deps.db, [row]).catch((err) => deps.log.error('could not store rejected input', { error: (err as Error).message }));
}

/** The hook POST /e calls once it has the body: a 429 response when the client or the site is over its rate, else null. */
export function createBeaconLimiter(deps: Deps) {
  const { config, now, metrics } = deps;
  const identity = createClientIdentity(now);
  const perClient = createRateLimiter({ perSec: config.RATE_LIMIT_CLIENT_PER_SEC, now });
  const perSite = createRateLimiter({ perSec: config.RATE_LIMIT_SITE_PER_SEC, now });
  const siteIdOf = createIdCache(async (key) => (await getSiteByKey(deps.db, key))?.siteId ?? null);
  const proxies = config.TRUST_PROXY;

  return async function limitBeacon(c: Context<AppEnv>, text: string): Promise<Response | null> {
    let taken: Take = { ok: true };
    let scope = 'client';
    if (config.RATE_LIMIT_CLIENT_PER_SEC > 0) taken = perClient.take(identity.idOf(clientAddress(c, proxies)));
    const siteKey = taken.ok && config.RATE_LIMIT_SITE_PER_SEC > 0 ? peekSiteKey(text) : null;
    if (siteKey !== null) {
      taken = perSite.take(siteKey);
      scope = 'site';
    }
    if (taken.ok) return null;
    metrics.inc('funnelbeam_rate_limited_total', { scope, route: '/e' });
    const message = `too many requests from this ${scope}; retry after ${taken.retryAfterSec} s`;
    const key = siteKey ?? peekSiteKey(text);
    await keepRateLimited(deps, key ? await siteIdOf(key) : null, '/e', text, message);
    const origin = c.req.header('origin');
    // readable by any web page, so the snippet can honour Retry-After before its site is known; never by `null`
    if (isWebOrigin(origin)) {
      c.header('Access-Control-Allow-Origin', origin);
      c.header('Vary', 'Origin');
    }
    c.header('Retry-After', String(taken.retryAfterSec));
    return c.json(errorBody('rate_limited', message), 429);
  };
}

/** /api/* middleware: one bucket per presented key id (per hashed client address when there is none). */
export function apiRateLimit(deps: Deps): MiddlewareHandler<AppEnv> {
  const { config, now, metrics } = deps;
  const identity = createClientIdentity(now);
  const perKey = createRateLimiter({ perSec: config.RATE_LIMIT_API_PER_SEC, now });
  const siteIdOfKey = createIdCache(async (keyId) => (await getApiKey(deps.db, keyId))?.siteId ?? null);
  const proxies = config.TRUST_PROXY;

  return async function apiRateLimitMiddleware(c, next) {
    if (config.RATE_LIMIT_API_PER_SEC <= 0) return next();
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const keyId = bearer ? keyIdOf(bearer) : null;
    const taken = perKey.take(keyId ? 'k:' + keyId : 'c:' + identity.idOf(clientAddress(c, proxies)));
    if (taken.ok) return next();
    metrics.inc('funnelbeam_rate_limited_total', { scope: 'key', route: '/api' });
    const message = `too many requests for this key; retry after ${taken.retryAfterSec} s`;
    if (c.req.method === 'POST' && c.req.path === '/api/events') {
      await keepRateLimited(deps, keyId ? await siteIdOfKey(keyId) : null, '/api/events', '', message);
    }
    throw new ApiError(429, 'rate_limited', message, { 'Retry-After': String(taken.retryAfterSec) });
  };
}
