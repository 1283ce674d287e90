// The funnel config as data: stages, stage rules, score rules, MQL threshold, SQL conditions. Zod-checked; a bad part is named.
import { z } from '@hono/zod-openapi'; // the openapi-extended zod: these schemas are also documented
import { createHash } from 'node:crypto';
import { EVENT_SOURCES, FORM_KINDS } from '../../shared/events.js';
import { parseDuration } from './duration.js';

const name = z.string().min(1).max(64);
const ruleId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/, 'rule ids hold letters, digits and _ . : -');
/** A value or a list of them; `error` replaces zod's "Invalid input" when neither fits. */
const oneOrMany = <T extends z.ZodType>(t: T, error?: string) => z.union([t, z.array(t).min(1).max(50)], error ? { error } : undefined);
const scalar = z.union([z.string().max(512), z.number().finite(), z.boolean()]);
const range = z
  .strictObject({ gte: z.number().finite().optional(), gt: z.number().finite().optional(), lte: z.number().finite().optional(), lt: z.number().finite().optional() })
  .refine((r) => Object.keys(r).length > 0, 'a range needs gte, gt, lte or lt');
const duration = z.string().refine((s) => parseDuration(s) !== null, 'a duration reads like "30m", "12h" or "7d"');

/** What one event must look like: every given field must hold; `{}` matches any event. */
const eventFields = {
  /** event name(s); `*` is a wildcard */
  event: oneOrMany(z.string().min(1).max(64)).optional(),
  /** page path glob(s), e.g. `/pricing*` (case-insensitive, `*` matches anything) */
  path: oneOrMany(z.string().min(1).max(512)).optional(),
  /** full page URL glob(s) */
  url: oneOrMany(z.string().min(1).max(2048)).optional(),
  /** props that must match: a value (strings are globs), a list of accepted values, or a numeric range */
  props: z.record(z.string().min(1).max(64), z.union([scalar, z.array(scalar).min(1).max(50), range])).optional(),
  /** form kind(s) from `data-funnelbeam` */
  form: oneOrMany(z.enum(FORM_KINDS), `a form kind is ${FORM_KINDS.join(', ')}; a form's own marker (data-funnelbeam="contact") is read as props.form`).optional(),
  /** 'web' (the snippet) or 'server' (POST /api/events) */
  source: z.enum(EVENT_SOURCES).optional(),
};

