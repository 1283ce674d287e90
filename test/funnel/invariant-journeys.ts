// Seeded random journeys for the funnel invariants (invariants.test.ts): several people on one site, some on two
// devices with one email, some devices switching identity (A then B), web events through POST /e (sessions, late,
// out-of-order and retried batches, UTM campaigns), CRM events through POST /api/events (by email, leadId or
// visitorId, some backdated) and random funnel configs set before the journey and sometimes changed midway. Plain
// data: a plan is generated from a seed, then driven through the real app by runJourney, then checked by
// checkInvariants against the public API (profiles, timelines, funnel report) before and after replay.
import { makeJourneyApp } from '../helpers/journey-app.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import { replaySite } from '../../collector/funnel/replay.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { CHROME_UA } from '../helpers/factories.js';
import type { WireEvent, WireTouch } from '../../shared/wire.js';

export type Journey = Awaited<ReturnType<typeof makeJourneyApp>>;

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
export type Rng = ReturnType<typeof prng>;

// ---------- the plan ----------

export type Step =
  | { kind: 'web'; sendAt: number; visitorId: string; events: WireEvent[]; label?: string; bot?: boolean; skew?: number; together?: boolean }
  | { kind: 'server'; sendAt: number; body: ServerSpec[]; retry?: boolean }
  | { kind: 'config'; sendAt: number; config: unknown };

/** A CRM event; `leadOf` names a visitor whose current lead id is looked up at send time (POST by leadId). */
export interface ServerSpec {
  id: string;
  name: string;
  at?: number;
  email?: string;
  visitorId?: string;
  leadOf?: string;
}

export interface Plan {
  seed: number;
  steps: Step[];
  end: number;
}

const PAGES = ['/', '/blog/x', '/blog/roi', '/pricing', '/case-studies/y', '/compare/z', '/careers', '/docs/start', '/webinar/q3'];
const PDFS = ['/files/b2b-ebook.pdf', '/files/case-study-acme.pdf', '/files/price-list.pdf', '/files/guide-2025.pdf'];
const CAMPAIGNS: WireTouch[] = [
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', gclid: 'g-1' },
  { utm_source: 'linkedin', utm_medium: 'paid_social', utm_campaign: 'abm' },
  { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'weekly' },
];
const CUSTOM_STAGES = ['visitor', 'engaged', 'lead', 'opportunity', 'customer'];

/** A random but valid funnel config: default or custom stages, a mix of default and generated rules. */
export function randomConfig(r: Rng, STAGES: readonly string[] = DEFAULT_FUNNEL_CONFIG.stages): unknown {
  if (STAGES === DEFAULT_FUNNEL_CONFIG.stages && r.chance(0.3)) return { ...DEFAULT_FUNNEL_CONFIG, halfLifeDays: r.pick([null, 1, 2, 90]), mqlThreshold: r.pick([15, 30, 50]) };
  const when = () =>
    r.pick<Record<string, unknown>>([
      { event: 'pageview', path: r.pick(['/pricing*', '/blog*', '/case-stud*', '/compare*', '/careers*']) },
      { event: 'download' },
      { event: 'download', props: { url: '*case-stud*' } },
      { event: 'newsletter_signup' },
      { event: 'demo_request' },
      { event: 'form_submit', path: '/contact*' },
      { event: 'engagement' },
      { event: 'video_play' },
      { event: ['demo_completed', 'proposal_sent'], source: 'server' },
      { event: 'closed_won', source: 'server' },
      { event: 'closed_lost', source: 'server' },
      { source: 'web', sessions: r.int(2, 3) },
      { event: 'pageview', path: '/pricing*', sessions: 2 },
      { event: 'pageview', count: r.int(2, 6) },
      { any: [{ event: 'demo_request' }, { event: 'form_submit', path: '/contact*' }] },
    ]);
  const stageRules: unknown[] = [{ id: 'any', stage: STAGES[0], when: {} }];
  if (r.chance(0.15)) stageRules.pop(); // no rule for the first stage: leads sit in it without an entry
  for (let i = 0; i < r.int(3, 9); i++) stageRules.push({ id: `st${i}`, stage: r.pick(STAGES.slice(1)), when: when() });
  const scoreRules: unknown[] = [];
  for (let i = 0; i < r.int(2, 8); i++) {
    const rule: Record<string, unknown> = { id: `sc${i}`, points: r.pick([1, 2, 5, 10, 20, 30, -5, -10]), when: when() };
    if (r.chance(0.5)) rule.cap = r.pick([5, 10, 20, 40]);
    if (r.chance(0.4)) rule.window = r.pick(['session', '1h', '1d', '30m']);
    scoreRules.push(rule);
  }
  return {
    stages: STAGES,
    stageRules,
    scoreRules,
    halfLifeDays: r.pick([null, 0.5, 1, 3, 30]),
    mqlThreshold: r.pick([10, 25, 40, 60]),
    sqlWhen: r.chance(0.5) ? DEFAULT_FUNNEL_CONFIG.sqlWhen : [{ event: 'sales_accepted', source: 'server' }, { event: 'pageview', path: '/pricing*', count: 3 }],
  };
}

