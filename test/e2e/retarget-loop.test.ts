// The marketer's retargeting loop, judged from outside: the collector as its own process (the black-box harness),
// Chromium visitors on the tester's own pages (the real snippet, data-local), CRM events by POST /api/events, a webhook
// receiver of our own on 127.0.0.1, and every audience export read back over HTTP. Visitors move into and out of the
// preset segments (README "Segments") and a custom one PUT while they browse; the exports must list exactly the right
// people in each platform's format (README "Audience exports", contract §6). Every hash is computed here by hand with
// node:crypto from the values as README says each platform normalises them; nothing is read from the code's output.
import { describe, expect, test } from 'vitest';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { bb, useBlackBox, api, html, device, postEvents, waitForLead, visitorIdOf, timeline, PHONE_UA } from './black-box-harness.js';
import { parseCsv } from '../audiences/rfc4180.js';

useBlackBox('funnelbeam-retarget-loop-');

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const GOOGLEBOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

// ---- the tester's own pages (another port of 127.0.0.1, the site's domain) ----
const NAV = '<nav><a id="pricing" href="/pricing">Pricing</a> <a id="resources" href="/resources">Resources</a> <a id="demo" href="/demo">Demo</a></nav>';
const PAGES: Record<string, () => string> = {
  '/pricing': () => html('Pricing', `${NAV}<h1>Pricing</h1>`),
  '/resources': () => html('Resources', `${NAV}<a id="case" href="/files/Acme-case-study.pdf">How Acme grew (PDF)</a>`),
  '/demo': () =>
    html('Demo', `${NAV}<form data-funnelbeam="demo" method="post" action="/thanks"><input type="email" name="email" required><button id="book">Book a demo</button></form>`),
  '/thanks': () => html('Thanks', `${NAV}<p>Thanks!</p>`),
};
let pages: Server;
let origin = '';

// ---- a webhook receiver of our own ----
const SECRET = 'whsec_retarget_judge_0123456789';
interface Delivery { id: string; type: string; data: { segment: string; segmentName: string; leadId: string; email: string | null; stage: string; score: number; at: string } }
const received: Delivery[] = [];
const badSignatures: string[] = [];
let receiver: Server;
let receiverUrl = '';

beforeAll(async () => {
  pages = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.endsWith('.pdf')) {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="acme.pdf"' }).end('%PDF-1.4\n');
      return;
    }
    const page = PAGES[path];
    if (!page) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page());
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      // README Webhooks: Funnelbeam-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
      const sig = String(req.headers['funnelbeam-signature'] ?? '');
      const t = /t=(\d+)/.exec(sig)?.[1];
      const v1 = /v1=([0-9a-f]{64})/.exec(sig)?.[1];
      const want = t ? createHmac('sha256', SECRET).update(`${t}.${raw}`).digest() : Buffer.alloc(32);
      if (!v1 || !timingSafeEqual(Buffer.from(v1, 'hex'), want)) badSignatures.push(sig);
      const body = JSON.parse(raw) as Delivery;
      if (!received.some((d) => d.id === body.id)) received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  // Chromium's keep-alive connections would hold close() open: end them
  pages?.closeAllConnections();
  receiver?.closeAllConnections();
  await new Promise<void>((r) => (pages ? pages.close(() => r()) : r()));
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

async function open(ctx: BrowserContext, path: string): Promise<Page> {
  const tab = await ctx.newPage();
  await tab.goto(origin + path);
  return tab;
}
/** identify from the page, as a site's own script would (contract §4) */
const identify = (tab: Page, email: string, traits: Record<string, string>) =>
  tab.evaluate(([e, t]) => (window as any).funnelbeam('identify', e, t), [email, traits] as const);
