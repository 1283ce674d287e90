// An independent reading of the funnel rules (README "Funnel engine", CONTRACT §6), written from that text alone and
// never from collector/funnel or collector/scoring: one lead's events in time order in, its stages, score and MQL/SQL
// out. oracle-judge.test.ts compares the real engine (fed over HTTP) with it, mostly with `halfLifeDays: null`; with a
// half-life the score halves every `halfLifeDays` (README: "40 points and a 90-day half-life shows exactly 20 at 90
// days"), the threshold is met by the decayed score, and `readAt` decays the result to the moment it is read.
//
// Readings of the text this model makes (each one a sentence of the README or the contract):
// - sessions: one device's visit; 30 minutes without activity, or a new campaign (source, medium, name, click id
//   kind), opens a new one; a gap of exactly 30 minutes stays in it; an `engagement` event joins its view's session but
//   extends nothing. A server event opens none and belongs to none.
// - a condition's `event`, `path` and `props` strings are globs (`*` = any run of characters); a list is "any of".
//   Paths and prop values match in any case (the README says so of download addresses; of paths it does not say,
//   and the engine reads them so: reported as a README gap).
// - `sessions: N` holds on a matching event once the lead's matching events span N distinct sessions (this one
//   included); `count: N` once the lead has N matching events (this one included).
// - stages only move forward; every stage a rule reaches with one event is entered, lowest first, at its time.
// - a score rule awards its points on each matching event, unless its `window` has an award already (`session`: in
//   this session; a duration: less than that duration after the rule's last award) or its cap is reached (the sum of
//   the rule's awards never passes `cap` in size: the award that would pass it is cut to what is left, as the engine
//   does; the README does not say, reported as a gap).
// - MQL when the score reaches the threshold (first time, kept); SQL on the first event an `sqlWhen` entry matches.

export type Props = Record<string, string | number | boolean>;

export interface ModelEvent {
  at: number;
  /** the device (visitor id) for web events; undefined for server events */
  device?: string;
  source: 'web' | 'server';
  name: string;
  path?: string;
  props?: Props;
  /** the session touch's campaign as one key (source, medium, name, click id kind); '' or undefined: none */
  campaign?: string;
  /** the click id's value, when the touch has one (OtherReadings.clickValueIsCampaign) */
  st?: string;
}

type Strs = string | string[];
type PropTest = string | number | boolean | Array<string | number | boolean> | { gte?: number; gt?: number; lte?: number; lt?: number };
export interface Cond {
  event?: Strs;
  path?: Strs;
  props?: Record<string, PropTest>;
  source?: 'web' | 'server';
  any?: Cond[];
  sessions?: number;
  count?: number;
}
export interface ModelConfig {
  stages: string[];
  stageRules: Array<{ id: string; stage: string; when: Cond }>;
  scoreRules: Array<{ id: string; points: number; when: Cond; cap?: number; window?: string }>;
  mqlThreshold: number;
  sqlWhen?: Cond[];
  halfLifeDays?: number | null;
}

export interface ModelResult {
  stage: string | null;
  /** [from, to, at] in time order */
  stageItems: Array<[string | null, string, number]>;
  /** [rule, points, at] in the order applied */
  scoreItems: Array<[string, number, number]>;
  score: number;
  mqlAt: number | null;
  sqlAt: number | null;
}

export const SESSION_GAP = 30 * 60_000;

/**
 * Other readings of the same sentences, for telling which ones the seeds decide (oracle-judge.test.ts counts the
 * seeds whose result each one changes): the model's own reading is the one with every flag off.
 */
export interface OtherReadings {
  /** MQL only above the threshold, not at it */
  mqlAbove?: boolean;
  /** a duration window also blocks an award exactly that long after the last */
  windowInclusive?: boolean;
  /** exactly 30 minutes without activity opens a session */
  gapInclusive?: boolean;
  /** an award that would pass the cap is dropped, not cut */
  capDrops?: boolean;
  /** a `sessions`/`count` rule awards only on the event that reaches N */
  countOnce?: boolean;
  /** the same ad clicked again (another click id value) is a new campaign */
  clickValueIsCampaign?: boolean;
  /** the score never goes under zero */
  floorZero?: boolean;
  /** paths match case-sensitively */
  pathCase?: boolean;
}

const globRe = new Map<string, RegExp>();
export function glob(pattern: string, value: string, caseless = false): boolean {
  const key = (caseless ? 'i:' : 's:') + pattern;
  let re = globRe.get(key);
  if (!re) {
    re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', caseless ? 'is' : 's');
    globRe.set(key, re);
  }
  return re.test(value);
}
const list = (s: Strs) => (Array.isArray(s) ? s : [s]);

function propOk(test: PropTest, v: string | number | boolean | undefined): boolean {
  if (v === undefined) return false;
  if (Array.isArray(test)) return test.some((t) => propOk(t, v));
  if (typeof test === 'object') {
    if (typeof v !== 'number') return false;
    return (test.gte === undefined || v >= test.gte) && (test.gt === undefined || v > test.gt) && (test.lte === undefined || v <= test.lte) && (test.lt === undefined || v < test.lt);
  }
  // README: a content download's address is matched "any case"
  if (typeof test === 'string') return glob(test, String(v), true);
  return test === v;
}

/** The event-level part of a condition: no counting. */
function plainMatch(c: Cond, e: ModelEvent, alt: OtherReadings): boolean {
  if (c.event !== undefined && !list(c.event).some((g) => glob(g, e.name))) return false;
  if (c.path !== undefined && (e.path === undefined || !list(c.path).some((g) => glob(g, e.path!, !alt.pathCase)))) return false;
  if (c.source !== undefined && c.source !== e.source) return false;
  if (c.props !== undefined) for (const [k, t] of Object.entries(c.props)) if (!propOk(t, e.props?.[k])) return false;
  if (c.any !== undefined && !c.any.some((a) => plainMatch(a, e, alt))) return false;
  return true;
}

