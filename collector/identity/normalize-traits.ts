// Traits from identify calls, marked form fields and server events, mapped onto the export trait keys.
import { LIMITS } from '../../shared/limits.js';
import { TRAIT_KEYS, type TraitKey } from '../../shared/events.js';

export type Traits = Partial<Record<TraitKey, string>>;

// Field names forms commonly use for the same trait (compared lower-case without _ - and spaces).
const ALIASES: Record<string, TraitKey> = {
  phone: 'phone', phonenumber: 'phone', tel: 'phone', telephone: 'phone', mobile: 'phone', mobilephone: 'phone',
  firstname: 'firstName', fname: 'firstName', givenname: 'firstName',
  lastname: 'lastName', lname: 'lastName', surname: 'lastName', familyname: 'lastName',
  company: 'company', companyname: 'company', organization: 'company', organisation: 'company', org: 'company',
  jobtitle: 'jobTitle', title: 'jobTitle', position: 'jobTitle', role: 'jobTitle',
  country: 'country', countrycode: 'country',
  city: 'city', town: 'city',
  state: 'state', region: 'state', province: 'state',
  zip: 'zip', zipcode: 'zip', postcode: 'zip', postalcode: 'zip',
};
for (const k of TRAIT_KEYS) ALIASES[k.toLowerCase()] = k;

/** Known traits of a raw object, trimmed; unknown keys and empty values are dropped. Country codes are upper-cased. */
export function normalizeTraits(raw: Record<string, unknown> | null | undefined): Traits {
  const out: Traits = {};
  if (!raw) return out;
  for (const [key, value] of Object.entries(raw)) {
    // own keys only: "constructor" or "toString" must not find Object's through the prototype
    const alias = key.toLowerCase().replace(/[\s_-]/g, '');
    const trait = Object.hasOwn(ALIASES, alias) ? ALIASES[alias] : undefined;
    if (!trait || (typeof value !== 'string' && typeof value !== 'number')) continue;
    let v = String(value).trim().slice(0, LIMITS.valueChars);
    if (!v) continue;
    if (trait === 'country' && /^[a-z]{2}$/i.test(v)) v = v.toUpperCase();
    out[trait] = v;
  }
  return out;
}
