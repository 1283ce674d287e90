// A differential judge of the funnel engine: seeded random journeys of one lead (some on two devices with one email)
// go through the real ingest (POST /e, POST /api/events, a controlled clock), and the lead's profile and timeline
// (stage and score items, MQL and SQL times) are compared with oracle-model.ts, an independent reading of the README's
// rules. Fixed seeds run in CI; `ORACLE_SEEDS=1-500` hunts more, `ORACLE_REDUCE=1` shrinks a failing journey to a
// minimal one and prints it.
import { describe, expect, test } from 'vitest';
import { makeJourneyApp } from '../helpers/journey-app.js';
import { engine, iso, postEvents, putConfig } from '../helpers/journey-api.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { prng, type Rng } from './invariant-journeys.js';
import { runModel, type OtherReadings, type ModelConfig, type ModelEvent, type ModelResult, type Props } from './oracle-model.js';
import type { WireTouch } from '../../shared/wire.js';

// ---------- configs: the defaults (decay off), and custom ones using the README's condition kinds ----------

const PRICING = ['/pricing*', '/plans*'];
const COMPARE = ['/compare*', '/comparison*', '/vs/*', '*-vs-*', '/alternative*'];
const CASES = ['/case-stud*', '/customers*', '/customer-stor*', '/success-stor*'];
const SALES_PATHS = ['/contact*', '/quote*', '/get-a-quote*', '/request-a-quote*', '/trial*', '/free-trial*', '/start-trial*', '/talk-to-sales*', '/sales*'];

/** The default rules as README and CONTRACT §6 state them (point values as GET /api/config/funnel gives them). */
export const DEFAULTS: ModelConfig = {
  stages: ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'],
  stageRules: [
    { id: 'any_visit', stage: 'awareness', when: {} },
    { id: 'newsletter_signup', stage: 'interest', when: { event: 'newsletter_signup' } },
    { id: 'content_download', stage: 'interest', when: { event: 'download', props: { url: ['*ebook*', '*e-book*', '*whitepaper*', '*white-paper*', '*playbook*', '*guide*.pdf', '*guide*.pdf?*', '*guide*.pdf#*', '*report*.pdf', '*report*.pdf?*', '*report*.pdf#*'] } } },
    { id: 'webinar_registration', stage: 'interest', when: { event: ['webinar_registration', 'webinar_signup'] } },
    { id: 'webinar_form', stage: 'interest', when: { event: 'form_submit', path: '/webinar*' } },
    { id: 'webinar_form_kind', stage: 'interest', when: { event: 'form_submit', props: { form: 'webinar*' } } },
    { id: 'second_session', stage: 'interest', when: { source: 'web', sessions: 2 } },
    { id: 'pricing_page', stage: 'consideration', when: { event: 'pageview', path: PRICING } },
    { id: 'comparison_page', stage: 'consideration', when: { event: 'pageview', path: COMPARE } },
    { id: 'case_study_page', stage: 'consideration', when: { event: 'pageview', path: CASES } },
    { id: 'case_study_download', stage: 'consideration', when: { event: 'download', props: { url: ['*case-stud*', '*case_stud*', '*casestud*', '*customer-stor*'] } } },
    { id: 'sales_form', stage: 'intent', when: { event: 'form_submit', path: SALES_PATHS } },
    { id: 'sales_form_kind', stage: 'intent', when: { event: 'form_submit', props: { form: ['contact*', 'sales*', 'quote*', 'trial*'] } } },
    { id: 'sales_form_event', stage: 'intent', when: { event: ['contact_sales', 'quote_request', 'trial_signup', 'trial_started'] } },
    { id: 'pricing_two_sessions', stage: 'intent', when: { event: 'pageview', path: PRICING, sessions: 2 } },
    { id: 'demo_request', stage: 'evaluation', when: { event: 'demo_request' } },
    { id: 'demo_completed', stage: 'evaluation', when: { event: 'demo_completed', source: 'server' } },
    { id: 'proposal_sent', stage: 'evaluation', when: { event: 'proposal_sent', source: 'server' } },
    { id: 'closed_won', stage: 'purchase', when: { event: 'closed_won', source: 'server' } },
  ],
  scoreRules: [
    { id: 'visit', points: 2, when: { event: 'pageview' }, cap: 10, window: 'session' },
    { id: 'return_visit', points: 5, when: { source: 'web', sessions: 2 }, cap: 5 },
    { id: 'pricing_view', points: 10, when: { event: 'pageview', path: PRICING }, cap: 30, window: '1d' },
    { id: 'comparison_view', points: 5, when: { event: 'pageview', path: COMPARE }, cap: 15, window: '1d' },
    { id: 'case_study_view', points: 5, when: { event: 'pageview', path: CASES }, cap: 15, window: '1d' },
    { id: 'content_download', points: 10, when: { event: 'download' }, cap: 30 },
    { id: 'newsletter_signup', points: 10, when: { event: 'newsletter_signup' }, cap: 10 },
    { id: 'webinar_registration', points: 15, when: { any: [{ event: ['webinar_registration', 'webinar_signup'] }, { event: 'form_submit', path: '/webinar*' }, { event: 'form_submit', props: { form: 'webinar*' } }] }, cap: 30 },
    { id: 'sales_form', points: 20, when: { any: [{ event: 'form_submit', path: SALES_PATHS }, { event: 'form_submit', props: { form: ['contact*', 'sales*', 'quote*', 'trial*'] } }, { event: ['contact_sales', 'quote_request', 'trial_signup', 'trial_started'] }] }, cap: 40 },
    { id: 'demo_request', points: 30, when: { event: 'demo_request' }, cap: 30 },
    { id: 'demo_completed', points: 20, when: { event: 'demo_completed', source: 'server' }, cap: 20 },
    { id: 'proposal_sent', points: 10, when: { event: 'proposal_sent', source: 'server' }, cap: 10 },
    { id: 'careers_page', points: -10, when: { event: 'pageview', path: ['/careers*', '/jobs*'] }, cap: 20 },
  ],
  halfLifeDays: null,
  mqlThreshold: 50,
  sqlWhen: [{ event: 'sales_accepted', source: 'server' }, { event: 'demo_request' }],
};