/** Events of one visit on one device, starting at `start`: pages, a download, forms, engagement, custom events. */
function visitEvents(r: Rng, ids: () => string, start: number, email: string | null, touch: WireTouch | null, firstTouch: WireTouch | null): WireEvent[] {
  const out: WireEvent[] = [];
  let t = start;
  const url = (path: string) => `http://127.0.0.1${path}`;
  const n = r.int(1, 6);
  for (let i = 0; i < n; i++) {
    const path = r.pick(PAGES);
    const e: WireEvent = { i: ids(), n: 'pageview', t, u: url(path) };
    if (i === 0 && touch) e.st = { ...touch, url: url(path) + '?utm=1', at: t };
    if (i === 0 && firstTouch) e.ft = { ...firstTouch, url: url(path), at: t };
    out.push(e);
    t += r.pick([0, 1, 10_000, 60_000, 5 * MIN, 12 * MIN]);
    const x = r.next();
    if (x < 0.12) out.push({ i: ids(), n: 'download', t, u: url(path), p: { url: url(r.pick(PDFS)) } });
    else if (x < 0.22) out.push({ i: ids(), n: 'engagement', t, u: url(path), p: { ms: r.int(1000, 400_000) } });
    else if (x < 0.27) out.push({ i: ids(), n: 'video_play', t, u: url(path), p: { id: 'intro' } });
    else if (x < 0.32 && email) out.push({ i: ids(), n: 'newsletter_signup', t, u: url('/blog/x'), f: 'newsletter', em: email });
    else if (x < 0.36 && email) out.push({ i: ids(), n: 'demo_request', t, u: url('/demo'), f: 'demo', em: email, tr: { company: 'Acme' } });
    else if (x < 0.40 && email) out.push({ i: ids(), n: 'form_submit', t, u: url('/contact-sales'), f: 'other', em: email });
    else if (x < 0.43 && email) out.push({ i: ids(), n: 'identify', t, u: url(path), em: email });
    else continue;
    t += r.pick([0, 1, 30_000, 3 * MIN]);
  }
  return out;
}

