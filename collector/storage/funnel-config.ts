// The site's funnel config row (site_config, kind 'funnel'); no row means the defaults.
import type { Db } from './db.js';

export async function getFunnelConfigRow(db: Db, siteId: string): Promise<{ body: string; updatedAt: number } | undefined> {
  const r = await db.get<{ body: string; updated_at: number }>("SELECT body, updated_at FROM site_config WHERE site_id = ? AND kind = 'funnel'", [siteId]);
  return r && { body: r.body, updatedAt: Number(r.updated_at) };
}

export async function putFunnelConfigRow(db: Db, siteId: string, body: string, now: number): Promise<void> {
  await db.run(
    `INSERT INTO site_config (site_id, kind, body, updated_at) VALUES (?, 'funnel', ?, ?)
     ON CONFLICT (site_id, kind) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
    [siteId, body, now],
  );
}
