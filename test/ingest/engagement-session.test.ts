// An engagement event measures the view it follows: a long read is one session, not a return visit. It does not extend
// the session either: the next event after 30 minutes without one (the page left visible over lunch, or a test's
// clock moved on) opens a session, as in Google Analytics.
import { afterEach, describe, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { HOUR, MIN, T0 } from '../helpers/funnel-factories.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

describe.each(ENGINES)('engagement and sessions through POST /e on %s', (engine) => {
  test('a page read for 40 minutes and then left stays one session: no second session, no return-visit points', async () => {
    const j = await makeJourneyApp({ engine });
    closers.push(j.close);
    const campaign = { utm_source: 'news', utm_medium: 'email', utm_campaign: 'may', url: 'http://127.0.0.1/blog/a?utm_source=news&utm_medium=email&utm_campaign=may', at: T0 };
    await j.visit('v_reader0001', [{ path: '/blog/a', st: campaign }], T0);
    // the snippet's own touch for an event 40 minutes on is a fresh one without the campaign
    await j.visit('v_reader0001', [{ n: 'engagement', p: { seconds: 2400, scroll: 90 }, path: '/blog/a', st: { url: 'http://127.0.0.1/blog/a', at: T0 + 40 * MIN } }], T0 + 40 * MIN);
    const rows = await j.db.all<{ name: string; session_id: string; utm_campaign: string | null }>(
      'SELECT name, session_id, utm_campaign FROM events WHERE visitor_id = ? ORDER BY at', ['v_reader0001'],
    );
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(1);
    expect(rows.map((r) => r.utm_campaign)).toEqual(['may', 'may']);
    const leadId = await j.leadOfVisitor('v_reader0001');
    expect(await j.stages(leadId)).toEqual(['awareness']);
    const rules = await j.db.all<{ rule: string }>('SELECT rule FROM score_changes WHERE lead_id = ?', [leadId]);
    expect(rules.map((r) => r.rule)).toEqual(['visit']);
    expect(await j.db.get('SELECT session_count FROM visitors WHERE visitor_id = ?', ['v_reader0001'])).toEqual({ session_count: 1 });
  });

  test('pricing, 31 quiet minutes on the visible page, pricing again: the engagement joins the first session, the view opens a second (intent)', async () => {
    const j = await makeJourneyApp({ engine });
    closers.push(j.close);
    await j.visit('v_lunch00001', [{ path: '/pricing' }], T0);
    // leaving the page: 31 minutes on it, then the next page at once
    await j.visit('v_lunch00001', [{ n: 'engagement', p: { seconds: 31 * 60, scroll: 40 }, path: '/pricing' }, { path: '/pricing' }], T0 + 31 * MIN);
    const rows = await j.db.all<{ name: string; session_id: string }>('SELECT name, session_id FROM events WHERE visitor_id = ? ORDER BY at, name', ['v_lunch00001']);
    expect(rows.map((r) => r.name)).toEqual(['pageview', 'engagement', 'pageview']);
    expect(rows[1].session_id).toBe(rows[0].session_id);
    expect(rows[2].session_id).not.toBe(rows[0].session_id);
    // pricing seen in two sessions: intent
    expect(await j.stages(await j.leadOfVisitor('v_lunch00001'))).toEqual(['awareness', 'consideration', 'intent']);
  });

  test('an engagement event after a tab was hidden for hours opens a session: the visitor came back', async () => {
    const j = await makeJourneyApp({ engine });
    closers.push(j.close);
    await j.visit('v_reader0002', [{ path: '/blog/a' }], T0);
    // shown again two hours later and read for 10 seconds
    await j.visit('v_reader0002', [{ n: 'engagement', p: { seconds: 10, scroll: 50 }, path: '/blog/a' }], T0 + 2 * HOUR);
    const rows = await j.db.all<{ session_id: string }>('SELECT session_id FROM events WHERE visitor_id = ? ORDER BY at', ['v_reader0002']);
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(2);
    expect(await j.stages(await j.leadOfVisitor('v_reader0002'))).toEqual(['awareness', 'interest']);
  });
});