/** Custom stages; globs on event names, `count`, `sessions: 3`, `source`, no-cap and negative rules, a 1d window. */
const CUSTOM_A: ModelConfig = {
  stages: ['visitor', 'engaged', 'lead', 'opportunity', 'customer'],
  stageRules: [
    { id: 'seen', stage: 'visitor', when: {} },
    { id: 'video', stage: 'engaged', when: { event: 'video_*' } },
    { id: 'third_visit', stage: 'engaged', when: { source: 'web', sessions: 3 } },
    { id: 'ebook', stage: 'lead', when: { event: 'download', props: { url: '*ebook*' } } },
    { id: 'pricing_thrice', stage: 'lead', when: { event: 'pageview', path: '/pricing*', count: 3 } },
    { id: 'crm_demo', stage: 'opportunity', when: { event: 'demo_*', source: 'server' } },
    { id: 'won', stage: 'customer', when: { event: 'closed_won', source: 'server' } },
  ],
  scoreRules: [
    { id: 'pv', points: 1, when: { event: 'pageview' }, cap: 7 },
    { id: 'video', points: 4, when: { event: 'video_*' }, window: 'session', cap: 20 },
    { id: 'pricing_daily', points: 6, when: { event: 'pageview', path: '/pricing*' }, window: '1d' },
    { id: 'careers', points: -3, when: { event: 'pageview', path: ['/careers*', '/jobs*'] } },
    { id: 'third_visit', points: 5, when: { source: 'web', sessions: 3 }, cap: 10 },
    { id: 'crm', points: 15, when: { source: 'server' }, cap: 30 },
  ],
  halfLifeDays: null,
  mqlThreshold: 25,
  sqlWhen: [{ event: 'proposal_sent', source: 'server' }, { event: 'pageview', path: '/pricing*', count: 3 }],
};

/** Default stages; props as numbers (ranges), lists and globs, an `any`, a 2h window, `count` on a server event. */
const CUSTOM_B: ModelConfig = {
  stages: DEFAULTS.stages,
  stageRules: [
    { id: 'any', stage: 'awareness', when: {} },
    { id: 'watched_half', stage: 'interest', when: { event: 'video_play', props: { pct: { gte: 50 } } } },
    { id: 'paid_plan', stage: 'consideration', when: { event: 'video_play', props: { plan: ['pro', 'team*'] } } },
    { id: 'pricing_or_compare', stage: 'consideration', when: { any: [{ event: 'pageview', path: PRICING }, { event: 'pageview', path: COMPARE }] } },
    { id: 'two_demo_sessions', stage: 'intent', when: { event: 'pageview', path: ['/pricing*', '/docs*'], sessions: 2 } },
    { id: 'calls', stage: 'evaluation', when: { event: 'call_logged', source: 'server', count: 2 } },
    { id: 'won', stage: 'purchase', when: { event: 'closed_won' } },
  ],
  scoreRules: [
    { id: 'visit', points: 3, when: { event: 'pageview' }, window: 'session' },
    { id: 'docs_2h', points: 4, when: { event: 'pageview', path: '/docs*' }, window: '2h', cap: 12 },
    { id: 'video_long', points: 6, when: { event: 'video_play', props: { pct: { gt: 75 } } }, cap: 18 },
    { id: 'lost', points: -20, when: { event: 'closed_lost', source: 'server' } },
    { id: 'calls', points: 10, when: { event: 'call_logged', source: 'server' }, cap: 30 },
    { id: 'pricing_any', points: 8, when: { any: [{ event: 'pageview', path: PRICING }, { event: 'download', props: { url: '*price*' } }] }, window: '1d', cap: 24 },
  ],
  halfLifeDays: null,
  mqlThreshold: 20,
  sqlWhen: [{ event: 'call_logged', source: 'server', count: 2 }],
};

