// Round 3 of traffic the other ingest tests do not send. Channels: a campaign tag against the referrer it came with
// (an email's link clicked in webmail, a social campaign reached from a search page), ad-platform sources
// (`facebook_ads`), medium spellings, AI assistants, click ids with an organic referrer. Sessions through POST /e on a
// controlled clock: midnight, the 30-minute edge, campaigns mid-visit, one batch out of order or spanning a pause.
import { describe, expect, test } from 'vitest';
import { classifyChannel } from '../../collector/ingest/channels.js';
import { makeIngestApp } from '../helpers/ingest-app.js';
import { makeJourneyApp, type JourneyEvent } from '../helpers/journey-app.js';
import { makeBatch } from '../helpers/factories.js';
import { MIN } from '../helpers/funnel-factories.js';

const SITE_HOSTS = ['example.com'];

describe('channels as a marketer reads them (GA4 default channel grouping)', () => {
  test.each([
    // a campaign tag outranks the referrer it came with: GA4 reads utm_source, not the referrer, when a link is tagged
    ['a newsletter link clicked in Gmail on the web', { utm_source: 'newsletter', ref: 'https://mail.google.com/mail/u/0/' }, 'email'],
    ['a newsletter link clicked in the Gmail app', { utm_source: 'newsletter', ref: 'android-app://com.google.android.gm/' }, 'email'],
    ['a newsletter link clicked in Yahoo Mail', { utm_source: 'newsletter', ref: 'https://mail.yahoo.com/d/folders/1' }, 'email'],
    ['a link tagged only with the sender, clicked in Gmail', { utm_source: 'hubspot', utm_campaign: 'nov', ref: 'https://mail.google.com/' }, 'email'],
    ['a link tagged with a medium no rule knows, clicked in AOL Mail', { utm_source: 'hubspot', utm_medium: 'hs_email', ref: 'https://mail.aol.com/' }, 'email'],
    ['a newsletter link found through Google', { utm_source: 'newsletter', ref: 'https://www.google.com/' }, 'email'],
    ['a LinkedIn ad reached from a Google results page', { utm_source: 'linkedin', utm_medium: 'cpc', ref: 'https://www.google.com/' }, 'paid_social'],
    ['a LinkedIn post tagged without medium, reached from Bing', { utm_source: 'linkedin', ref: 'https://www.bing.com/' }, 'organic_social'],
    ['an untagged visit from a Google results page still', { ref: 'https://www.google.com/search?q=x' }, 'organic_search'],
    ['Yahoo Mail without a tag is email, not Yahoo search', { ref: 'https://mail.yahoo.com/' }, 'email'],
    // ad platforms named in the source
    ['facebook_ads / cpc', { utm_source: 'facebook_ads', utm_medium: 'cpc' }, 'paid_social'],
    ['linkedin-ads without medium', { utm_source: 'linkedin-ads' }, 'paid_social'],
    ['Google Ads (space, capitals) without medium', { utm_source: 'Google Ads' }, 'paid_search'],
    ['google_ads / cpc', { utm_source: 'google_ads', utm_medium: 'cpc' }, 'paid_search'],
    ['bing_ads / email stays email (the medium says so)', { utm_source: 'bing_ads', utm_medium: 'email' }, 'email'],
    ['an unknown network\'s ads without medium', { utm_source: 'capterra_ads' }, 'other'],
    ['youtube_ads with a medium no rule knows', { utm_source: 'youtube_ads', utm_medium: 'video' }, 'paid_social'],
    // medium spellings
    ['paid-social from linkedin', { utm_source: 'linkedin', utm_medium: 'paid-social' }, 'paid_social'],
    ['social-paid without source', { utm_medium: 'social-paid' }, 'paid_social'],
    ['paidsocial without source', { utm_medium: 'PaidSocial' }, 'paid_social'],
    ['paid search (space) without source', { utm_medium: 'paid search' }, 'paid_search'],
    ['CPC from Google in capitals', { utm_source: 'Google', utm_medium: 'CPC' }, 'paid_search'],
    ['cpm without source', { utm_medium: 'cpm' }, 'display'],
    ['banner from google', { utm_source: 'google', utm_medium: 'banner' }, 'display'],
    ['EMAIL in capitals', { utm_medium: 'EMAIL' }, 'email'],
    ['Affiliates', { utm_medium: 'Affiliates' }, 'affiliate'],
    ['referral with a Google referrer', { utm_medium: 'referral', utm_source: 'g2', ref: 'https://www.google.com/' }, 'referral'],
    ['organic without source', { utm_medium: 'organic' }, 'organic_search'],
    ['organic from facebook', { utm_source: 'Facebook', utm_medium: 'organic' }, 'organic_social'],
    // sources of known sites without medium
    ['Instagram', { utm_source: 'instagram' }, 'organic_social'],
    ['ig', { utm_source: 'ig' }, 'organic_social'],
    ['Facebook.com written as a host', { utm_source: 'Facebook.com' }, 'organic_social'],
    ['DuckDuckGo', { utm_source: 'DuckDuckGo' }, 'organic_search'],
    // referrers
    ['Brave Search', { ref: 'https://search.brave.com/search?q=x' }, 'organic_search'],
    ['Google Australia', { ref: 'https://www.google.com.au/' }, 'organic_search'],
    ['Google News', { ref: 'https://news.google.com/' }, 'organic_search'],
    ['Google Brazil', { ref: 'https://www.google.com.br/' }, 'organic_search'],
    ['Google Images', { ref: 'https://images.google.de/' }, 'organic_search'],
    // Google sites that are no search engine: a partner listing, docs, a marketplace link are referrals
    ['the Google Cloud Marketplace', { ref: 'https://console.cloud.google.com/marketplace/product/acme' }, 'referral'],
    ['Google for Developers', { ref: 'https://developers.google.com/workspace' }, 'referral'],
    ['the Google Workspace Marketplace', { ref: 'https://workspace.google.com/marketplace/app/acme' }, 'referral'],
    ['a Google support page', { ref: 'https://support.google.com/analytics/answer/1' }, 'referral'],
    ['Google\'s blog on its own TLD', { ref: 'https://blog.google/products/' }, 'referral'],
    // "google" inside another site's name is not Google
    ['a blog named google on Blogspot', { ref: 'https://google.blogspot.com/' }, 'referral'],
    ['a look-alike host', { ref: 'https://google.com.example.io/' }, 'referral'],
    // AI assistants: one channel for all of them (referral, as GA4 reports Perplexity still), never search
    ['Perplexity', { ref: 'https://www.perplexity.ai/search/abc' }, 'referral'],
    ['Perplexity tagged as a host', { utm_source: 'perplexity.ai' }, 'referral'],
    ['ChatGPT', { ref: 'https://chatgpt.com/' }, 'referral'],
    ['ChatGPT at its old host', { ref: 'https://chat.openai.com/' }, 'referral'],
    // an ad click id beats an organic referrer: the ad was clicked (GA4's auto-tagging does the same)
    ['msclkid with a DuckDuckGo referrer (Microsoft Ads on DuckDuckGo)', { msclkid: 'x', ref: 'https://duckduckgo.com/' }, 'paid_search'],
    ['a shared ad link: gclid with a t.co referrer', { gclid: 'x', ref: 'https://t.co/abc' }, 'paid_search'],
    ['gbraid in the landing URL with a Google referrer', { url: 'https://example.com/?gbraid=0AAAAA', ref: 'https://www.google.com/' }, 'paid_search'],
    ['an empty gclid is no ad click', { gclid: '', ref: 'https://www.google.com/' }, 'organic_search'],
  ] as Array<[string, Record<string, string>, string]>)('%s → %s', (_what, touch, channel) => {
    expect(classifyChannel(touch as never, SITE_HOSTS)).toBe(channel);
  });

  test('POST /e stores a newsletter link clicked in Gmail as email, with the campaign as sent', async () => {
    const app = await makeIngestApp({ domain: 'example.com' });
    const url = 'https://example.com/?utm_source=Newsletter&utm_campaign=nov';
    const st = { url, ref: 'https://mail.google.com/', utm_source: 'Newsletter', utm_campaign: 'nov', at: Date.now() };
    const batch = makeBatch(app.site.siteKey, {}, [{ u: url, r: 'https://mail.google.com/', ft: st, st }]);
    expect((await app.post(batch, { origin: 'https://example.com' })).status).toBe(202);
    const row = await app.db.get<{ channel: string; utm_source: string }>('SELECT channel, utm_source FROM events WHERE event_id = ?', [batch.e[0].i]);
    expect(row).toEqual({ channel: 'email', utm_source: 'Newsletter' });
  });
});

