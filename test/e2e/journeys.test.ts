// Scripted visitor journeys in headless Chromium (laptop, phone and bot profiles) plus CRM events through
// POST /api/events, on a collector whose clock moves with the browsers' (Playwright's clock), so sessions, windows
// and decay are real. Each lead's stage, score, MQL/SQL, timeline and the funnel report are checked against what
// the default rules (collector/funnel/default-funnel-config.ts, contract §6) give, computed here by hand.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { htmlPage, launchChromium, startSiteServer, type Pages, type SiteServer, CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.js';
import { collectorDatabase } from '../helpers/test-db.js';
import { startServer, type RunningServer } from '../../collector/server.js';
import { createKey, createSite } from '../../collector/admin.js';
import type { Site } from '../../collector/storage/sites.js';
import { settleCollector } from './settle-collector.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const HALF_LIFE = 90 * DAY;
const STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'];
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

// The collector's clock runs with the browsers': both are moved forward together by `advance`.
let offset = 0;
const now = () => Date.now() + offset;

let server: RunningServer;
let site: Site;
let keys: { events: string; leads: string; audiences: string };
let laptop: BrowserContext;
let phone: BrowserContext;
let bot: BrowserContext;
const servers: SiteServer[] = [];
/** when the journeys began: the funnel report's period starts here */
let began = 0;
/** when the CRM journeys began: a second report period starts there */
let crmBegan = 0;

async function launchProfile(userAgent: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'funnelbeam-journey-')), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    userAgent,
    args: [`--user-agent=${userAgent}`, ...CHROMIUM_ARGS],
  });
}

beforeAll(async () => {
  const database = await collectorDatabase('journeys.db');
  server = await startServer({ env: {}, now, config: { ...database, PORT: 0, HOST: '127.0.0.1', DEMO: '0', LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0 } });
  site = await createSite(server.db, { domain: '127.0.0.1' }, now());
  keys = {
    events: (await createKey(server.db, site.siteId, ['events:write'], now())).secret,
    leads: (await createKey(server.db, site.siteId, ['leads:read'], now())).secret,
    audiences: (await createKey(server.db, site.siteId, ['audiences:read'], now())).secret,
  };
  [laptop, phone, bot] = await Promise.all([launchChromium(), launchProfile(PHONE_UA), launchProfile(BOT_UA)]);
  began = now();
  for (const ctx of [laptop, phone, bot]) await ctx.clock.install({ time: now() });
});
afterAll(async () => {
  for (const ctx of [laptop, phone, bot]) await ctx?.close();
  for (const s of servers) await s.close();
  await server?.close();
});

/** Moves every clock forward: the collector's and each browser profile's, once every beacon sent has landed. */
async function advance(ms: number) {
  await settleCollector(server.url);
  offset += ms;
  for (const ctx of [laptop, phone, bot]) await ctx.clock.fastForward(ms);
}

// ---- the marketing site: one origin per journey, so each journey has its own visitor in a profile ----

const FORM = (kind: string, email = '') =>
  `<form ${kind ? `data-funnelbeam="${kind}"` : ''} id="form" onsubmit="event.preventDefault()"><input type="email" name="email" value="${email}" required><button id="send">send</button></form>`;

const SITE_PAGES: Record<string, string> = {
  '/': '<a id="pricing" href="/pricing">pricing</a> <a id="blog" href="/blog/post-1">blog</a>',
  '/blog/post-1': '<a id="next" href="/blog/post-2">next</a>',
  '/blog/post-2': '',
  '/resources': '<a id="ebook" href="/files/b2b-ebook.pdf">ebook</a> <a id="case" href="/files/acme-case-study.pdf">case study</a>',
  '/pricing': '<a id="demo" href="/demo">demo</a>',
  '/careers': '',
  '/careers/engineer': '',
  '/careers/designer': '',
  '/newsletter': FORM('newsletter'),
  '/demo': FORM('demo'),
  '/contact': FORM(''),
};

async function newOrigin(attrs = ''): Promise<SiteServer> {
  const pages: Pages = { '/files/b2b-ebook.pdf': (_q, res) => res.writeHead(204).end(), '/files/acme-case-study.pdf': (_q, res) => res.writeHead(204).end() };
  for (const [path, body] of Object.entries(SITE_PAGES)) pages[path] = htmlPage({ src: `${server.url}/s.js`, site: site.siteKey, attrs, body, title: path });
  for (let i = 1; i <= 10; i++) pages[`/p/${i}`] = htmlPage({ src: `${server.url}/s.js`, site: site.siteKey, attrs, body: `<a id="next" href="/p/${i + 1}">next</a>` });
  const s = await startSiteServer(pages);
  servers.push(s);
  return s;
}

// ---- stored events and the API ----

interface Row {
  event_id: string;
  visitor_id: string;
  name: string;
  path: string;
  url: string;
  at: number;
  is_bot: number;
}

async function rowsOf(origin: SiteServer): Promise<Row[]> {
  const rows = await server.db.all<Row>('SELECT event_id, visitor_id, name, path, url, at, is_bot FROM events WHERE site_id = ? AND url LIKE ? ORDER BY at, event_id', [
    site.siteId,
    origin.origin + '/%',
  ]);
  return rows.map((r) => ({ ...r, at: Number(r.at), is_bot: Number(r.is_bot) }));
}

