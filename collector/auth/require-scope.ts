// Bearer-key middleware: finds the key, proves the secret in constant time, checks the scope, pins the site.
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.js';
import type { Scope } from '../../shared/scopes.js';
import { ApiError } from '../errors.js';
import { getApiKey, type ApiKey } from '../storage/sites.js';
import { keyIdOf, secretMatches } from './secrets.js';

/** RFC 6750 §3: a 401 names the scheme a client should use; a presented but unknown key is an invalid_token. */
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="funnelbeam"' };
const INVALID_TOKEN = { 'WWW-Authenticate': 'Bearer realm="funnelbeam", error="invalid_token"' };

/** The live key a request presents as `Authorization: Bearer <secret>`, or why there is none (401 errors). */
export async function presentedKey(c: Context<AppEnv>): Promise<{ ok: true; key: ApiKey } | { ok: false; error: ApiError }> {
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) return { ok: false, error: new ApiError(401, 'unauthorized', 'send Authorization: Bearer <secret>', CHALLENGE) };
  const secret = match[1];
  const keyId = keyIdOf(secret);
  const key = keyId ? await getApiKey(c.var.deps.db, keyId) : undefined;
  // Compare even when the key is missing so timing does not tell which ids exist.
  const ok = secretMatches(secret, key?.secretHash ?? '0'.repeat(64)) && !!key && key.revokedAt === null;
  if (!ok || !key) return { ok: false, error: new ApiError(401, 'unauthorized', 'unknown or revoked key', INVALID_TOKEN) };
  return { ok: true, key };
}

export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async function requireScopeMiddleware(c, next) {
    const presented = await presentedKey(c);
    if (!presented.ok) throw presented.error;
    const { key } = presented;
    if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) {
      // a live key of the site: its refusal is kept as the site's own (GET /api/rejected shows it to the site's admins)
      c.set('siteId', key.siteId);
      throw new ApiError(403, 'forbidden', `this key lacks the "${scope}" scope`, {
        'WWW-Authenticate': `Bearer realm="funnelbeam", error="insufficient_scope", scope="${scope}"`,
      });
    }
    c.set('siteId', key.siteId);
    c.set('scopes', key.scopes);
    await next();
  };
}
