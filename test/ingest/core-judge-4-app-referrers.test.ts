// README "Ingest", step 3: "An Android app referrer (`android-app://com.google.android.gm/`) is looked up by its
// package (Gmail is email, LinkedIn's app social, an unlisted app a referral)". Chrome on Android gives a page opened
// from an app that app's package as the referrer. The list held each network's main app only: a newsletter opened in
// Samsung Email (the default mail app on Samsung phones), Gmail Go or another mail app, and a post opened in Messenger,
// Instagram Lite, Threads or Bluesky, were stored as referrals. Expected channels are the ones the README gives their
// web counterparts (webmail is email, a social network's host is organic social).
import { afterEach, describe, expect, test } from 'vitest';
import { makeIngestApp } from '../helpers/ingest-app.js';

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

const CASES: Array<[string, string]> = [
  ['com.samsung.android.email.provider', 'email'],
  ['com.google.android.gm.lite', 'email'],
  ['com.android.email', 'email'],
  ['com.readdle.spark', 'email'],
  ['me.bluemail.mail', 'email'],
  ['net.thunderbird.android', 'email'],
  ['com.fsck.k9', 'email'],
  ['com.google.android.apps.searchlite', 'organic_search'],
  ['com.facebook.orca', 'organic_social'],
  ['com.instagram.lite', 'organic_social'],
  ['com.instagram.barcelona', 'organic_social'],
  ['com.linkedin.android.lite', 'organic_social'],
  ['xyz.blueskyweb.app', 'organic_social'],
  ['com.snapchat.android', 'organic_social'],
  ['com.discord', 'organic_social'],
  // still a referral: an app on no list, and a mail app's package never read as a host
  ['com.whatsapp', 'referral'],
];

describe('Android app referrers of mail and social apps', () => {
  test('a landing view from each is stored with the channel of what the app is', async () => {
    const h = await makeIngestApp();
    close = async () => {
      await h.close();
      await h.db.close();
    };
    const t = Date.now() - 60_000;
    for (const [k, [pkg]] of CASES.entries()) {
      const res = await h.post({ s: h.site.siteKey, v: `visitor_app_ref_${k}`, e: [{ i: `evt_app_ref_${k}`, n: 'pageview', t, u: 'http://127.0.0.1/post', r: `android-app://${pkg}/` }] });
      expect(res.status).toBe(202);
    }
    const rows = await h.db.all<{ visitor_id: string; channel: string }>('SELECT visitor_id, channel FROM events WHERE site_id = ?', [h.site.siteId]);
    const stored = new Map(rows.map((r) => [r.visitor_id, r.channel]));
    expect(CASES.map(([pkg], k) => [pkg, stored.get(`visitor_app_ref_${k}`)])).toEqual(CASES);
  });
});

// README "Ingest", step 3: "webmail hosts are never search". Seznam's webmail lives under its search engine's domain
// (email.seznam.cz under seznam.cz, a search host) and was stored as organic search; Mail.ru's (e.mail.ru), Tuta's and
// HEY's webmail hosts named no mail at all and were referrals.
describe('webmail hosts that do not start with mail.', () => {
  test('a landing view from each is email; the search engine itself stays search', async () => {
    const h = await makeIngestApp();
    close = async () => {
      await h.close();
      await h.db.close();
    };
    const t = Date.now() - 60_000;
    const refs: Array<[string, string]> = [
      ['https://email.seznam.cz/', 'email'],
      ['https://e.mail.ru/inbox/', 'email'],
      ['https://app.tuta.com/mail', 'email'],
      ['https://app.hey.com/topics/1', 'email'],
      ['https://search.seznam.cz/?q=crm', 'organic_search'],
    ];
    for (const [k, [ref]] of refs.entries()) {
      expect((await h.post({ s: h.site.siteKey, v: `visitor_webmail_${k}`, e: [{ i: `evt_webmail_${k}`, n: 'pageview', t, u: 'http://127.0.0.1/', r: ref }] })).status).toBe(202);
    }
    const rows = await h.db.all<{ visitor_id: string; channel: string }>('SELECT visitor_id, channel FROM events WHERE site_id = ?', [h.site.siteId]);
    const stored = new Map(rows.map((r) => [r.visitor_id, r.channel]));
    expect(refs.map(([ref], k) => [ref, stored.get(`visitor_webmail_${k}`)])).toEqual(refs);
  });
});
