// Synthetic people: one or more devices, sessions over the period, pages and forms by intent, identification,
// and the sales events a CRM would send. Produces events exactly as enrichment stores them.
import { classifyChannel, type Channel } from '../../collector/ingest/channels.js';
import type { EnrichedEvent, Touch } from '../../collector/ingest/types.js';
import type { FormKind } from '../../shared/events.js';
import { campaignKey } from '../../collector/ingest/sessions.js';
import { cumulative, type Rng } from './random.js';
import { CHANNEL_SHARES, makeTouch } from './touches.js';

export type Level = 'casual' | 'researcher' | 'buyer';

export interface SeedContext {
  siteId: string;
  domain: string;
  /** period start and end, epoch ms */
  start: number;
  end: number;
  /** next event id (monotonic prefix keeps the primary-key index append-only) */
  nextEventId(): string;
}

export interface DeviceJourney {
  visitorId: string;
  isBot: boolean;
  browser: string;
  os: string;
  device: string;
  /** in time order */
  events: EnrichedEvent[];
  sessions: Array<{ sessionId: string; started: number; touch: Touch }>;
}

export interface PersonJourney {
  devices: DeviceJourney[];
  email: string | null;
  /** server events (lead named by email); their lead is decided by attribution */
  serverEvents: EnrichedEvent[];
}

const DAY = 86_400_000;
const MIN = 60_000;
/**
 * Intent by the channel of the first visit (casual, researcher, buyer per 100): people who search for the product,
 * open a company email or type the address in are further along than a social feed or a banner brings. Weighted by
 * CHANNEL_SHARES the mix is about 80/16/4.
 */
const LEVEL_MIX: Readonly<Record<Channel, readonly [number, number, number]>> = {
  organic_search: [82, 15, 3], direct: [76, 18, 6], paid_search: [72, 20, 8], referral: [76, 18, 6], email: [74, 20, 6],
  organic_social: [88, 10, 2], paid_social: [86, 12, 2], display: [92, 7, 1], affiliate: [80, 16, 4], other: [85, 12, 3],
};
const LEVELS = Object.fromEntries(
  Object.entries(LEVEL_MIX).map(([channel, [c, r, b]]) => [channel, cumulative<Level>([['casual', c], ['researcher', r], ['buyer', b]])]),
) as Record<Channel, (r: number) => Level>;
const FIRST_CHANNEL = cumulative(CHANNEL_SHARES);
const BLOG = ['b2b-funnel-stages', 'lead-scoring-101', 'utm-best-practices', 'first-party-tracking', 'intent-signals', 'attribution-models', 'cookieless-analytics', 'sales-handoff'];
const FEATURES = ['analytics', 'segments', 'audiences', 'webhooks', 'scoring'];
const DOCS = ['getting-started', 'snippet', 'api', 'segments', 'webhooks'];
const RESOURCES = ['ebook-b2b-funnels', 'whitepaper-attribution', 'guide-lead-scoring', 'state-of-b2b-report', 'checklist-tracking'];
const CASES = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
const RIVALS = ['hubspot', 'mautic', 'posthog'];
const FIRST = ['ada', 'grace', 'alan', 'linus', 'margaret', 'ken', 'barbara', 'dennis', 'frances', 'edsger', 'radia', 'john', 'sophie', 'tim'];
const LAST = ['lovelace', 'hopper', 'turing', 'torvalds', 'hamilton', 'thompson', 'liskov', 'ritchie', 'allen', 'dijkstra', 'perlman', 'backus', 'wilson', 'lee'];
const COMPANIES = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay', 'stark', 'wayne', 'wonka', 'tyrell'];
const TITLES = ['Marketing Manager', 'Head of Growth', 'CMO', 'Demand Gen Lead', 'Sales Director', 'Founder', 'Data Analyst'];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'NL', 'CA', 'AU', 'SE', 'ES', 'IT'];
const BROWSERS = [['Chrome', 'Windows', 'desktop', 40], ['Chrome', 'Mac OS', 'desktop', 20], ['Safari', 'iOS', 'mobile', 15], ['Chrome', 'Android', 'mobile', 10], ['Edge', 'Windows', 'desktop', 8], ['Firefox', 'Linux', 'desktop', 4], ['Safari', 'Mac OS', 'desktop', 3]] as const;
const BROWSER = cumulative(BROWSERS.map((b) => [b, b[3]] as const));