/** The plan of seed `seed`: every step with the collector's time when it is sent. */
export function generatePlan(seed: number, opts: { people?: number } = {}): Plan {
  const r = prng(seed);
  let idSeq = 0;
  // ids as clients make them: mixed case, '-' and '_' (ties at one millisecond are broken by id, byte-wise)
  const ID_CHARS = 'aZ-_9Bb0zA';
  const ids = () => `${r.pick(['e', 'E', 'x-', 'X_'])}${ID_CHARS[r.int(0, 9)]}${seed}${ID_CHARS[r.int(0, 9)]}${String(++idSeq).padStart(4, '0')}`;
  const steps: Step[] = [];
  const start = T0 + HOUR;
  const stages = r.chance(0.25) ? CUSTOM_STAGES : DEFAULT_FUNNEL_CONFIG.stages;
  steps.push({ kind: 'config', sendAt: start - MIN, config: randomConfig(r, stages) });
  const people = opts.people ?? r.int(3, 6);
  let end = start;
  const switchers: Array<{ visitorId: string; emailB: string; emailA: string | null; at: number }> = [];
  for (let p = 0; p < people; p++) {
    const email = r.chance(0.75) ? `p${p}.s${seed}@acme.test` : null;
    const devices = [`v${seed}p${p}d0aa`, ...(r.chance(0.45) ? [`v${seed}p${p}d1bb`] : [])];
    const ftOf = new Map<string, WireTouch | null>(devices.map((d) => [d, r.chance(0.5) ? r.pick(CAMPAIGNS) : null]));
    // a device whose clock runs hours fast or a year behind: the snippet stamps its batches, the collector corrects
    const skewOf = new Map<string, number>(devices.map((d) => [d, r.chance(0.15) ? r.pick([3 * HOUR, -365 * DAY, 2 * MIN]) : 0]));
    const firstSent = new Set<string>();
    let t = start + r.int(0, 12) * HOUR + r.int(0, 59) * MIN;
    const sessions = r.int(1, 5);
    let identifiedOn: string | null = null;
    for (let s = 0; s < sessions; s++) {
      const device = r.pick(devices);
      // identify on some session (a second device with the same email merges into the lead)
      const knows = email !== null && (identifiedOn !== null ? r.chance(0.6) : r.chance(0.4));
      const touch = r.chance(0.3) ? r.pick(CAMPAIGNS) : null;
      const ft = firstSent.has(device) ? null : ftOf.get(device) ?? null;
      firstSent.add(device);
      const events = visitEvents(r, ids, t, knows ? email : null, touch, ft);
      if (knows && !events.some((e) => e.em)) events.push({ i: ids(), n: 'identify', t: events[events.length - 1].t + 1, u: 'http://127.0.0.1/', em: email! });
      if (events.some((e) => e.em)) identifiedOn = device;
      const last = events[events.length - 1].t;
      // usually sent as it happens; sometimes late (an outbox flushed hours on), sometimes split and sent out of order
      const late = r.chance(0.15) ? r.pick([10 * MIN, 2 * HOUR, 20 * HOUR]) : 0;
      if (events.length >= 2 && r.chance(0.15)) {
        const cut = r.int(1, events.length - 1);
        steps.push({ kind: 'web', sendAt: last + 2 * MIN + late, visitorId: device, events: events.slice(0, cut), label: 'first half, sent after', skew: skewOf.get(device) });
        steps.push({ kind: 'web', sendAt: last + 1 + late, visitorId: device, events: events.slice(cut), skew: skewOf.get(device) });
      } else {
        steps.push({ kind: 'web', sendAt: last + 1 + late, visitorId: device, events, skew: skewOf.get(device) });
      }
      if (r.chance(0.12)) steps.push({ kind: 'web', sendAt: last + r.pick([2, 5 * MIN, 3 * HOUR]), visitorId: device, events, label: 'retry', skew: skewOf.get(device) });
      end = Math.max(end, last + late + 5 * MIN);
      t = last + r.pick([0, 5 * MIN, 20 * MIN, 29 * MIN, 31 * MIN, 45 * MIN, 3 * HOUR, 20 * HOUR, 1 * DAY + 2 * HOUR]);
    }
    if (identifiedOn && r.chance(0.3)) switchers.push({ visitorId: identifiedOn, emailB: `b${p}.s${seed}@other.test`, emailA: r.chance(0.4) ? email : null, at: t + r.int(1, 60) * MIN });
    // the CRM names a device that never identified (a sales tool that knows the visitor id)
    if (!email && r.chance(0.4)) steps.push({ kind: 'server', sendAt: t + HOUR, body: [{ id: `crm-${seed}-${p}-anon`, name: r.pick(['demo_completed', 'sales_accepted']), visitorId: devices[0], at: t + HOUR - r.pick([1, 2 * HOUR]) }] });
    // the CRM
    if (email && r.chance(0.7)) {
      let ct = t + r.int(1, 30) * HOUR;
      const names = ['demo_completed', 'sales_accepted', 'proposal_sent', r.pick(['closed_won', 'closed_lost']), 'opportunity_created'];
      const count = r.int(1, names.length);
      for (let k = 0; k < count; k++) {
        const name = names[k];
        const by = r.pick(['email', 'email', 'leadId', 'visitorId'] as const);
        const spec: ServerSpec = { id: `${r.pick(['Deal', 'deal', 'OPP_', 'opp-'])}${seed}p${p}k${k}`, name };
        if (by === 'email' || !identifiedOn) spec.email = email;
        else if (by === 'leadId') spec.leadOf = identifiedOn;
        else {
          spec.visitorId = r.chance(0.7) ? identifiedOn : r.pick(devices);
          if (spec.visitorId !== identifiedOn || r.chance(0.3)) spec.email = email;
        }
        const backdated = r.chance(0.35);
        const sendAt = ct + r.int(1, 20) * MIN;
        if (r.chance(0.85)) spec.at = backdated ? sendAt - r.pick([30 * MIN, 5 * HOUR, 2 * DAY]) : sendAt - MIN;
        if (backdated && r.chance(0.3)) spec.at = t - r.pick([0, 1, 10 * MIN]); // at (or near) the time of a web event
        steps.push({ kind: 'server', sendAt, body: [spec] });
        end = Math.max(end, sendAt);
        ct += r.int(1, 40) * HOUR;
      }
    }
  }
  for (const s of switchers) {
    // the device identifies as someone else (B), then browses on: A keeps its history
    steps.push({
      kind: 'web', sendAt: s.at + 3 * MIN, visitorId: s.visitorId, label: 'switch',
      events: [
        { i: ids(), n: 'identify', t: s.at, u: 'http://127.0.0.1/', em: s.emailB },
        { i: ids(), n: 'pageview', t: s.at + 60_000, u: 'http://127.0.0.1/pricing' },
        ...(r.chance(0.5) ? [{ i: ids(), n: 'demo_request', t: s.at + 120_000, u: 'http://127.0.0.1/demo', f: 'demo' as const, em: s.emailB }] : []),
      ],
    });
    // and back to A (A→B→A): B keeps what it did meanwhile
    if (s.emailA) {
      steps.push({
        kind: 'web', sendAt: s.at + 2 * HOUR, visitorId: s.visitorId, label: 'switch back',
        events: [
          { i: ids(), n: 'identify', t: s.at + HOUR, u: 'http://127.0.0.1/', em: s.emailA },
          { i: ids(), n: 'pageview', t: s.at + HOUR, u: 'http://127.0.0.1/compare/z' },
        ],
      });
      end = Math.max(end, s.at + 2 * HOUR);
    }
    end = Math.max(end, s.at + 3 * MIN);
  }
  if (r.chance(0.3)) steps.push({ kind: 'server', sendAt: start + r.int(1, 60) * HOUR, body: [{ id: `srv${seed}stranger`, name: 'closed_lost', email: `stranger.s${seed}@x.test` }] });
  // the rules change midway, sometimes
  if (r.chance(0.35)) steps.push({ kind: 'config', sendAt: start + r.int(2, 40) * HOUR, config: randomConfig(r, stages) });
  // a crawler: stored and flagged, never a lead that counts
  if (r.chance(0.3)) {
    const bt = start + r.int(0, 30) * HOUR;
    steps.push({ kind: 'web', sendAt: bt + 1, visitorId: `v${seed}botcrawler`, bot: true, events: [{ i: ids(), n: 'pageview', t: bt, u: 'http://127.0.0.1/pricing' }] });
  }
  // sent in the order of their sending time (stable, so a first half sent first stays first on ties)
  steps.sort((a, b) => a.sendAt - b.sendAt);
  // the CRM sometimes sends what it has in one body, and retries a body (same ids)
  for (let i = 0; i + 1 < steps.length; i++) {
    const a = steps[i];
    const b = steps[i + 1];
    if (a.kind === 'server' && b.kind === 'server' && r.chance(0.5)) {
      a.body.push(...b.body);
      a.sendAt = b.sendAt;
      steps.splice(i + 1, 1);
      i--;
    }
  }
  for (let i = steps.length - 1; i >= 0; i--) {
    const a = steps[i];
    if (a.kind === 'server' && r.chance(0.15)) steps.push({ kind: 'server', sendAt: a.sendAt + r.pick([1, 10 * MIN, 5 * HOUR]), body: a.body.map((x) => ({ ...x })), retry: true } as Step);
  }
  steps.sort((a, b) => a.sendAt - b.sendAt);
  // some beacons of different devices arrive together (one group commit: a merge and other events in one flush)
  for (let i = 1; i < steps.length; i++) {
    const a = steps[i - 1];
    const b = steps[i];
    if (a.kind === 'web' && b.kind === 'web' && a.visitorId !== b.visitorId && r.chance(0.3)) b.together = true;
  }
  return { seed, steps, end: end + HOUR };
}

