// Site and key administration as domain calls; scripts/admin.ts and the demo bootstrap use them.
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import type { Db } from './storage/db.js';
import { insertSite, insertApiKey, listApiKeys, listSites, revokeApiKey, getSiteById, getSiteByKey, type Site } from './storage/sites.js';
import { newId, newSecret, hashSecret } from './auth/secrets.js';
import { SCOPES, type Scope } from '../shared/scopes.js';
import { seedSiteDefaults } from './site-defaults.js';

const HOST_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export class AdminError extends Error {}

/**
 * Accepts `example.com`, `https://www.example.com/`, `127.0.0.1`, `EXAMPLE.com.`, `bücher.de`, `[::1]`; returns the
 * bare lower-case host as browsers send it in `Origin`: a trailing dot dropped, an international name in punycode
 * (`xn--bcher-kva.de`), an IP address in the URL standard's form (`127.1` and `0x7f.0.0.1` are `127.0.0.1`, an IPv6
 * address bracketed and compressed: `[2001:db8::1]`), or the site would refuse every beacon of its own pages.
 */
export function normalizeDomain(input: string): string {
  const refuse = () => new AdminError(`"${input}" is not a host name`);
  const bare = input.trim().toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/[/?#].*$/, '');
  // an IPv6 address, bracketed (`[::1]:8787`) or not (`::1`, which has no port)
  const v6 = /^\[([^\]]*)\](?::\d*)?$/.exec(bare)?.[1] ?? (isIPv6(bare) ? bare : null);
  if (v6 !== null) {
    // a zone (`fe80::1%eth0`) is no part of an Origin
    if (!isIPv6(v6) || v6.includes('%')) throw refuse();
    try {
      return new URL(`http://[${v6}]/`).hostname;
    } catch {
      throw refuse();
    }
  }
  const typed = bare.replace(/:\d+$/, '').replace(/\.$/, '');
  // domainToASCII answers '' for what no browser would take as a host (spaces, '!', empty labels)
  const host = /^[\x21-\x7e]*$/.test(typed) ? typed : domainToASCII(typed);
  // a name whose last label is a number is an IPv4 address to a browser, written in any of the forms the URL standard
  // reads (`127.1`, `0x7f.0.0.1`, `2130706433`): stored as the dotted quad it sends, or refused when it is none
  if (/(?:^|\.)(?:\d+|0x[0-9a-f]*)$/.test(host)) {
    let address: string;
    try {
      address = new URL(`http://${host}/`).hostname;
    } catch {
      throw refuse();
    }
    if (!isIPv4(address)) throw refuse();
    return address;
  }
  if (!HOST_RE.test(host)) throw refuse();
  return host;
}

export async function createSite(db: Db, input: { domain: string; name?: string; extraOrigins?: string[] }, now = Date.now()) {
  const domain = normalizeDomain(input.domain);
  const site: Site = {
    siteId: newId('site'),
    siteKey: 'pk_' + randomBytes(12).toString('base64url'),
    domain,
    name: input.name?.trim() || domain,
    settings: { respectPrivacySignals: true, ...(input.extraOrigins ? { extraOrigins: input.extraOrigins.map(normalizeDomain) } : {}) },
    createdAt: now,
  };
  await insertSite(db, site);
  await seedSiteDefaults(db, site.siteId, now);
  return site;
}

export function parseScopes(list: string): Scope[] {
  const scopes = [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];
  if (scopes.length === 0) throw new AdminError('--scopes needs at least one of ' + SCOPES.join(', '));
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new AdminError(`unknown scope "${s}"; use ${SCOPES.join(', ')}`);
  return scopes as Scope[];
}

/**
 * The site of `siteId`, or an AdminError. Given the public site key instead (the tag holds it, and `npm start` prints
 * both), the message names the site id to use.
 */
export async function siteOf(db: Db, siteId: string): Promise<Site> {
  const site = await getSiteById(db, siteId);
  if (site) return site;
  const byKey = await getSiteByKey(db, siteId);
  if (byKey) throw new AdminError(`"${siteId}" is the site key (the public one in the tag); --site takes the site id: --site ${byKey.siteId}`);
  throw new AdminError(`no site "${siteId}"`);
}

export async function createKey(db: Db, siteId: string, scopes: Scope[], now = Date.now()) {
  await siteOf(db, siteId);
  const keyId = newId('fbk');
  const secret = newSecret(keyId);
  await insertApiKey(db, { siteId, keyId, secretHash: hashSecret(secret), scopes, createdAt: now, revokedAt: null });
  return { keyId, secret, scopes };
}

export const listSitesPublic = async (db: Db) =>
  (await listSites(db)).map((s) => ({ siteId: s.siteId, siteKey: s.siteKey, domain: s.domain, origins: s.settings.extraOrigins ?? [], name: s.name, createdAt: new Date(s.createdAt).toISOString() }));

export async function listKeysPublic(db: Db, siteId: string) {
  await siteOf(db, siteId);
  return (await listApiKeys(db, siteId)).map((k) => ({
    keyId: k.keyId,
    scopes: k.scopes,
    createdAt: new Date(k.createdAt).toISOString(),
    revokedAt: k.revokedAt ? new Date(k.revokedAt).toISOString() : null,
  }));
}

export async function revokeKey(db: Db, keyId: string, now = Date.now()) {
  // the whole secret pasted (`<keyId>.<random>`): name its key id, and never echo the private part to a terminal or log
  const dot = keyId.indexOf('.');
  if (dot > 0) throw new AdminError(`that is a key's secret; --key takes its key id, the part before the dot: --key ${keyId.slice(0, dot)}`);
  if (!(await revokeApiKey(db, keyId, now))) throw new AdminError(`no live key "${keyId}"`);
  return { keyId, revoked: true };
}