const segmentsOf = async (visitorId: string): Promise<string[]> => {
  const r = await fetch(`${await collectorUrl()}/api/visitors/${visitorId}/segments?site=${bb.siteKey}`, { headers: { origin } });
  return ((await r.json()) as { segments: string[] }).segments.slice().sort();
};
let collectorBase = '';
async function collectorUrl() {
  if (!collectorBase) {
    // the snippet's src names the collector: read it from a tag the harness writes
    collectorBase = /src="([^"]+)\/s\.js"/.exec(html('x', ''))![1];
  }
  return collectorBase;
}
async function exportOf(key: string, format: string) {
  const r = await api(`/api/segments/${key}/members?format=${format}`, bb.keys.audiences);
  expect(r.status, `${key} ${format}`).toBe(200);
  return r;
}
/** a platform export as [header, ...rows sorted], with its member-count header */
async function platform(key: string, format: 'google' | 'meta' | 'linkedin') {
  const r = await exportOf(key, format);
  const [header, ...rows] = parseCsv(String(r.body)).filter((row) => !(row.length === 1 && row[0] === ''));
  return { header, rows: rows.sort((a, b) => a[0].localeCompare(b[0])), count: r.headers.get('funnelbeam-member-count'), warning: r.headers.get('funnelbeam-warning') };
}
const jsonEmails = async (key: string) => {
  const r = await exportOf(key, 'json');
  return { count: r.body.count as number, emails: (r.body.members as Array<{ email: string | null }>).map((m) => m.email).sort() };
};
const listedCount = async (key: string) => {
  const r = await api('/api/segments', bb.keys.audiences);
  return (r.body.segments as Array<{ key: string; count: number }>).find((s) => s.key === key)?.count;
};

// ---- the people, and their rows worked out by hand ----
const ANN = { email: 'ann.oneil@example.com', traits: { phone: '020 7946 0958', firstName: 'Ann', lastName: "O'Neil", country: 'GB', city: 'London', zip: 'sw1a 1aa', company: 'Northwind', jobTitle: 'Head of Growth' } };
const CAL = { email: 'cal.ruiz@acme.test', traits: { phone: '+1 (415) 555-0132', firstName: 'Cal', lastName: 'Ruiz', country: 'US', city: 'San Francisco', state: 'CA', zip: '94107', company: 'Acme, Inc.', jobTitle: 'VP "Demand" Marketing' } };
const DEE = { email: 'dee@buyer.test' };
const FAY = { email: 'fay@thanks.test' };
const EVE = { email: 'eve@optout.test', traits: { firstName: 'Eve', lastName: 'Stone', country: 'DE' } };

const GOOGLE_HEADER = ['Email', 'Phone', 'First Name', 'Last Name', 'Country', 'Zip'];
const META_HEADER = ['email', 'phone', 'fn', 'ln', 'ct', 'st', 'zip', 'country'];
const LINKEDIN_HEADER = ['email', 'firstname', 'lastname', 'jobtitle', 'employeecompany', 'country', 'googleaid'];
// Google: email hashed; phone E.164 with + (UK trunk 0 dropped) hashed; names lower-case without punctuation; Country, Zip clear
const annGoogle = [sha(ANN.email), sha('+442079460958'), sha('ann'), sha('oneil'), 'GB', 'SW1A 1AA'];
const calGoogle = [sha(CAL.email), sha('+14155550132'), sha('cal'), sha('ruiz'), 'US', '94107'];
// Meta: all hashed; phone digits without +; city/state lower-case without punctuation or spaces; zip without spaces
const annMeta = [sha(ANN.email), sha('442079460958'), sha('ann'), sha('oneil'), sha('london'), '', sha('sw1a1aa'), sha('gb')];
const calMeta = [sha(CAL.email), sha('14155550132'), sha('cal'), sha('ruiz'), sha('sanfrancisco'), sha('ca'), sha('94107'), sha('us')];
// LinkedIn: hashed email; names, title and company in plain text; country alpha-2; googleaid empty
const annLinkedIn = [sha(ANN.email), 'Ann', "O'Neil", 'Head of Growth', 'Northwind', 'GB', ''];
const calLinkedIn = [sha(CAL.email), 'Cal', 'Ruiz', 'VP "Demand" Marketing', 'Acme, Inc.', 'US', ''];

const CUSTOM = {
  name: 'Known researchers (pricing or content), not customers',
  definition: {
    all: [
      { identified: true },
      { any: [{ did: { event: 'pageview', path: '/pricing*' } }, { did: { event: 'download' } }] },
      { not: { stage: { eq: 'purchase' } } },
    ],
  },
};

