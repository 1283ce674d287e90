import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeCursor, encodeCursor } from '../../collector/leads/cursor.js';

describe('cursors', () => {
  test('a cursor decodes back to its parts when read with the same shape', () => {
    fc.assert(
      fc.property(fc.integer(), fc.string(), (n, s) => {
        expect(decodeCursor(encodeCursor([n, s]), ['number', 'string'])).toEqual([n, s]);
      }),
    );
  });

  test('a cursor of another shape, or not a cursor at all, decodes to null', () => {
    expect(decodeCursor(encodeCursor([1, 'a']), ['number', 'number', 'string'])).toBeNull();
    expect(decodeCursor(encodeCursor(['1', 'a']), ['number', 'string'])).toBeNull();
    expect(decodeCursor('not a cursor!', ['number'])).toBeNull();
    expect(decodeCursor(Buffer.from('{"a":1}').toString('base64url'), ['number'])).toBeNull();
    expect(decodeCursor('', ['number'])).toBeNull();
  });
});
