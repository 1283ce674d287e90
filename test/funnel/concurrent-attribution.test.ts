import { afterEach, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { defaultConfig } from '../../collector/config.js';
import { createLog } from '../../collector/ops/log.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { ENGINES } from '../helpers/test-db.js';
import { CHROME_UA, randomId } from '../helpers/factories.js';
import { MIN } from '../helpers/funnel-factories.js';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

describe.each(ENGINES)('attribution by several collectors at once on %s', (engine) => {
  test('devices of one person identifying at the same moment on different collectors end in one lead, as replay says', async () => {
    const j = await makeJourneyApp({ engine });
    closers.push(j.close);
    const collectors = [j, ...Array.from({ length: 2 }, () => createApp({ db: j.db, now: () => j.clock.now, config: defaultConfig({ FLUSH_MS: 2 }), log: createLog('error') }))];
    for (const c of collectors.slice(1)) closers.push(c.close);
    const t = j.clock.now;
    j.clock.now = t + 60 * MIN;
    const people = Array.from({ length: 6 }, (_, p) => ({ email: `p${p}@race.test`, devices: Array.from({ length: 3 }, (_, d) => `v_race_${p}_${d}`) }));
    const post = (k: number, visitorId: string, events: Array<Record<string, unknown>>) =>
      collectors[k % collectors.length].app.request('/e', {
        method: 'POST',
        body: JSON.stringify({ s: j.site.siteKey, v: visitorId, e: events.map((e) => ({ i: randomId(), u: 'http://127.0.0.1/', ...e })) }),
        headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
      });
    // round 1: anonymous browsing on every device; round 2: every device identifies at once, on different collectors
    let k = 0;
    const round1 = people.flatMap((p) => p.devices.map((v, d) => post(k++, v, [
      { n: 'pageview', t: t + d * MIN, u: 'http://127.0.0.1/pricing' },
      { n: 'pageview', t: t + d * MIN + 1, u: 'http://127.0.0.1/case-studies/x' },
    ])));
    expect((await Promise.all(round1)).every((r) => r.status === 202)).toBe(true);
    const round2 = people.flatMap((p) => p.devices.map((v, d) => post(k++, v, [
      { n: 'identify', t: t + 10 * MIN + d, em: p.email },
      { n: 'demo_request', f: 'demo', t: t + 11 * MIN + d, u: 'http://127.0.0.1/demo', em: p.email },
    ])));
    expect((await Promise.all(round2)).every((r) => r.status === 202)).toBe(true);
    for (const c of collectors) await c.deps.writer.flush();

    const failures = collectors.reduce((n, c) => n + c.deps.metrics.value('funnelbeam_attribution_failures_total'), 0);
    const stray = Number((await j.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE attributed = 0'))!.n);
    // lost races (pg deadlock victims, emails claimed a moment earlier) are redone inside the flush
    expect(failures).toBe(0);
    expect(stray).toBe(0);
    for (const p of people) {
      const leads = new Set(await Promise.all(p.devices.map((v) => j.leadOfVisitor(v))));
      expect(leads.size).toBe(1);
      const lead = await j.lead([...leads][0]);
      expect(lead).toMatchObject({ email: p.email, stage: 'evaluation', sql: true });
    }
    expect(Number((await j.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM leads WHERE site_id = ?', [j.site.siteId]))!.n)).toBe(people.length);
    const live = await j.snapshot();
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(await j.snapshot()).toEqual(live);
  });
});
