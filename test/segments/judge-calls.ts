// The calls the segment judges make on a site, over HTTP: PUT a segment, send a page's beacon, post a CRM event.
import { expect } from 'vitest';
import type { HardeningApp } from '../hardening/hardening-app.js';
import { makeBatch } from '../helpers/factories.js';

/** `writer`: an events:write key of the site; `origin`: the pages' origin that beacons carry in their URLs */
export function judgeCalls(h: HardeningApp, writer: string, origin: string) {
  const put = async (key: string, definition: unknown, name?: string) => {
    const res = await h.api(`/api/segments/${key}`, { method: 'PUT', body: JSON.stringify({ name, definition }) });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return res.json();
  };
  const send = async (v: string, events: Array<Record<string, unknown>>) => {
    const res = await h.postBeacon(makeBatch(h.site.siteKey, { v }, events.map((e) => ({ t: h.clock.t, u: origin + '/', ...e }))));
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const server = async (body: unknown) => {
    const res = await h.api('/api/events', { method: 'POST', body: JSON.stringify(body), secret: writer });
    expect(res.status, await res.clone().text()).toBe(202);
    expect((await res.clone().json()).rejected).toBeUndefined();
  };
  return { put, send, server };
}
