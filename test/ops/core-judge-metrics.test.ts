// GET /metrics read by a strict Prometheus text-format (0.0.4) parser written here from the format's description, not
// from the collector's renderer: HELP and TYPE at most once per family and before its samples, a family's lines in
// one group, label values with only \\ \" \n escapes, no sample twice, summaries' quantiles in [0,1] and not
// decreasing, histograms' buckets not decreasing with +Inf equal to _count. Then the numbers are checked against what
// was sent and what the database holds.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { createSite } from '../../collector/admin.js';
import { defaultConfig } from '../../collector/config.js';
import { openDb } from '../../collector/storage/open-db.js';
import { tempDir } from '../helpers/test-db.js';
import { CHROME_UA } from '../helpers/factories.js';

type Sample = { name: string; labels: Record<string, string>; value: number };
type Family = { type?: string; help?: string; samples: Sample[] };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(text: string, where: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses a whole exposition or throws naming the first line that breaks the format. */
export function strictParse(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: string | null = null;
  const familyOf = (sample: string) => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = sample.slice(0, -suffix.length);
      if (sample.endsWith(suffix) && ['histogram', 'summary'].includes(families.get(base)?.type ?? '')) return base;
    }
    return sample;
  };
  const enter = (name: string, where: string) => {
    if (name !== current) {
      if (closed.has(name)) throw new Error(`${where}: the lines of ${name} are not one group`);
      if (current) closed.add(current);
      current = name;
    }
    if (!families.has(name)) families.set(name, { samples: [] });
    return families.get(name)!;
  };
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, n) => {
    const where = `line ${n + 1} ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const f = enter(name, where);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`${where}: second HELP`);
        if (rest.replace(/\\[\\n]/g, '').includes('\\')) throw new Error(`${where}: HELP escapes only \\\\ and \\n`);
        f.help = rest;
      } else {
        if (f.type !== undefined) throw new Error(`${where}: second TYPE`);
        if (f.samples.length) throw new Error(`${where}: TYPE after samples`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`${where}: unknown type`);
        f.type = rest;
      }
      return;
    }
    let i = 0;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`${where}: no metric name`);
    i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0];
        if (!label || !LABEL.test(label)) throw new Error(`${where}: bad label name`);
        i += label.length;
        if (line.slice(i, i + 2) !== '="') throw new Error(`${where}: expected ="`);
        i += 2;
        let value = '';
        for (;;) {
          const ch = line[i++];
          if (ch === undefined) throw new Error(`${where}: unterminated label value`);
          if (ch === '"') break;
          if (ch === '\\') {
            const esc = line[i++];
            if (esc === '\\') value += '\\';
            else if (esc === '"') value += '"';
            else if (esc === 'n') value += '\n';
            else throw new Error(`${where}: bad escape \\${esc}`);
          } else value += ch;
        }
        if (label in labels) throw new Error(`${where}: label ${label} twice`);
        labels[label] = value;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') throw new Error(`${where}: expected , or }`);
      }
      i++;
    }
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const [valueText, timestamp, extra] = line.slice(i + 1).split(' ');
    if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`${where}: trailing text`);
    const family = familyOf(name);
    const f = enter(family, where);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (f.samples.some((s) => s.name + JSON.stringify(Object.entries(s.labels).sort()) === key)) throw new Error(`${where}: sample twice`);
    f.samples.push({ name, labels, value: parseValue(valueText, where) });
  });
  for (const [name, f] of families) {
    const where = `family ${name}`;
    if (f.type === 'counter') for (const s of f.samples) if (!(s.value >= 0) || s.value === Infinity) throw new Error(`${where}: counter ${s.value}`);
    if (f.type === 'summary' || f.type === 'histogram') {
      const groups = new Map<string, Sample[]>();
      for (const s of f.samples) {
        const { quantile: _q, le: _le, ...rest } = s.labels;
        const g = JSON.stringify(Object.entries(rest).sort());
        (groups.get(g) ?? groups.set(g, []).get(g)!).push(s);
      }
      for (const group of groups.values()) {
        const count = group.find((s) => s.name === name + '_count');
        const sum = group.find((s) => s.name === name + '_sum');
        if (!count || !sum) throw new Error(`${where}: _sum or _count missing`);
        if (!Number.isInteger(count.value) || count.value < 0) throw new Error(`${where}: _count ${count.value}`);
        if (f.type === 'summary') {
          const qs = group.filter((s) => s.name === name).map((s) => ({ q: parseValue(s.labels.quantile ?? 'x', where), v: s.value }));
          for (const { q } of qs) if (!(q >= 0 && q <= 1)) throw new Error(`${where}: quantile ${q}`);
          qs.sort((a, b) => a.q - b.q);
          for (let k = 1; k < qs.length; k++) if (qs[k].v < qs[k - 1].v) throw new Error(`${where}: quantiles decrease`);
          if (count.value > 0 && qs.some((x) => Number.isNaN(x.v))) throw new Error(`${where}: NaN quantile with observations`);
        } else {
          const buckets = group.filter((s) => s.name === name + '_bucket').map((s) => ({ le: parseValue(s.labels.le ?? 'x', where), v: s.value }));
          buckets.sort((a, b) => a.le - b.le);
          for (let k = 1; k < buckets.length; k++) if (buckets[k].v < buckets[k - 1].v) throw new Error(`${where}: buckets decrease`);
          const inf = buckets.at(-1);
          if (!inf || inf.le !== Infinity) throw new Error(`${where}: no +Inf bucket`);
          if (inf.v !== count.value) throw new Error(`${where}: +Inf bucket ${inf.v} is not _count ${count.value}`);
        }
      }
    }
  }
  return families;
}