// ---------- driving it ----------

export async function runJourney(plan: Plan, engine: 'sqlite' | 'pg'): Promise<Journey> {
  const j = await makeJourneyApp({ engine, start: T0 });
  try {
    await runSteps(j, plan.steps);
    j.clock.now = Math.max(j.clock.now, plan.end);
    return j;
  } catch (err) {
    await j.close();
    throw err;
  }
}

/** Sends the steps in order; web steps marked `together` go with the one before them, concurrently (one flush). */
export async function runSteps(j: Journey, steps: Step[]) {
  for (let i = 0; i < steps.length; ) {
    let k = i + 1;
    while (k < steps.length && steps[k].kind === 'web' && (steps[k] as { together?: boolean }).together && steps[i].kind === 'web') k++;
    const group = steps.slice(i, k);
    j.clock.now = Math.max(j.clock.now, ...group.map((g) => g.sendAt));
    await Promise.all(group.map((g) => sendStep(j, g)));
    i = k;
  }
}

async function sendStep(j: Journey, step: Step) {
  {
    if (step.kind === 'config') {
      const res = await j.app.request('/api/config/funnel', { method: 'PUT', body: JSON.stringify(step.config), headers: j.auth });
      if (res.status !== 200) throw new Error(`PUT config: ${res.status} ${await res.text()}`);
    } else if (step.kind === 'web' && step.bot) {
      const res = await j.app.request('/e', {
        method: 'POST',
        body: JSON.stringify({ s: j.site.siteKey, v: step.visitorId, e: step.events }),
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
      });
      if (res.status !== 202) throw new Error(`bot POST /e: ${res.status}`);
    } else if (step.kind === 'web' && step.skew) {
      // the device's clock: its events and its stamp are off by the skew
      const skew = step.skew;
      const e = step.events.map((x) => ({ ...x, t: x.t + skew, ...(x.st ? { st: { ...x.st, at: x.st.at! + skew } } : {}), ...(x.ft ? { ft: { ...x.ft, at: x.ft.at! + skew } } : {}) }));
      const res = await j.app.request('/e', {
        method: 'POST',
        body: JSON.stringify({ s: j.site.siteKey, v: step.visitorId, e, t: j.clock.now + skew }),
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA },
      });
      if (res.status !== 202) throw new Error(`POST /e: ${res.status} ${await res.text()}`);
    } else if (step.kind === 'web') {
      await j.visit(step.visitorId, step.events, j.clock.now);
    } else {
      const body = [];
      for (const s of step.body) {
        const { leadOf, ...rest } = s;
        body.push(leadOf ? { ...rest, leadId: await j.leadOfVisitor(leadOf) } : rest);
      }
      const res = await j.serverEvents(body);
      if (res.status !== 202) throw new Error(`POST /api/events: ${res.status} ${await res.text()}`);
      const answer = (await res.json()) as { rejected?: unknown[] };
      if (answer.rejected?.length) throw new Error(`POST /api/events rejected ${JSON.stringify(answer.rejected)} of ${JSON.stringify(body)}`);
    }
  }
}