/** Probes of the text's edges: a cap that is no multiple of the points, `count` on a score rule, engagement events,
 * case in paths and download addresses, 1d windows met by exact 24-hour gaps, an MQL threshold met exactly. */
const CUSTOM_C: ModelConfig = {
  stages: ['seen', 'read', 'engaged', 'hot'],
  stageRules: [
    { id: 'seen', stage: 'seen', when: { source: 'web' } },
    { id: 'engaged_twice', stage: 'read', when: { event: 'engagement', count: 2 } },
    { id: 'report', stage: 'engaged', when: { event: 'download', props: { url: '*REPORT*' } } },
    { id: 'pricing_page', stage: 'engaged', when: { event: 'pageview', path: '/pricing*' } },
    { id: 'crm', stage: 'hot', when: { source: 'server', event: ['demo_*', 'proposal_sent'] } },
  ],
  scoreRules: [
    { id: 'pv7', points: 7, when: { event: 'pageview' }, cap: 10 },
    { id: 'eng', points: 1, when: { event: 'engagement' }, window: 'session' },
    { id: 'second_dl', points: 9, when: { event: 'download', count: 2 }, cap: 27 },
    { id: 'docs_daily', points: 3, when: { event: 'pageview', path: '/docs*' }, window: '1d' },
    { id: 'careers', points: -4, when: { event: 'pageview', path: '/careers*' }, cap: 8 },
    { id: 'return', points: 2, when: { source: 'web', sessions: 2 }, window: 'session', cap: 6 },
  ],
  halfLifeDays: null,
  mqlThreshold: 12,
  sqlWhen: [{ event: 'engagement', sessions: 2 }],
};

const CONFIGS = { defaults: DEFAULTS, customA: CUSTOM_A, customB: CUSTOM_B, customC: CUSTOM_C };
type ConfigName = keyof typeof CONFIGS;

// ---------- journeys ----------

interface WebStep { kind: 'web'; at: number; device: string; name: string; path: string; props?: Props; form?: string; email?: string; st?: WireTouch }
/** A CRM event, naming the lead by its first device (`visitorId`) or by its email. */
interface ServerStep { kind: 'server'; at: number; name: string; byEmail?: boolean }
type Step = WebStep | ServerStep;
interface Plan {
  seed: number;
  config: ConfigName;
  devices: string[];
  email: string | null;
  steps: Step[];
  /** steps in the order sent (a list: web steps of one device in one batch) */
  order?: Array<number | number[]>;
}

const PAGES = ['/', '/blog/x', '/pricing', '/plans/team', '/case-studies/y', '/customers', '/compare/z', '/vs/rival', '/careers', '/jobs/1', '/docs/start', '/webinar/q3', '/contact', '/Pricing', '/Docs/x'];
const FILES = ['/files/B2B-Ebook.pdf', '/files/case-study-acme.pdf', '/files/price-list.pdf', '/files/guide-2025.pdf', '/files/annual-report.pdf?v=2', '/files/white_paper.pdf', '/files/Annual-Report-2025.PDF'];
const CAMPAIGNS: Array<WireTouch | undefined> = [
  undefined,
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', gclid: 'g-1' },
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', gclid: 'g-2' }, // the same ad clicked again
  { utm_source: 'linkedin', utm_medium: 'paid_social', utm_campaign: 'abm' },
  { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'weekly' },
];
const campaignKey = (t?: WireTouch) => (t ? [t.utm_source, t.utm_medium, t.utm_campaign, t.gclid ? 'gclid' : ''].join('|') : '');
const SERVER = ['demo_completed', 'proposal_sent', 'closed_won', 'closed_lost', 'sales_accepted', 'call_logged', 'demo_scheduled'];