/** Page weights per intent level; actions on a page follow from its path. */
const PAGE_WEIGHTS: Record<Level, ReadonlyArray<readonly [string, number]>> = {
  casual: [['/', 14], ['/features', 10], ['features', 8], ['blog', 26], ['docs', 6], ['/integrations', 5], ['/about', 4], ['/careers', 3], ['/pricing', 1.6], ['compare', 0.4], ['/customers', 0.4], ['case', 0.4], ['resources', 3], ['webinars', 1], ['/contact-sales', 0.1], ['/trial', 0.1], ['/demo', 0.05]],
  researcher: [['/', 8], ['/features', 10], ['features', 10], ['blog', 14], ['docs', 8], ['/integrations', 6], ['/about', 2], ['/pricing', 12], ['compare', 5], ['/customers', 4], ['case', 5], ['resources', 6], ['webinars', 3], ['/contact-sales', 1.2], ['/trial', 1.5], ['/demo', 1.2]],
  buyer: [['/', 5], ['/features', 8], ['features', 8], ['blog', 6], ['docs', 6], ['/integrations', 6], ['/pricing', 18], ['compare', 6], ['/customers', 5], ['case', 7], ['resources', 4], ['webinars', 2], ['/contact-sales', 5], ['/trial', 4], ['/demo', 7]],
};
const PAGES: Record<Level, (r: number) => string> = {
  casual: cumulative(PAGE_WEIGHTS.casual),
  researcher: cumulative(PAGE_WEIGHTS.researcher),
  buyer: cumulative(PAGE_WEIGHTS.buyer),
};
const FORM_RATE: Record<Level, { newsletter: number; gated: number; webinar: number; sales: number; demo: number }> = {
  casual: { newsletter: 0.01, gated: 0.1, webinar: 0.15, sales: 0.03, demo: 0.03 },
  researcher: { newsletter: 0.04, gated: 0.25, webinar: 0.3, sales: 0.1, demo: 0.1 },
  buyer: { newsletter: 0.06, gated: 0.35, webinar: 0.4, sales: 0.35, demo: 0.45 },
};

function concretePath(rng: Rng, kind: string): string {
  switch (kind) {
    case 'features': return '/features/' + rng.pick(FEATURES);
    case 'blog': return '/blog/' + rng.pick(BLOG);
    case 'docs': return '/docs/' + rng.pick(DOCS);
    case 'compare': return '/compare/' + rng.pick(RIVALS);
    case 'case': return '/case-studies/' + rng.pick(CASES);
    case 'resources': return '/resources/' + rng.pick(RESOURCES);
    case 'webinars': return '/webinars/' + rng.pick(['q3-demand-gen', 'scoring-live', 'attribution-deep-dive']);
    default: return kind;
  }
}

function landingPath(rng: Rng, channel: Channel, level: Level): string {
  if (channel === 'organic_search') return rng.chance(0.7) ? '/blog/' + rng.pick(BLOG) : rng.weighted([['/', 5], ['/features', 4], ['/pricing', level === 'casual' ? 0.5 : 2], ['/compare/' + rng.pick(RIVALS), 0.5]]);
  if (channel === 'paid_search' || channel === 'paid_social' || channel === 'display') return rng.weighted([['/', 4], ['/features', 4], ['/pricing', level === 'casual' ? 0.5 : 2], ['/resources/' + rng.pick(RESOURCES), 3]]);
  if (channel === 'email') return rng.chance(0.6) ? '/blog/' + rng.pick(BLOG) : rng.pick(['/webinars/scoring-live', '/features', '/resources/' + rng.pick(RESOURCES)]);
  return concretePath(rng, PAGES[level](rng.next()));
}

interface PersonState {
  email: string | null;
  traits: Record<string, string>;
  demoAt: number | null;
  /** pages whose form this person has sent: nobody fills in the same form twice */
  sentForms: Set<string>;
}

