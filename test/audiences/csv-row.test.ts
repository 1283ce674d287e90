import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { csvCell, csvRow } from '../../collector/audiences/csv-row.js';
import { parseCsv } from './rfc4180.js';

describe('CSV cells', () => {
  test.each([
    ['=HYPERLINK("http://evil.example","click")', `"'=HYPERLINK(""http://evil.example"",""click"")"`],
    ['+1 650 555 1234', "'+1 650 555 1234"],
    ['-2+3+cmd|\' /C calc\'!A0', "'-2+3+cmd|' /C calc'!A0"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['\tTAB', "'\tTAB"],
    ['\rCR', `"'\rCR"`],
    ['Acme, Inc.', '"Acme, Inc."'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['plain', 'plain'],
    ['', ''],
  ])('%j is written as %j', (value, encoded) => {
    expect(csvCell(value)).toBe(encoded);
  });

  test('any row of text reads back through an RFC 4180 parser, formulas defused', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 6 }), (values) => {
        const [parsed] = parseCsv(csvRow(values));
        const expected = values.map((v) => (/^[=+\-@\t\r]/.test(v) ? "'" + v : v));
        expect(parsed).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