/**
 * Assigns each web event its session: per device, a new one after more than 30 minutes without an event, or when an
 * event brings a campaign other than the session's. An `engagement` event joins its view's session and extends nothing.
 */
export function sessionsOf(events: ModelEvent[], alt: OtherReadings = {}): Array<string | null> {
  const last = new Map<string, { at: number; n: number; campaign: string }>();
  return events.map((e) => {
    if (e.source !== 'web' || !e.device) return null;
    const l = last.get(e.device);
    if (e.name === 'engagement' && l) return `${e.device}#${l.n}`;
    const c = e.campaign ?? '';
    const fresh = !l || e.at - l.at > SESSION_GAP || (alt.gapInclusive === true && e.at - l.at === SESSION_GAP) || (c !== '' && c !== l.campaign);
    const n = !l ? 1 : fresh ? l.n + 1 : l.n;
    last.set(e.device, { at: e.at, n, campaign: fresh ? c : l!.campaign });
    return `${e.device}#${n}`;
  });
}

/** A condition with its counters: `holds(i)` is asked for each event in time order. */
function counted(c: Cond, events: ModelEvent[], sessions: Array<string | null>, alt: OtherReadings, once = false) {
  const seen = new Set<string>();
  let n = 0;
  let done = false;
  return (i: number) => {
    if (!plainMatch(c, events[i], alt)) return false;
    n++;
    if (sessions[i]) seen.add(sessions[i]!);
    if (c.count !== undefined && n < c.count) return false;
    if (c.sessions !== undefined && seen.size < c.sessions) return false;
    if (once && (c.count !== undefined || c.sessions !== undefined)) {
      if (done) return false;
      done = true;
    }
    return true;
  };
}

export function parseDuration(w: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(w);
  if (!m) throw new Error('model: unknown window ' + w);
  return Number(m[1]) * { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 'd'];
}

export function runModel(config: ModelConfig, events: ModelEvent[], alt: OtherReadings = {}, readAt?: number): ModelResult {
  const halfLife = config.halfLifeDays ? config.halfLifeDays * 86_400_000 : null;
  let scoreAt = -Infinity;
  /** the score decayed to `at` */
  const decayTo = (at: number) => {
    if (halfLife !== null && scoreAt !== -Infinity) out.score *= Math.pow(2, -(at - scoreAt) / halfLife);
    scoreAt = at;
  };
  const sorted = [...events]
    .sort((a, b) => a.at - b.at)
    .map((e) => (alt.clickValueIsCampaign && e.campaign && e.st ? { ...e, campaign: e.campaign + '=' + e.st } : e));
  const sessions = sessionsOf(sorted, alt);
  const stageTests = config.stageRules.map((r) => ({ rank: config.stages.indexOf(r.stage), holds: counted(r.when, sorted, sessions, alt) }));
  const scoreTests = config.scoreRules.map((r) => ({
    rule: r,
    holds: counted(r.when, sorted, sessions, alt, alt.countOnce),
    total: 0,
    lastAt: null as number | null,
    sessionsAwarded: new Set<string | null>(),
  }));
  const sqlTests = (config.sqlWhen ?? []).map((c) => counted(c, sorted, sessions, alt));
  const out: ModelResult = { stage: null, stageItems: [], scoreItems: [], score: 0, mqlAt: null, sqlAt: null };
  let rank = -1;
  sorted.forEach((e, i) => {
    // stages: every rule is asked (its counters move), reached stages above the current one are entered lowest first
    const reached = new Set<number>();
    for (const t of stageTests) if (t.holds(i)) reached.add(t.rank);
    for (const r of [...reached].sort((a, b) => a - b)) {
      if (r <= rank) continue;
      out.stageItems.push([rank < 0 ? null : config.stages[rank], config.stages[r], e.at]);
      rank = r;
    }
    // scores, in the rules' order
    for (const t of scoreTests) {
      if (!t.holds(i)) continue;
      const { rule } = t;
      if (rule.window === 'session') {
        if (t.sessionsAwarded.has(sessions[i])) continue;
      } else if (rule.window !== undefined && t.lastAt !== null) {
        const since = e.at - t.lastAt;
        const w = parseDuration(rule.window);
        if (since < w || (alt.windowInclusive && since === w)) continue;
      }
      // a cap cuts the award that would pass it to what is left under it
      const left = rule.cap === undefined ? Infinity : rule.cap - Math.abs(t.total);
      if (left <= 0 || (alt.capDrops && left < Math.abs(rule.points))) continue;
      let points = Math.sign(rule.points) * Math.min(Math.abs(rule.points), left);
      decayTo(e.at);
      if (alt.floorZero && out.score + points < 0) points = -out.score;
      if (points === 0) continue;
      t.total += points;
      t.lastAt = e.at;
      t.sessionsAwarded.add(sessions[i]);
      out.score += points;
      out.scoreItems.push([rule.id, points, e.at]);
      if (out.mqlAt === null && (alt.mqlAbove ? out.score > config.mqlThreshold : out.score >= config.mqlThreshold)) out.mqlAt = e.at;
    }
    let sql = false;
    for (const t of sqlTests) if (t(i)) sql = true;
    if (sql && out.sqlAt === null) out.sqlAt = e.at;
  });
  if (readAt !== undefined) decayTo(readAt);
  out.stage = rank < 0 ? null : config.stages[rank];
  return out;
}