/** Waits until the origin has `n` stored events other than engagement, then until nothing more arrives for a moment. */
async function stored(origin: SiteServer, n: number): Promise<Row[]> {
  const until = Date.now() + 10_000;
  let rows = await rowsOf(origin);
  while (rows.filter((r) => r.name !== 'engagement').length < n) {
    if (Date.now() > until) throw new Error(`expected ${n} events from ${origin.origin}, stored: ${JSON.stringify(rows.map((r) => [r.name, r.path]))}`);
    await new Promise((r) => setTimeout(r, 100));
    rows = await rowsOf(origin);
  }
  for (let quiet = 0; quiet < 4; ) {
    await new Promise((r) => setTimeout(r, 150));
    const again = await rowsOf(origin);
    quiet = again.length === rows.length ? quiet + 1 : 0;
    rows = again;
  }
  return rows;
}

async function open(ctx: BrowserContext, origin: SiteServer, path: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(origin.origin + path);
  await page.waitForFunction(() => typeof window.funnelbeam === 'function');
  return page;
}

async function follow(page: Page, selector: string, path: string) {
  await Promise.all([page.waitForURL('**' + path), page.click(selector)]);
  await page.waitForFunction(() => typeof window.funnelbeam === 'function');
}

async function submit(page: Page, email: string) {
  await page.fill('input[name=email]', email);
  await page.click('#send');
}

const visitorIdOf = (page: Page) => page.evaluate(() => new Promise<string>((resolve) => window.funnelbeam!('visitorId', resolve)));

