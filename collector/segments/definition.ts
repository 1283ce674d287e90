// Segment definitions (contract §6): the JSON grammar, its zod schema, and a parser whose failures name the bad part.
import { z } from '@hono/zod-openapi'; // the openapi-extended zod: these schemas are also documented
import { CHANNELS } from '../ingest/channel-rules.js';
import { EVENT_SOURCES, type EventSource } from '../../shared/events.js';

export type OneOrMany = string | string[];

export interface StageTest {
  in?: string[];
  eq?: string;
  /** at or past this stage in the site's stage order */
  gte?: string;
}
export interface DidTest {
  /** event name, or "*" for any event */
  event: string;
  /** glob over the event's path: `*` matches any run of characters; case-insensitive */
  path?: string;
  /** each listed prop must equal the event's prop (compared as text) */
  props?: Record<string, string | number | boolean>;
  /** only events in this trailing window count: "15m", "12h", "30d", "2w" */
  within?: string;
  /** at least this many matching events (default 1) */
  min?: number;
  /** only events of this source: 'web' (the snippet's, any page can send them) or 'server' (POST /api/events, the CRM) */
  source?: EventSource;
}
export interface NumberTest {
  gte?: number;
  lte?: number;
  gt?: number;
  lt?: number;
}
export interface TouchTest {
  /** which touch of the lead: its first (default) or its latest session's */
  model?: 'first' | 'last';
  source?: OneOrMany;
  medium?: OneOrMany;
  campaign?: OneOrMany;
  channel?: OneOrMany;
}
export interface InStageTest {
  days: { gte?: number; lte?: number };
}

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { stage: StageTest }
  | { did: DidTest }
  | { score: NumberTest }
  | { identified: boolean }
  | { touch: TouchTest }
  | { inStage: InStageTest };

/** A whole definition is one condition (usually an `all`). */
export type SegmentDefinition = Condition;

export const CONDITION_KINDS = ['all', 'any', 'not', 'stage', 'did', 'score', 'identified', 'touch', 'inStage'] as const;