describe('retargeting loop: visitors in Chromium move through segments, and every export lists the right people', () => {
  const ids: Record<string, string> = {};

  test('pricing without demo, a case-study download, a demo the CRM then closes, an opt-out and a crawler; a custom segment PUT mid-way', async () => {
    // the receiver first, so every move below is reported
    const hook = await api('/api/webhooks/retarget', bb.keys.admin, { method: 'PUT', body: JSON.stringify({ url: receiverUrl, events: ['segment.entered', 'segment.exited'], secret: SECRET }) });
    expect(hook.status, JSON.stringify(hook.body)).toBeLessThan(300);

    // Ann, on a laptop, anonymous: pricing → pricing_no_demo at once (the snippet's segments call reads it)
    const laptop = await device();
    const annTab = await open(laptop, '/pricing');
    const annVisitor = await visitorIdOf(annTab);
    await expect.poll(() => segmentsOf(annVisitor), { timeout: 15_000 }).toContain('pricing_no_demo');

    // while she browses, the marketer PUTs a custom segment: she is not identified yet, so not a member
    const put = await api('/api/segments/known_researchers', bb.keys.admin, { method: 'PUT', body: JSON.stringify(CUSTOM) });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    expect(await listedCount('known_researchers')).toBe(0);

    // she identifies with her traits: now a member of the custom segment too, live
    await identify(annTab, ' Ann.ONeil@Example.com ', ANN.traits);
    const ann = await waitForLead(ANN.email, (l) => l.email === ANN.email);
    ids.ann = ann.leadId;
    await expect.poll(() => listedCount('known_researchers'), { timeout: 10_000 }).toBe(1);
    expect(await segmentsOf(annVisitor)).toEqual(['known_researchers', 'pricing_no_demo']);

    // Cal, on a phone: resources, the Acme case-study PDF, then identifies → content_downloaders, known_researchers
    const phone = await device(PHONE_UA);
    const calTab = await open(phone, '/resources');
    const calVisitor = await visitorIdOf(calTab);
    await Promise.all([calTab.waitForEvent('download'), calTab.click('#case')]);
    await identify(calTab, CAL.email, CAL.traits);
    const cal = await waitForLead(CAL.email, (l) => l.stage === 'consideration');
    ids.cal = cal.leadId;
    await expect.poll(() => segmentsOf(calVisitor), { timeout: 10_000 }).toEqual(['content_downloaders', 'known_researchers']);

    // Dee, on a second laptop profile: books a demo → demo_no_close, and she is on the Google list of it
    const deeLaptop = await device();
    const deeTab = await open(deeLaptop, '/demo');
    const deeVisitor = await visitorIdOf(deeTab);
    await deeTab.fill('input[type=email]', DEE.email);
    await Promise.all([deeTab.waitForURL(origin + '/thanks*'), deeTab.click('#book')]);
    const dee = await waitForLead(DEE.email, (l) => l.stage === 'evaluation');
    ids.dee = dee.leadId;
    await expect.poll(() => segmentsOf(deeVisitor), { timeout: 10_000 }).toEqual(['demo_no_close']);
    const deeEmailOnly = [sha(DEE.email), '', '', '', '', ''];
    expect((await platform('demo_no_close', 'google')).rows).toEqual([deeEmailOnly]);

    // the CRM closes her deal: out of demo_no_close, into customers, live
    await postEvents({ email: DEE.email, name: 'closed_won' });
    await waitForLead(DEE.email, (l) => l.stage === 'purchase');
    await expect.poll(() => segmentsOf(deeVisitor), { timeout: 10_000 }).toEqual(['customers']);
    // her next page: the snippet's segments call (and the dataLayer push an ad pixel reads) says customers alone
    await deeTab.goto(origin + '/pricing');
    const inPage = await deeTab.evaluate(() => new Promise<unknown>((resolve) => (window as any).funnelbeam('segments', resolve)));
    expect(inPage).toEqual(['customers']);
    const pushed = await deeTab.evaluate(() => ((window as any).dataLayer ?? []).filter((d: any) => d.event === 'funnelbeam_segments').map((d: any) => d.segments));
    expect(pushed.at(-1)).toEqual(['customers']);

    // Eve: pricing and identify, then the email tool reports her opt-out
    const eveLaptop = await device();
    const eveTab = await open(eveLaptop, '/pricing');
    await identify(eveTab, EVE.email, EVE.traits);
    await waitForLead(EVE.email, (l) => l.email === EVE.email);
    await postEvents({ email: EVE.email, name: 'opted_out' });
    await expect.poll(async () => (await api(`/api/leads/${EVE.email}`, bb.keys.leads)).body.optedOut, { timeout: 10_000 }).toBe(true);

    // a crawler with Googlebot's user agent on the same pages, identifying
    const bot = await device(GOOGLEBOT_UA);
    const botTab = await open(bot, '/pricing');
    await identify(botTab, 'crawler@bots.test', { firstName: 'Bot' });
    await botTab.waitForTimeout(0);

    for (const t of [annTab, calTab, deeTab, eveTab, botTab]) await t.close();
    for (const c of [laptop, phone, deeLaptop, eveLaptop, bot]) await c.close();
  });

  test('json and csv list every member; google, meta and linkedin list only identified, opted-in, human non-customers, hashed by hand', async () => {
    expect(ids.dee, 'the loop above ran').toBeTruthy();
    // members, json: the opted-out Eve stays a member (README), the customer Dee is no pricing/demo member any more
    expect(await jsonEmails('pricing_no_demo')).toEqual({ count: 2, emails: [ANN.email, EVE.email] });
    expect(await jsonEmails('content_downloaders')).toEqual({ count: 1, emails: [CAL.email] });
    expect(await jsonEmails('demo_no_close')).toEqual({ count: 0, emails: [] });
    expect(await jsonEmails('customers')).toEqual({ count: 1, emails: [DEE.email] });
    expect(await jsonEmails('known_researchers')).toEqual({ count: 3, emails: [ANN.email, CAL.email, EVE.email] });
    for (const key of ['pricing_no_demo', 'content_downloaders', 'demo_no_close', 'customers', 'known_researchers']) {
      expect(await listedCount(key), key).toBe((await exportOf(key, 'json')).body.count);
    }

    // csv: a header and one row per member, the same people
    const csv = parseCsv(String((await exportOf('pricing_no_demo', 'csv')).body)).filter((r) => !(r.length === 1 && r[0] === ''));
    const emailCol = csv[0].indexOf('email');
    expect(emailCol).toBeGreaterThanOrEqual(0);
    expect(csv.slice(1).map((r) => r[emailCol]).sort()).toEqual([ANN.email, EVE.email]);

    // pricing_no_demo: Eve opted out, the crawler a bot: Ann alone
    let g = await platform('pricing_no_demo', 'google');
    expect(g).toMatchObject({ header: GOOGLE_HEADER, rows: [annGoogle], count: '1' });
    let m = await platform('pricing_no_demo', 'meta');
    expect(m).toMatchObject({ header: META_HEADER, rows: [annMeta], count: '1' });
    expect(m.warning).toBeTruthy(); // under Meta's 100
    let l = await platform('pricing_no_demo', 'linkedin');
    expect(l).toMatchObject({ header: LINKEDIN_HEADER, rows: [annLinkedIn], count: '1' });
    expect(l.warning).toBeTruthy(); // under LinkedIn's 300

    // content_downloaders: Cal
    expect(await platform('content_downloaders', 'google')).toMatchObject({ header: GOOGLE_HEADER, rows: [calGoogle], count: '1' });
    expect(await platform('content_downloaders', 'meta')).toMatchObject({ header: META_HEADER, rows: [calMeta], count: '1' });
    expect(await platform('content_downloaders', 'linkedin')).toMatchObject({ header: LINKEDIN_HEADER, rows: [calLinkedIn], count: '1' });

    // the custom segment: Ann and Cal (Eve opted out)
    g = await platform('known_researchers', 'google');
    expect(g).toMatchObject({ header: GOOGLE_HEADER, rows: [annGoogle, calGoogle].sort((a, b) => a[0].localeCompare(b[0])), count: '2' });
    m = await platform('known_researchers', 'meta');
    expect(m).toMatchObject({ rows: [annMeta, calMeta].sort((a, b) => a[0].localeCompare(b[0])), count: '2' });
    l = await platform('known_researchers', 'linkedin');
    expect(l).toMatchObject({ rows: [annLinkedIn, calLinkedIn].sort((a, b) => a[0].localeCompare(b[0])), count: '2' });

    // demo_no_close: empty now, a header line alone
    for (const [f, h] of [['google', GOOGLE_HEADER], ['meta', META_HEADER], ['linkedin', LINKEDIN_HEADER]] as const) {
      expect(await platform('demo_no_close', f), f).toMatchObject({ header: h, rows: [], count: '0' });
    }
    // customers: the suppression list keeps its identified customer (README: the exception)
    expect(await platform('customers', 'google')).toMatchObject({ rows: [[sha(DEE.email), '', '', '', '', '']], count: '1' });
    expect(await platform('customers', 'meta')).toMatchObject({ rows: [[sha(DEE.email), '', '', '', '', '', '', '']], count: '1' });
    expect(await platform('customers', 'linkedin')).toMatchObject({ rows: [[sha(DEE.email), '', '', '', '', '', '']], count: '1' });

    // the crawler is in no platform file at all
    for (const key of ['pricing_no_demo', 'known_researchers']) {
      const r = await exportOf(key, 'google');
      expect(String(r.body)).not.toContain(sha('crawler@bots.test'));
    }
  });

  test('segment.entered / segment.exited reach the receiver, signed, one per move, with the documented data', async () => {
    expect(ids.dee, 'the loop above ran').toBeTruthy();
    const moves = () => received.filter((d) => [ids.ann, ids.cal, ids.dee].includes(d.data.leadId)).map((d) => `${d.type} ${d.data.segment} ${d.data.leadId === ids.ann ? 'ann' : d.data.leadId === ids.cal ? 'cal' : 'dee'}`).sort();
    const want = [
      'segment.entered pricing_no_demo ann',
      'segment.entered known_researchers ann',
      'segment.entered content_downloaders cal',
      'segment.entered known_researchers cal',
      'segment.entered demo_no_close dee',
      'segment.exited demo_no_close dee',
      'segment.entered customers dee',
    ].sort();
    await expect.poll(moves, { timeout: 20_000, interval: 200 }).toEqual(want);
    expect(badSignatures).toEqual([]);
    // Dee's exit and entry carry her email, her stage then (purchase) and the segment's name
    const deeMoves = received.filter((d) => d.data.leadId === ids.dee);
    const exited = deeMoves.find((d) => d.type === 'segment.exited')!;
    const entered = deeMoves.find((d) => d.type === 'segment.entered' && d.data.segment === 'customers')!;
    expect(exited.data).toMatchObject({ segment: 'demo_no_close', segmentName: 'Requested a demo, deal not closed', email: DEE.email, stage: 'purchase' });
    expect(entered.data).toMatchObject({ segment: 'customers', segmentName: 'Customers (for suppression)', email: DEE.email, stage: 'purchase' });
    expect(exited.data.at).toBe(entered.data.at);
    // the crawler and the leads' timelines: every move is a segment item of the lead
    const deeSegItems = (await timeline(ids.dee)).filter((i) => i.kind === 'segment');
    expect(deeSegItems).toHaveLength(3);
    // no delivery names a lead other than these three and Eve (the crawler moves nothing)
    const others = received.filter((d) => ![ids.ann, ids.cal, ids.dee].includes(d.data.leadId));
    expect(others.every((d) => d.data.email === EVE.email || d.data.email === null), JSON.stringify(others.map((d) => d.data))).toBe(true);
  });
  test('a custom segment of everyone identified, PUT after the fact: json keeps the customer, the opted-out lead; platform files only Ann and Cal', async () => {
    expect(ids.dee, 'the loop above ran').toBeTruthy();
    const put = await api('/api/segments/everyone_known', bb.keys.admin, { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) });
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    // README Ingest: a crawler (Googlebot) stays a bot everywhere and never becomes a lead
    expect((await api('/api/leads/crawler@bots.test', bb.keys.leads)).status).toBe(404);
    const json = await jsonEmails('everyone_known');
    expect(json.emails).toEqual([ANN.email, CAL.email, DEE.email, EVE.email].sort());
    expect(await listedCount('everyone_known')).toBe(json.count);
    // README: platform formats carry identified leads only, without customers (stage purchase or the customers
    // segment), opted-out leads and bots
    const byHash = (a: string[], b: string[]) => a[0].localeCompare(b[0]);
    expect(await platform('everyone_known', 'google')).toMatchObject({ header: GOOGLE_HEADER, rows: [annGoogle, calGoogle].sort(byHash), count: '2' });
    expect(await platform('everyone_known', 'meta')).toMatchObject({ header: META_HEADER, rows: [annMeta, calMeta].sort(byHash), count: '2' });
    expect(await platform('everyone_known', 'linkedin')).toMatchObject({ header: LINKEDIN_HEADER, rows: [annLinkedIn, calLinkedIn].sort(byHash), count: '2' });
    // the PUT moved the four in: a segment.entered each, Eve's and the customer's too (membership is not export eligibility)
    const entered = () => received.filter((d) => d.type === 'segment.entered' && d.data.segment === 'everyone_known').map((d) => d.data.email).sort();
    await expect.poll(entered, { timeout: 20_000, interval: 200 }).toEqual([ANN.email, CAL.email, DEE.email, EVE.email].sort());
    expect(badSignatures).toEqual([]);
  });


  test("a page's own closed_won and unsubscribed events: recorded, but the stage stays and the lead is not opted out", async () => {
    expect(ids.dee, 'the loop above ran').toBeTruthy();
    // contract §5/§6: closed_won is a server event from the CRM, purchase is "server event closed_won"; README: a page's
    // own opt event counts for nothing. Fay's thank-you page tracks both names itself
    const ctx = await device();
    const tab = await open(ctx, '/pricing');
    try {
      await identify(tab, FAY.email, {});
      await waitForLead(FAY.email, (l) => l.stage === 'consideration');
      ids.fayVisitor = await visitorIdOf(tab);
      await tab.evaluate(() => {
        (window as any).funnelbeam('track', 'unsubscribed');
        (window as any).funnelbeam('track', 'closed_won');
      });
      await tab.goto(origin + '/thanks'); // the batch leaves with the page
      await expect.poll(async () => (await timeline(FAY.email)).filter((i) => i.kind === 'event' && (i.name === 'closed_won' || i.name === 'unsubscribed')).length, { timeout: 15_000 }).toBe(2);
      const fay = await waitForLead(FAY.email, () => true);
      expect(fay.stage).toBe('consideration');
      expect((await api(`/api/leads/${FAY.email}`, bb.keys.leads)).body.optedOut).toBe(false);
    } finally {
      await tab.close();
      await ctx.close();
    }
  });

  // The `customers` preset was `any: [stage eq purchase, did closed_won]`, and `did` counts events of any source, so a
  // closed_won the page tracked itself (any visitor can send one with the public site key) made Fay a customer:
  // suppressed from every Google/Meta/LinkedIn file, while the funnel (purchase = server closed_won) kept her at
  // consideration. The preset is now `{ stage: { eq: 'purchase' } }` (collector/segments/presets.ts).
  test("a page's own closed_won does not make a customer: not in customers, still on the pricing_no_demo platform lists", async () => {
    expect(ids.fayVisitor, 'the test above ran').toBeTruthy();
    expect(await segmentsOf(ids.fayVisitor)).toEqual(['everyone_known', 'known_researchers', 'pricing_no_demo']);
    expect((await jsonEmails('customers')).emails).toEqual([DEE.email]);
    const byHash = (a: string[], b: string[]) => a[0].localeCompare(b[0]);
    expect(await platform('pricing_no_demo', 'google')).toMatchObject({ rows: [annGoogle, [sha(FAY.email), '', '', '', '', '']].sort(byHash), count: '2' });
  });

  test('Ann comes back and books a demo: out of pricing_no_demo, into demo_no_close, in the exports and on the receiver', async () => {
    expect(ids.ann, 'the loop above ran').toBeTruthy();
    const ctx = await device();
    const tab = await open(ctx, '/demo');
    try {
      await tab.fill('input[type=email]', ANN.email);
      await Promise.all([tab.waitForURL(origin + '/thanks*'), tab.click('#book')]);
      await waitForLead(ANN.email, (l) => l.stage === 'evaluation' && l.visitorIds.length === 2);
      const moved = () => received.filter((d) => d.data.leadId === ids.ann && ['pricing_no_demo', 'demo_no_close'].includes(d.data.segment)).map((d) => `${d.type} ${d.data.segment}`).sort();
      await expect.poll(moved, { timeout: 20_000, interval: 200 }).toEqual(['segment.entered demo_no_close', 'segment.entered pricing_no_demo', 'segment.exited pricing_no_demo']);
      const exited = received.find((d) => d.data.leadId === ids.ann && d.type === 'segment.exited')!;
      expect(exited.data).toMatchObject({ segment: 'pricing_no_demo', email: ANN.email, stage: 'evaluation' });
      // her row, with the traits her laptop sent, moves from one list to the other
      expect(String((await exportOf('pricing_no_demo', 'google')).body)).not.toContain(sha(ANN.email));
      expect(await platform('demo_no_close', 'google')).toMatchObject({ header: GOOGLE_HEADER, rows: [annGoogle], count: '1' });
      expect(await platform('demo_no_close', 'meta')).toMatchObject({ header: META_HEADER, rows: [annMeta], count: '1' });
      expect(await platform('demo_no_close', 'linkedin')).toMatchObject({ header: LINKEDIN_HEADER, rows: [annLinkedIn], count: '1' });
      expect(await jsonEmails('demo_no_close')).toEqual({ count: 1, emails: [ANN.email] });
    } finally {
      await tab.close();
      await ctx.close();
    }
  });
});