/** What one event must look like for a rule to count it. Every given field must hold; `{}` matches any event. */
export const conditionSchema = z.strictObject({
  ...eventFields,
  /** the event must also match one of these (e.g. a webinar form found by its page or by its marker): one rule, one award */
  any: z.array(z.strictObject(eventFields)).min(1).max(20).optional(),
  /**
   * the rule holds once matching events were seen in this many distinct sessions (visits, across all devices of the
   * lead); server events are no visits and add none
   */
  sessions: z.number().int().min(1).max(1000).optional(),
  /** the rule holds once this many matching events were seen */
  count: z.number().int().min(1).max(100000).optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

export const stageRuleSchema = z.strictObject({
  id: ruleId,
  stage: name,
  when: conditionSchema,
});
export type StageRule = z.infer<typeof stageRuleSchema>;

export const scoreRuleSchema = z.strictObject({
  id: ruleId,
  /** points per matching event; negative points lower the score */
  points: z.number().finite().refine((p) => p !== 0, 'points must not be 0').refine((p) => Math.abs(p) <= 10000, 'at most ±10000 points'),
  when: conditionSchema,
  /** the most points (in absolute value) this rule ever gives one lead */
  cap: z.number().finite().positive().optional(),
  /** at most one award per window per lead, e.g. "1d"; "session": once per session (a visit) */
  window: z.string().refine((s) => s === 'session' || parseDuration(s) !== null, 'a window is a duration ("30m", "12h", "7d") or "session"').optional(),
});
export type ScoreRule = z.infer<typeof scoreRuleSchema>;

export const funnelConfigSchema = z
  .strictObject({
    /** stage names in funnel order; a lead only ever moves forward */
    stages: z.array(name).min(1).max(20),
    stageRules: z.array(stageRuleSchema).max(200),
    scoreRules: z.array(scoreRuleSchema).max(200),
    /** score halves every this many days without new points; null: no decay */
    halfLifeDays: z.number().positive().max(3650).nullable(),
    /** a lead becomes an MQL the first time its score reaches this */
    mqlThreshold: z.number().finite().positive(),
    /** any of these makes the lead an SQL */
    sqlWhen: z.array(conditionSchema).max(50),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.stages.forEach((s, i) => {
      if (seen.has(s)) ctx.addIssue({ code: 'custom', path: ['stages', i], message: `stage "${s}" is listed twice` });
      seen.add(s);
    });
    const ids = new Set<string>();
    c.stageRules.forEach((r, i) => {
      if (!seen.has(r.stage)) ctx.addIssue({ code: 'custom', path: ['stageRules', i, 'stage'], message: `unknown stage "${r.stage}"; stages are ${c.stages.join(', ')}` });
      if (ids.has(r.id)) ctx.addIssue({ code: 'custom', path: ['stageRules', i, 'id'], message: `rule id "${r.id}" is used twice` });
      ids.add(r.id);
    });
    const scoreIds = new Set<string>();
    c.scoreRules.forEach((r, i) => {
      if (scoreIds.has(r.id)) ctx.addIssue({ code: 'custom', path: ['scoreRules', i, 'id'], message: `rule id "${r.id}" is used twice` });
      scoreIds.add(r.id);
    });
  });
export type FunnelConfig = z.infer<typeof funnelConfigSchema>;

export type ConfigParse = { ok: true; config: FunnelConfig } | { ok: false; message: string };

/** Checks a config; the message names the first bad part, e.g. `scoreRules.2.window: a duration reads like …`. */
export function parseFunnelConfig(input: unknown): ConfigParse {
  const r = funnelConfigSchema.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  const issue = r.error.issues[0];
  return { ok: false, message: `${issue.path.length ? issue.path.join('.') : 'config'}: ${issue.message}` };
}

/** Only server events can match: the condition says so, or every one of its alternatives does. */
const serverOnly = (c: Condition) => c.source === 'server' || (c.any !== undefined && c.any.every((a) => a.source === 'server'));

/**
 * The first condition that could never hold (`sessions` of server events only, a page path glob no path can match), named
 * as `parseFunnelConfig` names a bad part (`stageRules.8.when.sessions: …`), or null. Checked when a config is saved,
 * not when a stored one is read, so a config stored before this check keeps working.
 */
export function neverHolds(config: FunnelConfig): string | null {
  const lists: Array<[string, Condition[]]> = [
    ['stageRules', config.stageRules.map((r) => r.when)],
    ['scoreRules', config.scoreRules.map((r) => r.when)],
    ['sqlWhen', config.sqlWhen],
  ];
  for (const [name, conditions] of lists) {
    const at = (i: number) => `${name}.${i}${name === 'sqlWhen' ? '' : '.when'}`;
    const i = conditions.findIndex((c) => c.sessions !== undefined && serverOnly(c));
    if (i >= 0) return `${at(i)}.sessions: server events are no sessions (visits); count them with "count"`;
    for (const [k, c] of conditions.entries()) {
      const bad = deadPath(c, at(k));
      if (bad) return bad;
    }
  }
  return null;
}

/**
 * A page path glob that no page can have: a path starts with `/` and holds no query or hash (`pricing`,
 * `https://acme.com/pricing` or `/pricing?plan=pro` would never match, and the rule would be silently dead).
 */
const neverAPath = (glob: string) => !/^[/*]/.test(glob) || /[?#]/.test(glob);

function deadPath(c: Condition | Omit<Condition, 'any' | 'sessions' | 'count'>, at: string): string | null {
  const glob = c.path === undefined ? undefined : (Array.isArray(c.path) ? c.path : [c.path]).find(neverAPath);
  if (glob !== undefined)
    return `${at}.path: ${JSON.stringify(glob)} can never match: a page path starts with "/" (or "*") and holds no query or hash; match those with "url"`;
  if ('any' in c && c.any) {
    for (const [k, a] of c.any.entries()) {
      const bad = deadPath(a, `${at}.any.${k}`);
      if (bad) return bad;
    }
  }
  return null;
}

/**
 * A condition with its props in key order. The parser gives every other part of a config in its schema's key order, but
 * `props` is a record, kept in the order written: the same rules sent back by a client that sorts keys (Python's
 * `sort_keys`, `jq -S`) would be another version, and every lead's next event would be folded as under new rules (one
 * stage.changed to where it stands, instead of one per stage entered). Props of one key, and so the defaults, keep
 * their JSON text, and with it their version.
 */
function propsInKeyOrder<C extends Condition | Omit<Condition, 'any' | 'sessions' | 'count'>>(c: C): C {
  let out = c;
  if (c.props) out = { ...out, props: Object.fromEntries(Object.entries(c.props).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  if ('any' in c && c.any) out = { ...out, any: c.any.map(propsInKeyOrder) };
  return out;
}

/** A short fingerprint of a config's content: a lead folded under another version is rebuilt from its events. */
export function configVersion(config: FunnelConfig): string {
  const content: FunnelConfig = {
    ...config,
    stageRules: config.stageRules.map((r) => ({ ...r, when: propsInKeyOrder(r.when) })),
    scoreRules: config.scoreRules.map((r) => ({ ...r, when: propsInKeyOrder(r.when) })),
    sqlWhen: config.sqlWhen.map(propsInKeyOrder),
  };
  return createHash('sha1').update(JSON.stringify(content)).digest('base64url').slice(0, 12);
}