export const DURATION_RE = /^([1-9]\d{0,4})(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** "30d" → ms; the schema has already checked the shape. */
export function durationMs(text: string): number {
  let ms = durations.get(text);
  if (ms === undefined) {
    const m = DURATION_RE.exec(text);
    if (!m) throw new Error(`not a duration: ${text}`);
    ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    if (durations.size > 1000) durations.clear();
    durations.set(text, ms);
  }
  return ms;
}
const durations = new Map<string, number>();

const MAX_DEFINITION_CHARS = 16_384;
export const MAX_STAGE_DAYS = 36_500;
/** nesting of JSON objects and arrays (a condition level is two or three of them) */
const MAX_NESTING = 36;

const name = z.string().min(1).max(200);
const oneOrMany = z.union([name, z.array(name).min(1).max(50)]);

const stageSchema = z
  .strictObject({ in: z.array(name).min(1).max(50).optional(), eq: name.optional(), gte: name.optional() })
  .refine((v) => v.in !== undefined || v.eq !== undefined || v.gte !== undefined, 'give at least one of in, eq, gte');

/**
 * A page path starts with `/` and holds no query or hash: a glob such as `pricing`, `https://acme.com/pricing*` or
 * `/pricing?plan=pro` could never match, and the segment would stay empty without a word (as the funnel's rules refuse).
 */
const pathGlob = z
  .string()
  .min(1)
  .max(500)
  .superRefine((g, ctx) => {
    if (/^[/*]/.test(g) && !/[?#]/.test(g)) return;
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(g)} can never match: a page path starts with "/" (or "*") and holds no query or hash` });
  });

const didSchema = z.strictObject({
  event: name,
  path: pathGlob.optional(),
  props: z.record(z.string().min(1).max(64), z.union([z.string().max(512), z.number(), z.boolean()])).optional(),
  within: z.string().regex(DURATION_RE, 'expected a duration like "15m", "12h", "30d" or "2w"').optional(),
  min: z.number().int().min(1).max(10_000).optional(),
  source: z.enum(EVENT_SOURCES).optional(),
});

const numberSchema = z
  .strictObject({ gte: z.number().optional(), lte: z.number().optional(), gt: z.number().optional(), lt: z.number().optional() })
  .refine((v) => [v.gte, v.lte, v.gt, v.lt].some((x) => x !== undefined), 'give at least one of gte, lte, gt, lt');

const channelValue = z.enum(CHANNELS);
const touchSchema = z
  .strictObject({
    model: z.enum(['first', 'last']).optional(),
    source: oneOrMany.optional(),
    medium: oneOrMany.optional(),
    campaign: oneOrMany.optional(),
    channel: z.union([channelValue, z.array(channelValue).min(1)]).optional(),
  })
  .refine((v) => [v.source, v.medium, v.campaign, v.channel].some((x) => x !== undefined), 'give at least one of source, medium, campaign, channel');

/** Days in a stage: up to a century (a bound past any lead's life would only make a recheck time no column holds). */
const days = z.number().min(0).max(MAX_STAGE_DAYS);
const inStageSchema = z.strictObject({
  days: z
    .strictObject({ gte: days.optional(), lte: days.optional() })
    .refine((v) => v.gte !== undefined || v.lte !== undefined, 'give at least one of gte, lte'),
});

// One object with every kind optional (rather than a union) so that zod reports the deepest bad part by path.
export const conditionSchema: z.ZodType<unknown> = z.lazy(() =>
  z
    .strictObject({
      all: z.array(conditionSchema).min(1).max(50).optional(),
      any: z.array(conditionSchema).min(1).max(50).optional(),
      not: conditionSchema.optional(),
      stage: stageSchema.optional(),
      did: didSchema.optional(),
      score: numberSchema.optional(),
      identified: z.boolean().optional(),
      touch: touchSchema.optional(),
      inStage: inStageSchema.optional(),
    })
    .superRefine((v, ctx) => {
      const kinds = Object.keys(v);
      if (kinds.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          message: `a condition has exactly one of ${CONDITION_KINDS.join(', ')}` + (kinds.length ? ` (got ${kinds.join(', ')})` : ''),
        });
      }
    }),
);

export type DefinitionResult = { ok: true; definition: SegmentDefinition } | { ok: false; path: string; message: string };

/** `['all', 2, 'did', 'within']` → `all[2].did.within`; the root is called `definition`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : (out ? '.' : '') + String(part);
  return out || 'definition';
}

const depthOf = (v: unknown): number =>
  v && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0;

/**
 * Checks a definition. With `stages` (the site's stage order) stage names are checked too.
 * Failures are values: the path of the first bad part and what is wrong with it.
 */
export function parseDefinition(input: unknown, stages?: readonly string[]): DefinitionResult {
  if (input === undefined) return { ok: false, path: 'definition', message: 'is required' };
  let text: string;
  try {
    text = JSON.stringify(input);
  } catch {
    // nesting deep enough to overflow the stack (JSON.parse accepts far deeper input than JSON.stringify)
    return { ok: false, path: 'definition', message: `nests deeper than ${MAX_NESTING} levels` };
  }
  if (text.length > MAX_DEFINITION_CHARS) return { ok: false, path: 'definition', message: `is longer than ${MAX_DEFINITION_CHARS} characters` };
  if (depthOf(input) > MAX_NESTING) return { ok: false, path: 'definition', message: `nests deeper than ${MAX_NESTING} levels` };
  const parsed = conditionSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = [...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys.length) path.push(issue.keys[0]);
    const message = issue.code === 'unrecognized_keys' ? `unknown key (expected ${expectedKeys(issue.path)})` : issue.message;
    return { ok: false, path: formatPath(path), message };
  }
  const definition = parsed.data as SegmentDefinition;
  if (stages) {
    const [bad] = unknownStages(definition, stages);
    if (bad) return { ok: false, path: formatPath(bad.path), message: `unknown stage "${bad.stage}" (stages: ${stages.join(', ')})` };
  }
  return { ok: true, definition };
}

/** `did` → its keys, a condition → the condition kinds: for the unknown-key message. */
function expectedKeys(path: ReadonlyArray<PropertyKey>): string {
  const last = path[path.length - 1];
  const byKind: Record<string, string> = {
    stage: 'in, eq, gte',
    did: 'event, path, props, within, min, source',
    score: 'gte, lte, gt, lt',
    touch: 'model, source, medium, campaign, channel',
    inStage: 'days',
    days: 'gte, lte',
  };
  return (typeof last === 'string' && byKind[last]) || CONDITION_KINDS.join(', ');
}

/** Every stage name the condition uses that is not in `stages`, with its path, depth first in the order written. */
export function unknownStages(c: Condition, stages: readonly string[], path: PropertyKey[] = []): Array<{ path: PropertyKey[]; stage: string }> {
  if ('all' in c || 'any' in c) {
    const kind = 'all' in c ? 'all' : 'any';
    return ('all' in c ? c.all : c.any).flatMap((x, i) => unknownStages(x, stages, [...path, kind, i]));
  }
  if ('not' in c) return unknownStages(c.not, stages, [...path, 'not']);
  if (!('stage' in c)) return [];
  const s = c.stage;
  const named: Array<[PropertyKey[], string | undefined]> = [
    ...(s.in ?? []).map((x, i): [PropertyKey[], string] => [['in', i], x]),
    [['eq'], s.eq],
    [['gte'], s.gte],
  ];
  return named.filter(([, x]) => x !== undefined && !stages.includes(x)).map(([at, x]) => ({ path: [...path, 'stage', ...at], stage: x! }));
}
