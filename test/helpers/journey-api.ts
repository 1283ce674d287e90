// Journeys over HTTP on a real database (PostgreSQL with TEST_ENGINE=pg), and the reads the unseen-journeys files make
// of them: a lead's profile and timeline through the API, as a sales tool would.
import { afterEach, expect } from 'vitest';
import { makeJourneyApp } from './journey-app.js';
import { T0 } from './funnel-factories.js';

export type Journey = Awaited<ReturnType<typeof makeJourneyApp>>;
export const engine = process.env.TEST_ENGINE === 'pg' ? 'pg' : 'sqlite';

/** `open()` makes a journey app; it and whatever is passed to `closeLater` are closed after each test. */
export function useJourneys() {
  let closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers) await c();
    closers = [];
  });
  const closeLater = (close: () => Promise<void>) => void closers.push(close);
  const open = async (): Promise<Journey> => {
    const j = await makeJourneyApp({ engine });
    closeLater(j.close);
    return j;
  };
  return { open, closeLater };
}

export const get = async (j: Journey, path: string, status = 200) => {
  const res = await j.app.request(path, { headers: j.auth });
  expect(res.status, `${path}: ${status}`).toBe(status);
  return res.json();
};
export const profile = (j: Journey, ref: string) => get(j, '/api/leads/' + encodeURIComponent(ref));
export const timeline = (j: Journey, ref: string, query = '') =>
  get(j, `/api/leads/${encodeURIComponent(ref)}/timeline?${query}`) as Promise<{ items: Array<Record<string, any>>; nextCursor: string | null }>;
export const iso = (ms: number) => new Date(ms).toISOString();
/** POST /api/events with the journey's admin key, expecting `status`; the answer's JSON. */
export const postEvents = async (j: Journey, body: unknown, status = 202) => {
  const res = await j.serverEvents(body);
  const json = await res.json();
  expect(res.status, JSON.stringify(json).slice(0, 300)).toBe(status);
  return json;
};

// The funnel judges' reads: rules PUT, stage moves queued for a webhook, a lead's stage and score items (ms after T0).
export const putConfig = (j: Journey, config: unknown) =>
  j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify(config), headers: j.auth });
/** A webhook for stage moves (to a closed port: deliveries are only queued) and the moves queued so far for one lead. */
export async function hookStages(j: Journey) {
  const res = await j.app.request('/api/webhooks/stages', { method: 'PUT', body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['stage.changed'] }), headers: j.auth });
  expect(res.status).toBe(201);
  return async (leadId: string) =>
    (await j.db.all<{ payload: string }>("SELECT payload FROM webhook_deliveries WHERE site_id = ? AND event_type = 'stage.changed' ORDER BY created_at, delivery_id", [j.site.siteId]))
      .map((d) => JSON.parse(d.payload).data ?? JSON.parse(d.payload))
      .filter((d: any) => d.leadId === leadId)
      .map((d: any) => [d.from ?? null, d.to, Date.parse(d.at) - T0]);
}
export const stageItems = async (j: Journey, ref: string) =>
  (await timeline(j, ref, 'types=stage')).items.map((i) => [i.from ?? null, i.to, Date.parse(i.at) - T0]);
export const scoreItems = async (j: Journey, ref: string) =>
  (await timeline(j, ref, 'types=score')).items.map((i) => [i.rule, i.points, Date.parse(i.at) - T0]);
