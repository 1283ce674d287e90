// Salvage before validation: what breaks a limit in an event's optional parts is cut or dropped and described;
// everything else is left as sent for validation to judge.
import { describe, expect, test } from 'vitest';
import { salvageEvent } from '../../collector/ingest/salvage-event.js';
import { wireEventSchema } from '../../collector/ingest/validate.js';
import { LIMITS } from '../../shared/limits.js';

const base = { i: 'evt_00000001', n: 'pageview', t: 1, u: 'http://a.test/' };

describe('salvageEvent', () => {
  test('an event within every limit comes back unchanged, without notes', () => {
    const e = { ...base, r: 'http://b.test/', p: { a: 1, b: true, c: 'x' }, tr: { zip: '1' }, em: 'a@b.co', f: 'demo', ft: { url: 'http://a.test/', at: 1 } };
    expect(salvageEvent(e, 'e.0')).toEqual({ event: e, notes: [] });
  });

  test('texts over their limit are cut to it: URLs to 2,048, other texts to 512', () => {
    const { event, notes } = salvageEvent({ ...base, u: 'u'.repeat(LIMITS.urlChars + 5), st: { ref: 'r'.repeat(LIMITS.urlChars + 1), utm_term: 't'.repeat(600) }, p: { q: 'q'.repeat(513) } }, 'e.3');
    const e = event as Record<string, any>;
    expect(e.u).toHaveLength(LIMITS.urlChars);
    expect(e.st.ref).toHaveLength(LIMITS.urlChars);
    expect(e.st.utm_term).toHaveLength(LIMITS.valueChars);
    expect(e.p.q).toHaveLength(LIMITS.valueChars);
    expect(notes.map((n) => `${n.path} ${n.action}`)).toEqual(['e.3.u cut', 'e.3.st.ref cut', 'e.3.st.utm_term cut', 'e.3.p.q cut']);
    expect(wireEventSchema.safeParse(event).success).toBe(true);
  });

  test('parts of the wrong kind are dropped; a number trait becomes its text; props stop at 32 keys', () => {
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    const { event, notes } = salvageEvent({ ...base, p: { ...many, nested: { a: 1 } }, tr: { zip: 94043, list: ['a'] }, ft: 'landing', f: 'Contact Us!' }, 'e.0');
    const e = event as Record<string, any>;
    expect(Object.keys(e.p)).toHaveLength(LIMITS.propKeys);
    expect(e.tr).toEqual({ zip: '94043' });
    expect(e.ft).toBeUndefined();
    expect(e.f).toBeUndefined();
    expect(notes.filter((n) => n.action === 'dropped').map((n) => n.path)).toEqual(
      expect.arrayContaining(['e.0.ft', 'e.0.f', 'e.0.p.nested', 'e.0.p.k39', 'e.0.tr.list']),
    );
    expect(wireEventSchema.safeParse(event).success).toBe(true);
  });

  test('a referrer that is no text (null from a JSON writer, a number) is dropped, and the event then passes', () => {
    for (const r of [null, 42, { href: 'x' }]) {
      const { event, notes } = salvageEvent({ ...base, r }, 'e.0');
      expect(notes).toEqual([{ path: 'e.0.r', action: 'dropped', why: 'not a text' }]);
      expect(wireEventSchema.safeParse(event).success).toBe(true);
    }
  });

  test("a site's own form marker becomes props.form with the kind other", () => {
    const { event, notes } = salvageEvent({ ...base, n: 'form_submit', f: 'quote-request', p: { plan: 'pro' } }, 'e.0');
    expect(event).toMatchObject({ f: 'other', p: { form: 'quote-request', plan: 'pro' } });
    expect(notes).toEqual([]);
  });

  test('an unusable email is dropped from a form event but left on an identify, which validation then refuses', () => {
    for (const em of ['sam@corp.example;', 'mailto:sam@corp.example', 'no-at-sign', 42]) {
      const form = salvageEvent({ ...base, n: 'demo_request', em }, 'e.0');
      expect((form.event as Record<string, unknown>).em).toBeUndefined();
      expect(form.notes).toEqual([{ path: 'e.0.em', action: 'dropped', why: 'not an email address' }]);
    }
    expect(salvageEvent({ ...base, n: 'identify', em: 'nope' }, 'e.0')).toEqual({ event: { ...base, n: 'identify', em: 'nope' }, notes: [] });
  });

  test('required fields are never repaired: a missing id or a page URL that is no text stays for validation to refuse', () => {
    const { event, notes } = salvageEvent({ n: 'pageview', t: 1, u: 7 }, 'e.0');
    expect(notes).toEqual([]);
    expect(wireEventSchema.safeParse(event).success).toBe(false);
    expect(salvageEvent('not an object', 'e.0')).toEqual({ event: 'not an object', notes: [] });
  });
});