describe('sessions through POST /e on a controlled clock', () => {
  /** A landing touch as the snippet sends it. */
  const touch = (query: string, at: number, ref?: string) => {
    const t: Record<string, unknown> = { url: `http://127.0.0.1/${query}`, at, ...(ref ? { ref } : {}) };
    new URLSearchParams(query.replace(/^\?/, '')).forEach((v, k) => (t[k] = v));
    return t;
  };

  async function setup(start: number) {
    const j = await makeJourneyApp({ start });
    const rows = async (visitorId: string) =>
      j.db.all<{ session_id: string; at: number; channel: string; opened: number }>(
        'SELECT session_id, at, channel, first_touch IS NOT NULL AS opened FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at',
        [j.site.siteId, visitorId],
      );
    const sessionCount = async (visitorId: string) =>
      (await j.db.get<{ session_count: number }>('SELECT session_count FROM visitors WHERE site_id = ? AND visitor_id = ?', [j.site.siteId, visitorId]))!.session_count;
    return { ...j, rows, sessionCount };
  }

  test('a visit across UTC midnight is one session', async () => {
    const midnight = Date.UTC(2025, 0, 7);
    const j = await setup(midnight - 20 * MIN);
    for (const at of [midnight - 20 * MIN, midnight - 1, midnight + 10 * MIN, midnight + 35 * MIN]) await j.visit('v_midnight01', [{ path: '/blog' }], at);
    expect(new Set((await j.rows('v_midnight01')).map((r) => r.session_id)).size).toBe(1);
    expect(await j.sessionCount('v_midnight01')).toBe(1);
  });

  test('30 minutes of quiet exactly continue the session; 30 minutes and 1 ms open a new one', async () => {
    const t0 = Date.UTC(2025, 0, 6, 9);
    const j = await setup(t0);
    await j.visit('v_edge000001', [{ path: '/a' }], t0);
    await j.visit('v_edge000001', [{ path: '/b' }], t0 + 30 * MIN);
    await j.visit('v_edge000001', [{ path: '/c' }], t0 + 60 * MIN + 1);
    const r = await j.rows('v_edge000001');
    expect(r[1].session_id).toBe(r[0].session_id);
    expect(r[2].session_id).not.toBe(r[1].session_id);
    expect(await j.sessionCount('v_edge000001')).toBe(2);
  });

  test('a new campaign mid-visit opens a session with its channel; landing again from the same campaign does not', async () => {
    const t0 = Date.UTC(2025, 0, 6, 9);
    const j = await setup(t0);
    const google = touch('?utm_source=google&utm_medium=cpc&utm_campaign=crm', t0, 'https://www.google.com/');
    await j.visit('v_campaign01', [{ path: '/', st: google, ft: google }], t0);
    await j.visit('v_campaign01', [{ path: '/pricing', st: google, ft: google }], t0 + 2 * MIN);
    // the same ad clicked again: a second landing of the same campaign
    const again = touch('?utm_source=google&utm_medium=cpc&utm_campaign=crm', t0 + 5 * MIN, 'https://www.google.com/');
    await j.visit('v_campaign01', [{ path: '/', st: again, ft: google }], t0 + 5 * MIN);
    const linkedin = touch('?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm', t0 + 8 * MIN, 'https://www.linkedin.com/');
    await j.visit('v_campaign01', [{ path: '/', st: linkedin, ft: google }], t0 + 8 * MIN);
    await j.visit('v_campaign01', [{ path: '/demo', st: linkedin, ft: google }], t0 + 9 * MIN);
    const r = await j.rows('v_campaign01');
    expect(r.map((x) => x.channel)).toEqual(['paid_search', 'paid_search', 'paid_search', 'paid_social', 'paid_social']);
    expect(r.map((x) => x.session_id === r[0].session_id)).toEqual([true, true, true, false, false]);
    expect(r[4].session_id).toBe(r[3].session_id);
    expect(await j.sessionCount('v_campaign01')).toBe(2);
  });

  test('the same Google ad clicked twice in five minutes (two gclid values) is one visit, one session', async () => {
    const t0 = Date.UTC(2025, 0, 6, 9);
    const j = await setup(t0);
    const click = (gclid: string, at: number) => touch(`?utm_source=google&utm_medium=cpc&utm_campaign=crm&gclid=${gclid}`, at, 'https://www.google.com/');
    const first = click('Cj0KCQiA1', t0);
    await j.visit('v_reclick001', [{ path: '/', st: first, ft: first }], t0);
    await j.visit('v_reclick001', [{ path: '/', st: click('Cj0KCQiB2', t0 + 5 * MIN), ft: first }], t0 + 5 * MIN);
    const r = await j.rows('v_reclick001');
    expect(r.map((x) => x.channel)).toEqual(['paid_search', 'paid_search']);
    expect(r[1].session_id).toBe(r[0].session_id);
    // a second session would move the visitor to interest ("a second session") for one re-click
    expect(await j.sessionCount('v_reclick001')).toBe(1);
  });

  // BUG (not in my files): shared/events.ts CLICK_IDS lacks gbraid and wbraid, so campaignKey (which must keep
  // late-events.ts campaignAsStored's CLICK_IDS layout) cannot see them and enrich.ts stores click_id null: an iOS
  // Google Ads click mid-visit is paid_search but opens no session, where a gclid click does. Remove .fails when fixed.
  test('an iOS Google Ads click (gbraid) mid-visit opens a session, as a gclid click does, and stores its click id', async () => {
    const t0 = Date.UTC(2025, 0, 6, 9);
    const j = await setup(t0);
    for (const [visitorId, id] of [['v_gclid00001', 'gclid'], ['v_gbraid0001', 'gbraid']]) {
      await j.visit(visitorId, [{ path: '/' }], t0);
      const ad = touch(`?${id}=0AAAAADk`, t0 + 5 * MIN, 'https://www.google.com/');
      await j.visit(visitorId, [{ path: '/', st: ad }], t0 + 5 * MIN);
    }
    const clickIds = async (v: string) => (await j.db.all<{ click_id: string | null }>('SELECT click_id FROM events WHERE visitor_id = ? ORDER BY at', [v])).map((r) => r.click_id);
    expect((await j.rows('v_gclid00001')).map((x) => x.channel)).toEqual(['direct', 'paid_search']);
    expect((await j.rows('v_gbraid0001')).map((x) => x.channel)).toEqual(['direct', 'paid_search']);
    expect(await j.sessionCount('v_gclid00001')).toBe(2);
    expect(await clickIds('v_gclid00001')).toEqual([null, 'gclid']);
    expect(await j.sessionCount('v_gbraid0001')).toBe(2);
    expect(await clickIds('v_gbraid0001')).toEqual([null, 'gbraid']);
  });

  test('a batch whose events come out of order opens one session at its earliest event', async () => {
    const t0 = Date.UTC(2025, 0, 6, 9);
    const j = await setup(t0);
    const ev = (path: string, t: number): JourneyEvent => ({ path, t });
    await j.visit('v_shuffle001', [ev('/c', t0 + 20 * MIN), ev('/a', t0), ev('/b', t0 + 10 * MIN)], t0 + 20 * MIN);
    const r = await j.rows('v_shuffle001');
    expect(r.map((x) => x.at)).toEqual([t0, t0 + 10 * MIN, t0 + 20 * MIN]);
    expect(new Set(r.map((x) => x.session_id)).size).toBe(1);
    expect(r.map((x) => x.opened)).toEqual([1, 0, 0]);
    expect(r[0].session_id.endsWith('.' + t0.toString(36))).toBe(true);
  });

  test('one batch spanning a 40-minute pause (an outbox flushed late, in any order) holds two sessions', async () => {
    const t0 = Date.UTC(2025, 0, 6, 9);
    const j = await setup(t0);
    const times = [t0 + 45 * MIN, t0, t0 + 46 * MIN, t0 + 5 * MIN];
    await j.visit('v_pause00001', times.map((t) => ({ path: '/x', t })), t0 + 46 * MIN);
    const r = await j.rows('v_pause00001');
    expect(r.map((x) => x.session_id === r[0].session_id)).toEqual([true, true, false, false]);
    expect(r[3].session_id).toBe(r[2].session_id);
    expect(r.map((x) => x.opened)).toEqual([1, 0, 1, 0]);
    expect(await j.sessionCount('v_pause00001')).toBe(2);
  });
});