// ---------- reading it back through the API ----------

type Item = Record<string, any>;
export interface LeadView {
  /** the fold's stored state (rule progress, watermark): what the next event is folded onto */
  state: unknown;
  profile: Item;
  timeline: Item[];
  /** the same timeline read 3 items a page */
  paged: Item[];
  version: string;
}
export interface Window {
  from: number;
  to: number;
}
export interface SiteView {
  leads: Map<string, LeadView>;
  /** over everything */
  report: Item;
  /** over `window`, which cuts through the journeys */
  partial: Item;
  window: Window;
  config: Item;
  now: number;
}

async function getJson(j: Journey, path: string) {
  const res = await j.app.request(path, { headers: j.auth });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Item>;
}

/** Every lead's profile and whole timeline (all pages), the funnel report over everything, and the config. */
export async function readSite(j: Journey, window: Window): Promise<SiteView> {
  const rows = await j.db.all<{ lead_id: string; state: string | null }>('SELECT lead_id, state FROM leads WHERE site_id = ? ORDER BY lead_id', [j.site.siteId]);
  const leads = new Map<string, LeadView>();
  for (const row of rows) {
    const profile = await getJson(j, `/api/leads/${row.lead_id}`);
    const read = async (limit: number) => {
      const items: Item[] = [];
      for (let cursor: string | null = ''; cursor !== null; ) {
        const page = await getJson(j, `/api/leads/${row.lead_id}/timeline?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        items.push(...page.items);
        cursor = page.nextCursor;
      }
      return items;
    };
    leads.set(row.lead_id, { state: row.state ? JSON.parse(row.state) : null, profile, timeline: await read(500), paged: await read(3), version: row.state ? JSON.parse(row.state).v : '' });
  }
  const report = await getJson(j, `/api/funnel?from=${T0 - 30 * DAY}&to=${j.clock.now + 1}`);
  const partial = await getJson(j, `/api/funnel?from=${new Date(window.from).toISOString()}&to=${window.to}`);
  const config = await getJson(j, '/api/config/funnel');
  return { leads, report, partial, window, config, now: j.clock.now };
}

// ---------- the invariants ----------

const roundScore = (n: number) => Math.round(n * 10_000) / 10_000;
const ms = (iso: string) => Date.parse(iso);
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(a));

/** Nearest rank, as documented in collector/reports/percentile.ts (computed by sorting, not by selection). */
export const nearestRank = (values: number[], p: number) => {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
};

export interface Problem {
  lead?: string;
  what: string;
}

/**
 * (2) the timeline explains the score and the stage; (3) the funnel report follows from the leads. `leads`: which
 * leads to hold to it (live, only leads folded under the current rules: others are documented to keep the old rules'
 * result until replay).
 */
export function checkExplained(view: SiteView, only?: Set<string>): Problem[] {
  const problems: Problem[] = [];
  const cfg = view.config as { stages: string[]; halfLifeDays: number | null; mqlThreshold: number };
  const halfLifeMs = cfg.halfLifeDays ? cfg.halfLifeDays * DAY : null;
  const rank = (s: string) => cfg.stages.indexOf(s);
  for (const [leadId, { profile, timeline }] of view.leads) {
    if (only && !only.has(leadId)) continue;
    const say = (what: string) => problems.push({ lead: leadId, what });
    const paged = view.leads.get(leadId)!.paged;
    if (JSON.stringify(paged) !== JSON.stringify(timeline)) say(`the timeline read 3 a page (${paged.length} items) differs from one page (${timeline.length})`);
    // every change names its cause: an event of the lead's timeline at the same time
    const eventAt = new Map(timeline.filter((i) => i.kind === 'event').map((i) => [i.id, i.at]));
    for (const it of timeline) {
      if ((it.kind === 'score' || it.kind === 'stage') && it.eventId != null && eventAt.get(it.eventId) !== it.at) {
        say(`${it.kind} item ${it.id} names event ${it.eventId}, which the timeline has ${eventAt.has(it.eventId) ? 'at ' + eventAt.get(it.eventId) : 'not'} (item at ${it.at})`);
      }
    }
    // newest first → applied order
    const scores = timeline.filter((i) => i.kind === 'score').reverse();
    let s = 0;
    let at: number | null = null;
    let mqlAt: number | null = null;
    for (const it of scores) {
      const t = ms(it.at);
      if (at !== null && t < at) say(`score item ${it.id} at ${it.at} is older than the one before it`);
      s = roundScore((halfLifeMs && at !== null && t > at ? s * Math.pow(0.5, (t - at) / halfLifeMs) : s) + it.points);
      at = t;
      if (!close(s, it.scoreAfter)) say(`score item ${it.id} (${it.rule} ${it.points}) says scoreAfter ${it.scoreAfter}, the items before it add up to ${s}`);
      s = it.scoreAfter; // go on from what the item says, so one mismatch is reported once
      if (mqlAt === null && s >= cfg.mqlThreshold) mqlAt = t;
    }
    const now = halfLifeMs && at !== null && view.now > at ? roundScore(s * Math.pow(0.5, (view.now - at) / halfLifeMs)) : roundScore(s);
    if (!close(now, profile.score)) say(`profile score ${profile.score}, its score items give ${now} at read time`);
    if (!close(s, profile.scoreStored)) say(`profile scoreStored ${profile.scoreStored}, the top score item ${s}`);
    if (profile.mql !== (mqlAt !== null)) say(`profile mql ${profile.mql}, the score items ${mqlAt !== null ? 'cross' : 'never reach'} ${cfg.mqlThreshold}`);
    if (mqlAt !== null && profile.mqlAt !== new Date(mqlAt).toISOString()) say(`mqlAt ${profile.mqlAt}, the score items cross the threshold at ${new Date(mqlAt).toISOString()}`);
    const stages = timeline.filter((i) => i.kind === 'stage').reverse();
    let prev: Item | null = null;
    for (const it of stages) {
      const from = prev ? prev.to : null;
      if (it.from !== from) say(`stage item to ${it.to} has from ${it.from}, the chain before it ends at ${from}`);
      if (prev && rank(it.to) <= rank(prev.to)) say(`stage ${it.to} after ${prev.to}: not forward`);
      if (prev && ms(it.at) < ms(prev.at)) say(`stage ${it.to} at ${it.at} before ${prev.to} at ${prev.at}`);
      prev = it;
    }
    if (profile.sql && !timeline.some((i) => i.kind === 'event' && i.at === profile.sqlAt)) say(`sqlAt ${profile.sqlAt} is the time of none of the lead's events`);
    if (!profile.sql && profile.sqlAt !== null) say(`not an SQL, yet sqlAt ${profile.sqlAt}`);
    const stageNow = prev ? prev.to : cfg.stages[0];
    if (profile.stage !== stageNow) say(`profile stage ${profile.stage}, the stage items end at ${stageNow}`);
    if (prev && profile.stageEnteredAt !== prev.at) say(`stageEnteredAt ${profile.stageEnteredAt}, the last stage item at ${prev.at}`);
  }
  if (!only) problems.push(...checkReport(view, view.report, { from: T0 - 30 * DAY, to: view.now + 1 }), ...checkReport(view, view.partial, view.window));
  return problems;
}

/**
 * (3) a report over [from, to), from the profiles and timelines alone (stage-metrics.ts documents the figures): count
 * now; entered = stage items in the window; reached = leads created in the window at that stage or a later one;
 * time in stage = from a stage item in the window to the next stage item, nearest rank.
 */
export function checkReport(view: SiteView, report: Item, w: Window): Problem[] {
  const cfg = view.config as { stages: string[] };
  const count = new Map<string, number>();
  const cohort = new Map<string, number>();
  const entered = new Map<string, number>();
  const durations = new Map<string, number[]>();
  const inW = (t: number) => t >= w.from && t < w.to;
  for (const { profile, timeline } of view.leads.values()) {
    if (profile.isBot) continue;
    count.set(profile.stage, (count.get(profile.stage) ?? 0) + 1);
    if (inW(ms(profile.createdAt))) cohort.set(profile.stage, (cohort.get(profile.stage) ?? 0) + 1);
    const stages = timeline.filter((i) => i.kind === 'stage').reverse();
    for (let i = 0; i < stages.length; i++) {
      if (!inW(ms(stages[i].at))) continue;
      entered.set(stages[i].to, (entered.get(stages[i].to) ?? 0) + 1);
      if (i + 1 < stages.length) {
        const list = durations.get(stages[i].to) ?? durations.set(stages[i].to, []).get(stages[i].to)!;
        list.push(ms(stages[i + 1].at) - ms(stages[i].at));
      }
    }
  }
  const reached: number[] = [];
  for (let i = cfg.stages.length - 1; i >= 0; i--) reached[i] = (cohort.get(cfg.stages[i]) ?? 0) + (reached[i + 1] ?? 0);
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);
  const expected = cfg.stages.map((stage, i) => ({
    stage,
    count: count.get(stage) ?? 0,
    entered: entered.get(stage) ?? 0,
    conversionNext: i < cfg.stages.length - 1 ? ratio(reached[i + 1], reached[i]) : null,
    conversionCumulative: ratio(reached[i], reached[0]),
    timeInStage: { p50: nearestRank(durations.get(stage) ?? [], 50), p90: nearestRank(durations.get(stage) ?? [], 90) },
  }));
  const actual = (report.stages as Item[]).map((s) => ({
    stage: s.stage, count: s.count, entered: s.entered, conversionNext: s.conversionNext, conversionCumulative: s.conversionCumulative,
    timeInStage: { p50: s.timeInStage.p50, p90: s.timeInStage.p90 },
  }));
  const problems: Problem[] = [];
  for (let i = 0; i < expected.length; i++) {
    if (JSON.stringify(expected[i]) !== JSON.stringify(actual[i])) problems.push({ what: `report [${new Date(w.from).toISOString()}, ${new Date(w.to).toISOString()}) ${JSON.stringify(actual[i])}, from the leads ${JSON.stringify(expected[i])}` });
  }
  return problems;
}

/** What replay must not change in a lead's API view (updatedAt is when the row was last written, by design). */
function comparable(v: LeadView) {
  const { updatedAt: _u, segments: _s, ...profile } = v.profile;
  return { profile, timeline: v.timeline.filter((i) => i.kind !== 'segment') };
}

/** JSON with object keys sorted: equal values, equal text. */
const canonical = (x: unknown): string =>
  JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));

