// Sites and API keys: the only SQL for administration.
import type { Db } from './db.js';
import type { Scope } from '../../shared/scopes.js';

export interface SiteSettings {
  /** honour Global Privacy Control and Do Not Track in the snippet (default true) */
  respectPrivacySignals?: boolean;
  /** extra hosts allowed to send events besides the domain and its subdomains */
  extraOrigins?: string[];
}

export interface Site {
  siteId: string;
  siteKey: string;
  domain: string;
  name: string;
  settings: SiteSettings;
  createdAt: number;
}

export interface ApiKey {
  siteId: string;
  keyId: string;
  secretHash: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt: number | null;
}

interface SiteRow { site_id: string; site_key: string; domain: string; name: string; settings: string; created_at: number }
interface KeyRow { site_id: string; key_id: string; secret_hash: string; scopes: string; created_at: number; revoked_at: number | null }

const toSite = (r: SiteRow): Site => ({
  siteId: r.site_id,
  siteKey: r.site_key,
  domain: r.domain,
  name: r.name,
  settings: JSON.parse(r.settings),
  createdAt: Number(r.created_at),
});
const toKey = (r: KeyRow): ApiKey => ({
  siteId: r.site_id,
  keyId: r.key_id,
  secretHash: r.secret_hash,
  scopes: JSON.parse(r.scopes),
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at == null ? null : Number(r.revoked_at),
});

const SITE_COLS = 'site_id, site_key, domain, name, settings, created_at';

export async function insertSite(db: Db, site: Site): Promise<void> {
  await db.run(`INSERT INTO sites (${SITE_COLS}) VALUES (?, ?, ?, ?, ?, ?)`, [
    site.siteId, site.siteKey, site.domain, site.name, JSON.stringify(site.settings), site.createdAt,
  ]);
}

export async function getSiteByKey(db: Db, siteKey: string): Promise<Site | undefined> {
  const r = await db.get<SiteRow>(`SELECT ${SITE_COLS} FROM sites WHERE site_key = ?`, [siteKey]);
  return r && toSite(r);
}

export async function getSiteById(db: Db, siteId: string): Promise<Site | undefined> {
  const r = await db.get<SiteRow>(`SELECT ${SITE_COLS} FROM sites WHERE site_id = ?`, [siteId]);
  return r && toSite(r);
}

export async function listSites(db: Db): Promise<Site[]> {
  return (await db.all<SiteRow>(`SELECT ${SITE_COLS} FROM sites ORDER BY created_at, site_id`)).map(toSite);
}

export async function getSiteByName(db: Db, name: string): Promise<Site | undefined> {
  const r = await db.get<SiteRow>(`SELECT ${SITE_COLS} FROM sites WHERE name = ? ORDER BY created_at LIMIT 1`, [name]);
  return r && toSite(r);
}

export async function insertApiKey(db: Db, key: ApiKey): Promise<void> {
  await db.run(
    'INSERT INTO api_keys (site_id, key_id, secret_hash, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
    [key.siteId, key.keyId, key.secretHash, JSON.stringify(key.scopes), key.createdAt, key.revokedAt],
  );
}

export async function getApiKey(db: Db, keyId: string): Promise<ApiKey | undefined> {
  const r = await db.get<KeyRow>(
    'SELECT site_id, key_id, secret_hash, scopes, created_at, revoked_at FROM api_keys WHERE key_id = ?',
    [keyId],
  );
  return r && toKey(r);
}

export async function listApiKeys(db: Db, siteId: string): Promise<ApiKey[]> {
  const rows = await db.all<KeyRow>(
    'SELECT site_id, key_id, secret_hash, scopes, created_at, revoked_at FROM api_keys WHERE site_id = ? ORDER BY created_at, key_id',
    [siteId],
  );
  return rows.map(toKey);
}

/** Revokes a key; resolves to false when no live key has that id. */
export async function revokeApiKey(db: Db, keyId: string, at: number): Promise<boolean> {
  return (await db.run('UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL', [at, keyId])) > 0;
}

/** Replaces a site's settings (the demo site's origins follow PUBLIC_URL and HOST from one start to the next). */
export async function updateSiteSettings(db: Db, siteId: string, settings: SiteSettings): Promise<void> {
  await db.run('UPDATE sites SET settings = ? WHERE site_id = ?', [JSON.stringify(settings), siteId]);
}
