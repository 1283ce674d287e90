import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { parseRef } from '../../collector/leads/parse-ref.js';

describe('parseRef', () => {
  test('reads a ref with an @ as a lower-cased email and anything id-shaped as an id', () => {
    expect(parseRef(' Ada@Example.COM ')).toEqual({ kind: 'email', email: 'ada@example.com' });
    expect(parseRef('lead_4fA-x9')).toEqual({ kind: 'id', id: 'lead_4fA-x9' });
    expect(parseRef(' lead_4fA-x9 ')).toEqual({ kind: 'id', id: 'lead_4fA-x9' });
    expect(parseRef('0f4b2c1e-8d2a-4b8e-9a51-7c3e2b1d0a9f')).toEqual({ kind: 'id', id: '0f4b2c1e-8d2a-4b8e-9a51-7c3e2b1d0a9f' });
  });

  test('refuses traversal, separators, control characters, empty and oversized refs', () => {
    for (const bad of ['../etc/passwd', 'a/b', 'a\\b', 'a..b', 'x\u0000y', 'x\ny', '\u007f', '', 'x'.repeat(321), 'a b', '@', 'a@@b']) {
      expect(parseRef(bad), JSON.stringify(bad)).toHaveProperty('problem');
    }
  });

  test('never accepts a ref holding a control character or a backslash, whatever else it holds', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('\\', '\u0000', '\u001f', '\r'), fc.string(), (a, bad, b) => {
        expect(parseRef(a + bad + b)).toHaveProperty('problem');
      }),
    );
  });

  test('".." is in no id, but an email may hold it (browsers\' email fields and ingest take john..doe@example.com)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(!(a + b).includes('@'));
        expect(parseRef(a + '..' + b)).toHaveProperty('problem');
      }),
    );
    expect(parseRef('John..Doe@Example.com')).toEqual({ kind: 'email', email: 'john..doe@example.com' });
  });

  test('a slash is never in an id, but an email may hold one', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._-]{0,20}$/), fc.stringMatching(/^[A-Za-z0-9._-]{0,20}$/), (a, b) => {
        expect(parseRef(a + '/' + b)).toHaveProperty('problem');
      }),
    );
    expect(parseRef('Sales/EMEA@example.com')).toEqual({ kind: 'email', email: 'sales/emea@example.com' });
  });
});