function gap(r: Rng): number {
  const x = r.next();
  if (x < 0.45) return r.int(1_000, 10 * MIN);
  if (x < 0.5) return 30 * MIN; // stays in the session
  if (x < 0.55) return 30 * MIN + 1; // opens one
  if (x < 0.6) return DAY; // a 1d window's edge
  if (x < 0.8) return r.int(31 * MIN, 5 * HOUR);
  if (x < 0.93) return r.int(20 * HOUR, 30 * HOUR);
  return r.int(2 * DAY, 3 * DAY);
}

function webEvent(r: Rng, at: number, device: string, email: string | null): WebStep {
  const x = r.next();
  const path = r.pick(PAGES);
  if (x < 0.55) return { kind: 'web', at, device, name: 'pageview', path };
  if (x < 0.65) return { kind: 'web', at, device, name: 'download', path, props: { url: 'http://127.0.0.1' + r.pick(FILES) } };
  if (x < 0.75) return { kind: 'web', at, device, name: 'video_play', path, props: { pct: r.pick([10, 50, 75, 76, 100]), plan: r.pick(['free', 'pro', 'team-xl']) } };
  if (x < 0.8 && email) return { kind: 'web', at, device, name: 'newsletter_signup', path: '/blog/x', form: 'newsletter', email };
  if (x < 0.84 && email) return { kind: 'web', at, device, name: 'demo_request', path: '/demo', form: 'demo', email };
  if (x < 0.9) return { kind: 'web', at, device, name: 'form_submit', path: r.pick(['/contact', '/webinar/q3', '/about']), form: r.pick(['other', 'trial', 'webinar', 'other']), email: email ?? undefined };
  if (x < 0.93) return { kind: 'web', at, device, name: r.pick(['contact_sales', 'webinar_signup', 'video_pause', 'engagement', 'engagement']), path, props: { seconds: 12, scroll: 40 } };
  return { kind: 'web', at, device, name: 'pageview', path: r.pick(['/pricing', '/docs/api']) };
}

export function makePlan(seed: number): Plan {
  const r = prng(seed * 7919 + 17);
  const config = (['defaults', 'customA', 'customB', 'customC'] as const)[seed % 4];
  const twoDevices = r.chance(0.25);
  const devices = twoDevices ? [`v_oracle${seed}a`, `v_oracle${seed}b`] : [`v_oracle${seed}a`];
  const email = twoDevices || r.chance(0.5) ? `lead${seed}@oracle.test` : null;
  const steps: Step[] = [];
  let at = T0 + r.int(0, HOUR);
  const n = r.int(6, 28);
  // two devices: A identifies at once, B identifies at a random later point (the merge), then goes on
  const bIdentifiesAt = twoDevices ? r.int(2, n - 1) : -1;
  let bEvents = 0;
  const touch = new Map<string, WireTouch | undefined>();
  const withTouch = (step: WebStep): WebStep => {
    // a campaign now and then: at a new visit, or in the middle of one (a new campaign opens a session)
    if (r.chance(0.15)) touch.set(step.device, r.pick(CAMPAIGNS));
    const t = touch.get(step.device);
    return t ? { ...step, st: { ...t, url: 'http://127.0.0.1/?utm_source=' + t.utm_source, at: step.at } } : step;
  };
  for (let k = 0; k < n; k++) {
    at += gap(r);
    if (k > 0 && r.chance(0.12)) {
      steps.push({ kind: 'server', at, name: r.pick(SERVER) });
      continue;
    }
    const device = twoDevices && k > 0 && r.chance(0.5) ? devices[1] : devices[0];
    if (twoDevices && k === 0) {
      steps.push({ kind: 'web', at, device, name: 'pageview', path: r.pick(PAGES) });
      steps.push({ kind: 'web', at: at + 1, device, name: 'identify', path: '/', email: email! });
      at += 1;
      continue;
    }
    const identified = !twoDevices || device === devices[0] || bEvents >= bIdentifiesAt;
    let e = k === 0 ? ({ kind: 'web', at, device, name: 'pageview', path: r.pick(PAGES) } as WebStep) : webEvent(r, at, device, identified ? email : null);
    if (e.name === 'engagement') {
      // an engagement event measures a view: it follows its pageview (however long after), as the snippet sends it
      const prev = steps.filter((s): s is WebStep => s.kind === 'web' && s.device === device).at(-1);
      // and reports the seconds since (a long read is one visit)
      e = prev?.name === 'pageview' ? { ...e, path: prev.path, props: { seconds: Math.max(1, Math.floor((at - prev.at) / 1000)), scroll: 40 } } : { kind: 'web', at, device, name: 'pageview', path: e.path };
    }
    steps.push(withTouch(e));
    if (device === devices[1]) {
      bEvents++;
      if (bEvents === bIdentifiesAt) {
        at += 1;
        steps.push({ kind: 'web', at, device, name: 'identify', path: '/', email: email! });
      }
    }
  }
  // (a second stream, so that the plans above stay what they were) CRM events by email; a lead the CRM made first
  const r2 = prng(seed * 31 + 5);
  const identifies = steps.some((st) => st.kind === 'web' && st.device === devices[0] && st.email);
  if (identifies) for (const st of steps) if (st.kind === 'server' && r2.chance(0.4)) st.byEmail = true;
  if (email && r2.chance(0.25)) {
    const first = steps[0].at;
    steps.unshift({ kind: 'server', at: first - r2.int(1, 3 * HOUR), name: r2.pick(['demo_scheduled', 'sales_accepted', 'call_logged', 'proposal_sent']), byEmail: true });
    // the first device identifies in its first visit (the anonymous visitor joins the CRM's lead)
    const i = steps.findIndex((st) => st.kind === 'web' && st.device === devices[0]);
    if (!steps.some((st) => st.kind === 'web' && st.device === devices[0] && st.email)) steps.splice(i + 1, 0, { kind: 'web', at: steps[i].at + 1, device: devices[0], name: 'identify', path: '/', email });
  }
  if (twoDevices && bEvents < bIdentifiesAt) steps.push({ kind: 'web', at: at + gap(r), device: devices[1], name: 'identify', path: '/', email: email! });
  // one device: some steps are sent late (after up to three later ones), as an outbox flushed out of order would
  let order: number[] | undefined;
  if (!twoDevices && r.chance(0.3)) {
    order = steps.map((_, i) => i);
    for (let i = order.length - 2; i >= 1; i--) {
      if (!r.chance(0.25)) continue;
      const to = Math.min(order.length - 1, i + r.int(1, 3));
      // never later than a few days: an event older than 7 days is refused
      if (steps[order[to]].at - steps[order[i]].at < 4 * DAY) order.splice(to, 0, ...order.splice(i, 1));
    }
  }
  return { seed, config, devices, email, steps, order };
}

