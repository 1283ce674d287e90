// Conditions compiled to predicates over one event: name, path and URL globs, props, form kind, source.
import type { Condition } from './funnel-config.js';
import type { FoldEvent } from './fold-event.js';

export type EventTest = (e: FoldEvent) => boolean;

const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters (including `/`); everything else is literal; case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    re = new RegExp(`^${body}$`, 'i');
    if (globCache.size > 2000) globCache.clear();
    globCache.set(glob, re);
  }
  return re;
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function anyGlob(globs: string | string[]): (text: string) => boolean {
  const res = list(globs).map(globToRegExp);
  return (text) => res.some((re) => re.test(text));
}

type Scalar = string | number | boolean;
type PropMatch = Scalar | Scalar[] | { gte?: number; gt?: number; lte?: number; lt?: number };

function scalarTest(expected: Scalar): (v: Scalar) => boolean {
  if (typeof expected === 'string') {
    const re = globToRegExp(expected);
    return (v) => re.test(String(v));
  }
  return (v) => v === expected || String(v) === String(expected);
}

function propTest(m: PropMatch): (v: Scalar | undefined) => boolean {
  if (Array.isArray(m)) {
    const tests = m.map(scalarTest);
    return (v) => v !== undefined && tests.some((t) => t(v));
  }
  if (typeof m === 'object') {
    return (v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isNaN(n)) return false;
      return (m.gte === undefined || n >= m.gte) && (m.gt === undefined || n > m.gt) && (m.lte === undefined || n <= m.lte) && (m.lt === undefined || n < m.lt);
    };
  }
  const t = scalarTest(m);
  return (v) => v !== undefined && t(v);
}

/** The per-event part of a condition as a predicate (`sessions` and `count` are counted by the fold). */
export function compileCondition(c: Condition): EventTest {
  const tests: EventTest[] = [];
  if (c.any) {
    const alternatives = c.any.map((a) => compileCondition(a));
    tests.push((e) => alternatives.some((t) => t(e)));
  }
  if (c.source) {
    const source = c.source;
    tests.push((e) => e.source === source);
  }
  if (c.event !== undefined) {
    const names = list(c.event);
    if (names.some((n) => n.includes('*'))) {
      const m = anyGlob(names);
      tests.push((e) => m(e.name));
    } else {
      const set = new Set(names);
      tests.push((e) => set.has(e.name));
    }
  }
  if (c.form !== undefined) {
    const forms = new Set<string>(list(c.form));
    tests.push((e) => e.form !== null && forms.has(e.form));
  }
  if (c.path !== undefined) {
    const m = anyGlob(c.path);
    tests.push((e) => m(e.path));
  }
  if (c.url !== undefined) {
    const m = anyGlob(c.url);
    tests.push((e) => m(e.url));
  }
  if (c.props) {
    for (const [key, match] of Object.entries(c.props)) {
      const t = propTest(match as PropMatch);
      tests.push((e) => t(e.props?.[key]));
    }
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0];
  return (e) => tests.every((t) => t(e));
}