function makeIdentity(rng: Rng, serial: number): { email: string; traits: Record<string, string> } {
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const company = rng.pick(COMPANIES);
  return {
    email: `${first}.${last}.${serial.toString(36)}@${company}.example`,
    traits: {
      firstName: first[0].toUpperCase() + first.slice(1),
      lastName: last[0].toUpperCase() + last.slice(1),
      company: company[0].toUpperCase() + company.slice(1),
      jobTitle: rng.pick(TITLES),
      country: rng.pick(COUNTRIES),
    },
  };
}

interface DeviceOptions {
  level: Level;
  firstAt: number;
  sessions: number;
  isBot: boolean;
  /** identify on this device at some point (second devices of known people) */
  identify: boolean;
  /** stop adding sessions once the device has this many events */
  maxEvents?: number;
  /** mean gap between sessions (beyond the 30-minute timeout) */
  gapMs?: number;
  /** the channel of the first session, when the person's intent was drawn from it */
  firstChannel?: Channel;
}

function generateDevice(ctx: SeedContext, rng: Rng, person: PersonState, serial: () => number, o: DeviceOptions): DeviceJourney {
  const [browser, os, device] = o.isBot ? ['HeadlessChrome', 'Linux', 'desktop'] : BROWSER(rng.next());
  const d: DeviceJourney = { visitorId: rng.id(20), isBot: o.isBot, browser, os, device, events: [], sessions: [] };
  let firstTouch: Touch | null = null;
  let t = o.firstAt;
  const rates = FORM_RATE[o.level];
  const identifyInSession = o.identify ? rng.int(0, Math.max(0, o.sessions - 1)) : -1;
  for (let s = 0; s < o.sessions && t < ctx.end; s++) {
    const channel: Channel = s === 0 ? (o.firstChannel ?? FIRST_CHANNEL(rng.next())) : rng.chance(0.45) ? 'direct' : person.email && rng.chance(0.3) ? 'email' : FIRST_CHANNEL(rng.next());
    const landing = o.isBot ? '/' : landingPath(rng, channel, o.level);
    const touch = makeTouch(rng, channel, `https://${ctx.domain}${landing}`, t);
    touch.channel = classifyChannel(touch, [ctx.domain]);
    firstTouch ??= touch;
    const sessionId = `${d.visitorId}.${t.toString(36)}`;
    d.sessions.push({ sessionId, started: t, touch });
    const clickId = (['gclid', 'fbclid', 'msclkid', 'li_fat_id', 'ttclid'] as const).find((k) => touch[k]) ?? null;
    let first = true;
    const emit = (name: string, at: number, path: string, extra: Partial<EnrichedEvent> = {}) => {
      // a visit still going on at the end of the period: what would happen after "now" has not happened yet
      if (at >= ctx.end) return;
      d.events.push({
        siteId: ctx.siteId, eventId: ctx.nextEventId(), visitorId: d.visitorId, leadId: null, sessionId, name, at, receivedAt: at + 40,
        source: 'web', url: `https://${ctx.domain}${path}`, path, referrer: first ? (touch.ref ?? '') : '', props: null, form: null, email: null,
        traits: null, channel: touch.channel!, utmSource: touch.utm_source ?? null, utmMedium: touch.utm_medium ?? null,
        utmCampaign: touch.utm_campaign ?? null, utmTerm: touch.utm_term ?? null, utmContent: touch.utm_content ?? null, clickId,
        firstTouch: first ? firstTouch : null, sessionTouch: touch, browser, os, device, isBot: o.isBot, ...extra,
      });
      first = false;
    };
    const identifyWith = (): { email: string; traits: Record<string, string> } => {
      if (!person.email) {
        const id = makeIdentity(rng, serial());
        person.email = id.email;
        person.traits = id.traits;
      }
      return { email: person.email, traits: person.traits };
    };
    const pages = o.isBot ? rng.int(1, 20) : 1 + rng.geometric(o.level === 'casual' ? 0.32 : o.level === 'researcher' ? 0.24 : 0.2);
    let path = landing;
    for (let p = 0; p < pages && t < ctx.end; p++) {
      if (p > 0) path = concretePath(rng, PAGES[o.level](rng.next()));
      emit('pageview', t, path);
      const dwell = o.isBot ? 500 + rng.int(0, 2000) : 8_000 + Math.floor(rng.exponential(70_000));
      const act = t + Math.floor(dwell / 2);
      if (!o.isBot) {
        const form = (name: string, kind: FormKind, withTraits: boolean): boolean => {
          // not sent yet at the end of the period: the person stays anonymous
          if (act >= ctx.end || person.sentForms.has(path)) return false;
          person.sentForms.add(path);
          const id = identifyWith();
          emit(name, act, path, { form: kind, email: id.email, traits: withTraits ? id.traits : null });
          return true;
        };
        if (path.startsWith('/blog/') && rng.chance(rates.newsletter)) form('newsletter_signup', 'newsletter', false);
        else if (path.startsWith('/resources/')) {
          if (!person.email && rng.chance(rates.gated)) form('form_submit', 'other', true);
          if (person.email || rng.chance(0.3)) emit('download', act + 2000, path, { props: { url: `https://${ctx.domain}/files/${path.slice(11)}.pdf` } });
        } else if (path.startsWith('/case-studies/') && rng.chance(0.12)) {
          emit('download', act, path, { props: { url: `https://${ctx.domain}/files/case-study-${path.slice(14)}.pdf` } });
        } else if (path.startsWith('/webinars/') && rng.chance(rates.webinar)) form('form_submit', 'other', true);
        else if ((path === '/contact-sales' || path === '/trial') && rng.chance(rates.sales)) form('form_submit', 'other', true);
        else if (path === '/demo' && rng.chance(rates.demo)) {
          if (form('demo_request', 'demo', true)) person.demoAt ??= act;
        } else if (rng.chance(0.03)) emit('outbound', act, path, { props: { url: rng.pick(['https://github.com/x', 'https://www.linkedin.com/company/x', 'https://docs.partner.io/']) } });
        if (s === identifyInSession && p === pages - 1 && person.email) {
          emit('identify', act + 1000, path, { email: person.email, traits: person.traits });
        }
        if (rng.chance(0.75)) emit('engagement', t + dwell, path, { props: { seconds: Math.round(dwell / 1000), scroll: rng.int(10, 100) } });
      }
      t += dwell + 1000;
    }
    // next session after a gap of at least the session timeout
    t += 31 * MIN + Math.floor(rng.exponential(o.gapMs ?? (o.level === 'buyer' ? 3 * DAY : 6 * DAY)));
    if (o.maxEvents && d.events.length >= o.maxEvents) break;
  }
  d.events.sort((a, b) => a.at - b.at || (a.eventId < b.eventId ? -1 : 1));
  return d;
}

