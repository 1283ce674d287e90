// Outside judge: a CRM that applies one lead's stage.changed webhooks as the README tells it ("order one lead's
// `stage.changed` by `at`, then by its `from`→`to` chain") must end on the stage the lead API shows, also when a
// rebuild tells of a stage after the CRM heard of a later-dated one: the README's own late-event example (a download
// entered interest; the pricing view dated before it, reported after it, puts the lead in consideration instead), and
// new rules that put the lead in a stage entered before the one the CRM last heard of. Real receiver on 127.0.0.1, a
// worker the test drives; real database (PostgreSQL with TEST_ENGINE=pg). Expected stages worked out by hand.
import { describe, expect, test } from 'vitest';
import { startWebhookWorker } from '../../collector/webhooks/webhook-worker.js';
import { HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, profile, putConfig, useJourneys } from '../helpers/journey-api.js';
import { startReceiver, type Receiver } from './receiver.js';

const { open, closeLater } = useJourneys();

interface Move { id: string; data: { leadId: string; from: string | null; to: string; at: string } }

async function rig() {
  const j = await open();
  await j.services.find((s) => s.name === 'webhook-delivery')?.close();
  const rx = await startReceiver();
  closeLater(() => rx.close());
  const worker = startWebhookWorker(j.deps, { autoStart: false, random: () => 0.5, timeoutMs: 400 });
  closeLater(() => worker.close());
  const res = await j.app.request('/api/webhooks/crm', { method: 'PUT', headers: j.auth, body: JSON.stringify({ url: rx.url, events: ['stage.changed'] }) });
  expect(res.status).toBe(201);
  const drain = async () => {
    for (let k = await worker.runOnce(j.clock.now + MIN); k > 0; k = await worker.runOnce(j.clock.now + MIN));
  };
  return { j, rx, drain };
}

/** The README's recipe, as a CRM writes it: by `at`, then each move whose `from` is where the lead stands so far. */
function crmStage(rx: Receiver, leadId: string): string | null {
  const moves = rx.requests.map((r) => JSON.parse(r.body) as Move).filter((m) => m.data.leadId === leadId);
  const byAt = new Map<number, Move[]>();
  for (const m of moves) byAt.set(Date.parse(m.data.at), [...(byAt.get(Date.parse(m.data.at)) ?? []), m]);
  let stage: string | null = null;
  for (const at of [...byAt.keys()].sort((a, b) => a - b)) {
    const left = byAt.get(at)!;
    while (left.length > 0) {
      const next = left.findIndex((m) => m.data.from === stage);
      stage = left.splice(next >= 0 ? next : 0, 1)[0]!.data.to;
    }
  }
  return stage;
}

describe('a CRM applying stage.changed by the README recipe', () => {
  test("the README's late pricing view: the CRM ends on consideration, where the lead stands", async () => {
    const { j, rx, drain } = await rig();
    // T0 a visit (awareness); T0+10m a newsletter signup (interest), both heard by the CRM
    await j.visit('v_ord_late01', [{ path: '/' }, { n: 'identify', em: 'ola@order.test' }], T0);
    await j.visit('v_ord_late01', [{ path: '/newsletter', n: 'newsletter_signup' }], T0 + 10 * MIN);
    await drain();
    const lead = await profile(j, 'ola@order.test');
    expect(crmStage(rx, lead.leadId)).toBe('interest');
    // the pricing view of T0+5m arrives late: consideration at T0+5m, which interest (lower) cannot follow
    await j.visit('v_ord_late01', [{ path: '/pricing' }], T0 + 5 * MIN);
    await drain();
    expect((await profile(j, 'ola@order.test')).stage).toBe('consideration');
    expect(crmStage(rx, lead.leadId)).toBe('consideration');
  });

  test('new rules that put the lead in a stage entered before the last one heard: the CRM ends there', async () => {
    const { j, rx, drain } = await rig();
    // T0 home (awareness), T0+1m a sales video page no rule names, T0+2m pricing (consideration)
    await j.visit('v_ord_rule01', [{ path: '/' }, { n: 'identify', em: 'rui@order.test' }], T0);
    await j.visit('v_ord_rule01', [{ path: '/sales-video' }], T0 + MIN);
    await j.visit('v_ord_rule01', [{ path: '/pricing' }], T0 + 2 * MIN);
    await drain();
    const lead = await profile(j, 'rui@order.test');
    expect(crmStage(rx, lead.leadId)).toBe('consideration');
    // the owner makes the sales video an intent page; the lead's next event rebuilds it: intent, entered at T0+1m
    const config = await get(j, '/api/config/funnel');
    config.stageRules.push({ id: 'sales_video', stage: 'intent', when: { event: 'pageview', path: '/sales-video' } });
    expect((await putConfig(j, config)).status).toBe(200);
    await j.visit('v_ord_rule01', [{ path: '/blog' }], T0 + 3 * MIN);
    await drain();
    expect((await profile(j, 'rui@order.test')).stage).toBe('intent');
    expect(crmStage(rx, lead.leadId)).toBe('intent');
  });
});
