// Sites and API keys storage (collector/storage/sites.ts) on every engine.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../collector/storage/db.js';
import {
  getApiKey, getSiteById, getSiteByKey, getSiteByName, insertApiKey, insertSite, listApiKeys, listSites, revokeApiKey,
  type ApiKey, type Site,
} from '../../collector/storage/sites.js';
import { ENGINES, openTestDb } from '../helpers/test-db.js';

const makeSite = (over: Partial<Site> = {}): Site => ({
  siteId: `site_${randomUUID()}`,
  siteKey: `pk_${randomUUID()}`,
  domain: 'example.com',
  name: 'Example',
  settings: { respectPrivacySignals: true, extraOrigins: ['https://proxy.example.net'] },
  createdAt: 1_760_000_000_000,
  ...over,
});

const makeKey = (siteId: string, over: Partial<ApiKey> = {}): ApiKey => ({
  siteId,
  keyId: `key_${randomUUID()}`,
  secretHash: 'sha256:abc',
  scopes: ['leads:read', 'audiences:read'],
  createdAt: 1_760_000_000_000,
  revokedAt: null,
  ...over,
});

describe.each(ENGINES)('sites and API keys on %s', (engine) => {
  let db: Db;
  beforeAll(async () => {
    db = await openTestDb(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  test('a site is found again by its key and by its id with its settings intact', async () => {
    const site = makeSite();
    await insertSite(db, site);
    expect(await getSiteByKey(db, site.siteKey)).toEqual(site);
    expect(await getSiteById(db, site.siteId)).toEqual(site);
  });

  test('unknown sites are undefined', async () => {
    expect(await getSiteByKey(db, 'pk_nope')).toBeUndefined();
    expect(await getSiteById(db, 'site_nope')).toBeUndefined();
  });

  test('a second site with the same public key is refused', async () => {
    const site = makeSite();
    await insertSite(db, site);
    await expect(insertSite(db, makeSite({ siteKey: site.siteKey }))).rejects.toThrow();
  });

  test('sites list oldest first and are found by name, the oldest of a name first', async () => {
    const name = `Named ${randomUUID()}`;
    const newer = makeSite({ name, createdAt: 1_760_000_000_500 });
    const older = makeSite({ name, createdAt: 1_760_000_000_100 });
    await insertSite(db, newer);
    await insertSite(db, older);
    const ids = (await listSites(db)).map((s) => s.siteId);
    expect(ids.indexOf(older.siteId)).toBeLessThan(ids.indexOf(newer.siteId));
    expect((await getSiteByName(db, name))?.siteId).toBe(older.siteId);
  });

  test('an API key comes back with its scopes and no revocation', async () => {
    const site = makeSite();
    await insertSite(db, site);
    const key = makeKey(site.siteId);
    await insertApiKey(db, key);
    expect(await getApiKey(db, key.keyId)).toEqual(key);
    expect(await getApiKey(db, 'key_nope')).toBeUndefined();
  });

  test("a site's keys list in creation order and only that site's", async () => {
    const site = makeSite();
    const other = makeSite();
    await insertSite(db, site);
    await insertSite(db, other);
    const first = makeKey(site.siteId, { createdAt: 1 });
    const second = makeKey(site.siteId, { createdAt: 2, scopes: ['admin'] });
    await insertApiKey(db, second);
    await insertApiKey(db, first);
    await insertApiKey(db, makeKey(other.siteId));
    expect(await listApiKeys(db, site.siteId)).toEqual([first, second]);
  });

  test('revoking a key stamps it once; a second revocation or an unknown key is false', async () => {
    const site = makeSite();
    await insertSite(db, site);
    const key = makeKey(site.siteId);
    await insertApiKey(db, key);
    expect(await revokeApiKey(db, key.keyId, 1_760_000_009_999)).toBe(true);
    expect(await revokeApiKey(db, key.keyId, 1_760_000_010_000)).toBe(false);
    expect(await revokeApiKey(db, 'key_nope', 1)).toBe(false);
    expect((await getApiKey(db, key.keyId))?.revokedAt).toBe(1_760_000_009_999);
  });
});