/** Sales work Monday to Friday, 08:00–20:00 UTC (Europe's day and America's morning): a time outside that moves to the next working hour. */
function workingTime(at: number): number {
  const d = new Date(at);
  const hour = d.getUTCHours();
  let t = at;
  if (hour < 8) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 8) + (at % 3_600_000);
  else if (hour >= 20) t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1, 8) + (at % 3_600_000);
  const weekday = new Date(t).getUTCDay();
  if (weekday === 6) t += 2 * DAY;
  else if (weekday === 0) t += DAY;
  return t;
}

/** Sales follow-up of a demo request, as POST /api/events would record it. */
function salesEvents(ctx: SeedContext, rng: Rng, person: PersonState, certain = false): EnrichedEvent[] {
  if (!person.email || person.demoAt === null) return [];
  const out: EnrichedEvent[] = [];
  let t = person.demoAt;
  const add = (name: string, afterDays: number, props: Record<string, string | number> | null = null) => {
    t = workingTime(t + Math.floor(afterDays * DAY * (0.5 + rng.next())));
    if (t >= ctx.end) return false;
    const id = 'srv:' + rng.id(20);
    out.push({
      siteId: ctx.siteId, eventId: id, visitorId: '', leadId: null, sessionId: 'srv:' + id.slice(4), name, at: t, receivedAt: t + 1000,
      source: 'server', url: '', path: '', referrer: '', props, form: null, email: person.email, traits: null, channel: 'direct',
      utmSource: null, utmMedium: null, utmCampaign: null, utmTerm: null, utmContent: null, clickId: null, firstTouch: null,
      sessionTouch: null, browser: null, os: null, device: null, isBot: false,
    });
    return true;
  };
  const chance = (p: number) => certain || rng.chance(p);
  if (!chance(0.7) || !add('demo_completed', 3)) return out;
  if (chance(0.6) && !add('sales_accepted', 1)) return out;
  if (!chance(0.6) || !add('opportunity_created', 2, { amount: rng.int(5, 80) * 1000 })) return out;
  if (!chance(0.8) || !add('proposal_sent', 4)) return out;
  add(chance(0.45) ? 'closed_won' : 'closed_lost', 10, { amount: rng.int(5, 80) * 1000 });
  return out;
}