/** (1) live == replay for every lead folded under the current rules (others are rebuilt by replay, as documented). */
export function checkReplay(live: SiteView, replayed: SiteView): Problem[] {
  const problems: Problem[] = [];
  const current = replayed.leads.values().next().value?.version;
  if ([...live.leads.keys()].join() !== [...replayed.leads.keys()].join()) problems.push({ what: `replay changed the set of leads` });
  for (const [leadId, v] of live.leads) {
    const r = replayed.leads.get(leadId);
    if (!r || v.version !== current) continue;
    const a = comparable(v);
    const b = comparable(r);
    if (canonical(v.state) !== canonical(r.state)) problems.push({ lead: leadId, what: `fold state live ${canonical(v.state)}\n  replay ${canonical(r.state)}` });
    if (JSON.stringify(a.profile) !== JSON.stringify(b.profile)) problems.push({ lead: leadId, what: `profile live ${JSON.stringify(a.profile)}\n  replay ${JSON.stringify(b.profile)}` });
    const la = a.timeline.map((i) => JSON.stringify(i));
    const lb = b.timeline.map((i) => JSON.stringify(i));
    if (la.join('\n') !== lb.join('\n')) {
      const onlyLive = la.filter((x) => !lb.includes(x));
      const onlyReplay = lb.filter((x) => !la.includes(x));
      problems.push({ lead: leadId, what: `timeline differs (order or items): live only ${onlyLive.join(' ')}\n  replay only ${onlyReplay.join(' ')}` });
    }
  }
  if (!live.report || [...live.leads.values()].every((v) => v.version === current)) {
    if (JSON.stringify([live.report.stages, live.partial.stages]) !== JSON.stringify([replayed.report.stages, replayed.partial.stages])) problems.push({ what: `report live ${JSON.stringify(live.report.stages)}\n  replay ${JSON.stringify(replayed.report.stages)}` });
  }
  return problems;
}