describe('the strict parser itself', () => {
  // it must be able to fail: each of these breaks one rule of the format
  test.each([
    ['no final newline', '# TYPE a counter\na 1'],
    ['TYPE twice', '# TYPE a counter\n# TYPE a counter\na 1\n'],
    ['TYPE after a sample', 'a 1\n# TYPE a counter\n'],
    ['a family split', '# TYPE a gauge\na{x="1"} 1\n# TYPE b gauge\nb 1\na{x="2"} 2\n'],
    ['a raw quote in a label value', '# TYPE a gauge\na{x="say "hi""} 1\n'],
    ['a bad escape', '# TYPE a gauge\na{x="\\t"} 1\n'],
    ['a bad HELP escape', '# HELP a x \\t y\n# TYPE a gauge\na 1\n'],
    ['a sample twice', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['decreasing buckets', '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="2"} 4\nh_bucket{le="+Inf"} 5\nh_sum 3\nh_count 5\n'],
    ['+Inf not _count', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 3\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 3\nh_count 1\n'],
    ['decreasing quantiles', '# TYPE s summary\ns{quantile="0.5"} 2\ns{quantile="0.99"} 1\ns_sum 3\ns_count 2\n'],
    ['a summary without _count', '# TYPE s summary\ns{quantile="0.5"} 2\ns_sum 3\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => strictParse(text)).toThrow();
  });

  test('reads escapes and an honest histogram', () => {
    const f = strictParse('# HELP h A \\\\ and \\n.\n# TYPE h histogram\nh_bucket{path="a\\"b\\\\c\\nd",le="0.1"} 1\nh_bucket{path="a\\"b\\\\c\\nd",le="+Inf"} 2\nh_sum{path="a\\"b\\\\c\\nd"} 0.3\nh_count{path="a\\"b\\\\c\\nd"} 2\n');
    expect(f.get('h')!.samples[0].labels.path).toBe('a"b\\c\nd');
  });
});

let closeApp: (() => Promise<unknown>) | null = null;
afterEach(async () => {
  await closeApp?.();
  closeApp = null;
});

describe('GET /metrics after real traffic', () => {
  test('parses strictly, and its counters agree with the events stored, the rejected store and the database size', async () => {
    const path = join(tempDir('fb-core-judge-metrics-'), 'm.db');
    const db = await openDb({ databasePath: path });
    const site = await createSite(db, { domain: 'example.com' });
    const created = createApp({ db, config: defaultConfig({ LOG_LEVEL: 'error', SEGMENT_SWEEP_MS: 0, RATE_LIMIT_CLIENT_PER_SEC: 0, RATE_LIMIT_SITE_PER_SEC: 0 }) });
    closeApp = async () => {
      await created.close();
      await db.close();
    };
    const post = (body: string, origin = 'https://example.com') =>
      created.app.request('/e', { method: 'POST', body, headers: { 'content-type': 'text/plain', origin, 'user-agent': CHROME_UA } });
    const scrape = async () => {
      const res = await created.app.request('/metrics');
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return strictParse(await res.text());
    };
    const value = (f: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
      f.get(name.replace(/_(sum|count)$/, ''))?.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;

    const before = await scrape();
    const bytesBefore = value(before, 'funnelbeam_database_bytes')!;
    expect(bytesBefore).toBeGreaterThan(0);

    // 30 requests of 20 events, each with ~400 bytes of props: at least 240 KB of data to store
    let id = 0;
    const good = (v: string, dup = false) =>
      JSON.stringify({
        s: site.siteKey,
        v,
        e: Array.from({ length: 20 }, () => ({ i: `evt_metrics_${dup ? id : ++id}`, n: 'pageview', t: Date.now(), u: 'https://example.com/p', p: { note: 'x'.repeat(400) } })),
      });
    const goods = Array.from({ length: 30 }, (_, k) => good(`v_metrics_${k}`));
    expect((await Promise.all(goods.map((b) => post(b)))).map((r) => r.status)).toEqual(goods.map(() => 202));
    expect((await post(goods[0])).status).toBe(202); // 20 duplicates
    const refusals: Array<[string, number, string]> = [
      ['{"s":', 400, 'invalid_json'],
      ['[]', 400, 'invalid_batch'],
      [JSON.stringify({ s: 'pk_nobody_here', v: 'v_metrics_x', e: [{ i: 'evt_metrics_x1', n: 'pageview', t: Date.now(), u: 'https://example.com/' }] }), 404, 'unknown_site'],
      [JSON.stringify({ s: site.siteKey, v: 'v_metrics_y', e: Array.from({ length: 51 }, (_, k) => ({ i: `evt_metrics_many_${k}`, n: 'pageview', t: Date.now(), u: 'https://example.com/' })) }), 400, 'too_many_events'],
      [JSON.stringify({ s: site.siteKey, v: 'v_metrics_z', pad: ' '.repeat(70_000), e: [] }), 413, 'payload_too_large'],
    ];
    for (const [body, status] of refusals) expect((await post(body)).status).toBe(status);
    expect((await post(good('v_metrics_evil'), 'https://example.com.evil.test')).status).toBe(403);

    const after = await scrape();
    const stored = Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n);
    expect(stored).toBe(600);
    expect(value(after, 'funnelbeam_events_accepted_total')).toBe(stored);
    expect(value(after, 'funnelbeam_events_duplicate_total')).toBe(20);
    expect(value(after, 'funnelbeam_cors_refused_total')).toBe(1);
    // every refusal is counted by its reason, and kept in the rejected store once with that reason
    const rows = await db.all<{ reason: string; n: number }>('SELECT reason, COUNT(*) AS n FROM rejected_events GROUP BY reason');
    const kept = Object.fromEntries(rows.map((r) => [r.reason, Number(r.n)]));
    const counted = Object.fromEntries(after.get('funnelbeam_events_rejected_total')!.samples.map((s) => [s.labels.reason, s.value]));
    expect(counted).toEqual({ invalid_json: 1, invalid_batch: 1, unknown_site: 1, too_many_events: 1, payload_too_large: 1, origin_not_allowed: 1 });
    expect(kept).toEqual(counted);
    // flushes: every stored or duplicate event went through one, and each was timed
    const flushes = value(after, 'funnelbeam_flush_batch_size_count')!;
    expect(flushes).toBeGreaterThanOrEqual(1);
    expect(flushes).toBeLessThanOrEqual(31);
    expect(value(after, 'funnelbeam_flush_batch_size_sum')).toBe(620);
    expect(value(after, 'funnelbeam_flush_seconds_count')).toBe(flushes);
    expect(value(after, 'funnelbeam_flush_seconds_sum')).toBeGreaterThan(0);
    // the database grew by at least the props it now holds, and the gauge is no smaller than the file on disk
    const bytes = value(after, 'funnelbeam_database_bytes')!;
    expect(bytes - bytesBefore).toBeGreaterThanOrEqual(600 * 400);
    expect(bytes).toBeGreaterThanOrEqual(statSync(path).size);
    // every family is typed and helped
    for (const [name, f] of after) expect([name, f.type !== undefined, f.help !== undefined]).toEqual([name, true, true]);
  });
});