export interface PersonOptions {
  firstAt: number;
  bot?: boolean;
  /** a heavy user for benchmarks: this many devices and about this many events */
  heavy?: { devices: number; events: number };
}

export function generatePerson(ctx: SeedContext, rng: Rng, serial: () => number, o: PersonOptions): PersonJourney {
  const person: PersonState = { email: null, traits: {}, demoAt: null, sentForms: new Set() };
  if (o.bot) {
    const d = generateDevice(ctx, rng, person, serial, { level: 'casual', firstAt: o.firstAt, sessions: 1, isBot: true, identify: false });
    return { devices: [d], email: null, serverEvents: [] };
  }
  if (o.heavy) {
    const per = Math.ceil(o.heavy.events / o.heavy.devices);
    const devices: DeviceJourney[] = [];
    const span = ctx.end - o.firstAt;
    for (let i = 0; i < o.heavy.devices; i++) {
      if (i === 0) Object.assign(person, makeIdentity(rng, serial()));
      devices.push(generateDevice(ctx, rng, person, serial, { level: 'buyer', firstAt: o.firstAt + Math.floor((i * span) / (o.heavy.devices * 4)), sessions: 10_000, isBot: false, identify: true, maxEvents: per, gapMs: 6 * 3_600_000 }));
    }
    // an identify on the first event makes the first device own the email from its start
    const d0 = devices[0];
    d0.events.unshift({ ...d0.events[0], eventId: ctx.nextEventId(), name: 'identify', email: person.email, traits: person.traits, firstTouch: null });
    // the benchmark's heavy lead walks the whole funnel: a demo early on, then every sales step
    person.demoAt ??= d0.events[Math.min(d0.events.length - 1, 20)].at;
    return { devices, email: person.email, serverEvents: salesEvents(ctx, rng, person, true) };
  }
  const firstChannel = FIRST_CHANNEL(rng.next());
  const level = LEVELS[firstChannel](rng.next());
  const sessions = 1 + (level === 'casual' ? rng.geometric(0.78) : level === 'researcher' ? rng.geometric(0.42) : 1 + rng.geometric(0.33));
  const devices = [generateDevice(ctx, rng, person, serial, { level, firstAt: o.firstAt, sessions, isBot: false, identify: false, firstChannel })];
  if (person.email) {
    // known people often come back on another device (phone, work laptop), and sometimes a third
    const extra = rng.chance(0.3) ? (rng.chance(0.25) ? 2 : 1) : 0;
    const firstEmailAt = devices[0].events.find((e) => e.email)!.at;
    for (let i = 0; i < extra; i++) {
      const at = firstEmailAt + Math.floor(rng.exponential(7 * DAY));
      if (at >= ctx.end) break;
      devices.push(generateDevice(ctx, rng, person, serial, { level, firstAt: at, sessions: 1 + rng.geometric(0.5), isBot: false, identify: rng.chance(0.75) }));
    }
  }
  return { devices, email: person.email, serverEvents: salesEvents(ctx, rng, person) };
}

export { campaignKey };