/** The model's view of a plan: one lead's events in time order. */
export function modelEvents(plan: Plan): ModelEvent[] {
  return plan.steps.map((s) =>
    s.kind === 'server'
      ? { at: s.at, source: 'server', name: s.name }
      : {
          at: s.at,
          device: s.device,
          source: 'web',
          name: s.name,
          path: s.path,
          props: s.form && !['newsletter', 'demo', 'other'].includes(s.form) ? { ...s.props, form: s.form } : s.props,
          campaign: campaignKey(s.st),
          st: s.st?.gclid,
        },
  );
}

// ---------- the engine's view ----------

interface Seen {
  stage: string | null;
  score: number;
  mqlAt: number | null;
  sqlAt: number | null;
  stageItems: ModelResult['stageItems'];
  scoreItems: ModelResult['scoreItems'];
}

let idn = 0;
/** `config` replaces the plan's named one; `readAt` moves the clock there before the reads (decay to that moment). */
async function runEngine(plan: Plan, opts: { config?: ModelConfig; readAt?: number } = {}): Promise<Seen> {
  const j = await makeJourneyApp({ engine });
  try {
    const put = await putConfig(j, { halfLifeDays: null, ...(opts.config ?? CONFIGS[plan.config]) });
    if (put.status !== 200) throw new Error(`PUT config ${put.status}: ${await put.text()}`);
    const wire = (s: WebStep) => ({ i: `oracle-${++idn}-${plan.seed}`, n: s.name, path: s.path, t: s.at, p: s.props, f: s.form as never, em: s.email, st: s.st });
    for (const k of plan.order ?? plan.steps.map((_, i) => i)) {
      if (Array.isArray(k)) {
        // web steps of one device sent in one batch
        const batch = k.map((x) => plan.steps[x] as WebStep);
        await j.visit(batch[0].device, batch.map(wire), Math.max(...batch.map((b) => b.at)));
        continue;
      }
      const s = plan.steps[k];
      if (s.kind === 'web') {
        await j.visit(s.device, [wire(s)], s.at);
      } else {
        j.clock.now = Math.max(j.clock.now, s.at);
        await postEvents(j, s.byEmail ? { email: plan.email, name: s.name, at: iso(s.at) } : { visitorId: plan.devices[0], name: s.name, at: iso(s.at) });
      }
    }
    const ref = plan.devices[0];
    const read = async (path: string) => {
      const res = await j.app.request(path, { headers: j.auth });
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>;
    };
    if (opts.readAt !== undefined) j.clock.now = opts.readAt;
    const p = await read(`/api/leads/${ref}`);
    const items = (types: string) => read(`/api/leads/${ref}/timeline?types=${types}&limit=500`).then((t) => (t.items as any[]).reverse());
    const ms = (x: string | null | undefined) => (x ? Date.parse(x) : null);
    return {
      stage: p.stage ?? null,
      score: Math.round(Number(p.score) * 1e4) / 1e4,
      mqlAt: p.mql ? ms(p.mqlAt) : null,
      sqlAt: p.sql ? ms(p.sqlAt) : null,
      stageItems: (await items('stage')).map((i) => [i.from ?? null, i.to, Date.parse(i.at)]),
      scoreItems: (await items('score')).map((i) => [i.rule, i.points, Date.parse(i.at)]),
    };
  } finally {
    await j.close();
  }
}