async function api(path: string, key: string, init: RequestInit = {}) {
  const res = await fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

async function serverEvents(body: unknown) {
  const r = await api('/api/events', keys.events, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body as { events: Array<{ id: string; leadId: string }> };
}

async function profile(ref: string) {
  const r = await api(`/api/leads/${encodeURIComponent(ref)}`, keys.leads);
  expect(r.status, `${ref}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body as Record<string, any>;
}

type Item = Record<string, any> & { kind: string; name: string; at: string };

async function timeline(ref: string): Promise<Item[]> {
  const r = await api(`/api/leads/${encodeURIComponent(ref)}/timeline?limit=500`, keys.leads);
  expect(r.status).toBe(200);
  const items = r.body.items as Item[];
  const at = items.map((i) => Date.parse(i.at));
  expect([...at].sort((a, b) => b - a), 'newest first').toEqual(at);
  return items;
}

// ---- what the rules say, worked out by hand per lead ----

/** An event of the lead's timeline: `name path` or `name`, `#n` for the n-th (1-based) of that key, `@visitor` to restrict. */
type EventRef = string;

interface Expected {
  /** the lead's events (engagement left out), oldest first, as `name path@device` */
  events: string[];
  /** stages entered, oldest first: [stage, rule, causing event] */
  stages: Array<[string, string, EventRef]>;
  /** awards, in fold order: [rule, points, causing event] */
  scores: Array<[string, number, EventRef]>;
  mql: boolean;
  sql: boolean;
  /** the event whose award crossed the MQL threshold */
  mqlAt?: EventRef;
  /** the event that made it an SQL */
  sqlAt?: EventRef;
  /** the visitors that name the lead now, when not every device of `devices` does */
  visitorIds?: string[];
}

/** The default score rules in config order: one event's awards are made in this order. */
const SCORE_RULES = ['visit', 'return_visit', 'pricing_view', 'comparison_view', 'case_study_view', 'content_download', 'newsletter_signup', 'webinar_registration', 'sales_form', 'demo_request', 'demo_completed', 'proposal_sent', 'careers_page'];

const keyOf = (e: Item, devices: Record<string, string>) => {
  const device = Object.entries(devices).find(([, v]) => v === e.visitorId)?.[0] ?? 'server';
  return `${e.name}${e.path ? ' ' + e.path : ''}@${device}`;
};

function findEvent(events: Item[], ref: EventRef, devices: Record<string, string>): Item {
  const [body, nth] = ref.split('#');
  const matches = events.filter((e) => {
    const k = keyOf(e, devices);
    const [nameAndPath, device] = k.split('@');
    return k === body || nameAndPath === body || e.name === body || `${e.name}@${device}` === body;
  });
  const e = matches[(Number(nth) || 1) - 1];
  if (!e) throw new Error(`no event ${ref} among ${events.map((x) => keyOf(x, devices)).join(', ')}`);
  return e;
}

/** The score after each award: the previous score decayed by the half-life since the last award, plus the points. */
function expectedScores(awards: Array<{ at: number; points: number }>): Array<{ at: number; after: number }> {
  let score = 0;
  let at: number | null = null;
  return awards.map((a) => {
    const decayed = at === null ? score : score * Math.pow(0.5, (a.at - at) / HALF_LIFE);
    score = Math.round((decayed + a.points) * 10_000) / 10_000;
    at = a.at;
    return { at: a.at, after: score };
  });
}

interface Checked {
  leadId: string;
  profile: Record<string, any>;
  items: Item[];
  /** stage entries as [stage, at] */
  entries: Array<[string, number]>;
}

/** Checks one lead's profile and timeline against what the rules give. */
async function checkLead(ref: string, devices: Record<string, string>, want: Expected): Promise<Checked> {
  const p = await profile(ref);
  const items = await timeline(p.leadId);
  const oldest = [...items].reverse();
  const events = oldest.filter((i) => i.kind === 'event' && i.name !== 'engagement');
  expect(events.map((e) => keyOf(e, devices)), 'events').toEqual(want.events);
  // engagement belongs to the devices of the lead too
  for (const e of oldest.filter((i) => i.kind === 'event' && i.name === 'engagement')) expect(Object.values(devices)).toContain(e.visitorId);
  // the devices of the lead; `srv:` ids only stand for the CRM in the event rows
  expect([...p.visitorIds].sort(), 'visitorIds').toEqual(want.visitorIds ?? Object.values(devices).filter((v) => !v.startsWith('srv:')).sort());

  const stageItems = oldest.filter((i) => i.kind === 'stage');
  const wantStages = want.stages.map(([to, rule, ev], i) => {
    const e = findEvent(events, ev, devices);
    return { to, from: i === 0 ? null : want.stages[i - 1][0], rule, eventId: e.id, at: e.at };
  });
  expect(stageItems.map((s) => ({ to: s.to, from: s.from, rule: s.rule, eventId: s.eventId, at: s.at })), 'stage items').toEqual(wantStages);
  const stage = want.stages[want.stages.length - 1][0];
  expect(p.stage, 'stage').toBe(stage);

  const awards = want.scores.map(([rule, points, ev]) => ({ rule, points, e: findEvent(events, ev, devices) }));
  const chain = expectedScores(awards.map((a) => ({ at: Date.parse(a.e.at), points: a.points })));
  const scoreItems = oldest.filter((i) => i.kind === 'score');
  // items of one millisecond are ordered by id in the timeline: compare in fold order
  const foldOrder = <T extends { rule: string; eventId: string }>(list: T[]) =>
    [...list].sort((a, b) => {
      const ea = events.findIndex((e) => e.id === a.eventId);
      const eb = events.findIndex((e) => e.id === b.eventId);
      return ea - eb || SCORE_RULES.indexOf(a.rule) - SCORE_RULES.indexOf(b.rule);
    });
  const got = foldOrder(scoreItems.map((s) => ({ rule: String(s.rule), points: Number(s.points), eventId: String(s.eventId), scoreAfter: Number(s.scoreAfter) })));
  expect(
    got.map((s) => ({ rule: s.rule, points: s.points, eventId: s.eventId })),
    'score items',
  ).toEqual(awards.map((a) => ({ rule: a.rule, points: a.points, eventId: a.e.id })));
  got.forEach((s, i) => expect(s.scoreAfter, `scoreAfter of ${s.rule}`).toBeCloseTo(chain[i].after, 3));
  const last = chain[chain.length - 1];
  const stored = last ? last.after : 0;
  expect(p.scoreStored, 'stored score').toBeCloseTo(stored, 3);
  const decayed = last ? stored * Math.pow(0.5, (now() - last.at) / HALF_LIFE) : 0;
  expect(p.score, 'score now').toBeCloseTo(decayed, 2);

  expect({ mql: p.mql, sql: p.sql }, 'mql/sql').toEqual({ mql: want.mql, sql: want.sql });
  if (want.mqlAt) expect(p.mqlAt).toBe(findEvent(events, want.mqlAt, devices).at);
  if (want.sqlAt) expect(p.sqlAt).toBe(findEvent(events, want.sqlAt, devices).at);
  return { leadId: p.leadId, profile: p, items, entries: stageItems.map((s) => [s.to, Date.parse(s.at)]) };
}

/** Every checked lead, for the funnel report at the end. */
const leads = new Map<string, Checked>();

// ---- the journeys ----

describe('visitor journeys through Chromium and POST /api/events', () => {
  test('a blog reader comes back in a second session and downloads an ebook: interest', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/blog/post-1');
    const visitor = await visitorIdOf(page);
    await follow(page, '#next', '/blog/post-2');
    await stored(s, 2);
    await page.close();
    await stored(s, 2);
    await advance(2 * HOUR);
    page = await open(laptop, s, '/resources');
    await page.click('#ebook');
    await stored(s, 4);
    await page.close();
    await stored(s, 4);
    const d = { laptop: visitor };
    leads.set('reader', await checkLead(visitor, d, {
      events: ['pageview /blog/post-1@laptop', 'pageview /blog/post-2@laptop', 'pageview /resources@laptop', 'download /resources@laptop'],
      stages: [['awareness', 'any_visit', 'pageview /blog/post-1'], ['interest', 'second_session', 'pageview /resources']],
      scores: [['visit', 2, 'pageview /blog/post-1'], ['visit', 2, 'pageview /resources'], ['return_visit', 5, 'pageview /resources'], ['content_download', 10, 'download']],
      mql: false,
      sql: false,
    }));
  });

  test('pricing seen in two sessions is intent; the second view within a day scores nothing', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/?utm_source=newsletter&utm_medium=email&utm_campaign=spring');
    const visitor = await visitorIdOf(page);
    await follow(page, '#pricing', '/pricing');
    await stored(s, 2);
    await page.close();
    await stored(s, 2);
    await advance(3 * HOUR);
    page = await open(laptop, s, '/pricing');
    await stored(s, 3);
    await page.close();
    await stored(s, 3);
    const c = await checkLead(visitor, { laptop: visitor }, {
      events: ['pageview /@laptop', 'pageview /pricing@laptop', 'pageview /pricing@laptop'],
      stages: [['awareness', 'any_visit', 'pageview /'], ['consideration', 'pricing_page', 'pageview /pricing#1'], ['intent', 'pricing_two_sessions', 'pageview /pricing#2']],
      scores: [['visit', 2, 'pageview /'], ['pricing_view', 10, 'pageview /pricing#1'], ['visit', 2, 'pageview /pricing#2'], ['return_visit', 5, 'pageview /pricing#2']],
      mql: false,
      sql: false,
    });
    // first touch: the campaign; last touch: the second session, typed in directly
    expect(c.profile.firstTouch).toMatchObject({ channel: 'email', utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring' });
    expect(c.profile.lastTouch).toMatchObject({ channel: 'direct' });
    expect(c.profile.lastTouch.utm_source).toBeUndefined();
    leads.set('pricing', c);
  });

  test('newsletter on a laptop, pricing and a demo form on a phone with the same email: one lead, both devices, SQL and MQL', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/blog/post-1');
    const lap = await visitorIdOf(page);
    await page.goto(s.origin + '/newsletter');
    await submit(page, 'dana@acme.test');
    await stored(s, 3);
    await page.close();
    await stored(s, 3);
    await advance(DAY);
    page = await open(phone, s, '/');
    const mob = await visitorIdOf(page);
    expect(mob).not.toBe(lap);
    await follow(page, '#pricing', '/pricing');
    await follow(page, '#demo', '/demo');
    await submit(page, 'Dana@Acme.test');
    await stored(s, 7);
    await page.close();
    await stored(s, 7);
    const d = { laptop: lap, phone: mob };
    const c = await checkLead('dana@acme.test', d, {
      events: [
        'pageview /blog/post-1@laptop', 'pageview /newsletter@laptop', 'newsletter_signup /newsletter@laptop',
        'pageview /@phone', 'pageview /pricing@phone', 'pageview /demo@phone', 'demo_request /demo@phone',
      ],
      stages: [
        ['awareness', 'any_visit', 'pageview /blog/post-1'],
        ['interest', 'newsletter_signup', 'newsletter_signup'],
        ['consideration', 'pricing_page', 'pageview /pricing'],
        ['evaluation', 'demo_request', 'demo_request'],
      ],
      scores: [
        ['visit', 2, 'pageview /blog/post-1'],
        ['newsletter_signup', 10, 'newsletter_signup'],
        ['visit', 2, 'pageview /@phone'],
        ['return_visit', 5, 'pageview /@phone'],
        ['pricing_view', 10, 'pageview /pricing'],
        ['demo_request', 30, 'demo_request'],
      ],
      mql: true,
      mqlAt: 'demo_request',
      sql: true,
      sqlAt: 'demo_request',
    });
    expect(c.profile.email).toBe('dana@acme.test');
    // both devices name the same lead
    expect((await profile(lap)).leadId).toBe(c.leadId);
    expect((await profile(mob)).leadId).toBe(c.leadId);
    // the identity changes are in the timeline: the laptop identified, the phone merged in
    const ids = c.items.filter((i) => i.kind === 'identity');
    expect(ids.filter((i) => i.name === 'identity_linked').map((i) => [i.visitorId === lap ? 'laptop' : 'phone', i.reason]).sort()).toEqual(
      expect.arrayContaining([['laptop', 'identified'], ['phone', 'merged']]),
    );
    leads.set('dana', c);
  });

  test('a visitor identified as A who identifies as B: later events go to B, nothing of A moves', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/');
    const visitor = await visitorIdOf(page);
    await page.goto(s.origin + '/newsletter');
    await submit(page, 'alice@a.test');
    await stored(s, 3);
    await page.close();
    await stored(s, 3);
    await advance(2 * HOUR);
    page = await open(laptop, s, '/');
    await stored(s, 4);
    await page.evaluate(() => window.funnelbeam!('identify', 'bob@b.test'));
    await stored(s, 5);
    await follow(page, '#pricing', '/pricing');
    await stored(s, 6);
    await page.close();
    await stored(s, 6);
    // the CRM names the visitor for a demo held before the switch: it is A's
    const before = (await rowsOf(s)).find((r) => r.name === 'identify')!.at - 1;
    const crm = await serverEvents({ visitorId: visitor, name: 'demo_completed', at: before, id: 'alice-dc' });
    const a = await checkLead('alice@a.test', { laptop: visitor }, {
      events: ['pageview /@laptop', 'pageview /newsletter@laptop', 'newsletter_signup /newsletter@laptop', 'pageview /@laptop', 'demo_completed@laptop'],
      stages: [['awareness', 'any_visit', 'pageview /#1'], ['interest', 'newsletter_signup', 'newsletter_signup'], ['evaluation', 'demo_completed', 'demo_completed']],
      scores: [
        ['visit', 2, 'pageview /#1'], ['newsletter_signup', 10, 'newsletter_signup'], ['visit', 2, 'pageview /#2'], ['return_visit', 5, 'pageview /#2'],
        ['demo_completed', 20, 'demo_completed'],
      ],
      mql: false,
      sql: false,
      // the profile lists every device whose events are the lead's: this one names B since the switch, and its earlier
      // events stay A's
      visitorIds: [visitor],
    });
    const b = await checkLead('bob@b.test', { laptop: visitor }, {
      events: ['identify /@laptop', 'pageview /pricing@laptop'],
      stages: [['awareness', 'any_visit', 'identify'], ['consideration', 'pricing_page', 'pageview /pricing']],
      scores: [['visit', 2, 'pageview /pricing'], ['pricing_view', 10, 'pageview /pricing']],
      mql: false,
      sql: false,
    });
    expect(a.leadId).not.toBe(b.leadId);
    expect(crm.events[0].leadId).toBe(a.leadId);
    // B's touches are those of its own session on this device (typed in directly)
    expect(b.profile.firstTouch).toMatchObject({ channel: 'direct' });
    expect(b.profile.lastTouch).toMatchObject({ channel: 'direct' });
    // the visitor now names B
    expect((await profile(visitor)).leadId).toBe(b.leadId);
    // A's link ended when the visitor switched; B's started there
    const switched = b.items.find((i) => i.kind === 'identity' && i.name === 'identity_linked');
    expect(switched).toMatchObject({ reason: 'switched', visitorId: visitor, email: 'bob@b.test' });
    expect(a.items.some((i) => i.kind === 'identity' && i.name === 'identity_unlinked' && i.at === switched!.at)).toBe(true);
    leads.set('alice', a);
    leads.set('bob', b);
  });

  test('careers pages give negative points, capped at 20', async () => {
    const s = await newOrigin();
    const page = await open(laptop, s, '/careers');
    const visitor = await visitorIdOf(page);
    await page.goto(s.origin + '/careers/engineer');
    await page.goto(s.origin + '/careers/designer');
    await stored(s, 3);
    await page.close();
    await stored(s, 3);
    leads.set('careers', await checkLead(visitor, { laptop: visitor }, {
      events: ['pageview /careers@laptop', 'pageview /careers/engineer@laptop', 'pageview /careers/designer@laptop'],
      stages: [['awareness', 'any_visit', 'pageview /careers']],
      scores: [['visit', 2, 'pageview /careers'], ['careers_page', -10, 'pageview /careers'], ['careers_page', -10, 'pageview /careers/engineer']],
      mql: false,
      sql: false,
    }));
  });

  test('ten pageviews in one session score 2 from visit; visit stops at its cap of 10 over later sessions', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/p/1');
    const visitor = await visitorIdOf(page);
    for (let i = 2; i <= 10; i++) await follow(page, '#next', `/p/${i}`);
    await stored(s, 10);
    await page.close();
    await stored(s, 10);
    for (let k = 1; k <= 5; k++) {
      await advance(40 * MIN);
      page = await open(laptop, s, '/p/1');
      await stored(s, 10 + k);
      await page.close();
      await stored(s, 10 + k);
    }
    const events = ['pageview /p/1@laptop', ...Array.from({ length: 9 }, (_, i) => `pageview /p/${i + 2}@laptop`), ...Array.from({ length: 5 }, () => 'pageview /p/1@laptop')];
    leads.set('cap', await checkLead(visitor, { laptop: visitor }, {
      events,
      stages: [['awareness', 'any_visit', 'pageview /p/1#1'], ['interest', 'second_session', 'pageview /p/1#2']],
      scores: [
        ['visit', 2, 'pageview /p/1#1'],
        ['visit', 2, 'pageview /p/1#2'],
        ['return_visit', 5, 'pageview /p/1#2'],
        ['visit', 2, 'pageview /p/1#3'],
        ['visit', 2, 'pageview /p/1#4'],
        ['visit', 2, 'pageview /p/1#5'],
      ],
      mql: false,
      sql: false,
    }));
  });

  test('the CRM: sales_accepted for a new email, a contact form, a demo_completed reported late, proposal_sent by visitor id, closed_won', async () => {
    crmBegan = now();
    const first = await serverEvents({ email: 'carol@corp.test', name: 'sales_accepted', id: 'carol-sa' });
    const carolLead = first.events[0].leadId;
    let p = await profile('carol@corp.test');
    expect(p).toMatchObject({ leadId: carolLead, stage: 'awareness', sql: true, mql: false, score: 0 });
    await advance(HOUR);
    const s = await newOrigin();
    const page = await open(laptop, s, '/contact');
    const visitor = await visitorIdOf(page);
    await submit(page, 'carol@corp.test');
    await stored(s, 2);
    await page.close();
    await stored(s, 2);
    const contact = (await rowsOf(s)).find((r) => r.name === 'form_submit')!;
    // the demo happened before the contact form, but the CRM reports it only now: the lead is rebuilt
    await serverEvents({ leadId: carolLead, name: 'demo_completed', at: new Date(contact.at - 10 * MIN).toISOString(), id: 'carol-dc' });
    await advance(2 * HOUR);
    await serverEvents({ visitorId: visitor, name: 'proposal_sent', id: 'carol-ps' });
    await advance(DAY);
    await serverEvents({ email: 'carol@corp.test', name: 'closed_won', props: { amount: 24000 }, id: 'carol-cw' });
    const d = { laptop: visitor };
    // events the CRM names by email or lead id carry the visitor id srv:<leadId>
    const c = await checkLead('carol@corp.test', { ...d, crm: `srv:${carolLead}` }, {
      events: ['sales_accepted@crm', 'demo_completed@crm', 'pageview /contact@laptop', 'form_submit /contact@laptop', 'proposal_sent@laptop', 'closed_won@crm'],
      stages: [['awareness', 'any_visit', 'sales_accepted'], ['evaluation', 'demo_completed', 'demo_completed'], ['purchase', 'closed_won', 'closed_won']],
      scores: [
        ['demo_completed', 20, 'demo_completed'],
        ['visit', 2, 'pageview /contact'],
        ['sales_form', 20, 'form_submit'],
        ['proposal_sent', 10, 'proposal_sent'],
      ],
      mql: true,
      mqlAt: 'proposal_sent',
      sql: true,
      sqlAt: 'sales_accepted',
    });
    expect(c.leadId).toBe(carolLead);
    leads.set('carol', c);
  });

  test('closed_lost for an email never seen makes a lead in awareness with no points; it is no purchase', async () => {
    await serverEvents({ email: 'dave@lost.test', name: 'closed_lost', id: 'dave-cl' });
    leads.set('dave', await checkLead('dave@lost.test', { crm: `srv:${(await profile('dave@lost.test')).leadId}` }, {
      events: ['closed_lost@crm'],
      stages: [['awareness', 'any_visit', 'closed_lost']],
      scores: [],
      mql: false,
      sql: false,
    }));
  });

  test('a demo_completed reported ahead of the web events that follow it: the late web events rebuild the lead', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/pricing');
    const visitor = await visitorIdOf(page);
    await stored(s, 1);
    await page.close();
    await stored(s, 1);
    // the CRM's clock is a few minutes ahead of the browser's
    await serverEvents({ visitorId: visitor, name: 'demo_completed', at: now() + 4 * MIN, id: 'erin-dc' });
    page = await open(laptop, s, '/');
    await stored(s, 2);
    await page.close();
    await stored(s, 2);
    leads.set('erin', await checkLead(visitor, { laptop: visitor }, {
      events: ['pageview /pricing@laptop', 'pageview /@laptop', 'demo_completed@laptop'],
      stages: [['awareness', 'any_visit', 'pageview /pricing'], ['consideration', 'pricing_page', 'pageview /pricing'], ['evaluation', 'demo_completed', 'demo_completed']],
      scores: [['visit', 2, 'pageview /pricing'], ['pricing_view', 10, 'pageview /pricing'], ['demo_completed', 20, 'demo_completed']],
      mql: false,
      sql: false,
    }));
  });

  test('pricing on a laptop and on a phone of the same person: merged, pricing in two sessions is intent', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/pricing');
    const lap = await visitorIdOf(page);
    await page.goto(s.origin + '/newsletter');
    await submit(page, 'frank@f.test');
    await stored(s, 3);
    await page.close();
    await stored(s, 3);
    await advance(2 * DAY);
    page = await open(phone, s, '/pricing');
    const mob = await visitorIdOf(page);
    await stored(s, 4);
    // the phone, still anonymous, is one pricing view: consideration
    expect((await profile(mob)).stage).toBe('consideration');
    await page.goto(s.origin + '/newsletter');
    await submit(page, 'frank@f.test');
    await stored(s, 6);
    await page.close();
    await stored(s, 6);
    leads.set('frank', await checkLead('frank@f.test', { laptop: lap, phone: mob }, {
      events: [
        'pageview /pricing@laptop', 'pageview /newsletter@laptop', 'newsletter_signup /newsletter@laptop',
        'pageview /pricing@phone', 'pageview /newsletter@phone', 'newsletter_signup /newsletter@phone',
      ],
      stages: [
        ['awareness', 'any_visit', 'pageview /pricing@laptop'],
        ['consideration', 'pricing_page', 'pageview /pricing@laptop'],
        ['intent', 'pricing_two_sessions', 'pageview /pricing@phone'],
      ],
      scores: [
        ['visit', 2, 'pageview /pricing@laptop'],
        ['pricing_view', 10, 'pageview /pricing@laptop'],
        ['newsletter_signup', 10, 'newsletter_signup@laptop'],
        ['visit', 2, 'pageview /pricing@phone'],
        ['return_visit', 5, 'pageview /pricing@phone'],
        ['pricing_view', 10, 'pageview /pricing@phone'],
      ],
      mql: false,
      sql: false,
    }));
  });

  test('the CRM identifies an anonymous visitor by visitor id and email: the visitor\'s history is the lead\'s', async () => {
    const s = await newOrigin();
    let page = await open(laptop, s, '/resources');
    const visitor = await visitorIdOf(page);
    await page.click('#case');
    await stored(s, 2);
    await page.close();
    await stored(s, 2);
    await advance(HOUR);
    const r = await serverEvents({ visitorId: visitor, email: 'gina@g.test', name: 'sales_accepted', traits: { company: 'G Corp' }, id: 'gina-sa' });
    expect(r.events[0].leadId).toBe((await profile(visitor)).leadId);
    const c = await checkLead('gina@g.test', { laptop: visitor }, {
      events: ['pageview /resources@laptop', 'download /resources@laptop', 'sales_accepted@laptop'],
      stages: [['awareness', 'any_visit', 'pageview /resources'], ['consideration', 'case_study_download', 'download']],
      scores: [['visit', 2, 'pageview /resources'], ['content_download', 10, 'download']],
      mql: false,
      sql: true,
      sqlAt: 'sales_accepted',
    });
    expect(c.profile).toMatchObject({ email: 'gina@g.test', traits: { company: 'G Corp' } });
    leads.set('gina', c);
  });

  test('one article read for 40 minutes, then the tab is closed: one session, still awareness', async () => {
    const s = await newOrigin();
    const page = await open(laptop, s, '/blog/post-1');
    const visitor = await visitorIdOf(page);
    await stored(s, 1);
    await advance(40 * MIN);
    await page.close();
    const rows = await server.db.all<{ name: string; session_id: string; props: string | null }>('SELECT name, session_id, props FROM events WHERE visitor_id = ? ORDER BY at', [visitor]);
    for (let i = 0; i < 50 && rows.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows.splice(0, rows.length, ...(await server.db.all<{ name: string; session_id: string; props: string | null }>('SELECT name, session_id, props FROM events WHERE visitor_id = ? ORDER BY at', [visitor])));
    }
    // the engagement event reports the 40 minutes of the one view
    expect(rows.map((r) => r.name)).toEqual(['pageview', 'engagement']);
    expect(JSON.parse(rows[1].props!).seconds).toBeGreaterThanOrEqual(2400);
    expect(rows[1].session_id).toBe(rows[0].session_id);
    leads.set('longread', await checkLead(visitor, { laptop: visitor }, {
      events: ['pageview /blog/post-1@laptop'],
      stages: [['awareness', 'any_visit', 'pageview /blog/post-1']],
      scores: [['visit', 2, 'pageview /blog/post-1']],
      mql: false,
      sql: false,
    }));
  });

  test('a bot is stored and flagged but never becomes a lead', async () => {
    const s = await newOrigin();
    const page = await open(bot, s, '/');
    const visitor = await visitorIdOf(page);
    await follow(page, '#pricing', '/pricing');
    const rows = await stored(s, 2);
    await page.close();
    expect(rows.every((r) => r.is_bot === 1)).toBe(true);
    expect((await api(`/api/leads/${visitor}`, keys.leads)).status).toBe(404);
  });

  test('a visitor who denies consent leaves nothing', async () => {
    const s = await newOrigin('data-consent="required"');
    const page = await laptop.newPage();
    await page.goto(s.origin + '/');
    await page.evaluate(() => window.funnelbeam!('consent', false));
    await follow(page, '#pricing', '/pricing');
    await page.goto(s.origin + '/newsletter');
    await submit(page, 'private@x.test');
    await page.waitForTimeout(800);
    await page.close();
    await new Promise((r) => setTimeout(r, 500));
    expect(await rowsOf(s)).toEqual([]);
    expect((await api('/api/leads/private%40x.test', keys.leads)).status).toBe(404);
  });

  test('the funnel report counts every lead as the rules placed them', async () => {
    expect([...leads.keys()].sort()).toEqual(['alice', 'bob', 'cap', 'careers', 'carol', 'dana', 'dave', 'erin', 'frank', 'gina', 'longread', 'pricing', 'reader'].sort());
    // one CRM event was reported a few minutes ahead of the clock
    const to = now() + 10 * MIN;
    const r = await api(`/api/funnel?from=${began - HOUR}&to=${to}`, keys.audiences);
    expect(r.status).toBe(200);
    const rank = (stage: string) => STAGES.indexOf(stage);
    const all = [...leads.values()];
    const expected = STAGES.map((stage, i) => {
      const count = all.filter((l) => l.profile.stage === stage).length;
      const entered = all.filter((l) => l.entries.some(([s]) => s === stage)).length;
      const reached = all.filter((l) => rank(l.profile.stage) >= i).length;
      return { stage, count, entered, reached };
    });
    const got = r.body.stages.map((s: Record<string, unknown>) => ({ stage: s.stage, count: s.count, entered: s.entered, reached: s.reached }));
    expect(got).toEqual(expected);
    const round = (n: number) => Math.round(n * 10_000) / 10_000;
    r.body.stages.forEach((s: Record<string, any>, i: number) => {
      const next = expected[i + 1];
      expect(s.conversionNext, `${s.stage} conversionNext`).toBe(next ? round(next.reached / expected[i].reached) : null);
      expect(s.conversionCumulative, `${s.stage} conversionCumulative`).toBe(round(expected[i].reached / expected[0].reached));
    });
    // time in stage: from entering a stage to entering the next, for leads that moved on
    for (const [i, stage] of STAGES.entries()) {
      const times: number[] = [];
      for (const l of all) {
        const at = l.entries.findIndex(([s]) => s === stage);
        if (at >= 0 && at + 1 < l.entries.length) times.push(l.entries[at + 1][1] - l.entries[at][1]);
      }
      times.sort((a, b) => a - b);
      const pick = (p: number) => (times.length ? times[Math.ceil((p / 100) * times.length) - 1] : null);
      expect(r.body.stages[i].timeInStage, `${stage} time in stage`).toMatchObject({ p50: pick(50), p90: pick(90), n: times.length });
    }
  });

  test('a later period counts only the stage entries and new leads inside it', async () => {
    const to = now() + 10 * MIN;
    const r = await api(`/api/funnel?from=${crmBegan}&to=${to}`, keys.audiences);
    expect(r.status).toBe(200);
    const all = [...leads.values()];
    const cohort = all.filter((l) => Date.parse(l.profile.createdAt) >= crmBegan);
    expect(cohort.length).toBeGreaterThan(2);
    const expected = STAGES.map((stage, i) => ({
      stage,
      count: all.filter((l) => l.profile.stage === stage).length,
      entered: all.filter((l) => l.entries.some(([s, at]) => s === stage && at >= crmBegan && at < to)).length,
      reached: cohort.filter((l) => STAGES.indexOf(l.profile.stage) >= i).length,
    }));
    expect(r.body.stages.map((s: Record<string, unknown>) => ({ stage: s.stage, count: s.count, entered: s.entered, reached: s.reached }))).toEqual(expected);
  });

  test('breakdowns by channel credit each lead to its first or last touch', async () => {
    const to = now() + 10 * MIN;
    const all = [...leads.entries()];
    // by hand: only the pricing visitor came from the email campaign; dave exists only in the CRM
    const first = (name: string) => (name === 'pricing' ? 'email' : name === 'dave' ? '(none)' : 'direct');
    const last = (name: string) => (name === 'dave' ? '(none)' : 'direct');
    for (const [attribution, keyOf] of [['first', first], ['last', last]] as const) {
      const r = await api(`/api/funnel?from=${began - HOUR}&to=${to}&breakdown=channel&attribution=${attribution}`, keys.audiences);
      expect(r.status).toBe(200);
      const got = Object.fromEntries(
        r.body.breakdown.map((g: { key: string; stages: Array<{ stage: string; count: number }> }) => [g.key, Object.fromEntries(g.stages.map((s) => [s.stage, s.count]))]),
      );
      const want: Record<string, Record<string, number>> = {};
      for (const [name, l] of all) {
        const g = (want[keyOf(name)] ??= Object.fromEntries(STAGES.map((s) => [s, 0])));
        g[l.profile.stage]++;
      }
      expect(got, attribution).toEqual(want);
    }
    // linear: each lead split over its web sessions' touches; the pricing visitor's two sessions were email and direct
    const r = await api(`/api/funnel?from=${began - HOUR}&to=${to}&breakdown=channel&attribution=linear`, keys.audiences);
    const got = Object.fromEntries(
      r.body.breakdown.map((g: { key: string; stages: Array<{ stage: string; count: number }> }) => [g.key, Object.fromEntries(g.stages.map((s) => [s.stage, s.count]))]),
    );
    const want: Record<string, Record<string, number>> = {};
    const add = (key: string, stage: string, n: number) => ((want[key] ??= Object.fromEntries(STAGES.map((s) => [s, 0])))[stage] += n);
    for (const [name, l] of all) {
      if (name === 'pricing') add('email', l.profile.stage, 0.5), add('direct', l.profile.stage, 0.5);
      else add(name === 'dave' ? '(none)' : 'direct', l.profile.stage, 1);
    }
    expect(got, 'linear').toEqual(want);
  });

  test('paging a timeline gives the same items as one page', async () => {
    for (const ref of ['dana@acme.test', 'carol@corp.test']) {
      const whole = await timeline(ref);
      const paged: Item[] = [];
      let cursor: string | null = null;
      do {
        const r = await api(`/api/leads/${encodeURIComponent(ref)}/timeline?limit=3${cursor ? `&cursor=${cursor}` : ''}`, keys.leads);
        paged.push(...r.body.items);
        cursor = r.body.nextCursor;
      } while (cursor);
      expect(paged, ref).toEqual(whole);
      const stagesOnly = (await api(`/api/leads/${encodeURIComponent(ref)}/timeline?types=stage`, keys.leads)).body.items;
      expect(stagesOnly, ref).toEqual(whole.filter((i) => i.kind === 'stage'));
    }
  });

  test('scores halve after the 90-day half-life without new points', async () => {
    const before = await profile('dana@acme.test');
    await advance(90 * DAY);
    const after = await profile('dana@acme.test');
    expect(after.scoreStored).toBe(before.scoreStored);
    expect(after.score).toBeCloseTo(before.score / 2, 2);
    expect(after.mql).toBe(true);
  });
});
