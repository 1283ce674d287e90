// What the outside-judge export files share: a hardening app with a reader and a writer key, CRM events that must be
// accepted whole, a segment PUT, and a platform file read with its rows checked against its member-count header.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { T0, useUnthrottledApps } from '../hardening/hardening-app.js';
import { createKey } from '../../collector/admin.js';
import { parseCsv } from './rfc4180.js';

export const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export function useExportRigs() {
  const { open } = useUnthrottledApps();
  return async function setup() {
    const h = await open();
    const reader = (await createKey(h.db, h.site.siteId, ['audiences:read'], T0)).secret;
    const writer = (await createKey(h.db, h.site.siteId, ['events:write'], T0)).secret;
    const server = async (body: unknown) => {
      const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify(body), secret: writer });
      expect(res.status, await res.clone().text()).toBe(202);
      expect((await res.clone().json()).rejected).toBeUndefined();
    };
    const segment = async (key: string, definition: unknown) => {
      const res = await h.api(`/api/segments/${key}`, { method: 'PUT', body: JSON.stringify({ definition }) });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    };
    /** header and rows of a platform file, the rows checked against its member-count header; rows keyed by their first cell */
    const fileOf = async (key: string, format: string) => {
      const res = await h.api(`/api/segments/${key}/members?format=${format}`, { secret: reader });
      expect(res.status, `${key} ${format}`).toBe(200);
      const [header, ...rows] = parseCsv(await res.text());
      expect(res.headers.get('funnelbeam-member-count'), `${key} ${format}`).toBe(String(rows.length));
      return { header, rows, byEmail: (email: string) => rows.find((r) => r[0] === sha(email)) };
    };
    return Object.assign(h, { reader, server, segment, fileOf });
  };
}
