// README "Ingest", step 3: a new campaign (source, medium, name or click id kind) starts a new session. A session is
// named after its visitor and the millisecond it began (`<visitorId>.<start in base 36>`), so two sessions of one
// visitor opened in the same millisecond took the same name: two tabs a browser restores at start-up from two campaign
// links (an email's and an ad's) load at once and send their landing views stamped alike. The visitor was counted two
// sessions that its events named as one, which mixed the email visit's and the ad visit's events under one session id.
// Expected values are from the rules: each campaign's landing view opens a session of its own.
import { afterEach, describe, expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

const PAGE = 'http://127.0.0.1/landing';

describe('sessions opened in the same millisecond', () => {
  test('two campaigns landing at once are two sessions with two names, in one batch and across batches', async () => {
    const h = await makeIngestApp();
    close = async () => {
      await h.close();
      await h.db.close();
    };
    const t = Date.now() - 60_000;
    const email = `${PAGE}?utm_source=newsletter&utm_medium=email&utm_campaign=nov`;
    const ad = `${PAGE}?utm_source=google&utm_medium=cpc&utm_campaign=brand`;
    const social = `${PAGE}?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm`;
    // one batch: two landing views at the same millisecond
    const one = await h.post({ s: h.site.siteKey, v: 'visitor_same_ms_a', e: [
      { i: 'evt_same_ms_a1', n: 'pageview', t, u: email },
      { i: 'evt_same_ms_a2', n: 'pageview', t, u: ad },
    ] });
    expect(one.status).toBe(202);
    // three batches, one after another, all stamped the same millisecond
    for (const [k, u] of [email, ad, social].entries()) {
      const res = await h.post({ s: h.site.siteKey, v: 'visitor_same_ms_b', e: [{ i: `evt_same_ms_b${k}`, n: 'pageview', t, u }] });
      expect(res.status).toBe(202);
    }
    const rows = await h.db.all<{ visitor_id: string; session_id: string; channel: string }>(
      'SELECT visitor_id, session_id, channel FROM events WHERE site_id = ? ORDER BY visitor_id, event_id',
      [h.site.siteId],
    );
    const sessionsOf = (v: string) => new Set(rows.filter((r) => r.visitor_id === v).map((r) => r.session_id)).size;
    expect(rows.map((r) => [r.visitor_id, r.channel])).toEqual([
      ['visitor_same_ms_a', 'email'],
      ['visitor_same_ms_a', 'paid_search'],
      ['visitor_same_ms_b', 'email'],
      ['visitor_same_ms_b', 'paid_search'],
      ['visitor_same_ms_b', 'paid_social'],
    ]);
    expect(sessionsOf('visitor_same_ms_a')).toBe(2);
    expect(sessionsOf('visitor_same_ms_b')).toBe(3);
    const counts = await h.db.all<{ visitor_id: string; session_count: number }>(
      'SELECT visitor_id, session_count FROM visitors WHERE site_id = ? ORDER BY visitor_id',
      [h.site.siteId],
    );
    expect(counts.map((c) => [c.visitor_id, Number(c.session_count)])).toEqual([
      ['visitor_same_ms_a', 2],
      ['visitor_same_ms_b', 3],
    ]);
  });
});
