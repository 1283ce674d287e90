import { expect, test } from 'vitest';
import { normalizeTraits } from '../../collector/identity/normalize-traits.js';

test('form field names map to trait keys; unknown keys, empty values and objects are dropped', () => {
  expect(normalizeTraits({ 'First Name': ' Ada ', phone_number: '+44 20', org: 'Acme', country: 'gb', notes: 'x', city: '', zip: {} })).toEqual({
    firstName: 'Ada', phone: '+44 20', company: 'Acme', country: 'GB',
  });
});

test("keys named like Object's own members find nothing through the prototype", () => {
  expect(normalizeTraits({ constructor: 'x', toString: 'y', __proto__x: 'z', hasOwnProperty: 'w', valueOf: 'v' })).toEqual({});
});