function expected(plan: Plan, alt: OtherReadings = {}): Seen {
  const m = runModel(CONFIGS[plan.config], modelEvents(plan), alt);
  return { stage: m.stage, score: m.score, mqlAt: m.mqlAt, sqlAt: m.sqlAt, stageItems: m.stageItems, scoreItems: m.scoreItems };
}

const rel = (x: Seen) => ({
  ...x,
  mqlAt: x.mqlAt === null ? null : x.mqlAt - T0,
  sqlAt: x.sqlAt === null ? null : x.sqlAt - T0,
  stageItems: x.stageItems.map(([a, b, t]) => [a, b, t - T0]),
  scoreItems: x.scoreItems.map(([a, b, t]) => [a, b, t - T0]),
});
const describePlan = (plan: Plan) =>
  `seed ${plan.seed}, ${plan.config}:\n` +
  plan.steps
    .map((s) => (s.kind === 'server' ? `  +${s.at - T0} server ${s.name}` : `  +${s.at - T0} ${s.device} ${s.name} ${s.path}${s.props ? ' ' + JSON.stringify(s.props) : ''}${s.form ? ' f=' + s.form : ''}${s.email ? ' em' : ''}${s.st ? ' st=' + campaignKey(s.st) : ''}`))
    .join('\n') +
  (plan.order ? `\n  sent in order ${plan.order.join(',')}` : '');

async function agrees(plan: Plan) {
  const [got, want] = [rel(await runEngine(plan)), rel(expected(plan))];
  return { ok: JSON.stringify(got) === JSON.stringify(want), got, want };
}

/** Drops steps one at a time while the engine and the model still disagree (a merge keeps its identify steps). */
async function reduce(plan: Plan): Promise<Plan> {
  let cur = plan;
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = cur.steps.length - 1; k >= 0; k--) {
      const step = cur.steps[k];
      // identifications stay (the first one of each device), or the journey would be another lead's
      if (step.kind === 'web' && step.email && cur.steps.findIndex((x) => x.kind === 'web' && x.device === step.device && x.email) === k) continue;
      const renumber = (i: number) => (i > k ? i - 1 : i);
      const order = cur.order
        ?.map((o) => (Array.isArray(o) ? o.filter((i) => i !== k).map(renumber) : o))
        .filter((o) => o !== k && !(Array.isArray(o) && o.length === 0))
        .map((o) => (Array.isArray(o) ? o : renumber(o)));
      const cand = { ...cur, steps: cur.steps.filter((_, i) => i !== k), order };
      if (!cand.steps.some((s) => s.kind === 'web' && s.device === cand.devices[0])) continue;
      if (!(await agrees(cand)).ok) {
        cur = cand;
        changed = true;
      }
    }
  }
  return cur;
}

// 1-24, and two seeds that decide readings the first ones do not meet (see 'the fixed seeds can fail')
const FIXED_SEEDS = [...Array.from({ length: 24 }, (_, i) => i + 1), 42, 117];

