// parseBatch checks the usual event (i n t u r em f, nothing else) and batch head by hand before zod: this holds that
// hand check to the schemas. An event zod accepts comes out exactly as zod gives it back (same keys, same order), and
// one zod refuses is never passed on as sent: it is repaired by the salvage step or refused with a problem.
import { describe, expect, test } from 'vitest';
import { parseBatch, wireEventSchema } from '../../collector/ingest/validate.js';
import { LIMITS } from '../../shared/limits.js';

/** A small seeded generator, so a failure names a case that can be run again. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const pick = <T,>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

// each field: a value the schema accepts three times in four, else one it may refuse
const field = <T,>(r: () => number, good: readonly T[], bad: readonly T[]): T => (r() < 0.75 ? pick(r, good) : pick(r, bad));
const IDS = [['mfx1abcd0123', 'a'.repeat(LIMITS.idChars), 'ok_id.1:2-3'], ['short', 'a'.repeat(LIMITS.idChars + 1), 'id with space', 42, '']] as const;
const NAMES = [['pageview', ' pageview ', 'Demo Booked', '資料請求', 'a'.repeat(LIMITS.nameChars)], ['', '   ', 'a'.repeat(LIMITS.nameChars + 1), 'bad<name>', 7]] as const;
const TIMES = [[1_700_000_000_000, 0, 1_800_000_000_123], [-1, 1.5, 2 ** 53 + 2, '5', null]] as const;
const URLS = [['https://example.com/', 'https://example.com/p?utm_source=x', '', '/relative'], ['javascript:alert(1)', 'data:text/html,x', 'x'.repeat(LIMITS.urlChars + 1), 3]] as const;
const REFS = [[undefined, 'https://google.com/', ''], ['javascript:void 0', 'y'.repeat(LIMITS.urlChars + 1), null]] as const;
const EMAILS = [[undefined, 'ann@example.com', ' Ann@Example.com '], ['not an email', 'a@b.co;', 'e'.repeat(255), 5]] as const;
const FORMS = [[undefined, 'newsletter', 'demo', 'other'], ['contact', null, 1]] as const;

function randomEvent(r: () => number): Record<string, unknown> {
  const ev: Record<string, unknown> = { i: field(r, ...IDS), n: field(r, ...NAMES), t: field(r, ...TIMES), u: field(r, ...URLS) };
  const ref = field<unknown>(r, ...REFS);
  if (ref !== undefined) ev.r = ref;
  const em = field<unknown>(r, ...EMAILS);
  if (em !== undefined) ev.em = em;
  const f = field<unknown>(r, ...FORMS);
  if (f !== undefined) ev.f = f;
  if (r() < 0.05) delete ev[pick(r, ['i', 'n', 't', 'u'])];
  return ev;
}

describe('the hand check of the usual event agrees with the wire schema', () => {
  test('3,000 seeded events: accepted as zod gives them back, refused ones repaired or explained', () => {
    const r = rng(20261124);
    let accepted = 0;
    let refused = 0;
    for (let k = 0; k < 3000; k++) {
      const raw = randomEvent(r);
      const z = wireEventSchema.safeParse(raw);
      const out = parseBatch(JSON.stringify({ s: 'site_key', v: 'visitor_0001', e: [raw] }));
      const passedAsIs = out.ok && out.repairs.length === 0 && out.problems.length === 0 && out.batch.e.length === 1;
      // JSON round trip: the body parseBatch reads is JSON text, so compare with what zod makes of the same text
      const zz = wireEventSchema.safeParse(JSON.parse(JSON.stringify(raw)));
      if (!z.success || !zz.success) {
        refused++;
        // the salvage step may repair it quietly (a form kind of its own becomes `other` with props.form), but never
        // pass it on as it was sent
        if (passedAsIs && out.ok) {
          const sent = JSON.parse(JSON.stringify(raw));
          if (typeof sent.n === 'string') sent.n = sent.n.trim();
          expect(out.batch.e[0], `refused by the schema but passed as sent: ${JSON.stringify(raw)}`).not.toEqual(sent);
        }
      } else if (passedAsIs && out.ok) {
        accepted++;
        expect(JSON.stringify(out.batch.e[0]), JSON.stringify(raw)).toBe(JSON.stringify(zz.data));
      }
    }
    // the generator reaches both sides
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(500);
  });

  test('a batch head with a bad `t` or `l` is still read (the bad field dropped), as the schema does', () => {
    const e = [{ i: 'mfx1abcd0123', n: 'pageview', t: 1_700_000_000_000, u: 'https://example.com/' }];
    for (const extra of [{ t: -5 }, { t: 'soon' }, { l: 5 }, { l: 'x'.repeat(LIMITS.valueChars + 1) }]) {
      const out = parseBatch(JSON.stringify({ s: 'site_key', v: 'visitor_0001', e, ...extra }));
      expect(out.ok).toBe(true);
      if (!out.ok) continue;
      expect(out.batch.t).toBeUndefined();
      expect(out.batch.l).toBeUndefined();
    }
    const good = parseBatch(JSON.stringify({ s: 'site_key', v: 'visitor_0001', e, t: 1_700_000_000_001, l: '1' }));
    expect(good.ok && good.batch.t).toBe(1_700_000_000_001);
    expect(good.ok && good.batch.l).toBe('1');
  });
});
