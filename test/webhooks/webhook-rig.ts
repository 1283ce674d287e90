// A hardening app with a real receiver, a beacon sender, a webhook PUT and a webhook worker the test drives itself (the
// app's own delivery service stopped, so it is the only one), closed after each test: what the outside-judge webhook
// files share.
import { expect } from 'vitest';
import { useUnthrottledApps } from '../hardening/hardening-app.js';
import { makeBatch } from '../helpers/factories.js';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { startReceiver, type Receiver } from './receiver.js';

export const ORIGIN = 'http://127.0.0.1';

export function useWebhookRigs() {
  const { open, closeLater } = useUnthrottledApps();
  /** `concurrency`: the worker's deliveries in flight at once. */
  async function setup(concurrency = 16) {
    const h = await open();
    await h.services.find((s) => s.name === 'webhook-delivery')!.close();
    const rx: Receiver = await startReceiver();
    closeLater(() => rx.close());
    const send = async (v: string, events: Array<Record<string, unknown>>) => {
      const res = await h.postBeacon(makeBatch(h.site.siteKey, { v }, events.map((e) => ({ t: h.clock.t, u: ORIGIN + '/', ...e }))));
      expect(res.status, await res.clone().text()).toBe(202);
    };
    const hook = async (id: string, body: object) => {
      const res = await h.api(`/api/webhooks/${id}`, { method: 'PUT', body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      return res.json();
    };
    const worker = startWebhookWorker(h.deps, { autoStart: false, random: () => 0.5, timeoutMs: 400, concurrency });
    closeLater(() => worker.close());
    return Object.assign(h, { rx, send, hook, worker });
  }
  return { setup, closeLater };
}