function seeds(): number[] {
  const env = process.env.ORACLE_SEEDS;
  if (!env) return FIXED_SEEDS;
  return env.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

// Each other reading of the README's sentences changes the model's answer for some fixed seed: an engine that read the
// text that way would fail this judge (where the engine agrees with the model, it decided the question).
test('the fixed seeds can fail: each other reading of the rules changes some seed', () => {
  const readings: Array<keyof OtherReadings> = ['mqlAbove', 'windowInclusive', 'gapInclusive', 'capDrops', 'countOnce', 'clickValueIsCampaign', 'floorZero', 'pathCase'];
  for (const alt of readings) {
    const told = FIXED_SEEDS.filter((seed) => {
      const plan = makePlan(seed);
      return JSON.stringify(expected(plan)) !== JSON.stringify(expected(plan, { [alt]: true }));
    });
    expect(told.length, alt).toBeGreaterThan(0);
  }
});

describe(`the engine agrees with an independent reading of the rules (${engine})`, () => {
  test.each(seeds())('seed %i', async (seed) => {
    const plan = makePlan(seed);
    const { ok, got, want } = await agrees(plan);
    if (!ok && process.env.ORACLE_REDUCE) {
      const small = await reduce(plan);
      const again = await agrees(small);
      console.log(describePlan(small) + '\nengine: ' + JSON.stringify(again.got) + '\nmodel:  ' + JSON.stringify(again.want));
    }
    expect(got, describePlan(plan)).toEqual(want);
  }, 60_000);
});

// Reduced from seed 98 (sent late). README, Ingest: an engagement event "joins that view's session ... but does not
// extend it, so the visitor's next event after 30 minutes without one opens a session", and late events are placed
// "as time order would have". A page 45 minutes after the last one, sent after the next visit began, must open that
// next visit as it does when sent in time; the late-event rule `continues` measures it from the engagement event
// (25 minutes before it) instead, and the bridge then merges the two visits: one `visit` award and no second session.
describe(`an engagement event extends no session, also for a late page (${engine})`, () => {
  const P = T0, E = T0 + 20 * MIN, Q = T0 + 45 * MIN, R = T0 + 60 * MIN;
  const steps: Record<string, WebStep> = {
    P: { kind: 'web', at: P, device: 'v_oracle_eng1', name: 'pageview', path: '/blog/a' },
    E: { kind: 'web', at: E, device: 'v_oracle_eng1', name: 'engagement', path: '/blog/a', props: { seconds: 1200, scroll: 80 } },
    Q: { kind: 'web', at: Q, device: 'v_oracle_eng1', name: 'pageview', path: '/blog/b' },
    R: { kind: 'web', at: R, device: 'v_oracle_eng1', name: 'pageview', path: '/docs/c' },
  };
  const plan = (order: Plan['order']): Plan => ({ seed: 0, config: 'defaults', devices: ['v_oracle_eng1'], email: null, steps: Object.values(steps), order });
  // by hand: visits {P, E} and {Q, R}; Q opens the second one: visit, return_visit, and interest (a second session)
  const want = {
    stage: 'interest',
    stageItems: [[null, 'awareness', P], ['awareness', 'interest', Q]],
    scoreItems: [['visit', 2, P], ['visit', 2, Q], ['return_visit', 5, Q]],
  };
  test('sent in time order', async () => {
    const got = await runEngine(plan([0, 1, 2, 3]));
    expect({ stage: got.stage, stageItems: got.stageItems, scoreItems: got.scoreItems }).toEqual(want);
    expect(expected(plan([0, 1, 2, 3]))).toMatchObject(want);
  });
  const check = async (order: Plan['order']) => {
    const got = await runEngine(plan(order));
    expect({ stage: got.stage, stageItems: got.stageItems, scoreItems: got.scoreItems }).toEqual(want);
  };
  test('the page, then the engagement, sent after the next visit began', () => check([0, 3, 2, 1]));
  // These failed until ingest measured late events from a session's active events only: stored (`SESSION_EVENTS_SQL`
  // in collector/storage/events.ts leaves engagement events out) and placed in the same batch (placeLateEvents in
  // collector/ingest/late-events.ts adds no engagement event's time to a known session).
  test.each([
    ['the page after the engagement sent after the next visit began', [0, 1, 3, 2]],
    ['the engagement and the page after it sent after the next visit began', [0, 3, 1, 2]],
    ['the engagement and the page after it sent together after the next visit began', [0, 3, [1, 2]]],
  ] as Array<[string, Plan['order']]>)('%s', (_, order) => check(order));
});

// Decay, checked at exact times: the defaults with their own 90-day half-life. The threshold is met by the decayed
// score, and the profile's score is decayed to the moment it is read (README, Scores; "a lead given 77 points 10
// seconds ago reads 76.9999").
describe(`with a 90-day half-life (${engine})`, () => {
  const H90 = 90 * DAY;
  test('20 points, then 30 a day later, is under 50; 20 more cross it; 90 days on the score has halved', async () => {
    const config: ModelConfig = {
      stages: ['seen'],
      stageRules: [{ id: 'seen', stage: 'seen', when: {} }],
      scoreRules: [
        { id: 'download', points: 20, when: { event: 'download' } },
        { id: 'demo', points: 30, when: { event: 'demo_request' } },
      ],
      halfLifeDays: 90,
      mqlThreshold: 50,
      sqlWhen: [],
    };
    const d = 'v_oracle_decay1';
    const a = T0, b = T0 + DAY, c = T0 + DAY + HOUR;
    const steps: Step[] = [
      { kind: 'web', at: a, device: d, name: 'download', path: '/', props: { url: 'http://127.0.0.1/a.zip' } },
      { kind: 'web', at: b, device: d, name: 'demo_request', path: '/demo', form: 'demo' },
      { kind: 'web', at: c, device: d, name: 'download', path: '/', props: { url: 'http://127.0.0.1/b.zip' } },
    ];
    const plan: Plan = { seed: 0, config: 'defaults', devices: [d], email: null, steps };
    const got = await runEngine(plan, { config, readAt: c + H90 });
    // by hand: at b the score is 20·2^(-1/90) + 30 = 49.846 (no MQL); at c it is that decayed by an hour, plus 20
    const atB = 20 * 2 ** (-DAY / H90) + 30;
    const atC = atB * 2 ** (-HOUR / H90) + 20;
    expect(atB).toBeLessThan(50);
    expect(got.mqlAt).toBe(c);
    expect(Math.abs(got.score - atC / 2)).toBeLessThanOrEqual(1e-4);
    const m = runModel(config, modelEvents(plan), {}, c + H90);
    expect(m.mqlAt).toBe(c);
    expect(Math.abs(m.score - atC / 2)).toBeLessThan(1e-9);
  });
  test.each(seeds().filter((seed) => makePlan(seed).config === 'defaults'))('seed %i, read 90 days after its last event', async (seed) => {
    const plan = makePlan(seed);
    const config = { ...DEFAULTS, halfLifeDays: 90 };
    const readAt = Math.max(...plan.steps.map((s) => s.at)) + H90;
    const got = rel(await runEngine(plan, { config, readAt }));
    const m = runModel(config, modelEvents(plan), {}, readAt);
    const want = rel({ stage: m.stage, score: m.score, mqlAt: m.mqlAt, sqlAt: m.sqlAt, stageItems: m.stageItems, scoreItems: m.scoreItems });
    // the engine keeps each award's score to 4 decimals (the timeline's `scoreAfter`) and decays from that value, so
    // the score read may be off the exact sum by half a unit of the 4th decimal per award
    const tolerance = 5e-5 * (want.scoreItems.length + 1);
    expect(Math.abs(got.score - want.score), describePlan(plan)).toBeLessThanOrEqual(tolerance);
    expect({ ...got, score: 0 }, describePlan(plan)).toEqual({ ...want, score: 0 });
  });
});

// Reduced from seed 2258 (sent late). A campaign's page that arrives late opens a past session inside the span of the
// direct visit around it (README, Ingest: "An event with a campaign joins only a session of that campaign", and "a
// session is never otherwise renamed"), so the direct visit's next page stays in the direct visit. README, Scores:
// `"session"` is "once per session", and a visit is "awarded once however their pages interleave": the direct visit
// has its `visit` award already, and its page after the campaign's gets none.
describe(`a visit is awarded once when a late campaign page opens a session inside it (${engine})`, () => {
  test('direct page, direct page 9 minutes later, then the campaign page of minute 6', async () => {
    const d = 'v_oracle_inside1';
    const st = { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'weekly', url: 'http://127.0.0.1/docs/start?utm_source=newsletter', at: T0 + 6 * MIN };
    const steps: Step[] = [
      { kind: 'web', at: T0, device: d, name: 'pageview', path: '/blog/a' },
      { kind: 'web', at: T0 + 6 * MIN, device: d, name: 'pageview', path: '/docs/start', st },
      { kind: 'web', at: T0 + 9 * MIN, device: d, name: 'pageview', path: '/blog/b' },
    ];
    const got = await runEngine({ seed: 0, config: 'defaults', devices: [d], email: null, steps, order: [0, 2, 1] });
    // by hand: two visits (the direct one, the campaign's), each awarded `visit` once; the campaign's is a second session
    expect(got.scoreItems).toEqual([['visit', 2, T0], ['visit', 2, T0 + 6 * MIN], ['return_visit', 5, T0 + 6 * MIN]]);
    expect(got.score).toBe(9);
    expect(got.stageItems).toEqual([[null, 'awareness', T0], ['awareness', 'interest', T0 + 6 * MIN]]);
  });
});
