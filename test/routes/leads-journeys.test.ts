import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { ENGINES } from '../helpers/test-db.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { T0 } from '../helpers/funnel-factories.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each(ENGINES)('lead reads over real ingest on %s', (engine) => {
  let j: Awaited<ReturnType<typeof makeJourneyApp>>;
  afterEach(async () => {
    await j.close();
    await j.db.close();
  });

  /** Ada: phone first (pricing), laptop signs up to the newsletter, the phone identifies, a demo, then sales close. */
  async function adaJourney() {
    j = await makeJourneyApp({ engine });
    const phone = 'phone0000000000000001';
    const laptop = 'laptop000000000000001';
    await j.visit(phone, [{ path: '/' }, { path: '/pricing' }], T0);
    await j.visit(laptop, [{ path: '/blog/x' }, { n: 'newsletter_signup', f: 'newsletter', em: 'Ada@Example.com', path: '/blog/x' }], T0 + DAY);
    await j.visit(phone, [{ path: '/app' }, { n: 'identify', em: 'ada@example.com', tr: { firstName: 'Ada' }, path: '/app' }], T0 + 2 * DAY);
    await j.visit(laptop, [{ path: '/demo' }, { n: 'demo_request', f: 'demo', em: 'ada@example.com', path: '/demo' }], T0 + 3 * DAY);
    j.clock.now = T0 + 10 * DAY; // the CRM reports later; events may not be in the future
    const res = await j.serverEvents([
      { email: 'ada@example.com', name: 'demo_completed', at: T0 + 4 * DAY },
      { email: 'ada@example.com', name: 'closed_won', at: T0 + 9 * DAY, props: { amount: 12000 } },
    ]);
    expect(res.status).toBe(202);
    const get = async (url: string) => {
      const r = await j.app.request(url, { headers: j.auth });
      expect(r.status, url).toBe(200);
      return r.json();
    };
    return { phone, laptop, get };
  }

  test('the profile and the timeline follow one lead across both devices, server events and every change', async () => {
    const { phone, laptop, get } = await adaJourney();
    const profile = await get('/api/leads/ada%40example.com');
    expect(profile).toMatchObject({ email: 'ada@example.com', stage: 'purchase', sql: true, identified: true, traits: { firstName: 'Ada' } });
    expect(profile.visitorIds).toEqual([laptop, phone].sort());
    expect((await get(`/api/leads/${phone}`)).leadId).toBe(profile.leadId);
    expect((await get('/api/leads?q=ADA')).items.map((l: { leadId: string }) => l.leadId)).toEqual([profile.leadId]);

    const tl = await get(`/api/leads/${profile.leadId}/timeline?limit=500`);
    const items = tl.items as Array<Record<string, unknown>>;
    const at = items.map((i) => Date.parse(String(i.at)));
    expect([...at].sort((a, b) => b - a)).toEqual(at);
    const events = items.filter((i) => i.kind === 'event');
    expect(events.length).toBe(10);
    expect(events.filter((i) => i.visitorId === phone).map((i) => i.url)).toContain('http://127.0.0.1/pricing');
    expect(events.filter((i) => i.name === 'closed_won')).toHaveLength(1);
    expect(events.find((i) => i.name === 'demo_request')).toMatchObject({ form: 'demo', visitorId: laptop });
    const stages = items.filter((i) => i.kind === 'stage').map((i) => i.to).reverse();
    // pricing on the phone put Ada in consideration before the newsletter: interest is skipped, never entered late
    expect(stages).toEqual(['awareness', 'consideration', 'evaluation', 'purchase']);
    expect(items.filter((i) => i.kind === 'identity').map((i) => i.reason).sort()).toEqual(expect.arrayContaining(['identified', 'merged']));
    // the score can be explained from the timeline: the last score item carries the stored score
    const scores = items.filter((i) => i.kind === 'score');
    expect(scores.length).toBeGreaterThan(3);
    expect(scores[0].scoreAfter).toBe(profile.scoreStored);
    const sum = scores.reduce((s, i) => s + Number(i.points), 0);
    expect(sum).toBeGreaterThanOrEqual(profile.scoreStored);

    // paging gives the same sequence
    const paged: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/api/leads/${profile.leadId}/timeline?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(items);
  });

  test('the funnel report counts the journey', async () => {
    await adaJourney();
    const r = await j.app.request(`/api/funnel?from=${T0 - DAY}&to=${T0 + 10 * DAY}`, { headers: j.auth });
    const body = await r.json();
    const byStage = Object.fromEntries(body.stages.map((s: { stage: string }) => [s.stage, s]));
    expect(byStage.purchase).toMatchObject({ count: 1, entered: 1 });
    expect(byStage.awareness.entered).toBe(1);
    expect(byStage.awareness.conversionCumulative).toBe(1);
    expect(byStage.evaluation.timeInStage.p50).toBe(6 * DAY - 1);
  });

  test('erasure leaves nothing of the journey in any table', async () => {
    const { phone, laptop, get } = await adaJourney();
    const { leadId } = await get('/api/leads/ada%40example.com');
    const res = await j.app.request('/api/leads/ada%40example.com', { method: 'DELETE', headers: j.auth });
    expect(res.status).toBe(200);
    expect((await res.json()).erased.events).toBe(10);
    const tables = await j.db.all<{ name: string }>(
      j.db.dialect === 'pg'
        ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    );
    const needles = ['ada@example.com', leadId, phone, laptop].flatMap((s) => [s, sha256(s)]);
    for (const { name } of tables) {
      for (const row of await j.db.all(`SELECT * FROM "${name}"`)) {
        const text = JSON.stringify(row).toLowerCase();
        for (const n of needles) expect(text.includes(n.toLowerCase()), `${name}: ${text}`).toBe(false);
      }
    }
  });
});