/** Runs a plan and checks every invariant; resolves to the problems found (none: the seed passes). */
export async function checkPlan(plan: Plan, engine: 'sqlite' | 'pg'): Promise<{ problems: Problem[]; leads: number }> {
  const j = await runJourney(plan, engine);
  try {
    // a window cutting through the journeys: at odd times (partial first and last days), or with its ends on (or a
    // millisecond beside) a stage change or a lead's creation, where [from, to) must hold exactly
    const r = prng(plan.seed * 7919 + 1);
    const times = (
      await j.db.all<{ t: number }>('SELECT at AS t FROM stage_changes WHERE site_id = ? UNION SELECT created_at AS t FROM leads WHERE site_id = ?', [j.site.siteId, j.site.siteId])
    ).map((x) => Number(x.t)).sort((x, y) => x - y);
    let window: Window;
    if (times.length >= 2 && r.chance(0.6)) {
      const i = r.int(0, times.length - 2);
      const k = r.int(i + 1, times.length - 1);
      window = { from: times[i] + r.pick([-1, 0, 0, 1]), to: times[k] + r.pick([-1, 0, 0, 1]) };
      if (window.to <= window.from) window.to = window.from + 1;
    } else {
      const a = T0 + r.int(0, 3 * 24 * 60) * MIN + r.int(0, 59_999);
      window = { from: a, to: a + r.int(1, 4 * 24 * 60) * MIN + r.int(0, 59_999) };
    }
    const live = await readSite(j, window);
    await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    const replayed = await readSite(j, window);
    const version = replayed.leads.values().next().value?.version;
    const current = new Set([...live.leads].filter(([, v]) => v.version === version).map(([id]) => id));
    const allCurrent = current.size === live.leads.size;
    const problems = [
      ...checkExplained(live, allCurrent ? undefined : current).map((p) => ({ ...p, what: 'live: ' + p.what })),
      ...checkReplay(live, replayed),
      ...checkExplained(replayed).map((p) => ({ ...p, what: 'replayed: ' + p.what })),
    ];
    return { problems, leads: live.leads.size };
  } finally {
    await j.close();
  }
}

export const describePlan = (plan: Plan) =>
  plan.steps
    .map((s) =>
      s.kind === 'web'
        ? `+${((s.sendAt - T0) / MIN).toFixed(0)}m web ${s.visitorId}${s.label ? ` (${s.label})` : ''}: ${s.events.map((e) => `${e.n}${e.n === 'pageview' ? ' ' + new URL(e.u).pathname : ''}@${((e.t - T0) / MIN).toFixed(1)}m${e.em ? ' ' + e.em : ''}${e.i ? ' #' + e.i : ''}`).join(', ')}`
        : s.kind === 'server'
          ? `+${((s.sendAt - T0) / MIN).toFixed(0)}m server${s.retry ? ' (retry)' : ''} ${JSON.stringify(s.body.map((b) => ({ ...b, at: b.at === undefined ? undefined : (b.at - T0) / MIN + 'm' })))}`
          : `+${((s.sendAt - T0) / MIN).toFixed(0)}m config ${JSON.stringify(s.config)}`,
    )
    .join('\n');
