import { afterEach, describe, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import { DAY, HOUR, MIN } from '../helpers/funnel-factories.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

/** Two people, four devices, forms, downloads, pricing across sessions, a late retried event and CRM events. */
async function scriptedJourney(engine: 'sqlite' | 'pg') {
  const j = await makeJourneyApp({ engine });
  closers.push(j.close);
  const t = j.clock.now;
  const google = { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', gclid: 'g-1', url: 'http://127.0.0.1/?gclid=g-1', at: t };
  // Ann's laptop: paid search landing, reads, then a newsletter signup identifies her
  await j.visit('v_annlaptop1', [{ path: '/', ft: google, st: google }, { path: '/blog/roi' }, { path: '/pricing', ft: google, st: google }], t);
  await j.visit('v_annlaptop1', [
    { path: '/case-studies/acme', ft: google },
    { n: 'download', path: '/resources', p: { url: 'http://127.0.0.1/files/b2b-ebook.pdf' }, ft: google },
    { n: 'newsletter_signup', f: 'newsletter', path: '/blog', em: 'ann@acme.test', tr: { firstName: 'Ann' }, ft: google },
  ], t + DAY);
  // Ann's phone: anonymous pricing and comparison visits, then a demo request with the same email (merge)
  await j.visit('v_annphone01', [{ path: '/pricing' }, { path: '/compare/other-tool' }], t + 2 * DAY);
  await j.visit('v_annphone01', [{ n: 'demo_request', f: 'demo', path: '/demo', em: 'ann@acme.test', tr: { company: 'Acme', phone: '+1 555 0100' } }], t + 2 * DAY + 10 * MIN);
  // a retried event from the laptop arrives late, older than what was folded
  await j.visit('v_annlaptop1', [{ path: '/careers' }], t + DAY + 30 * MIN);
  // the CRM, a few days on
  j.clock.now = t + 4 * DAY + MIN;
  const crm = await j.serverEvents([
    { id: 'deal-ann-1', email: 'ann@acme.test', name: 'demo_completed', at: t + 3 * DAY },
    { id: 'deal-ann-2', email: 'ann@acme.test', name: 'sales_accepted', at: t + 3 * DAY + HOUR },
    { id: 'deal-ann-3', email: 'ann@acme.test', name: 'proposal_sent', at: t + 4 * DAY },
  ]);
  expect(crm.status).toBe(202);
  // a shared kiosk: Bob identifies, later Carol on the same device (PostHog rule: Bob keeps his history)
  await j.visit('v_kiosk00001', [{ path: '/' }, { n: 'identify', em: 'bob@bee.test' }, { path: '/pricing' }], t + 4 * DAY);
  await j.visit('v_kiosk00001', [{ n: 'identify', em: 'carol@sea.test' }, { path: '/pricing' }, { n: 'form_submit', f: 'other', path: '/contact', em: 'carol@sea.test' }], t + 4 * DAY + 2 * HOUR);
  j.clock.now = t + 5 * DAY + MIN;
  await j.serverEvents({ id: 'deal-ann-4', email: 'ann@acme.test', name: 'closed_won', at: t + 5 * DAY });
  return j;
}

describe.each(ENGINES)('replay on %s', (engine) => {
  test('a scripted multi-device journey ends where the rules say', async () => {
    const j = await scriptedJourney(engine);
    const ann = await j.leadOfVisitor('v_annphone01');
    expect(await j.leadOfVisitor('v_annlaptop1')).toBe(ann);
    expect(await j.lead(ann)).toMatchObject({
      email: 'ann@acme.test', stage: 'purchase', mql: true, sql: true, traits: { firstName: 'Ann', company: 'Acme', phone: '+1 555 0100' },
    });
    // pricing on day one skips interest; pricing again on the phone (a second session, after the merge) is intent
    expect(await j.stages(ann)).toEqual(['awareness', 'consideration', 'intent', 'evaluation', 'purchase']);
    const intent = await j.db.get<{ at: number; rule: string }>("SELECT at, rule FROM stage_changes WHERE lead_id = ? AND to_stage = 'intent'", [ann]);
    expect(intent).toMatchObject({ rule: 'pricing_two_sessions', at: j.site.createdAt + 2 * DAY });
    const firstTouch = JSON.parse(String(((await j.lead(ann)) as Record<string, unknown>).first_touch));
    expect(firstTouch).toMatchObject({ utm_source: 'google', channel: 'paid_search' });
    const bob = (await j.db.get<{ lead_id: string }>('SELECT lead_id FROM leads WHERE email = ?', ['bob@bee.test']))!.lead_id;
    const carol = await j.leadOfVisitor('v_kiosk00001');
    expect(await j.lead(bob)).toMatchObject({ stage: 'consideration' });
    expect(await j.lead(carol)).toMatchObject({ stage: 'intent', email: 'carol@sea.test' });
    const stray = await j.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE attributed = 0 OR lead_id IS NULL');
    expect(Number(stray!.n)).toBe(0);
  });

  test('replay gives the same leads, stage changes and score changes as live attribution', async () => {
    const j = await scriptedJourney(engine);
    const live = await j.snapshot();
    const r = await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(r.leads).toBe(live.leads.length);
    expect(await j.snapshot()).toEqual(live);
  });

  test('replay rebuilds everything derived from the events alone', async () => {
    const j = await scriptedJourney(engine);
    const live = await j.snapshot();
    await j.db.run('DELETE FROM stage_changes');
    await j.db.run('DELETE FROM score_changes');
    await j.db.run("UPDATE leads SET stage = 'awareness', stage_rank = 0, score = 0, mql = 0, mql_at = NULL, sql = 0, sql_at = NULL, traits = '{}', first_touch = NULL, last_touch = NULL, state = '{}'");
    await j.db.run("UPDATE events SET attributed = 0, lead_id = NULL WHERE source = 'web'");
    await j.db.run("UPDATE events SET attributed = 0 WHERE source = 'server'");
    const r = await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(r.attributedEvents).toBe(live.events.length);
    expect(await j.snapshot()).toEqual(live);
  });

  test('after a rule change, replay applies the new rules to history', async () => {
    const j = await scriptedJourney(engine);
    const config = structuredClone(DEFAULT_FUNNEL_CONFIG);
    config.stageRules = config.stageRules.filter((r) => r.stage !== 'purchase');
    config.scoreRules.push({ id: 'blog', points: 3, when: { event: 'pageview', path: '/blog*' } });
    const res = await j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify(config), headers: j.auth });
    expect(res.status).toBe(200);
    const ann = await j.leadOfVisitor('v_annphone01');
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(await j.lead(ann)).toMatchObject({ stage: 'evaluation' });
    expect(await j.stages(ann)).not.toContain('purchase');
    const blog = await j.db.all('SELECT points FROM score_changes WHERE lead_id = ? AND rule = ?', [ann, 'blog']);
    expect(blog).toEqual([{ points: 3 }]);
  });

  test('an unknown site is an admin error', async () => {
    const j = await makeJourneyApp({ engine });
    closers.push(j.close);
    await expect(replaySite(j.db, 'site_nope')).rejects.toThrow(/no site/);
  });
});

describe('attribution failures', () => {
  test('a failed attribution leaves the events stored and unattributed, and replay attributes them', async () => {
    const j = await makeJourneyApp();
    closers.push(j.close);
    await j.db.run('ALTER TABLE score_changes RENAME TO score_changes_away');
    await j.visit('v_unlucky001', [{ path: '/' }, { path: '/pricing' }]);
    const rows = await j.db.all<{ attributed: number; lead_id: string | null }>('SELECT attributed, lead_id FROM events WHERE visitor_id = ?', ['v_unlucky001']);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => Number(r.attributed) === 0 && r.lead_id === null)).toBe(true);
    expect(j.deps.metrics.value('funnelbeam_attribution_failures_total')).toBe(1);
    await j.db.run('ALTER TABLE score_changes_away RENAME TO score_changes');
    const r = await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(r.attributedEvents).toBe(2);
    const lead = await j.lead(await j.leadOfVisitor('v_unlucky001'));
    expect(lead).toMatchObject({ stage: 'consideration', score: 12 });
  });
});
